"""Dagster wiring of the lake: the IO manager that writes assets as lake tables."""

from spotify_agent_assets.defs.lake.io_manager import LakeIOManager
from spotify_agent_assets.defs.lake.resources import LakeResource

__all__ = ["LakeIOManager", "LakeResource"]
