-- Every artist of dim_artist on every day of the run window that has any events, with zeros
-- where the artist had no plays; a play counts for the primary artist of its track.
with events as (
    select
        event.date,
        event.listener_key,
        event.ms_played,
        event.is_stream,
        event.skipped,
        track.primary_artist_id as artist_id
    from {{ ref('stg_stream_events') }} as event
    left join {{ ref('stg_tracks') }} as track on track.track_id = event.track_id
    where {{ in_run_window('event.date') }}
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
        count(*) filter (where skipped) as skips
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
    plays.skips::double / nullif(plays.plays, 0) as skip_rate,
    snapshot.followers,
    snapshot.popularity
from event_days as day
cross join {{ ref('dim_artist') }} as artist
left join plays on plays.date = day.date and plays.artist_id = artist.artist_id
left join {{ ref('stg_artist_snapshots') }} as snapshot
    on snapshot.date = day.date and snapshot.artist_id = artist.artist_id
