"""The record every health check returns, and how a check that raises becomes a failed one.

A check passes only by returning ``ok=True`` after it has done the thing it checks; anything it
raises is a failure carrying the error's type and first line, with every known secret and any
``user:password@`` in a URL replaced first (messages go to the run's metadata, logs and alerts).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

REDACTED = "<redacted>"
MAX_DETAIL_CHARS = 500
# scheme://user:password@host -> scheme://<redacted>@host (MLflow, Postgres and S3 URLs).
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_PASSWORD_FIELD = re.compile(r"(?i)(password|secret|token)(\s*[=:]\s*)[^\s,;&]+")


class Severity(StrEnum):
    """What a failure of the check means: ERROR is an outage, WARN something to look at."""

    ERROR = "ERROR"
    WARN = "WARN"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one health check.

    ``observed`` and ``threshold`` are what was measured and what it was held against, as text
    so the table reads the same for seconds, bytes and counts; ``asset`` names the asset an
    asset-related check (freshness) is about.
    """

    name: str
    ok: bool
    severity: Severity
    detail: str
    observed: str = ""
    threshold: str = ""
    asset: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "PASS" if self.ok else f"FAIL ({self.severity.value})"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secret values, URL credentials or ``password=...`` pairs."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _PASSWORD_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def describe_error(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """``Type: first line of the message`` (SQLAlchemy and others append pages of context),
    and the same of its cause: a wrapper's message ("too many retries") rarely says why."""
    text = _first_line(error)
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause).strip() not in str(error):
        text += f" (caused by {_first_line(cause)})"
    return redact(text, secrets)[:MAX_DETAIL_CHARS]


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else 'no message'}"


def run_check(
    name: str,
    check: Callable[[], CheckResult],
    *,
    secrets: Sequence[str] = (),
    severity: Severity = Severity.ERROR,
    asset: str | None = None,
) -> CheckResult:
    """Run ``check``; an exception is a failed result naming the error, never a crash of the
    whole health run (every other check still runs and is recorded)."""
    started = time.monotonic()
    try:
        result = check()
    except Exception as error:  # any error of the target is the finding
        result = CheckResult(
            name=name,
            ok=False,
            severity=severity,
            detail=describe_error(error, secrets),
            asset=asset,
        )
    elapsed = round(time.monotonic() - started, 3)
    return CheckResult(
        name=result.name,
        ok=result.ok,
        severity=result.severity,
        detail=redact(result.detail, secrets)[:MAX_DETAIL_CHARS],
        observed=redact(result.observed, secrets),
        threshold=result.threshold,
        asset=result.asset,
        seconds=elapsed,
    )


def failed_names(results: Iterable[CheckResult]) -> list[str]:
    return [result.name for result in results if not result.ok]


def results_markdown(results: Sequence[CheckResult]) -> str:
    """The results as a Markdown table (the run's metadata and the op's log)."""
    lines = [
        "| check | status | observed | threshold | detail |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        cells = [result.name, result.status, result.observed, result.threshold, result.detail]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_age(seconds: float) -> str:
    """``3h 05m`` / ``2d 04h`` / ``42s``: ages in the table are read by people."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"
