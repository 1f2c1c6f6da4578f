"""Generated content (``activation.generated_content``): weekly artist insight posts and
playlist descriptions written from the analytics, playlist cover art and jingles.

Texts come from the local templates, or from an OpenAI-compatible endpoint when one is
configured (``content_generator``); every text passes the guardrails or the local one stands
in, and the table says which. Files go to ``<lake>/activation/generated_content/files/``
(``<iso-week>/artists/<artist_id>/post.md``, ``artists/<artist_id>/jingle.wav``,
``playlists/<key>/description.txt``, ``cover.png``, ``jingle.wav``), replaced on every run with the same bytes for the same inputs;
the table is their index.
"""

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.activation.content_tables import GENERATED_CONTENT
from spotify_agent_assets.activation.playlist_tables import ACTIVATION_GROUP
from spotify_agent_assets.defs.activation.content_resources import ContentGeneratorResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata, markdown_table

OWNERS = ["team:activation"]
ARTIST_DAILY_METRICS = dg.AssetKey("artist_daily_metrics")
WEEKLY_ARTIST_REPORT = dg.AssetKey("weekly_artist_report")
ARTIST_TRENDS = dg.AssetKey("artist_trends")
AUDIO_FEATURES = dg.AssetKey("audio_features")
SPOTIFY_TRACKS = dg.AssetKey("spotify_tracks")
CONTENT_CHECK = "content_complete_and_guarded"
FILES_DIR = "files"
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
THUMBNAIL = 160
METRICS_SQL = """
    SELECT date, artist_id, listening_ms, popularity
    FROM analytics.artist_daily_metrics
    WHERE date BETWEEN ? AND ?
    ORDER BY artist_id, date
"""

# eager(), except that days of the daily metrics never written (before the data starts) do not
# hold the content back (the posts read the reported week only), nor do missing audio features
# or tracks (they only give the artists' jingles, which are optional).
CONTENT_AUTOMATION = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_missing",
        dg.AutomationCondition.any_deps_missing().ignore(
            dg.AssetSelection.assets(ARTIST_DAILY_METRICS, AUDIO_FEATURES, SPOTIFY_TRACKS)
        ),
    )
    .with_label("eager (daily metric gaps, audio features and tracks allowed)")
)


@contextmanager
def _content_failures() -> Iterator[None]:
    """Bad inputs, a template breaking a guardrail and a refused endpoint are not retried;
    the lake's transport errors are (the step writes the same bytes again)."""
    from spotify_agent_assets.activation.content_llm import EndpointRefused

    try:
        yield
    except dg.Failure:
        raise
    except (EndpointRefused, ValueError, KeyError) as error:
        raise dg.Failure(f"{type(error).__name__}: {error}", allow_retries=False) from None


def _segment(value: str, what: str) -> str:
    if not SEGMENT.match(value):
        raise ValueError(f"{what} {value!r} cannot be a path segment (letters, digits, _ and -)")
    return value


def _folder(root: str, item: Any) -> str:
    """``<iso-week>/artists/<id>`` for a post, ``artists/<id>`` for an artist's jingle,
    ``playlists/<key>`` for a playlist's items (under the files root)."""
    if item.subject_type == "playlist":
        return f"{root}/playlists/{_segment(item.subject_id, 'playlist key')}"
    week = f"{_segment(item.period, 'week')}/" if item.period else ""
    return f"{root}/{week}artists/{_segment(item.subject_id, 'artist id')}"


def _week_inputs(lake: LakeResource) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The latest week's ``weekly_artist_report`` rows and ``artist_trends`` on its last day."""
    import pyarrow.compute as pc

    parquet_lake = lake.lake()
    for name in ("weekly_artist_report", "artist_trends"):
        if not parquet_lake.exists("analytics", name):
            raise dg.Failure(
                f"analytics.{name} is not stored: materialize it before generated_content",
                allow_retries=False,
            )
    reports = parquet_lake.read("analytics", "weekly_artist_report")
    if not reports.num_rows:
        return [], []
    last = pc.max(reports["week_end"])
    reports = reports.filter(pc.equal(reports["week_end"], last))
    trends = parquet_lake.read("analytics", "artist_trends")
    trends = trends.filter(pc.equal(trends["date"], last))
    return reports.to_pylist(), trends.to_pylist()


