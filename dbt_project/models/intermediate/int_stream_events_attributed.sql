-- Every listening event with the artists its track had when it was played: one join, here, to
-- the version of track_artist_history valid at the event's ts. A play before the first version
-- takes the first (the catalogue saw the track only later), a play after the track left the
-- catalogue its last known version (never closed). Tracks never in the catalogue have NULL
-- artists. A view: the daily models' run window reaches stg_stream_events through it.
-- The open ends are infinities rather than ORs in the join condition: with plain comparisons
-- DuckDB joins on track_id by hash, with ORs it fell back to a nested loop over every event.
with versions as (
    select
        track_id,
        primary_artist_id,
        artist_ids,
        case
            when row_number() over (partition by track_id order by dbt_valid_from) = 1
                then '-infinity'::timestamptz
            else dbt_valid_from
        end as valid_from,
        case
            when row_number() over (partition by track_id order by dbt_valid_from desc) = 1
                then 'infinity'::timestamptz
            else dbt_valid_to
        end as valid_to
    from {{ ref('track_artist_history') }}
)

select
    event.*,
    version.primary_artist_id as artist_id,
    version.artist_ids
from {{ ref('stg_stream_events') }} as event
left join versions as version
    on version.track_id = event.track_id
    and event.ts >= version.valid_from
    and event.ts < version.valid_to
