"""The SVG charts of asset metadata: what they draw, that they parse, and their size."""

import base64
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from spotify_agent_assets.plots import asset_charts
from spotify_agent_assets.plots.svg import (
    Mark,
    Series,
    bar_chart,
    histogram_chart,
    line_chart,
    markdown_image,
)

SVG = "{http://www.w3.org/2000/svg}"
AS_OF = date(2026, 10, 31)
HOSTILE = "Hana <script>alert('x')</script> [Okoye](javascript:x)"


def parse(svg: str | bytes) -> ET.Element:
    """``svg`` parsed, which proves it well-formed XML."""
    return ET.fromstring(svg)  # noqa: S314 - our own charts, not untrusted input


def decode(markdown: str) -> ET.Element:
    """The one SVG image embedded in ``markdown``, parsed."""
    (data,) = re.findall(r"\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown)
    return parse(base64.b64decode(data))


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


def metric_rows(artists: int, days: int = 70) -> list[dict]:
    """Artist ``a{n}`` streams ``1000 * (n + 1)`` a day; ``a6`` has no row 10 days ago."""
    return [
        {
            "date": AS_OF - timedelta(days=i),
            "artist_id": f"a{n}",
            "artist_name": HOSTILE if n == 1 else f"Artist {n}",
            "streams": 1000 * (n + 1),
        }
        for n in range(artists)
        for i in range(days)
        if not (n == 6 and i == 10)
    ]


def test_top_artist_streams_draws_the_five_biggest_with_gaps_for_missing_days() -> None:
    markdown = asset_charts.top_artist_streams(metric_rows(8), AS_OF)
    svg = decode(markdown)
    lines = list(svg.iter(f"{SVG}polyline"))
    # Five artists; a6's missing day splits its line in two.
    assert len(lines) == 6
    legend = [t for t in texts(svg) if t.startswith("Artist ")]
    assert legend == ["Artist 7", "Artist 6", "Artist 5", "Artist 4", "Artist 3"]
    # 56 days: the first point of each full line is at the left edge, the last at the right.
    longest = max(lines, key=lambda line: len(line.get("points", "").split()))
    assert len(longest.get("points", "").split()) == asset_charts.CHART_DAYS
    assert "10-31" in texts(svg)  # the newest day is labelled
    assert len(markdown) < 20_000


def test_top_artist_streams_of_nothing_says_so() -> None:
    assert (
        asset_charts.top_artist_streams([], AS_OF)
        == "_no artist streams in the 56 days to 2026-10-31_"
    )


def test_observed_against_expected_marks_each_incident_of_the_newest_artist() -> None:
    incidents = [
        {
            "date": AS_OF - timedelta(days=d),
            "level": level,
            "entity_id": entity,
            "entity_name": HOSTILE if entity == "a1" else entity,
            "kind": "spike",
            "direction": "up",
            "value": 9000.0,
            "expected": 2000.0,
        }
        for d, level, entity in [
            (3, "artist", "a1"),
            (20, "artist", "a1"),
            (1, "track", "t9"),
            (100, "artist", "a0"),
        ]
    ]
    markdown = asset_charts.observed_against_expected(metric_rows(3), incidents, AS_OF)
    svg = decode(markdown)
    # Two incidents of a1 within 56 days: a filled dot each and a hollow one at its expected value.
    filled = [c for c in svg.iter(f"{SVG}circle") if c.get("fill") != "white"]
    hollow = [c for c in svg.iter(f"{SVG}circle") if c.get("fill") == "white"]
    assert len(filled) == len(hollow) == 2
    assert all(
        float(h.get("cy")) > float(f.get("cy")) for f, h in zip(filled, hollow, strict=True)
    )  # below
    assert any("expected 2,000" in (t.text or "") for t in svg.iter(f"{SVG}title"))
    # The name is text in the SVG and escaped in the Markdown caption.
    assert any(HOSTILE in t for t in texts(svg))
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "\\[Okoye\\](javascript" in markdown  # no link: its brackets are escaped


def test_observed_against_expected_without_an_artist_incident() -> None:
    track_only = [
        {
            "date": AS_OF,
            "level": "track",
            "entity_id": "t",
            "entity_name": None,
            "kind": "spike",
            "direction": "up",
            "value": 1.0,
            "expected": 0.0,
        }
    ]
    assert "no artist incident" in asset_charts.observed_against_expected([], track_only, AS_OF)


def test_feature_histogram_counts_every_value_once() -> None:
    values = [60.0 + i % 120 for i in range(600)] + [None]
    svg = decode(asset_charts.feature_histogram(values, "tempo", "BPM"))
    bars = list(svg.iter(f"{SVG}rect"))[1:]  # the first is the background
    assert len(bars) == asset_charts.HISTOGRAM_BINS
    counts = [int(b.find(f"{SVG}title").text.rsplit(": ", 1)[1]) for b in bars]
    assert sum(counts) == 600
    assert "tempo (BPM), 600 tracks" in texts(svg)
    assert asset_charts.feature_histogram([None], "tempo") == "_no tempo values_"


def test_model_against_baseline_draws_shared_metrics_side_by_side() -> None:
    markdown = asset_charts.model_against_baseline(
        {"recall": 0.21, "ndcg": 0.13, "extra": 1.0}, {"recall": 0.12, "ndcg": 0.07}
    )
    svg = decode(markdown)
    labels = [
        b.find(f"{SVG}title").text
        for b in svg.iter(f"{SVG}rect")
        if b.find(f"{SVG}title") is not None
    ]
    assert labels == [
        "model recall@10: 0.21",
        "model ndcg@10: 0.13",
        "popularity baseline recall@10: 0.12",
        "popularity baseline ndcg@10: 0.07",
    ]
    assert "extra@10" not in texts(svg)


def test_bars_are_as_tall_as_their_values() -> None:
    svg = parse(bar_chart("t", ["a", "b"], [Series("s", [1.0, 0.5])]))
    heights = [float(r.get("height")) for r in svg.iter(f"{SVG}rect")][1:]
    assert heights[0] == pytest.approx(2 * heights[1], rel=0.01)


def test_line_chart_refuses_a_series_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"series 'x' has 2 values for 3 x labels"):
        line_chart("t", ["a", "b", "c"], [Series("x", [1.0, 2.0])])


def test_marks_and_negative_values_stay_inside_the_axis() -> None:
    svg = parse(
        line_chart("t", ["a", "b"], [Series("x", [-5.0, 3.0])], [Mark(1, 3.0, "m", reference=12.0)])
    )
    ticks = [t for t in texts(svg) if re.fullmatch(r"-?[\d.,]+k?", t)]
    assert ticks[0].startswith("-") and float(ticks[-1]) >= 12
    for circle in svg.iter(f"{SVG}circle"):
        assert 0 < float(circle.get("cy")) < 280


def test_histogram_refuses_no_bins_and_images_keep_brackets_out_of_alt_text() -> None:
    with pytest.raises(ValueError, match="bins must be at least 1"):
        histogram_chart("t", [1.0], bins=0)
    assert markdown_image("<svg/>", "a [b]").startswith("![a (b)](data:image/svg+xml;base64,")