def _week_metrics(lake: LakeResource, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    import duckdb

    warehouse = lake.warehouse()
    if not warehouse.path.exists():
        raise dg.Failure(
            f"warehouse {warehouse.path} does not exist; materialize the dbt models first",
            allow_retries=False,
        )
    with warehouse.reader() as connection:
        try:
            return connection.execute(METRICS_SQL, [start, end]).to_arrow_table().to_pylist()
        except (duckdb.CatalogException, duckdb.BinderException) as error:
            raise dg.Failure(
                f"analytics.artist_daily_metrics is missing or lacks a column: {error}; "
                "materialize the daily dbt models (artist_daily_metrics) first",
                allow_retries=False,
            ) from None


def _artist_sounds(context: dg.AssetExecutionContext, lake: LakeResource) -> dict[str, Any]:
    """Artists' typical key and tempo for their jingles; none when the audio features or the
    tracks are not stored (the jingles are optional, the posts are not)."""
    from spotify_agent_assets.activation.content_items import artist_sounds

    parquet_lake = lake.lake()
    if not (
        parquet_lake.exists("audio", "audio_features")
        and parquet_lake.exists("spotify", "spotify_tracks")
    ):
        context.log.warning(
            "audio.audio_features or spotify.spotify_tracks is not stored: no artist jingles"
        )
        return {}
    features = parquet_lake.read("audio", "audio_features").select(
        ["track_id", "status", "key", "mode", "key_status", "tempo_bpm", "tempo_status"]
    )
    tracks = parquet_lake.read("spotify", "spotify_tracks").select(["track_id", "artist_ids"])
    return artist_sounds(tracks.to_pylist(), features.to_pylist())


def _thumbnail(png: bytes) -> str:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).resize((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@dg.asset(
    group_name=ACTIVATION_GROUP,
    kinds={"python", "parquet", "png", "wav"},
    owners=OWNERS,
    deps=[
        WEEKLY_ARTIST_REPORT,
        ARTIST_TRENDS,
        ARTIST_DAILY_METRICS,
        AUDIO_FEATURES,
        SPOTIFY_TRACKS,
    ],
    automation_condition=CONTENT_AUTOMATION,
    # For the lake (object storage) and the endpoint's long outages only: bad inputs and a
    # refused endpoint raise Failure(allow_retries=False).
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    metadata=contract_metadata(GENERATED_CONTENT),
    check_specs=[
        dg.AssetCheckSpec(
            CONTENT_CHECK,
            asset="generated_content",
            description="Every text passed its guardrails, every curated playlist has a "
            "description, a 640x640 cover and a jingle, every reported artist a post.",
        )
    ],
)
def generated_content(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    content_generator: ContentGeneratorResource,
    curated_playlists: pa.Table,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Content written from the analytics, one row per item: a weekly insight post per artist
    of the latest ``analytics.weekly_artist_report`` (with ``artist_trends`` and
    ``artist_daily_metrics``) and a jingle in the artist's typical key and tempo (from the
    ``audio.audio_features`` of their tracks, when stored); per curated playlist a
    description, cover art (640x640 PNG: colours from valence, saturation and shapes from
    energy, rings from tempo, rotation and form from key and mode) and a jingle (WAV in its
    most common key at its median tempo).
    Every number in a text is checked against the facts it was written from; a text from the
    endpoint that fails a guardrail is replaced by the local one (``fallback_reason``).
    """
    from spotify_agent_assets.activation.content_items import build_items
    from spotify_agent_assets.lake.table_contract import to_arrow

    with _content_failures():
        endpoint = content_generator.endpoint()
        reports, trends = _week_inputs(lake)
        metrics = []
        if reports:
            start = min(r["week_start"] for r in reports)
            metrics = _week_metrics(lake, start, max(r["week_end"] for r in reports))
        parquet_lake = lake.lake()
        root = f"{parquet_lake.table_uri(ACTIVATION_GROUP, GENERATED_CONTENT.name)}/{FILES_DIR}"
        sounds = _artist_sounds(context, lake) if reports else {}
        items = build_items(
            reports, trends, metrics, curated_playlists.to_pylist(), endpoint, sounds
        )
        rows = []
        for item in items:
            folder = _folder(root, item)
            uri = parquet_lake.write_file(f"{folder}/{item.file_name}", item.data)
            rows.append(item.row(uri, hashlib.sha256(item.data).hexdigest()))
    table = to_arrow(GENERATED_CONTENT, rows)
    yield dg.Output(table, metadata=_metadata(items, rows, endpoint))
    yield _check(rows, curated_playlists, reports)


def _metadata(items: list[Any], rows: list[dict[str, Any]], endpoint: Any) -> dict[str, Any]:
    from collections import Counter

    from spotify_agent_assets.analytics.report_pages import markdown_escape

    kinds = Counter(r["kind"] for r in rows)
    playlists = []
    by_subject: dict[str, dict[str, Any]] = {}
    for item, row in zip(items, rows, strict=True):
        if row["subject_type"] == "playlist":
            by_subject.setdefault(row["subject_id"], {"name": row["subject_name"]})[row["kind"]] = (
                item,
                row,
            )
    for entry in by_subject.values():
        cover, jingle = entry.get("cover_art"), entry.get("jingle")
        name = markdown_escape(entry["name"])
        lines = [f"**{name}**", ""]
        if cover:
            lines.append(f"![cover of {name}]({_thumbnail(cover[0].data)})")
            lines.append(f"cover: `{cover[1]['uri']}` ({cover[1]['bytes']:,} bytes)")
        if jingle:
            lines.append(
                f"jingle: `{jingle[1]['uri']}` ({jingle[1]['bytes']:,} bytes, {jingle[0].details})"
            )
        playlists.append("\n\n".join(lines))
    jingles = [
        [row["subject_name"], item.details, row["uri"], f"{row['bytes']:,}"]
        for item, row in zip(items, rows, strict=True)
        if row["subject_type"] == "artist" and row["kind"] == "jingle"
    ]
    texts = [
        [r["kind"], r["subject_name"], r["generator"], r["fallback_reason"] or "", r["text"]]
        for r in rows
        if r["text"] is not None
    ]
    stats = getattr(endpoint, "stats", None)
    return {
        "items_by_kind": dg.MetadataValue.json(dict(sorted(kinds.items()))),
        "text_generator": dg.MetadataValue.text(endpoint.name if endpoint else "local"),
        "fallbacks": dg.MetadataValue.int(sum(bool(r["fallback_reason"]) for r in rows)),
        "endpoint_requests": dg.MetadataValue.int(stats.requests if stats else 0),
        "endpoint_retries": dg.MetadataValue.int(stats.retries if stats else 0),
        "playlist_media": dg.MetadataValue.md(
            "\n\n---\n\n".join(playlists) or "_no curated playlist_"
        ),
        "artist_jingles": dg.MetadataValue.md(
            markdown_table(["artist", "sound", "jingle", "bytes"], jingles, "_none_")
        ),
        "texts": dg.MetadataValue.md(
            markdown_table(["kind", "subject", "generator", "fallback", "text"], texts, "_none_")
        ),
    }


def _check(
    rows: list[dict[str, Any]], curated_playlists: pa.Table, reports: list[dict[str, Any]]
) -> dg.AssetCheckResult:
    from spotify_agent_assets.activation.content_items import REQUIRED_CHECKS

    have = {(r["subject_id"], r["kind"]) for r in rows}
    missing = [
        f"{kind}:{key}"
        for key in sorted(set(curated_playlists["playlist_key"].to_pylist()))
        for kind in ("playlist_description", "cover_art", "jingle")
        if (key, kind) not in have
    ] + [
        f"insight_post:{r['artist_id']}"
        for r in reports
        if (r["artist_id"], "insight_post") not in have
    ]
    unguarded = [
        r["content_id"]
        for r in rows
        if not set(REQUIRED_CHECKS[r["kind"]]) <= set(r["checks_passed"])
    ]
    return dg.AssetCheckResult(
        check_name=CONTENT_CHECK,
        passed=not missing and not unguarded,
        metadata={
            "missing": dg.MetadataValue.json(missing),
            "unguarded": dg.MetadataValue.json(unguarded),
        },
    )


ASSETS: list = [generated_content]
CHECKS: list = [build_table_checks(ACTIVATION_GROUP, GENERATED_CONTENT)]
JOBS: list = []
SCHEDULES: list = []
SENSORS: list = []
