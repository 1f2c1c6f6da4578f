"""``python -m spotify_agent_assets.analytics_dbt prepare [--force]``: write the dbt manifest.

Run once after installing (``make setup``) and when building the production image; it needs no
network and no warehouse.
"""

from __future__ import annotations

import argparse
import sys

from spotify_agent_assets.analytics_dbt.project import (
    ManifestPrepareError,
    find_project_dir,
    prepare_manifest,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spotify_agent_assets.analytics_dbt")
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="write dbt_project/target/manifest.json")
    prepare.add_argument(
        "--force", action="store_true", help="parse even if the manifest is current"
    )
    args = parser.parse_args(argv)

    try:
        path = prepare_manifest(find_project_dir(), force=args.force)
    except (ManifestPrepareError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"dbt manifest ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
