-- depends_on: {{ source('streams', 'stream_events') }}
-- (Declared so each day depends on that day's partition: new or late data for a day rebuilds it.)
-- Complete plays per UTC day and track (ended with trackdone or lasted the whole track), the one
-- figure of track_performance that fct_streams_daily does not carry. Whether a play lasted the
-- whole track depends on the duration the catalogue gives now, so each row keeps the duration
-- it was counted with (NULL: the track was not in dim_track), and a run counts again, on every
-- day, the tracks whose duration is no longer the catalogue's (see completions_recount_tracks):
-- the sums always equal a count over all events with today's catalogue.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        tags=['daily'],
        pre_hook="{{ delete_completions_to_count('date') }}",
    )
}}
{%- set recount = completions_recount_tracks() %}
select
    event.date,
    event.track_id,
    track.duration_ms,
    count(*) filter (
        where event.reason_end = 'trackdone' or event.ms_played >= track.duration_ms
    ) as completions
from {{ ref('stg_stream_events') }} as event
left join {{ ref('dim_track') }} as track on track.track_id = event.track_id
where {{ in_run_window('event.date') }}
    {%- if recount %} or event.track_id in ({{ sql_string_list(recount) }}){% endif %}
group by event.date, event.track_id, track.duration_ms
