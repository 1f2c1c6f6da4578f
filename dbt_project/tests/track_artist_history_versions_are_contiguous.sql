-- The versions of a track follow each other without gap or overlap: each ends where the next
-- begins and only the last is open. int_stream_events_attributed relies on it to find exactly
-- one version for every play of a snapshotted track. Rows returned are the versions that break it.
select
    track_id,
    dbt_valid_from,
    dbt_valid_to,
    next_valid_from
from (
    select
        track_id,
        dbt_valid_from,
        dbt_valid_to,
        lead(dbt_valid_from) over (partition by track_id order by dbt_valid_from)
            as next_valid_from
    from {{ ref('track_artist_history') }}
)
where dbt_valid_to is distinct from next_valid_from
