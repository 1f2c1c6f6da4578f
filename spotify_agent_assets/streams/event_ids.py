"""Event ids for plays exported without one (Spotify's extended streaming history)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_agent_assets.streams.validation_query import connect

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


def derive_event_ids(
    listener_keys: pa.Array, valid: pa.Table, con: duckdb.DuckDBPyConnection | None = None
) -> pa.Array:
    """Extended-history exports have no event id: sha256 over (listener, ts, track, ms_played).

    The listener enters as its HMAC, not the raw id, so the event id cannot be used to test
    guesses of who listened; the time enters as UTC epoch microseconds so the same play
    exported with another offset or precision still gets the same id.
    """
    import pyarrow as pa

    parts = pa.table(
        {
            "k": listener_keys,
            "ts": valid["ts"],
            "t": valid["track_id"],
            "ms": valid["ms_played"],
        }
    )
    own = con is None
    con = connect() if con is None else con
    try:
        con.register("derive_parts", parts)
        out = con.execute(
            "SELECT sha256(k || '|' || epoch_us(ts) || '|spotify:track:' || t || '|' || ms) AS id "
            "FROM derive_parts"
        ).to_arrow_table()
        con.unregister("derive_parts")
    finally:
        if own:
            con.close()
    return out["id"].combine_chunks().cast(pa.string())
