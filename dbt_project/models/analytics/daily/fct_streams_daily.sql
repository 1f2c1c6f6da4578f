-- depends_on: {{ source('streams', 'stream_events') }}
-- (Declared so each day depends on that day's partition: new or late data for a day rebuilds it.)
-- Plays per day, track and country over the run window (every day without one). skips and
-- shuffle_plays count the plays known to be skipped / shuffled; *_known_plays are the plays that
-- reported the flag at all, the denominators of any rate over them.
select
    date,
    track_id,
    country,
    count(*) as plays,
    count(*) filter (where is_stream) as streams,
    count(*) filter (where skipped) as skips,
    count(skipped) as skip_known_plays,
    sum(ms_played)::bigint as listening_ms,
    count(distinct listener_key) as listeners,
    count(*) filter (where shuffle) as shuffle_plays,
    count(shuffle) as shuffle_known_plays,
    {{ is_complete_day('date') }} as is_complete
from {{ ref('stg_stream_events') }}
where {{ in_run_window('date') }}
group by date, track_id, country
