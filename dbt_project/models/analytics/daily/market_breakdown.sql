-- Per day, artist (of dim_artist, by the primary artist of the track) and country, over the run
-- window; share_of_artist_streams is the country's part of the artist's streams that day.
with plays as (
    select
        event.date,
        track.primary_artist_id as artist_id,
        event.country,
        count(*) as plays,
        count(*) filter (where event.is_stream) as streams,
        count(distinct event.listener_key) as listeners,
        sum(event.ms_played)::bigint as listening_ms
    from {{ ref('stg_stream_events') }} as event
    join {{ ref('stg_tracks') }} as track on track.track_id = event.track_id
    join {{ ref('dim_artist') }} as artist on artist.artist_id = track.primary_artist_id
    where {{ in_run_window('event.date') }}
    group by event.date, track.primary_artist_id, event.country
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
        as share_of_artist_streams
from plays
