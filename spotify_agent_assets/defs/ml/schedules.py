"""When the recommender learns and when its serving tables follow.

- ``daily_interactions`` (03:00 UTC): ``interaction_matrix`` as of the day that just closed.
  A schedule, not declarative automation on every ingested hour: the matrix reads all of
  history, and only a closed day changes it.
- ``weekly_recommender_training`` (Mondays 04:00 UTC): a new ``recommender_model`` version from
  the latest matrix; it becomes champion only if it beats the current one.
- ``user_recommendations`` and ``similar_tracks`` follow their inputs by declarative automation
  (eager, in ``assets``): a new matrix each day folds every listener in again without
  retraining, a new model version re-serves both.

Both schedules skip a tick when nothing they read was materialized since their own asset
last was: stored work is not redone (the sample world, frozen, never triggers them).
"""

from collections.abc import Sequence

import dagster as dg

INTERACTION_MATRIX = dg.AssetKey("interaction_matrix")
RECOMMENDER_MODEL = dg.AssetKey("recommender_model")
MATRIX_INPUTS = (dg.AssetKey("stream_events"), dg.AssetKey("spotify_tracks"))

daily_interactions = dg.define_asset_job(
    "daily_interactions",
    selection=dg.AssetSelection.assets(INTERACTION_MATRIX),
    description="Rebuild interaction_matrix as of the last closed UTC day.",
)
weekly_recommender_training = dg.define_asset_job(
    "weekly_recommender_training",
    selection=dg.AssetSelection.assets(RECOMMENDER_MODEL),
    description="Train and register a recommender version; the champion moves only if better.",
)


def inputs_changed(
    instance: dg.DagsterInstance, target: dg.AssetKey, inputs: Sequence[dg.AssetKey]
) -> dg.RunRequest | dg.SkipReason:
    """A run request when any of ``inputs`` was materialized after ``target`` last was (or
    ``target`` never was and some input exists); otherwise the reason to skip."""
    latest = {key: instance.get_latest_materialization_event(key) for key in inputs}
    stored = [event.timestamp for event in latest.values() if event is not None]
    if not stored:
        names = ", ".join(key.to_user_string() for key in inputs)
        return dg.SkipReason(f"nothing to build {target.to_user_string()} from yet ({names})")
    own = instance.get_latest_materialization_event(target)
    if own is not None and own.timestamp >= max(stored):
        return dg.SkipReason(
            f"{target.to_user_string()} is newer than every input: nothing new to learn from"
        )
    return dg.RunRequest()


@dg.schedule(
    job=daily_interactions,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_interactions_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    """interaction_matrix once a day, when events or tracks changed since it was built."""
    return inputs_changed(context.instance, INTERACTION_MATRIX, MATRIX_INPUTS)


@dg.schedule(
    job=weekly_recommender_training,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def weekly_recommender_training_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    """A recommender version once a week, when the matrix changed since the last training."""
    return inputs_changed(context.instance, RECOMMENDER_MODEL, [INTERACTION_MATRIX])


ML_JOBS = [daily_interactions, weekly_recommender_training]
ML_SCHEDULES = [daily_interactions_schedule, weekly_recommender_training_schedule]
