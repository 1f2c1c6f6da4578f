"""One day's social snapshot: the connectors' numbers (only for a current day) and the
import files' records for that day, as table rows, with everything set aside."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spotify_agent_assets.activation.social_connector import (
    ArtistAccount,
    ConnectorResult,
    SocialConnector,
    SocialFailure,
)
from spotify_agent_assets.activation.social_import import import_social_files

# APIs report the present: today, or yesterday for the schedule's run after midnight. An older
# day gets its import records only, rather than today's numbers under a past date.
API_DAYS_BACK = 1


@dataclass
class SocialDay:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[SocialFailure] = field(default_factory=list)
    connectors: list[ConnectorResult] = field(default_factory=list)
    platforms: dict[str, str] = field(default_factory=dict)
    import_files: list[str] = field(default_factory=list)


def snapshot_social_day(
    day: dt.date,
    connectors: Sequence[SocialConnector],
    accounts: Sequence[ArtistAccount],
    import_dir: Path,
    roster_ids: Collection[str],
    *,
    today: dt.date,
    captured_at: dt.datetime,
) -> SocialDay:
    """Connector rows first: a platform's API is its source of truth, so an import record for
    the same artist and platform is set aside as a repeat."""
    result = SocialDay()
    metrics = []
    current = 0 <= (today - day).days <= API_DAYS_BACK
    for connector in connectors:
        if not current:
            result.platforms[connector.platform] = f"skipped: {day} is not today or yesterday"
            continue
        fetched = connector.fetch(accounts)
        result.connectors.append(fetched)
        result.failures.extend(fetched.failures)
        metrics.extend(fetched.metrics)
        result.platforms[connector.platform] = (
            f"on: {len(fetched.metrics)} artists, {len(fetched.failures)} set aside"
        )
    imported = import_social_files(import_dir, day, roster_ids)
    result.import_files = imported.files
    result.failures.extend(imported.failures)
    taken = {(m.artist_id, m.platform) for m in metrics}
    for metric in imported.metrics:
        if (metric.artist_id, metric.platform) in taken:
            result.failures.append(
                SocialFailure(
                    "import",
                    metric.source,
                    "platform",
                    f"{metric.platform} comes from its API for this artist; record ignored",
                )
            )
        else:
            metrics.append(metric)
    result.rows = sorted(
        ({"date": day, **asdict(m), "captured_at": captured_at} for m in metrics),
        key=lambda r: (r["artist_id"], r["platform"]),
    )
    return result
