-- depends_on: {{ source('streams', 'stream_events') }}
-- (Declared so each day depends on that day's partition: new or late data for a day rebuilds it.)
-- Per day, artist (of dim_artist, by the primary artist the track had when it was played) and
-- country, over the run window; share_of_artist_streams is the country's part of the artist's
-- streams that day.
with plays as (
    select
        event.date,
        event.artist_id,
        event.country,
        count(*) as plays,
        count(*) filter (where event.is_stream) as streams,
        count(distinct event.listener_key) as listeners,
        sum(event.ms_played)::bigint as listening_ms
    from {{ ref('int_stream_events_attributed') }} as event
    join {{ ref('dim_artist') }} as artist on artist.artist_id = event.artist_id
    where {{ in_run_window('event.date') }}
    group by event.date, event.artist_id, event.country
)

select
    date,
    artist_id,
    country,
    plays,
    streams,
    listeners,
    listening_ms,
    streams::double / nullif(sum(streams) over (partition by date, artist_id), 0)
        as share_of_artist_streams,
    {{ is_complete_day('date') }} as is_complete
from plays
