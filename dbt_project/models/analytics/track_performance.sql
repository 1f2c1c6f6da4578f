-- depends_on: {{ source('streams', 'stream_events') }}
-- (Declared so a day whose events were written again rebuilds this table in the same run as the
-- day's daily models: it is built with them, whatever the run's days.)
-- All-time performance of every catalogue track (zeros for tracks never played). A play is
-- complete when it ended with trackdone or lasted the whole track; rank_by_streams is 1 for the
-- most streamed track, ties share a rank. skip_rate is over the plays that reported skipped.
--
-- Summed from the per-day tables the daily models keep (fct_streams_daily,
-- int_track_completions_daily) and counted from int_track_listener_first_seen for listeners, so
-- a rebuild reads a row per day and track, not every event; the values equal a count over all
-- events (test_track_performance.py compares them with that query).
{{ config(tags=['daily']) }}

with daily as (
    select
        track_id,
        sum(plays) as plays,
        sum(streams) as streams,
        sum(listening_ms)::bigint as listening_ms,
        sum(skips) as skips,
        sum(skip_known_plays) as skip_known_plays,
        min(date) as first_play_date,
        max(date) as last_play_date,
        count(distinct date) as active_days
    from {{ ref('fct_streams_daily') }}
    group by track_id
),

listeners as (
    select
        track_id,
        count(*) as listeners
    from {{ ref('int_track_listener_first_seen') }}
    group by track_id
),

completions as (
    select
        track_id,
        sum(completions) as completions
    from {{ ref('int_track_completions_daily') }}
    group by track_id
)

select
    track.track_id,
    track.track_name,
    track.primary_artist_id,
    coalesce(daily.plays, 0)::bigint as plays,
    coalesce(daily.streams, 0)::bigint as streams,
    coalesce(listeners.listeners, 0)::bigint as listeners,
    coalesce(daily.listening_ms, 0)::bigint as listening_ms,
    coalesce(daily.skips, 0)::bigint as skips,
    coalesce(daily.skip_known_plays, 0)::bigint as skip_known_plays,
    daily.skips::double / nullif(daily.skip_known_plays, 0) as skip_rate,
    coalesce(completions.completions, 0)::double / nullif(daily.plays, 0) as completion_rate,
    daily.first_play_date,
    daily.last_play_date,
    coalesce(daily.active_days, 0)::bigint as active_days,
    rank() over (order by coalesce(daily.streams, 0) desc) as rank_by_streams
from {{ ref('dim_track') }} as track
left join daily on daily.track_id = track.track_id
left join listeners on listeners.track_id = track.track_id
left join completions on completions.track_id = track.track_id
