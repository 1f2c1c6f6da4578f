"""Column contracts for the listening-events landing zone and the tables ingestion writes.

Three schemas live here: stream event v1 (what producers put in ``<landing>/streams/``), the
output table ``streams.stream_events`` (one partition per UTC day of ``ts``), and the quarantine
table (records we refused, with a reason). The two stored tables are declared, with column
descriptions and keys, in ``streams.tables``; their Arrow schemas here are derived from those
contracts. Arrow schemas are built on first use so importing this module does not import pyarrow.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Literal

from spotify_agent_assets.lake.parquet_lake import with_write_hints
from spotify_agent_assets.lake.table_contract import arrow_schema
from spotify_agent_assets.streams.tables import (
    STREAM_EVENTS,
    STREAM_EVENTS_WRITE_HINTS,
    STREAM_QUARANTINE,
)

if TYPE_CHECKING:
    import pyarrow as pa

SourceFormat = Literal["jsonl", "csv", "parquet", "extended_history"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = ("jsonl", "csv", "parquet", "extended_history")

# Stream event v1 column order; producers may add columns, we ignore them.
REQUIRED_COLUMNS = ("event_id", "listener_id", "track_id", "ts", "ms_played")
OPTIONAL_STRING_COLUMNS = ("country", "platform", "reason_start", "reason_end", "session_id")
BOOL_COLUMNS = ("shuffle", "skipped", "offline")
V1_COLUMNS = (
    "event_id",
    "listener_id",
    "track_id",
    "ts",
    "ms_played",
    "country",
    "platform",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "session_id",
)

# A play cannot last longer than a day; anything above is a producer bug, not a long song.
MAX_MS_PLAYED = 24 * 60 * 60 * 1000

# ISO 3166-1 alpha-2 officially assigned codes (249). Spotify writes "ZZ" for an unknown
# country; ingestion treats that as null rather than as an error (see validation).
_ISO_3166_ALPHA2_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
"""
ISO_3166_ALPHA2 = frozenset(_ISO_3166_ALPHA2_CODES.split())
UNKNOWN_COUNTRY = "ZZ"


@cache
def v1_schema() -> pa.Schema:
    """Stream event v1 in its validated types (what ``validation`` hands to ingestion).

    Fields are nullable here because extended-history rows get their ``event_id`` only after
    validation; validation itself guarantees the required columns are filled."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("event_id", pa.string()),
            pa.field("listener_id", pa.string()),
            pa.field("track_id", pa.string()),
            pa.field("ts", pa.timestamp("us", tz="UTC")),
            pa.field("ms_played", pa.int64()),
            pa.field("country", pa.string()),
            pa.field("platform", pa.string()),
            pa.field("reason_start", pa.string()),
            pa.field("reason_end", pa.string()),
            pa.field("shuffle", pa.bool_()),
            pa.field("skipped", pa.bool_()),
            pa.field("offline", pa.bool_()),
            pa.field("session_id", pa.string()),
        ]
    )


@cache
def landing_schema() -> pa.Schema:
    """Stream event v1 as producers must write it: the required columns are never null."""
    import pyarrow as pa

    schema = v1_schema()
    return pa.schema([f.with_nullable(f.name not in REQUIRED_COLUMNS) for f in schema])


@cache
def stream_events_schema() -> pa.Schema:
    """``streams.stream_events``: v1 with ``listener_id`` replaced by its HMAC, plus lineage;
    its fields carry the lake's write hints (``STREAM_EVENTS_WRITE_HINTS``)."""
    return with_write_hints(arrow_schema(STREAM_EVENTS), STREAM_EVENTS_WRITE_HINTS)


def quarantine_table_schema() -> pa.Schema:
    """``streams.stream_quarantine``: the quarantine layout plus the partition it is filed under."""
    return arrow_schema(STREAM_QUARANTINE)


@cache
def quarantine_schema() -> pa.Schema:
    """Refused records before they are filed under a day: ``stream_quarantine`` without its
    ``date``. ``raw`` never holds the raw listener id; ``listener_key`` (its HMAC, null when
    the record had none) lets GDPR erasure find a listener's quarantined records."""
    import pyarrow as pa

    stored = arrow_schema(STREAM_QUARANTINE)
    return pa.schema([field for field in stored if field.name != "date"])
