"""How a report page is laid out and written: sections and tables, rendered as Markdown and as
self-contained HTML from one description (so the two cannot disagree), and the figures' formats.

Everything a user typed or Spotify returned is escaped: HTML-escaped in the HTML, and HTML- plus
Markdown-escaped in the Markdown (which is also rendered as HTML, in the Dagster UI among others).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # right-aligned columns


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: Table | None = None
    images: list[tuple[str, str]] = field(default_factory=list)  # (chart file, caption)


def markdown_escape(text: str) -> str:
    """Text safe anywhere in a line of Markdown, table cells included.

    HTML-escaped first, because Markdown renderers pass raw HTML through; then the characters
    that could open emphasis, code, a link or image, or a table cell are backslash-escaped.
    Line breaks become spaces (a table row is one line).
    """
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    lines = [f"# {markdown_escape(title)}", ""]
    for section in sections:
        lines += [f"## {markdown_escape(section.title)}", ""]
        for paragraph in section.paragraphs:
            lines += [markdown_escape(paragraph), ""]
        if section.table is not None:
            table = section.table
            lines.append("| " + " | ".join(markdown_escape(h) for h in table.headers) + " |")
            lines.append("|" + "".join("---:|" if n else "---|" for n in table.numeric))
            for row in table.rows:
                lines.append("| " + " | ".join(markdown_escape(c) for c in row) + " |")
            lines.append("")
        for name, caption in section.images:
            lines += [f"![{markdown_escape(caption)}]({name})", ""]
    return "\n".join(lines)


def render_html(title: str, sections: Sequence[Section], charts: dict[str, bytes]) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>",
        "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
        "padding:0 1rem;color:#191414}",
        "table{border-collapse:collapse;margin:0.5rem 0 1rem}",
        "th,td{padding:0.25rem 0.6rem;border-bottom:1px solid #ddd;text-align:left}",
        ".num{text-align:right;font-variant-numeric:tabular-nums}",
        "img{max-width:100%;height:auto;display:block;margin:0.5rem 0}",
        "</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        out.append(f"<h2>{html.escape(section.title)}</h2>")
        out += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        if section.table is not None:
            table = section.table
            out.append("<table>")
            out.append(
                "<tr>"
                + "".join(
                    f"<th{_num_class(n)}>{html.escape(h)}</th>"
                    for h, n in zip(table.headers, table.numeric, strict=True)
                )
                + "</tr>"
            )
            for row in table.rows:
                out.append(
                    "<tr>"
                    + "".join(
                        f"<td{_num_class(n)}>{html.escape(c)}</td>"
                        for c, n in zip(row, table.numeric, strict=True)
                    )
                    + "</tr>"
                )
            out.append("</table>")
        for name, caption in section.images:
            if name in charts:
                data = base64.b64encode(charts[name]).decode()
                out.append(
                    f'<figure><img alt="{html.escape(caption)}" '
                    f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}'
                    "</figcaption></figure>"
                )
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _num_class(numeric: bool) -> str:
    return ' class="num"' if numeric else ""


def present(value: Any) -> Any:
    """``value`` unless it is NULL in any of pandas' spellings (None, NaN, NA, NaT)."""
    import pandas as pd

    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # list-like values are never NULL here
        pass
    return value


def period(start: date, end: date) -> str:
    # Our own weekday names: strftime's %a follows the process locale.
    return (
        f"{_WEEKDAYS[start.weekday()]} {start.isoformat()} to "
        f"{_WEEKDAYS[end.weekday()]} {end.isoformat()}"
    )


def change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or not before:
        return None
    return now / before - 1


def fmt_int(value: Any) -> str:
    value = present(value)
    return "n/a" if value is None else f"{round(float(value)):,}"


def fmt_one_decimal(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def fmt_pct(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{round(value, 3) + 0.0:+.1%}"  # + 0.0: no "-0.0%" for a tiny decline


def fmt_pct_change(now: float | None, before: float | None) -> str:
    return fmt_pct(change(now, before))


def fmt_points_change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "n/a"
    return f"{round((now - before) * 100, 1) + 0.0:+.1f} pp"


def fmt_abs_and_pct_change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "n/a"
    return f"{round(now - before):+,} ({fmt_pct(change(now, before))})"


def fmt_signed_int_change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "n/a"
    return f"{round(now - before):+d}"
