"""What starts audio analysis: new or changed files in the audio landing zone.

The sensor turns every batch of new file versions (by modification time, with the streams
sensor's cursor) into one run of the audio job, unless that run would change nothing: the
new files are scanned the way the catalogue scans them, and when the catalogue, quarantine and
features already stored hold exactly that (a brand-new cursor over an analysed zone, a file
touched or rewritten with the same bytes), no run is requested. The run re-scans the zone,
but reads only the files whose size or mtime changed and analyses only content it has not
analysed, so it does the work of exactly the new or changed files; the downstream tables are
then rebuilt from what is stored, which takes seconds.
"""

import dagster as dg

from spotify_agent_assets.audio.tables import (
    AUDIO_CATALOG,
    AUDIO_FEATURES,
    AUDIO_GROUP,
    AUDIO_QUARANTINE,
)
from spotify_agent_assets.defs.audio.resources import AudioLandingResource
from spotify_agent_assets.defs.lake.resources import LakeResource

audio_analysis = dg.define_asset_job(
    "audio_analysis",
    selection=dg.AssetSelection.groups(AUDIO_GROUP),
    description="Catalogue the audio landing zone, analyse new audio, flag and classify it.",
)


@dg.sensor(
    job=audio_analysis,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def audio_landing_sensor(
    context: dg.SensorEvaluationContext, audio_landing: AudioLandingResource, lake: LakeResource
):
    """One run of ``audio_analysis`` for the files that are new or changed since the cursor,
    when it would change what is stored."""
    from spotify_agent_assets.audio.catalog import CatalogEntry, catalog_zone
    from spotify_agent_assets.audio.pending import pending_work
    from spotify_agent_assets.streams.landing_cursor import LandingCursor
    from spotify_agent_assets.streams.landing_index import LandingFile

    cursor = LandingCursor.from_json(context.cursor)
    zone = audio_landing.zone()
    listing = zone.list()
    files = [LandingFile(f.path, f.size, f.mtime_ns) for f in listing.files]
    new = cursor.new_files(files)
    if not new:
        return dg.SkipReason(f"No new or changed files in {audio_landing.zone_root}")
    advanced = cursor.advanced(new)
    stored = lake.previous_rows(AUDIO_GROUP, AUDIO_CATALOG.name)
    scan = catalog_zone(zone, previous=[CatalogEntry.from_record(row) for row in stored])
    pending = pending_work(
        scan,
        stored,
        lake.previous_rows(AUDIO_GROUP, AUDIO_QUARANTINE.name),
        lake.previous_rows(AUDIO_GROUP, AUDIO_FEATURES.name),
    )
    if not pending:
        context.log.info(
            f"{len(new)} new or changed file(s), all already catalogued and analysed as stored"
        )
        return dg.SensorResult(run_requests=[], cursor=advanced.to_json())
    paths = pending.paths
    shown = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
    context.log.info(f"{len(paths)} file(s) to catalogue or analyse: {shown}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"audio:{advanced.mtime_ns}:{len(new)}",
                tags={"audio/new_files": str(len(paths))},
            )
        ],
        cursor=advanced.to_json(),
    )
