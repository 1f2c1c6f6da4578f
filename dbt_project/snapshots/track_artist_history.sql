{#- Which artists each track had, and since when (SCD2). The catalogue (stg_tracks) only knows the
    present, so streams joined to it would follow a track to its new artist and lose a track that
    was taken down; a version here is valid from the fetch that first saw it until the fetch that
    saw the next one. A track gone from the catalogue keeps its last version open (hard deletes
    are ignored): its plays still belong to the artist it had. --full-refresh never rebuilds a
    snapshot, so this history survives every rebuild of the models; it lives only in the warehouse
    file. -#}
{% snapshot track_artist_history %}
{{
    config(
        unique_key='track_id',
        strategy='check',
        check_cols=['primary_artist_id', 'artist_ids'],
        updated_at='fetched_at',
        hard_deletes='ignore',
    )
}}
select
    track_id,
    primary_artist_id,
    artist_ids,
    fetched_at
from {{ ref('stg_tracks') }}
{% endsnapshot %}
