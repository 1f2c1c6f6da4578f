-- Listening events with Spotify's definitions applied once: a stream is a play of at least
-- stream_min_ms, an unknown country is 'ZZ'. shuffle and skipped stay NULL when the producer did
-- not report them: false would be a guess, and rates over them count only known values.
select
    date,
    event_id,
    listener_key,
    track_id,
    ts,
    ms_played,
    coalesce(country, '{{ var("unknown_country") }}') as country,
    platform,
    reason_start,
    reason_end,
    shuffle,
    skipped,
    offline,
    session_id,
    source_file,
    source_format,
    ms_played >= {{ var("stream_min_ms") }} as is_stream
from {{ source('streams', 'stream_events') }}
