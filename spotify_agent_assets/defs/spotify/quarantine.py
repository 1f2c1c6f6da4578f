"""The check every Spotify asset yields itself: did this sync set records aside?

The asset reports what it quarantined as it materializes (the stored table cannot tell: a
record set aside is not in it), so the check is an asset-owned spec rather than a separate
check reading the lake. It is non-blocking with severity WARN: the table landed with every
usable row, and one refused record must not hold back the models downstream.
"""

from collections import Counter
from collections.abc import Sequence

import dagster as dg

from spotify_agent_assets.defs.table_metadata import quarantine_metadata
from spotify_agent_assets.spotify.sync import Quarantined

QUARANTINE_CHECK = "no_quarantined_records"


def quarantine_check_spec(asset_name: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        QUARANTINE_CHECK,
        asset=asset_name,
        blocking=False,
        description=(
            "Every record Spotify sent for this table was usable. Fails (warning) with the "
            "records set aside: entity, id, field and reason."
        ),
    )


def quarantine_check_result(
    quarantined: Sequence[Quarantined], asset_key: str | None = None
) -> dg.AssetCheckResult:
    """The check's result; ``asset_key`` names the asset where the step writes several."""
    by_field = Counter(f"{q.entity} {q.field}" for q in quarantined)
    summary = ", ".join(f"{count} × {what}" for what, count in by_field.most_common())
    return dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        asset_key=asset_key,
        passed=not quarantined,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(quarantined)} records set aside: {summary}" if quarantined else None,
        metadata=quarantine_metadata(list(quarantined)),
    )
