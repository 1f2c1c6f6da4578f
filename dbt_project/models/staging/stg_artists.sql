-- One row per artist, as of the last catalogue sync.
select
    artist_id,
    name as artist_name,
    genres,
    followers,
    popularity,
    uri,
    spotify_url,
    image_url,
    synced_at
from {{ source('spotify', 'spotify_artists') }}
where artist_id is not null
qualify row_number() over (partition by artist_id order by synced_at desc) = 1
