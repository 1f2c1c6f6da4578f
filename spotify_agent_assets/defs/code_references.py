"""Links from assets to their source code, as the UI shows them."""

import warnings
from collections.abc import Sequence

import dagster as dg


def with_code_references(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``dg.with_source_code_references`` without its beta warnings, which it would otherwise
    print on every import of the code location (each CLI command, each step process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return list(dg.with_source_code_references(list(assets)))
