"""``gdpr_erasure_job``: erase listeners from every store (no schedule: it runs on request).

Raw listener ids never enter run config, which Dagster stores and shows: the config names a
request file ``{"listener_ids": ["<raw id>", ...]}`` on the code location's machine; the job
reads and hashes it, and deletes it once the erasure is verified. From the CLI::

    echo 'request_file: /secure/erasure-request.json' > erasure.yaml
    dagster job execute -m spotify_agent_assets.definitions -j gdpr_erasure_job -c erasure.yaml

Three ops: ``plan_erasure`` (every store searched, journal and ledger written; an unknown or
malformed id stops here with nothing changed), ``apply_erasure`` (each store's step under the
journal; the rewritten lake partitions are reported as materializations, so declarative
automation rebuilds those days' daily models and analytics as it does for late data) and
``verify_erasure`` (every store scanned; the receipt stored and shown as metadata).
``erasure_retraining_sensor`` requests the recommender's training job once per receipt that
names a model version trained on an erased listener, until a newer version exists.
"""

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.ml.resources import MlflowTrackingResource
from spotify_agent_assets.defs.ml.schedules import RECOMMENDER_MODEL, weekly_recommender_training
from spotify_agent_assets.defs.streams.resources import StreamLandingResource

if TYPE_CHECKING:
    from spotify_agent_assets.maintenance.erasure import ErasureStores


class ErasureRequestConfig(dg.Config):
    request_file: str = Field(
        description=(
            'Path of a JSON file {"listener_ids": ["<raw id>", ...]} readable by the code '
            "location; deleted once the erasure is verified. Never put raw ids in run config."
        )
    )


def _stores(
    lake: LakeResource, stream_landing: StreamLandingResource, mlflow: MlflowTrackingResource
) -> "ErasureStores":
    from pathlib import Path

    from spotify_agent_assets.environment import load_settings
    from spotify_agent_assets.maintenance.erasure import ErasureStores

    root = stream_landing.landing_root
    return ErasureStores(
        lake=lake.lake(),
        warehouse_path=Path(lake.warehouse_path),
        data_dir=Path(stream_landing.data_dir),
        landing=stream_landing.filesystem(),
        landing_local_root=None if root.startswith("s3://") else Path(root),
        landing_index_path=stream_landing.index_path,
        mlflow_tracking_uri=mlflow.tracking_uri,
        mlflow_artifact_root=mlflow.artifact_root,
        backup_url=load_settings().backup_url,
    )


def _request(config: ErasureRequestConfig, stream_landing: StreamLandingResource):
    from spotify_agent_assets.maintenance.erasure_request import ErasureRequestError, load_request

    try:
        return load_request(config.request_file, stream_landing.key())
    except ErasureRequestError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None


@dg.op(out=dg.Out(dg.Nothing), tags={"kind": "maintenance"})
def plan_erasure(
    context: dg.OpExecutionContext,
    config: ErasureRequestConfig,
    lake: LakeResource,
    stream_landing: StreamLandingResource,
    mlflow: MlflowTrackingResource,
) -> dg.Nothing:
    """Search every store for the requested listeners and write the journal and ledger."""
    from spotify_agent_assets.maintenance.erasure import plan_erasure as plan
    from spotify_agent_assets.maintenance.erasure_request import ErasureRequestError

    request = _request(config, stream_landing)
    try:
        journal = plan(_stores(lake, stream_landing, mlflow), request)
    except ErasureRequestError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    files = journal["plan"]["lake"]
    context.add_output_metadata(
        {
            "erasure_id": journal["erasure_id"],
            "listeners": journal["listeners"],
            "lake_files": len(files),
            "lake_rows": sum(f["rows"] for f in files),
            "warehouse_rows": sum(journal["plan"]["warehouse"].values()),
            "model_versions": len(journal["plan"]["mlflow"]),
            "landing_files": len(journal["plan"]["landing"]),
            "resumed": bool(journal["steps"]),
        }
    )


