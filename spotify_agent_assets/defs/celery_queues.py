"""Route every step to its workload's Celery queue, from its asset group, in one place.

dagster-celery reads the queue from the step's tags (``dagster-celery/queue``), and a step's
tags are its op's tags: an asset's ``tags`` (shown in the catalog) never reach the step. So
the op behind each asset definition is rebuilt here with the tag of its group's queue
(``distributed.celery_config.QUEUE_BY_GROUP``), and each asset check definition gets the queue
of the asset it checks, instead of repeating ``op_tags`` on every decorator. The tag is set in
every environment: it changes nothing for the forkserver executor, and the code location shows
the same definitions wherever it runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from spotify_agent_assets.distributed.celery_config import CeleryConfigError, queue_for_group

# dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG, spelled out so that loading the code location
# does not import Celery (a test holds the two equal).
CELERY_QUEUE_TAG = "dagster-celery/queue"


def with_celery_queues(
    assets: Sequence[dg.AssetsDefinition], checks: Sequence[dg.AssetsDefinition] = ()
) -> tuple[list[dg.AssetsDefinition], list[dg.AssetsDefinition]]:
    """``assets`` and ``checks`` with the queue tag on each one's op."""
    queue_by_key: dict[dg.AssetKey, str] = {}
    routed_assets = []
    for definition in assets:
        groups = {definition.specs_by_key[key].group_name for key in definition.keys}
        queue = _single_queue({queue_for_group(group) for group in groups}, definition)
        queue_by_key.update(dict.fromkeys(definition.keys, queue))
        routed_assets.append(_with_op_tags(definition, {CELERY_QUEUE_TAG: queue}))
    routed_checks = []
    for definition in checks:
        targets = {check_key.asset_key for check_key in definition.check_keys}
        missing = sorted(key.to_user_string() for key in targets - queue_by_key.keys())
        if missing:
            raise CeleryConfigError(
                f"asset checks {definition.node_def.name} target {', '.join(missing)}, which "
                "is not among the code location's assets; expected checks of defined assets"
            )
        queue = _single_queue({queue_by_key[key] for key in targets}, definition)
        routed_checks.append(_with_op_tags(definition, {CELERY_QUEUE_TAG: queue}))
    return routed_assets, routed_checks


def step_queues(definitions: Iterable[dg.AssetsDefinition]) -> dict[str, str | None]:
    """Each definition's op name and the queue its steps go to (None: no tag)."""
    return {d.node_def.name: d.node_def.tags.get(CELERY_QUEUE_TAG) for d in definitions}


def _single_queue(queues: set[str], definition: dg.AssetsDefinition) -> str:
    # One op is one step, so a definition whose assets belong to workloads of different
    # queues cannot be routed; split it, or put its assets in one group.
    if len(queues) != 1:
        raise CeleryConfigError(
            f"{definition.node_def.name} holds assets of the Celery queues "
            f"{sorted(queues)}; expected one queue per op (split the definition)"
        )
    return next(iter(queues))


def _with_op_tags(definition: dg.AssetsDefinition, tags: Mapping[str, str]) -> dg.AssetsDefinition:
    """``definition`` over a copy of its op that also carries ``tags``.

    Dagster offers no public way to add op tags to a built definition, so the op is rebuilt
    from its own parts (as ``OpDefinition.with_replaced_properties`` does, plus the tags) and
    the definition re-created from its attributes (as ``with_attributes`` does).
    """
    op = definition.node_def
    if not isinstance(op, dg.OpDefinition):
        raise CeleryConfigError(
            f"{op.name} is a {type(op).__name__}; queues can only be set on op-backed assets"
        )
    tagged = dg.OpDefinition(
        compute_fn=op.compute_fn,
        name=op.name,
        ins={d.name: dg.In.from_definition(d) for d in op.input_defs},
        outs={d.name: dg.Out.from_definition(d) for d in op.output_defs},
        description=op.description,
        config_schema=op.config_schema,
        required_resource_keys=op.required_resource_keys,
        tags={**op.tags, **tags},
        # The public ``version`` property is deprecated and no ``code_version`` replaces it.
        code_version=op._version,
        retry_policy=op.retry_policy,
        pool=op.pool,
    )
    with warnings.catch_warnings():
        # The attributes include ``execution_type`` (a beta parameter) even when it is the
        # default; passing it back is what ``with_attributes`` does too.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return type(definition)(**{**definition.get_attributes_dict(), "node_def": tagged})
