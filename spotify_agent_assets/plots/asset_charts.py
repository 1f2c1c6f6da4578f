"""The charts the assets put in their metadata, as Markdown the Dagster UI renders.

One function per chart, taking the rows the asset already has in hand (no extra query) and
returning Markdown: a line saying what is drawn and the image (`svg.markdown_image`). Sizes stay
at a few kilobytes: at most `TOP_ARTISTS` lines over `CHART_DAYS` days, 24 histogram bins.
"""

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from spotify_agent_assets.analytics.report_pages import markdown_escape
from spotify_agent_assets.plots.svg import (
    Mark,
    Series,
    bar_chart,
    histogram_chart,
    line_chart,
    markdown_image,
)

CHART_DAYS = 56
TOP_ARTISTS = 5
HISTOGRAM_BINS = 24


def top_artist_streams(rows: Sequence[Mapping[str, Any]], as_of: date) -> str:
    """Daily streams of the `TOP_ARTISTS` artists with the most streams in the chart's last 28
    days, over the `CHART_DAYS` days to ``as_of``.

    ``rows``: ``date``, ``artist_id``, ``artist_name``, ``streams`` (artist_daily_metrics). A day
    without a row is a gap in the line, not a zero: the day is unknown, not silent.
    """
    days = _days(as_of)
    recent = set(days[-28:])
    by_artist: dict[str, dict[date, float]] = {}
    names: dict[str, str] = {}
    for row in rows:
        if row["date"] in days and row["streams"] is not None:
            by_artist.setdefault(row["artist_id"], {})[row["date"]] = float(row["streams"])
            names[row["artist_id"]] = row["artist_name"] or row["artist_id"]
    if not by_artist:
        return f"_no artist streams in the {CHART_DAYS} days to {as_of}_"
    ranked = sorted(
        by_artist,
        key=lambda a: (-sum(v for d, v in by_artist[a].items() if d in recent), a),
    )[:TOP_ARTISTS]
    series = [Series(names[a], [by_artist[a].get(d) for d in days]) for a in ranked]
    svg = line_chart(f"Daily streams, top {len(ranked)} artists", _labels(days), series)
    return (
        f"Daily streams of the {len(ranked)} artists with the most streams in the 28 days to "
        f"{as_of}, over {CHART_DAYS} days:\n\n" + markdown_image(svg, "daily streams per artist")
    )


def observed_against_expected(
    rows: Sequence[Mapping[str, Any]], incidents: Sequence[Mapping[str, Any]], as_of: date
) -> str:
    """The artist of the newest artist-level incident: daily streams over `CHART_DAYS` days,
    each of the artist's incidents as a red dot with a dashed stick to its expected streams.

    ``rows`` as for `top_artist_streams`; ``incidents``: rows of ``streaming_anomalies``
    (``date``, ``level``, ``entity_id``, ``entity_name``, ``kind``, ``direction``, ``value``,
    ``expected``).
    """
    days = _days(as_of)
    position = {d: i for i, d in enumerate(days)}
    artist_incidents = [r for r in incidents if r["level"] == "artist" and r["date"] in position]
    if not artist_incidents:
        return f"_no artist incident in the {CHART_DAYS} days to {as_of}_"
    newest = max(artist_incidents, key=lambda r: (r["date"], r["entity_id"]))
    artist = newest["entity_id"]
    name = newest["entity_name"] or artist
    streams = {
        r["date"]: float(r["streams"])
        for r in rows
        if r["artist_id"] == artist and r["streams"] is not None
    }
    marks = [
        Mark(
            index=position[r["date"]],
            value=float(r["value"]),
            reference=float(r["expected"]),
            label=(
                f"{r['date']}: {r['kind']} ({r['direction']}), {r['value']:,.0f} streams, "
                f"expected {r['expected']:,.0f}"
            ),
        )
        for r in sorted(artist_incidents, key=lambda r: r["date"])
        if r["entity_id"] == artist
    ]
    svg = line_chart(
        f"{name}: streams against expected",
        _labels(days),
        [Series("streams", [streams.get(d) for d in days])],
        marks,
        mark_legend="incident; ○ expected",
    )
    return (
        f"Daily streams of {markdown_escape(name)}, the artist of the newest incident "
        f"({newest['date']}, {newest['kind']} {newest['direction']}); red dots are incidents, "
        f"hollow dots the streams expected that day:\n\n"
        + markdown_image(svg, "artist streams against expected")
    )


def feature_histogram(values: Sequence[float | None], feature: str, unit: str = "") -> str:
    """Distribution of one audio feature over the analysed tracks."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return f"_no {feature} values_"
    label = f"{feature} ({unit})" if unit else feature
    svg = histogram_chart(
        f"{label}, {len(present)} tracks", present, bins=HISTOGRAM_BINS, x_label=label
    )
    return f"Distribution of {label} over {len(present)} analysed tracks:\n\n" + markdown_image(
        svg, f"{feature} histogram"
    )


def model_against_baseline(
    metrics: Mapping[str, float], baseline: Mapping[str, float], k: int = 10
) -> str:
    """The model's ranking metrics next to the popularity baseline's, metric by metric."""
    names = [name for name in metrics if name in baseline]
    if not names:
        return "_no metric shared by the model and the baseline_"
    svg = bar_chart(
        f"Recommender against popularity baseline (@{k})",
        [f"{name}@{k}" for name in names],
        [
            Series("model", [float(metrics[n]) for n in names]),
            Series("popularity baseline", [float(baseline[n]) for n in names]),
        ],
    )
    return (
        f"Validation metrics at {k} of this training and of the popularity baseline, on the same "
        "days:\n\n" + markdown_image(svg, "recommender metrics against baseline")
    )


def _days(as_of: date) -> list[date]:
    return [as_of - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]


def _labels(days: Sequence[date]) -> list[str]:
    return [d.strftime("%m-%d") for d in days]
