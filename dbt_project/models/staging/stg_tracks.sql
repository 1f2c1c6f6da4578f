-- One row per track (the latest fetch wins should a track ever be stored twice); the primary
-- artist is the first track artist.
select
    track_id,
    name as track_name,
    album_id,
    artist_ids,
    coalesce(primary_artist_id, artist_ids[1]) as primary_artist_id,
    isrc,
    duration_ms,
    explicit,
    popularity,
    track_number,
    disc_number,
    uri,
    fetched_at
from {{ source('spotify', 'spotify_tracks') }}
where track_id is not null
qualify row_number() over (partition by track_id order by fetched_at desc) = 1
