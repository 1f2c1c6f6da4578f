"""The daily Spotify sync: the current catalogue plus yesterday's artist snapshot."""

import dagster as dg

from spotify_agent_assets.defs.spotify.partitions import SNAPSHOT_DAYS
from spotify_agent_assets.environment import load_settings

spotify_daily_sync = dg.define_asset_job(
    "spotify_daily_sync",
    selection=dg.AssetSelection.groups("spotify", "spotify_history"),
    partitions_def=SNAPSHOT_DAYS,
    description="Sync the roster's catalogue from Spotify and capture the artists' daily snapshot.",
)

# 02:15 UTC: yesterday is complete everywhere in Europe and the Americas by then, and the
# partitioned-job schedule targets exactly that day. Off by default where the bundled sample
# world stands in for Spotify: it is frozen, so a daily sync would only fetch what `make run`
# stored (and the sample has no days after its own).
spotify_daily_sync_schedule = dg.build_schedule_from_partitioned_job(
    spotify_daily_sync,
    hour_of_day=2,
    minute_of_hour=15,
    default_status=(
        dg.DefaultScheduleStatus.STOPPED
        if load_settings().use_sample_world
        else dg.DefaultScheduleStatus.RUNNING
    ),
)
