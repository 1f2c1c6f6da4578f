"""The code location: everything under ``defs/``, with resources for the current environment.

``dagster asset materialize -m spotify_agent_assets.definitions --select ...`` and
``dagster dev`` (workspace.yaml) both load ``defs`` from here.
"""

import dagster as dg

from spotify_agent_assets.environment import PROJECT_ROOT

defs = dg.load_from_defs_folder(project_root=PROJECT_ROOT)
