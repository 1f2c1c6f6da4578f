-- One row per album.
select
    album_id,
    name as album_name,
    album_type,
    album_group,
    release_date,
    release_date_precision,
    release_day,
    total_tracks,
    artist_ids,
    coalesce(primary_artist_id, artist_ids[1]) as primary_artist_id,
    roster_artist_id,
    label,
    upc,
    track_ids,
    first_seen_at
from {{ source('spotify', 'spotify_albums') }}
where album_id is not null
qualify row_number() over (partition by album_id order by first_seen_at desc) = 1
