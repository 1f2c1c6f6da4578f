"""What starts audio analysis: new or changed files in the audio landing zone.

The sensor turns every batch of new file versions (by modification time, with the streams
sensor's cursor) into one run of the audio job. The run re-scans the zone, but reads only the
files whose size or mtime changed and analyses only content it has not analysed, so it does
the work of exactly the new or changed files; the downstream tables are then rebuilt from
what is stored, which takes seconds.
"""

import dagster as dg

from spotify_agent_assets.audio.tables import AUDIO_GROUP
from spotify_agent_assets.defs.audio.resources import AudioLandingResource

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
def audio_landing_sensor(context: dg.SensorEvaluationContext, audio_landing: AudioLandingResource):
    """One run of ``audio_analysis`` for the files that are new or changed since the cursor."""
    from spotify_agent_assets.streams.landing_cursor import LandingCursor
    from spotify_agent_assets.streams.landing_index import LandingFile

    cursor = LandingCursor.from_json(context.cursor)
    listing = audio_landing.zone().list()
    files = [LandingFile(f.path, f.size, f.mtime_ns) for f in listing.files]
    new = cursor.new_files(files)
    if not new:
        return dg.SkipReason(f"No new or changed files in {audio_landing.zone_root}")
    advanced = cursor.advanced(new)
    shown = ", ".join(f.path for f in new[:5]) + (" ..." if len(new) > 5 else "")
    context.log.info(f"{len(new)} new or changed file(s): {shown}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"audio:{advanced.mtime_ns}:{len(new)}",
                tags={"audio/new_files": str(len(new))},
            )
        ],
        cursor=advanced.to_json(),
    )
