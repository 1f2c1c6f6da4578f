-- Plays per day, track and country over the run window (every day without one).
select
    date,
    track_id,
    country,
    count(*) as plays,
    count(*) filter (where is_stream) as streams,
    count(*) filter (where skipped) as skips,
    sum(ms_played)::bigint as listening_ms,
    count(distinct listener_key) as listeners,
    count(*) filter (where shuffle) as shuffle_plays
from {{ ref('stg_stream_events') }}
where {{ in_run_window('date') }}
group by date, track_id, country
