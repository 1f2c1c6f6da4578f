-- Every artist the catalogue knows (roster profiles and snapshot history). Followers and
-- popularity come from the latest snapshot, or from the profile when there is no snapshot yet.
with latest_snapshot as (
    select *
    from {{ ref('stg_artist_snapshots') }}
    qualify row_number() over (partition by artist_id order by date desc, captured_at desc) = 1
),

artist_ids as (
    select artist_id from {{ ref('stg_artists') }}
    union
    select artist_id from latest_snapshot
)

select
    ids.artist_id,
    coalesce(profile.artist_name, snapshot.artist_name) as artist_name,
    coalesce(profile.genres, snapshot.genres) as genres,
    coalesce(snapshot.followers, profile.followers) as followers,
    coalesce(snapshot.popularity, profile.popularity) as popularity,
    snapshot.date as snapshot_date,
    profile.uri,
    profile.spotify_url,
    profile.image_url
from artist_ids as ids
left join {{ ref('stg_artists') }} as profile on profile.artist_id = ids.artist_id
left join latest_snapshot as snapshot on snapshot.artist_id = ids.artist_id
