"""Social media metrics: ``social_media_metrics``, daily snapshots of the roster artists'
numbers on YouTube (Data API v3), Last.fm (artist.getInfo) and the hand-kept import files.

Partitioned by day like ``spotify_history.artist_snapshots`` (same days, so they join): a run
replaces its days' partitions, so re-running a day lands the same rows, never duplicates.
"""

import datetime as dt
import warnings
from collections import Counter
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.activation.alert_tables import ACTIVATION_GROUP
from spotify_agent_assets.activation.social_tables import SOCIAL_MEDIA_METRICS
from spotify_agent_assets.defs.activation.social_resources import SocialMediaResource
from spotify_agent_assets.defs.spotify.partitions import SNAPSHOT_DAYS
from spotify_agent_assets.defs.spotify.quarantine import (
    quarantine_check_result,
    quarantine_check_spec,
)
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.environment import load_settings

warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

# Whole-step retries for a platform that stayed down past the per-request retries
# (SocialUnavailableError); every other failure is raised as Failure(allow_retries=False).
SOCIAL_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _scrubbed(text: str, secrets: list[str]) -> str:
    # The connectors never put a key in a message; this holds if a platform ever echoes one.
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


@dg.asset(
    group_name=ACTIVATION_GROUP,
    kinds={"python", "parquet"},
    partitions_def=SNAPSHOT_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=SOCIAL_RETRY,
    pool="social_api",
    ins={"artist_roster": dg.AssetIn()},
    metadata=contract_metadata(SOCIAL_MEDIA_METRICS),
    check_specs=[quarantine_check_spec(SOCIAL_MEDIA_METRICS.name)],
)
def social_media_metrics(
    context: dg.AssetExecutionContext, social_media: SocialMediaResource, artist_roster: pa.Table
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Each roster artist's followers, views and listeners per platform and day: YouTube
    channel statistics and Last.fm artist info (today's numbers, so only for today or
    yesterday; off without their key), and the records of that day in the import files of
    ``<landing>/social/`` (CSV/JSON exports of the other platforms). One row per
    (date, artist_id, platform) with the platform's own id; what could not be used is set
    aside with its reason (the quarantine check), and the other artists land."""
    from spotify_agent_assets.activation.social_accounts import SocialAccountsError
    from spotify_agent_assets.activation.social_connector import (
        SocialContractError,
        SocialUnavailableError,
    )
    from spotify_agent_assets.activation.social_snapshot import snapshot_social_day
    from spotify_agent_assets.lake.table_contract import to_arrow
    from spotify_agent_assets.spotify.sync import Quarantined

    secrets = social_media.secrets()
    roster_ids = [str(v) for v in artist_roster.column("artist_id").to_pylist()]
    try:
        accounts = social_media.accounts(roster_ids)
    except SocialAccountsError as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    connectors, platforms = social_media.connectors()
    if "://" in social_media.import_dir:
        # The landing zone is object storage; hand-kept exports are read from a local folder.
        context.log.warning(
            f"import files are read from a local folder only, not {social_media.import_dir}"
        )
    now = dt.datetime.now(dt.UTC)
    rows, failures, stats, files = [], [], Counter(), set()
    for key in context.partition_keys:
        try:
            day = snapshot_social_day(
                dt.date.fromisoformat(key),
                connectors,
                accounts,
                social_media.import_folder,
                roster_ids,
                today=now.date(),
                captured_at=now,
            )
        except SocialUnavailableError as error:
            raise SocialUnavailableError(_scrubbed(str(error), secrets)) from None
        except SocialContractError as error:
            raise dg.Failure(_scrubbed(str(error), secrets), allow_retries=False) from None
        except Exception as error:
            # Only a platform that stayed down may pass in minutes; anything else (a bug, a
            # request that cannot be built) would fail the same way on every retry.
            raise dg.Failure(
                f"{type(error).__name__}: {_scrubbed(str(error), secrets)}", allow_retries=False
            ) from None
        rows.extend(day.rows)
        failures.extend(day.failures)
        files.update(day.import_files)
        platforms.update(day.platforms)
        for fetched in day.connectors:
            stats.update(
                requests=fetched.stats.requests_sent,
                retries=fetched.stats.retries,
                rate_limited=fetched.stats.rate_limited,
            )
    quarantined = [
        Quarantined(f.platform, f.entity_id, f.field, _scrubbed(f.reason, secrets))
        for f in failures
    ]
    for q in quarantined:
        context.log.warning(f"set aside {q.entity} {q.entity_id} {q.field}: {q.reason}")
    by_platform = Counter(r["platform"] for r in rows)
    context.log.info(
        f"{len(rows)} rows over {len(context.partition_keys)} day(s); "
        + ", ".join(f"{p} {state}" for p, state in sorted(platforms.items()))
    )
    yield dg.Output(
        to_arrow(SOCIAL_MEDIA_METRICS, rows),
        metadata={
            "platforms": dg.MetadataValue.json(dict(sorted(platforms.items()))),
            "rows_by_platform": dg.MetadataValue.json(dict(sorted(by_platform.items()))),
            "artists": dg.MetadataValue.int(len({r["artist_id"] for r in rows})),
            "import_files": dg.MetadataValue.json(sorted(files)),
            "import_folder": dg.MetadataValue.text(social_media.import_dir),
            "api_requests": dg.MetadataValue.int(stats["requests"]),
            "api_retries": dg.MetadataValue.int(stats["retries"]),
            "api_rate_limited": dg.MetadataValue.int(stats["rate_limited"]),
        },
    )
    yield quarantine_check_result(quarantined)


social_media_job = dg.define_asset_job(
    "social_media_job",
    selection=dg.AssetSelection.assets(social_media_metrics),
    partitions_def=SNAPSHOT_DAYS,
    description="Capture yesterday's social media numbers of the roster artists.",
)

# 03:05 UTC, after the Spotify sync: the platforms' counters for yesterday have settled.
# Off where the sample world stands in (no keys; the import files are backfilled by make run).
social_media_schedule = dg.build_schedule_from_partitioned_job(
    social_media_job,
    hour_of_day=3,
    minute_of_hour=5,
    default_status=(
        dg.DefaultScheduleStatus.STOPPED
        if load_settings().use_sample_world
        else dg.DefaultScheduleStatus.RUNNING
    ),
)

ASSETS: list = [social_media_metrics]
CHECKS: list = [build_table_checks(ACTIVATION_GROUP, SOCIAL_MEDIA_METRICS)]
JOBS: list = [social_media_job]
SCHEDULES: list = [social_media_schedule]
SENSORS: list = []
