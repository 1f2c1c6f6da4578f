-- All-time performance of every catalogue track (zeros for tracks never played). A play is
-- complete when it ended with trackdone or lasted the whole track; rank_by_streams is 1 for the
-- most streamed track, ties share a rank.
with plays as (
    select
        event.track_id,
        count(*) as plays,
        count(*) filter (where event.is_stream) as streams,
        count(distinct event.listener_key) as listeners,
        sum(event.ms_played)::bigint as listening_ms,
        count(*) filter (where event.skipped) as skips,
        count(*) filter (
            where event.reason_end = 'trackdone' or event.ms_played >= track.duration_ms
        ) as completions,
        min(event.date) as first_play_date,
        max(event.date) as last_play_date,
        count(distinct event.date) as active_days
    from {{ ref('stg_stream_events') }} as event
    join {{ ref('dim_track') }} as track on track.track_id = event.track_id
    group by event.track_id
)

select
    track.track_id,
    track.track_name,
    track.primary_artist_id,
    coalesce(plays.plays, 0) as plays,
    coalesce(plays.streams, 0) as streams,
    coalesce(plays.listeners, 0) as listeners,
    coalesce(plays.listening_ms, 0) as listening_ms,
    coalesce(plays.skips, 0) as skips,
    plays.skips::double / nullif(plays.plays, 0) as skip_rate,
    plays.completions::double / nullif(plays.plays, 0) as completion_rate,
    plays.first_play_date,
    plays.last_play_date,
    coalesce(plays.active_days, 0) as active_days,
    rank() over (order by coalesce(plays.streams, 0) desc) as rank_by_streams
from {{ ref('dim_track') }} as track
left join plays on plays.track_id = track.track_id
