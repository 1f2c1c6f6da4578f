"""The backup key `make run` and `make restore` use on a laptop when none is set.

``python -m spotify_agent_assets.maintenance.local_backup_key`` prints the key in
``<data>/backup.key`` (32 random bytes as hex, created once, mode 0600) for the Makefile to pass
as ``SPOTIFY_AGENT_BACKUP_KEY``. It lives beside the backups only because both are on the same
laptop anyway; it sits outside ``secrets/`` so no backup holds its own key. Production never
uses it: there the key comes from the deployment's secret store, and this refuses to run.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from spotify_agent_assets.environment import AgentEnvironment, AgentSettings, load_settings

KEY_FILE = "backup.key"


def local_backup_key(settings: AgentSettings) -> str:
    """The local key as 64 hex digits, created once under the data folder."""
    if settings.env is not AgentEnvironment.LOCAL:
        raise RuntimeError(
            "a local backup key is for SPOTIFY_AGENT_ENV=local only; in prod set "
            "SPOTIFY_AGENT_BACKUP_KEY from the deployment's secret store"
        )
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        _create(path, secrets.token_hex(32))
    text = path.read_text().strip()
    if len(text) != 64:
        # Never replaced behind anyone's back: the existing backups need this very key.
        raise RuntimeError(f"{path} does not hold 64 hex digits; fix or remove it by hand")
    return text


def _create(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    # Linking fails if another process created the key meanwhile; its key wins.
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()


def main() -> None:
    try:
        print(local_backup_key(load_settings()))
    except RuntimeError as error:
        print(f"local_backup_key: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
