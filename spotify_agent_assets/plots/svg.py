"""Small SVG charts for asset metadata: lines, a histogram, grouped bars.

Written by hand rather than with matplotlib: a chart here is a few kilobytes of text built in
well under a millisecond, with no plotting library to import in the step (matplotlib costs half
a second), and the same data always gives the same bytes. The Dagster UI shows an image in
Markdown metadata when its source is a ``data:`` URI (its Markdown sanitizer allows that
protocol for ``src``), which `markdown_image` builds.

Only what the asset charts need: a shared x axis of labelled positions, a y axis from zero (or
from the data's minimum when it goes below zero) with 1-2-5 ticks, a legend, and marks (a point
with an optional vertical stick to a second value, for "observed against expected").
"""

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 280
# Plot area inside the frame: room for y tick labels on the left, x labels below, and the
# title and up to two legend rows above.
LEFT, RIGHT, TOP, BOTTOM = 56, 22, 58, 34
# Legend text is cut to this many characters; ~5.5 px a character at font size 10.
LEGEND_CHARS = 20
CHAR_PX = 5.5
FONT = "font-family='Helvetica,Arial,sans-serif'"
# Distinguishable in colour and in greyscale; the first is Spotify green.
PALETTE = ("#1db954", "#535353", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
GRID = "#e5e5e5"
MARK_COLOUR = "#d62728"


@dataclass(frozen=True)
class Series:
    """One named line (or bar group member); ``None`` is a gap."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Mark:
    """A highlighted point at x position ``index``; with ``reference``, a dashed stick from it
    to ``reference`` and a hollow dot there (an expected value, say)."""

    index: int
    value: float
    label: str
    reference: float | None = None


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    marks: Sequence[Mark] = (),
    mark_legend: str = "",
) -> str:
    """Lines over labelled x positions (days, say), a legend, and optional marks."""
    _same_length(x_labels, series)
    values = [v for s in series for v in s.values if v is not None]
    values += [m.value for m in marks] + [m.reference for m in marks if m.reference is not None]
    scale = _YScale.of(values)
    x = _XPositions(len(x_labels))
    parts = [*_frame(title), *scale.axis(), *x.axis(x_labels)]
    for colour, one in zip(_colours(len(series)), series, strict=True):
        for run in _runs(one.values):
            points = " ".join(f"{x.at(i):.1f},{scale.at(v):.1f}" for i, v in run)
            if len(run) == 1:
                ((i, v),) = run
                parts.append(
                    f"<circle cx='{x.at(i):.1f}' cy='{scale.at(v):.1f}' r='2' fill='{colour}'/>"
                )
            else:
                parts.append(
                    f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='1.8'/>"
                )
    for mark in marks:
        cx, cy = x.at(mark.index), scale.at(mark.value)
        if mark.reference is not None:
            ry = scale.at(mark.reference)
            parts.append(
                f"<line x1='{cx:.1f}' y1='{cy:.1f}' x2='{cx:.1f}' y2='{ry:.1f}' "
                f"stroke='{MARK_COLOUR}' stroke-dasharray='3,2'/>"
                f"<circle cx='{cx:.1f}' cy='{ry:.1f}' r='3.5' fill='white' stroke='{MARK_COLOUR}'/>"
            )
        parts.append(
            f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='4' fill='{MARK_COLOUR}'>"
            f"<title>{_text(mark.label)}</title></circle>"
        )
    legend = [(s.name, c) for s, c in zip(series, _colours(len(series)), strict=True)]
    if marks and mark_legend:
        legend.append((mark_legend, MARK_COLOUR))
    parts += _legend(legend)
    return _svg(parts)


def histogram_chart(title: str, values: Sequence[float], bins: int = 20, x_label: str = "") -> str:
    """Counts of ``values`` in ``bins`` equal-width bins between their minimum and maximum."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return _svg([*_frame(title), _note("no values")])
    low, high = min(finite), max(finite)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in finite:
        counts[min(int((v - low) / width), bins - 1)] += 1
    scale = _YScale.of(counts)
    x = _XPositions(bins, bars=True)
    edges = [low + i * width for i in range(bins + 1)]
    labels = [_number(low + (i + 0.5) * width) for i in range(bins)]  # bin centres
    parts = [*_frame(title), *scale.axis(), *x.axis(labels, caption=x_label)]
    for i, count in enumerate(counts):
        top = scale.at(count)
        parts.append(
            f"<rect x='{x.at(i) - x.step * 0.45:.1f}' y='{top:.1f}' width='{x.step * 0.9:.1f}' "
            f"height='{scale.at(0) - top:.1f}' fill='{PALETTE[0]}'>"
            f"<title>{_number(edges[i])}-{_number(edges[i + 1])}: {count}</title></rect>"
        )
    return _svg(parts)


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped bars: per category, one bar per series (a model against its baseline, say)."""
    _same_length(categories, series)
    values = [v for s in series for v in s.values if v is not None]
    scale = _YScale.of(values)
    x = _XPositions(len(categories), bars=True)
    parts = [*_frame(title), *scale.axis(), *x.axis(categories)]
    width = x.step * 0.8 / max(len(series), 1)
    for k, (colour, one) in enumerate(zip(_colours(len(series)), series, strict=True)):
        for i, v in enumerate(one.values):
            if v is None:
                continue
            left = x.at(i) - x.step * 0.4 + k * width
            top = scale.at(v)
            parts.append(
                f"<rect x='{left:.1f}' y='{top:.1f}' width='{width * 0.92:.1f}' "
                f"height='{scale.at(0) - top:.1f}' fill='{colour}'>"
                f"<title>{_text(one.name)} {_text(categories[i])}: {v:.4g}</title></rect>"
                f"<text x='{left + width * 0.46:.1f}' y='{top - 3:.1f}' font-size='9' "
                f"text-anchor='middle' {FONT}>{v:.3g}</text>"
            )
    parts += _legend([(s.name, c) for s, c in zip(series, _colours(len(series)), strict=True)])
    return _svg(parts)


def markdown_image(svg: str, alt: str) -> str:
    """Markdown showing ``svg`` inline, as the Dagster UI renders metadata Markdown."""
    data = base64.b64encode(svg.encode()).decode()
    # Brackets would end the alt text early; markup has no business in it.
    safe_alt = html.escape(alt.replace("[", "(").replace("]", ")"), quote=False)
    return f"![{safe_alt}](data:image/svg+xml;base64,{data})"


class _YScale:
    """Value to pixel row, with round ticks covering the data."""

    def __init__(self, low: float, high: float, step: float) -> None:
        self.low, self.high, self.step = low, high, step

    @classmethod
    def of(cls, values: Sequence[float]) -> "_YScale":
        finite = [float(v) for v in values if math.isfinite(v)]
        low = min([0.0, *finite])
        high = max([0.0, *finite])
        if high == low:
            high = low + 1.0
        step = _nice_step((high - low) / 4)
        return cls(math.floor(low / step) * step, math.ceil(high / step) * step, step)

    def at(self, value: float) -> float:
        span = HEIGHT - TOP - BOTTOM
        return TOP + span * (1 - (value - self.low) / (self.high - self.low))

    def axis(self) -> list[str]:
        parts = []
        ticks = round((self.high - self.low) / self.step)
        for k in range(ticks + 1):
            value = self.low + k * self.step
            y = self.at(value)
            parts.append(
                f"<line x1='{LEFT}' y1='{y:.1f}' x2='{WIDTH - RIGHT}' y2='{y:.1f}' stroke='{GRID}'/>"
                f"<text x='{LEFT - 6}' y='{y + 3.5:.1f}' font-size='10' text-anchor='end' "
                f"fill='#555' {FONT}>{_number(value)}</text>"
            )
        return parts


class _XPositions:
    """Evenly spaced x positions; bars sit in the middle of their slot, line points at its ends."""

    def __init__(self, count: int, bars: bool = False) -> None:
        self.count, self.bars = max(count, 1), bars
        span = WIDTH - LEFT - RIGHT
        self.step = span / self.count if bars else span / max(self.count - 1, 1)

    def at(self, index: int) -> float:
        return LEFT + (index + 0.5) * self.step if self.bars else LEFT + index * self.step

    def axis(self, labels: Sequence[str], caption: str = "") -> list[str]:
        # At most ~8 labels, the last position always labelled (the newest day, say).
        every = max(1, math.ceil(len(labels) / 8))
        picked = list(range(len(labels) - 1, -1, -every))
        baseline = HEIGHT - BOTTOM
        parts = [
            f"<line x1='{LEFT}' y1='{baseline}' x2='{WIDTH - RIGHT}' y2='{baseline}' stroke='#999'/>"
        ]
        for i in picked:
            parts.append(
                f"<text x='{self.at(i):.1f}' y='{baseline + 14}' font-size='10' "
                f"text-anchor='middle' fill='#555' {FONT}>{_text(labels[i])}</text>"
            )
        if caption:
            parts.append(
                f"<text x='{WIDTH - RIGHT}' y='{HEIGHT - 4}' font-size='10' text-anchor='end' "
                f"fill='#555' {FONT}>{_text(caption)}</text>"
            )
        return parts


def _nice_step(raw: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at least ``raw``."""
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive non-missing points: a gap in the data is a gap in the line."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, float(v)))
    return [run for run in runs if run]


def _frame(title: str) -> list[str]:
    return [
        f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
        f"<text x='{LEFT}' y='18' font-size='13' font-weight='bold' {FONT}>{_text(title)}</text>",
    ]


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Entries left to right under the title, wrapping once; names cut to `LEGEND_CHARS`."""
    parts = []
    x, y = float(LEFT), 34
    for name, colour in entries:
        label = name if len(name) <= LEGEND_CHARS else name[: LEGEND_CHARS - 1] + "…"
        width = 14 + CHAR_PX * len(label) + 12
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = float(LEFT), y + 14
        parts.append(
            f"<rect x='{x:.0f}' y='{y - 8}' width='9' height='9' fill='{colour}'/>"
            f"<text x='{x + 12:.0f}' y='{y}' font-size='10' {FONT}>{_text(label)}</text>"
        )
        x += width
    return parts


def _note(text: str) -> str:
    return (
        f"<text x='{WIDTH / 2}' y='{HEIGHT / 2}' font-size='12' text-anchor='middle' "
        f"fill='#555' {FONT}>{_text(text)}</text>"
    )


def _svg(parts: Sequence[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
        f"viewBox='0 0 {WIDTH} {HEIGHT}'>" + "".join(parts) + "</svg>"
    )


def _colours(count: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def _same_length(labels: Sequence[str], series: Sequence[Series]) -> None:
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values for {len(labels)} x labels; "
                "expected one value (or None) per label"
            )


def _number(value: float) -> str:
    """Short tick text: 1.2M, 35k, 0.25, 120."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:.3g}k"
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _text(value: str) -> str:
    return html.escape(str(value), quote=True)
