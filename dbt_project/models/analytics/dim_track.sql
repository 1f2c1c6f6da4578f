-- Every track the catalogue lists, with its album and primary artist, and every track it no
-- longer lists but track_artist_history has seen (taken down): in_catalogue is false, the
-- artists are the last ones known, and title, album and the rest are NULL because only the
-- mapping is kept. Plays of a taken-down track thus keep their track in the dimension.
with catalogue as (
    select
        track_id,
        track_name,
        album_id,
        primary_artist_id,
        artist_ids,
        isrc,
        duration_ms,
        explicit,
        popularity,
        track_number,
        disc_number,
        uri,
        true as in_catalogue
    from {{ ref('stg_tracks') }}
),

taken_down as (
    select
        history.track_id,
        null::varchar as track_name,
        null::varchar as album_id,
        history.primary_artist_id,
        history.artist_ids,
        null::varchar as isrc,
        null::bigint as duration_ms,
        null::boolean as explicit,
        null::bigint as popularity,
        null::bigint as track_number,
        null::bigint as disc_number,
        'spotify:track:' || history.track_id as uri,
        false as in_catalogue
    from {{ ref('track_artist_history') }} as history
    where not exists (select 1 from catalogue where catalogue.track_id = history.track_id)
    qualify row_number() over (
        partition by history.track_id order by history.dbt_valid_from desc
    ) = 1
),

tracks as (
    select * from catalogue
    union all by name
    select * from taken_down
)

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
    track.uri,
    track.in_catalogue
from tracks as track
left join {{ ref('stg_albums') }} as album on album.album_id = track.album_id
left join {{ ref('dim_artist') }} as artist on artist.artist_id = track.primary_artist_id
