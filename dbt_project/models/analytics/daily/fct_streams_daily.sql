-- depends_on: {{ source('streams', 'stream_events') }}
-- (Declared so each day depends on that day's partition: new or late data for a day rebuilds it.)
-- Plays per day, track and country over the run window (every day without one). skips and
-- shuffle_plays count the plays known to be skipped / shuffled; *_known_plays are the plays that
-- reported the flag at all, the denominators of any rate over them.
-- Listeners are counted in two levels, one row per listener within a group first: the same
-- count as count(distinct listener_key) in one level, in less time (DuckDB's distinct aggregate
-- keeps a set of listeners per group beside the group itself).
with per_listener as (
    select
        date,
        track_id,
        country,
        listener_key,
        count(*) as plays,
        count(*) filter (where is_stream) as streams,
        count(*) filter (where skipped) as skips,
        count(skipped) as skip_known_plays,
        sum(ms_played) as listening_ms,
        count(*) filter (where shuffle) as shuffle_plays,
        count(shuffle) as shuffle_known_plays
    from {{ ref('stg_stream_events') }}
    where {{ in_run_window('date') }}
    group by date, track_id, country, listener_key
)
select
    date,
    track_id,
    country,
    sum(plays)::bigint as plays,
    sum(streams)::bigint as streams,
    sum(skips)::bigint as skips,
    sum(skip_known_plays)::bigint as skip_known_plays,
    sum(listening_ms)::bigint as listening_ms,
    count(listener_key) as listeners,
    sum(shuffle_plays)::bigint as shuffle_plays,
    sum(shuffle_known_plays)::bigint as shuffle_known_plays,
    {{ is_complete_day('date') }} as is_complete
from per_listener
group by date, track_id, country
