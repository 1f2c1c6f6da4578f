-- One row per artist and day (the latest capture of a day wins).
select
    date,
    artist_id,
    name as artist_name,
    followers,
    popularity,
    genres,
    captured_at
from {{ source('spotify_history', 'artist_snapshots') }}
where artist_id is not null
qualify row_number() over (partition by date, artist_id order by captured_at desc) = 1
