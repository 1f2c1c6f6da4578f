"""Small PNG charts for the weekly artist report, byte-for-byte reproducible.

matplotlib is driven through ``Figure`` and the Agg canvas directly, never ``pyplot``: no global
backend switch, no figure registry to leak between assets running in one process, and Agg
renders the same pixels on every machine with the bundled DejaVu font. ``savefig`` is told to
write no ``Software`` text chunk (which carries the matplotlib version) and PNG has no date
unless one is passed, so re-running a report for the same data gives identical files: content
addressing and "did the report change?" diffs work. Axes use day positions with our own
``MM-DD`` labels instead of matplotlib's date converters, whose tick choice and month names can
differ with the version and the locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
SIZE_INCHES = (6.4, 2.6)
LINE_COLOUR = "#1db954"  # Spotify green
SPIKE_COLOUR = "#d62728"
DROP_COLOUR = "#1f77b4"
PNG_METADATA: dict[str, str | None] = {"Software": None}


@dataclass(frozen=True)
class MarkedDay:
    """A day to mark on a chart: an anomaly and which way it went."""

    day: date
    value: float
    direction: str  # 'spike' | 'drop'


def daily_streams_chart(
    days: Sequence[date], streams: Sequence[float | None], marks: Sequence[MarkedDay] = ()
) -> bytes:
    """Daily streams as a line, anomalies as triangles (up: spike, down: drop)."""
    figure, axes = _figure()
    x = list(range(len(days)))
    y = [float("nan") if v is None else float(v) for v in streams]
    axes.plot(x, y, color=LINE_COLOUR, linewidth=1.8, marker="o", markersize=2.5)
    position = {d: i for i, d in enumerate(days)}
    for direction, marker, colour, label in (
        ("spike", "^", SPIKE_COLOUR, "spike"),
        ("drop", "v", DROP_COLOUR, "drop"),
    ):
        picked = [m for m in marks if m.direction == direction and m.day in position]
        if picked:
            axes.scatter(
                [position[m.day] for m in picked],
                [m.value for m in picked],
                marker=marker,
                s=60,
                color=colour,
                zorder=3,
                label=f"{label} (anomaly)",
            )
    if marks:
        axes.legend(loc="upper left", fontsize=7, frameon=False)
    _title(axes, "Daily streams")
    axes.set_ylim(bottom=0)
    _day_axis(axes, days)
    return _png(figure)


def followers_chart(days: Sequence[date], followers: Sequence[float | None]) -> bytes:
    """Followers per day (snapshots; gaps where none was taken)."""
    figure, axes = _figure()
    x = list(range(len(days)))
    y = [float("nan") if v is None else float(v) for v in followers]
    axes.plot(x, y, color="#535353", linewidth=1.8, marker="o", markersize=2.5)
    _title(axes, "Followers")
    _day_axis(axes, days)
    return _png(figure)


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.12)
    axes = figure.add_subplot()
    axes.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=7)
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # no offset or 1e6 label
    axes.yaxis.set_major_locator(MaxNLocator(nbins=4))
    return figure, axes


def _title(axes: Axes, text: str) -> None:
    # Placed text, not set_title: the title's automatic placement measures every tick label
    # and costs as much as drawing the rest of the chart.
    axes.text(0, 1.04, text, transform=axes.transAxes, fontsize=9, va="bottom")


def _day_axis(axes: Axes, days: Sequence[date]) -> None:
    # One label a week, on the last day and every 7th before it, so the newest day is labelled.
    ticks = list(range(len(days) - 1, -1, -7))[::-1]
    axes.set_xticks(ticks, [days[i].strftime("%m-%d") for i in ticks])
    axes.set_xlim(-0.5, max(len(days) - 0.5, 0.5))


def _png(figure: Figure) -> bytes:
    from io import BytesIO

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()
