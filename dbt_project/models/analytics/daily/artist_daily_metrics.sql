-- depends_on: {{ source('streams', 'stream_events') }}
-- depends_on: {{ source('spotify_history', 'artist_snapshots') }}
-- (Declared so each day depends on that day's partition: new or late data for a day rebuilds it.)
-- Every artist of dim_artist on every day of the run window that has any events, with zeros
-- where the artist had no plays; a play counts for the primary artist its track had when it was
-- played (int_stream_events_attributed). skip_rate is over the plays that reported skipped.
with events as (
    select
        date,
        listener_key,
        ms_played,
        is_stream,
        skipped,
        artist_id
    from {{ ref('int_stream_events_attributed') }}
    where {{ in_run_window('date') }}
),

event_days as (
    select distinct date from events
),

plays as (
    select
        date,
        artist_id,
        count(*) as plays,
        count(*) filter (where is_stream) as streams,
        count(distinct listener_key) as unique_listeners,
        sum(ms_played)::bigint as listening_ms,
        count(*) filter (where skipped) as skips,
        count(skipped) as skip_known_plays
    from events
    where artist_id is not null
    group by date, artist_id
)

select
    day.date,
    artist.artist_id,
    artist.artist_name,
    coalesce(plays.plays, 0) as plays,
    coalesce(plays.streams, 0) as streams,
    coalesce(plays.unique_listeners, 0) as unique_listeners,
    coalesce(plays.listening_ms, 0) as listening_ms,
    coalesce(plays.skips, 0) as skips,
    coalesce(plays.skip_known_plays, 0) as skip_known_plays,
    plays.skips::double / nullif(plays.skip_known_plays, 0) as skip_rate,
    snapshot.followers,
    snapshot.popularity,
    {{ is_complete_day('day.date') }} as is_complete
from event_days as day
cross join {{ ref('dim_artist') }} as artist
left join plays on plays.date = day.date and plays.artist_id = artist.artist_id
left join {{ ref('stg_artist_snapshots') }} as snapshot
    on snapshot.date = day.date and snapshot.artist_id = artist.artist_id
