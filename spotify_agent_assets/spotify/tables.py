"""Column contracts of the Spotify tables (see `lake.table_contract` for what a contract is for)."""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, B, D, T, L = "string", "int64", "bool", "date", "timestamp", "list<string>"

ARTIST_ROSTER = TableContract(
    name="artist_roster",
    key=("artist_id",),
    columns=(
        Column("artist_id", S, "Spotify artist id (22-char base62), normalised", nullable=False),
        Column("name", S, "Name given in the roster file (informational)"),
        Column("source", S, "The entry as written in the roster file (id, URI or URL)"),
        Column("position", INT, "Position of the entry in the roster file", nullable=False),
    ),
)

SPOTIFY_ARTISTS = TableContract(
    name="spotify_artists",
    key=("artist_id",),
    columns=(
        Column("artist_id", S, "Spotify artist id", nullable=False),
        Column("name", S, "Artist name on Spotify"),
        Column("genres", L, "Spotify's genre tags for the artist"),
        Column("followers", INT, "Follower count at sync time"),
        Column("popularity", INT, "Spotify popularity 0-100 at sync time"),
        Column("uri", S, "spotify:artist:<id>"),
        Column("spotify_url", S, "open.spotify.com link"),
        Column("image_url", S, "Largest profile image"),
        Column("synced_at", T, "When this row was fetched (UTC)", nullable=False),
    ),
)

ARTIST_SNAPSHOTS = TableContract(
    name="artist_snapshots",
    key=("date", "artist_id"),
    columns=(
        Column("date", D, "Day the snapshot describes (the partition)", nullable=False),
        Column("artist_id", S, "Spotify artist id", nullable=False),
        Column("name", S, "Artist name that day"),
        Column("followers", INT, "Follower count that day"),
        Column("popularity", INT, "Spotify popularity 0-100 that day"),
        Column("genres", L, "Genre tags that day"),
        Column("captured_at", T, "When the snapshot was taken (UTC)", nullable=False),
    ),
)

SPOTIFY_ALBUMS = TableContract(
    name="spotify_albums",
    key=("album_id",),
    columns=(
        Column("album_id", S, "Spotify album id", nullable=False),
        Column("name", S, "Album title"),
        Column("album_type", S, "album | single | compilation"),
        Column("album_group", S, "Relation to the roster artist: album, single, appears_on, ..."),
        Column("release_date", S, "Release date as Spotify gives it (year, month or day)"),
        Column("release_date_precision", S, "year | month | day"),
        Column("release_day", D, "Release date as a day (first day of the year/month if coarser)"),
        Column("total_tracks", INT, "Number of tracks on the album"),
        Column("artist_ids", L, "Album artists"),
        Column("primary_artist_id", S, "First album artist"),
        Column("roster_artist_id", S, "The roster artist whose discography listed it"),
        Column("label", S, "Record label (full album object)"),
        Column("upc", S, "UPC barcode (full album object)"),
        Column("track_ids", L, "Ids of the album's tracks, in album order"),
        Column("first_seen_at", T, "When a sync first saw this album (UTC)", nullable=False),
    ),
)

SPOTIFY_TRACKS = TableContract(
    name="spotify_tracks",
    key=("track_id",),
    columns=(
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("name", S, "Track title"),
        Column("album_id", S, "Album the track belongs to"),
        Column("artist_ids", L, "Track artists (features included)"),
        Column("primary_artist_id", S, "First track artist"),
        Column("isrc", S, "International Standard Recording Code"),
        Column("duration_ms", INT, "Duration in milliseconds"),
        Column("explicit", B, "Explicit lyrics flag"),
        Column("popularity", INT, "Spotify popularity 0-100 when fetched"),
        Column("track_number", INT, "Position on its disc"),
        Column("disc_number", INT, "Disc number"),
        Column("available_markets", L, "ISO country codes where the track can be played"),
        Column("uri", S, "spotify:track:<id>"),
        Column("fetched_at", T, "When the full track object was fetched (UTC)", nullable=False),
    ),
)

SPOTIFY_UNRESOLVED_TRACKS = TableContract(
    name="spotify_unresolved_tracks",
    key=("track_id",),
    columns=(
        Column(
            "track_id", S, "Played track id that Spotify gave no usable track for", nullable=False
        ),
        Column("reason", S, "What the last lookup answered (null, unusable object, ...)"),
        Column("attempts", INT, "How many syncs have asked Spotify for it", nullable=False),
        Column("first_asked_at", T, "When a sync first asked for it (UTC)", nullable=False),
        Column("last_asked_at", T, "When a sync last asked for it (UTC)", nullable=False),
    ),
)

SPOTIFY_PLAYLISTS = TableContract(
    name="spotify_playlists",
    key=("playlist_id",),
    columns=(
        Column("playlist_id", S, "Spotify playlist id", nullable=False),
        Column("name", S, "Playlist name"),
        Column("owner_id", S, "Owner's Spotify user id"),
        Column("owner_name", S, "Owner's display name"),
        Column("snapshot_id", S, "Version id of the playlist's content (null: Spotify sent none)"),
        Column("public", B, "Public playlist flag"),
        Column("collaborative", B, "Collaborative playlist flag"),
        Column("followers", INT, "Follower count"),
        Column("total_items", INT, "Number of items"),
        Column("description", S, "Playlist description"),
        Column("synced_at", T, "When this row was fetched (UTC)", nullable=False),
    ),
)

PLAYLIST_TRACKS = TableContract(
    name="playlist_tracks",
    key=("playlist_id", "position"),
    columns=(
        Column("playlist_id", S, "Spotify playlist id", nullable=False),
        Column("position", INT, "0-based position in the playlist", nullable=False),
        Column(
            "snapshot_id",
            S,
            "Playlist version these items belong to (null: unknown, read again next sync)",
        ),
        Column("added_at", S, "When the item was added (ISO timestamp)"),
        Column("added_by", S, "User id that added the item"),
        Column("item_type", S, "track | episode | local | missing (Spotify returned no track)"),
        Column("item_id", S, "Track or episode id (null for local and missing items)"),
        Column("item_uri", S, "Item URI (spotify:local:... for local files)"),
        Column("item_name", S, "Track or episode title"),
        Column("is_local", B, "Local file added from a user's device"),
        Column("is_playable", B, "Playable in the sync market (false for removed tracks)"),
        Column("duration_ms", INT, "Duration in milliseconds"),
        Column("primary_artist_id", S, "First artist of a track item"),
        Column("album_id", S, "Album of a track item"),
        Column("fetched_at", T, "When these items were fetched (UTC)", nullable=False),
    ),
)

CONTRACTS: dict[str, TableContract] = {
    c.name: c
    for c in (
        ARTIST_ROSTER,
        SPOTIFY_ARTISTS,
        ARTIST_SNAPSHOTS,
        SPOTIFY_ALBUMS,
        SPOTIFY_TRACKS,
        SPOTIFY_UNRESOLVED_TRACKS,
        SPOTIFY_PLAYLISTS,
        PLAYLIST_TRACKS,
    )
}
