-- Catalogue tracks with their album and primary artist.
select
    track.track_id,
    track.track_name,
    track.album_id,
    album.album_name,
    album.album_type,
    album.release_day,
    track.primary_artist_id,
    artist.artist_name as primary_artist_name,
    track.artist_ids,
    track.isrc,
    track.duration_ms,
    track.explicit,
    track.popularity,
    track.track_number,
    track.disc_number,
    track.uri
from {{ ref('stg_tracks') }} as track
left join {{ ref('stg_albums') }} as album on album.album_id = track.album_id
left join {{ ref('dim_artist') }} as artist on artist.artist_id = track.primary_artist_id
