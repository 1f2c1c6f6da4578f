"""The ``dbt`` resource: where the dbt project is and which dbt runs it.

A plain ConfigurableResource, so that building the code location's resources does not import
dagster-dbt (and dbt-core with it: ~1.7 s in every process that loads the code location). The
step that runs dbt asks it for dagster-dbt's ``DbtCliResource`` (`cli_resource`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from spotify_agent_assets.analytics_dbt.project import (
    dbt_executable,
    find_project_dir,
    manifest_path,
)
from spotify_agent_assets.environment import AgentSettings

if TYPE_CHECKING:
    from dagster_dbt import DbtCliResource


class AnalyticsDbtResource(dg.ConfigurableResource):
    """The analytics dbt project (``profiles.yml`` beside ``dbt_project.yml``) and its dbt CLI."""

    project_dir: str
    dbt_executable: str

    def cli_resource(self) -> DbtCliResource:
        """dagster-dbt's CLI resource for this project; imports dagster-dbt and dbt-core."""
        from spotify_agent_assets.defs.analytics.dbt_run import InstalledDbtCliResource

        return InstalledDbtCliResource(
            project_dir=self.project_dir,
            profiles_dir=self.project_dir,
            dbt_executable=self.dbt_executable,
        )

    @property
    def manifest_path(self) -> Path:
        return manifest_path(Path(self.project_dir))

    @property
    def target_dir(self) -> Path:
        """Where dbt writes; each invocation gets a folder of its own inside."""
        return self.manifest_path.parent


def build_dbt_resource(settings: AgentSettings) -> AnalyticsDbtResource:
    """The dbt CLI for ``settings``' environment.

    One profile serves every environment: the warehouse file is not part of the resource but
    comes from the ``lake`` resource at run time, the same file whose writer lock the run holds.
    """
    del settings  # nothing differs between environments yet; the signature is the contract
    return AnalyticsDbtResource(
        project_dir=str(find_project_dir()), dbt_executable=dbt_executable()
    )