@dg.op(ins={"planned": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing), tags={"kind": "maintenance"})
def apply_erasure(
    context: dg.OpExecutionContext,
    config: ErasureRequestConfig,
    lake: LakeResource,
    stream_landing: StreamLandingResource,
    mlflow: MlflowTrackingResource,
) -> dg.Nothing:
    """Remove the listeners store by store; report the rewritten lake files as new
    materializations so what is built from them follows."""
    from spotify_agent_assets.maintenance.erasure import apply_erasure as apply
    from spotify_agent_assets.maintenance.erasure_journal import load_journal

    request = _request(config, stream_landing)
    stores = _stores(lake, stream_landing, mlflow)
    journal = load_journal(stores.data_dir, request.erasure_id)
    if journal is None:
        raise dg.Failure(f"no journal for erasure {request.erasure_id}: run plan_erasure first")
    rewritten = apply(
        stores, journal, frozenset(request.digests), request.raw_ids, context.log.info
    )
    for file in rewritten:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=file.asset,
                partition=file.partition,
                description=f"rewritten by GDPR erasure {request.erasure_id}",
                metadata={"erasure_id": request.erasure_id, "rows_removed": file.rows},
            )
        )


@dg.op(ins={"applied": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing), tags={"kind": "maintenance"})
def verify_erasure(
    context: dg.OpExecutionContext,
    config: ErasureRequestConfig,
    lake: LakeResource,
    stream_landing: StreamLandingResource,
    mlflow: MlflowTrackingResource,
) -> dg.Nothing:
    """Scan every store for the listeners (must find nothing), store the receipt and delete
    the request file."""
    from spotify_agent_assets.maintenance.erasure import (
        ErasureVerificationError,
        finish_erasure,
    )
    from spotify_agent_assets.maintenance.erasure import (
        verify_erasure as verify,
    )
    from spotify_agent_assets.maintenance.erasure_journal import load_journal
    from spotify_agent_assets.maintenance.erasure_scan import ErasureTraces

    request = _request(config, stream_landing)
    stores = _stores(lake, stream_landing, mlflow)
    traces = ErasureTraces(frozenset(request.digests), request.pseudonyms, request.raw_ids)
    try:
        verification = verify(stores, traces)
    except ErasureVerificationError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    journal = load_journal(stores.data_dir, request.erasure_id)
    receipt = finish_erasure(stores, journal, verification, config.request_file)
    context.add_output_metadata(
        {
            "erasure_id": receipt["erasure_id"],
            "listeners": receipt["listeners"],
            "receipt": dg.MetadataValue.json(receipt),
            "stored_at": dg.MetadataValue.json(receipt["stored_at"]),
        }
    )
    context.log.info(f"erasure {request.erasure_id} verified; receipt at {receipt['stored_at']}")


ERASURE_OPS = ("plan_erasure", "apply_erasure", "verify_erasure")


def _request_file_to_ops(values: dict) -> dict:
    """The job's one setting, handed to each op (they each re-read and hash the request)."""
    op_config = {"config": {"request_file": values["request_file"]}}
    return {"ops": {name: op_config for name in ERASURE_OPS}}


@dg.job(
    description="Erase listeners (raw ids from a request file, never run config) from every "
    "store, verify nothing is left, and store a receipt.",
    tags={"kind": "maintenance"},
    config=dg.ConfigMapping(
        config_fn=_request_file_to_ops,
        config_schema={
            "request_file": dg.Field(
                str,
                description='JSON file {"listener_ids": [...]} on the code location\'s machine; '
                "deleted once the erasure is verified.",
            )
        },
    ),
)
def gdpr_erasure_job():
    verify_erasure(apply_erasure(plan_erasure()))


@dg.sensor(
    job=weekly_recommender_training,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def erasure_retraining_sensor(
    context: dg.SensorEvaluationContext, stream_landing: StreamLandingResource
):
    """Retrain the recommender after an erasure whose receipt names a version trained on an
    erased listener, unless a version was trained since. Once per erasure: the requested
    erasures are kept in the cursor, and the run key is the erasure's."""
    import json

    from spotify_agent_assets.maintenance.erasure_journal import load_receipts

    requested = set(json.loads(context.cursor or "[]"))
    latest = context.instance.get_latest_materialization_event(RECOMMENDER_MODEL)
    for receipt in load_receipts(stream_landing.data_dir):
        erasure_id = receipt["erasure_id"]
        if not receipt["retrain"] or erasure_id in requested:
            continue
        erased_at = dt.datetime.fromisoformat(receipt["completed_at"]).timestamp()
        if latest is not None and latest.timestamp > erased_at:
            continue
        requested.add(erasure_id)
        yield dg.RunRequest(run_key=f"erasure-{erasure_id}", tags={"erasure_id": erasure_id})
    context.update_cursor(json.dumps(sorted(requested)))


JOBS = [gdpr_erasure_job]
SCHEDULES: list = []
SENSORS = [erasure_retraining_sensor]
