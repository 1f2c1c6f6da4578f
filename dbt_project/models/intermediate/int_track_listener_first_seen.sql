-- depends_on: {{ source('streams', 'stream_events') }}
-- (Declared so each day depends on that day's partition: new or late data for a day rebuilds it.)
-- The first UTC day each listener played each track: one row per (track_id, listener_key), so a
-- track's all-time listeners are its rows here (track_performance) without reading every event.
-- A run for days a..b can move a first day only on or after a (a day re-ingested without the
-- listener's play hands it to the next day they played), never before: it deletes the rows
-- first seen from a on and rebuilds them from the events from a on, leaving out the pairs whose
-- first day, before a, stands. An hourly run reads yesterday and today; a late day reads the
-- days since it.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        tags=['daily'],
        pre_hook="{{ delete_from_run_window_start('date') }}",
    )
}}
with window_pairs as (
    select
        track_id,
        listener_key,
        min(date) as date
    from {{ ref('stg_stream_events') }}
    where {{ from_run_window_start('date') }}
    group by track_id, listener_key
)

select
    pair.date,
    pair.track_id,
    pair.listener_key
from window_pairs as pair
{% if is_incremental() %}
    -- After the pre-hook, this table holds only pairs first seen before the window.
    where not exists (
        select 1
        from {{ this }} as seen
        where seen.track_id = pair.track_id and seen.listener_key = pair.listener_key
    )
{% endif %}
