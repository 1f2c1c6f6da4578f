"""Erased listeners in MLflow: which registered versions learned from them, and their files.

A recommender version's files (``recommend.model_files``) list its listeners in
``users.json`` with one vector and one row of played tracks each in ``arrays.npz``: that is the
listener's data inside the model. Every registered version whose files hold such a list is
searched; one that names an erased listener is recorded (it was trained on their data and must
be retrained) and its files are rewritten without them. Other artifacts (item embeddings,
model cards, classifier files) hold no listener; the verification scan proves it.

The two files cannot be replaced in one step, so ``arrays.npz`` goes first and a re-run tells
from the row counts whether a killed run already rewrote it: rows equal to the listed users
means not yet, rows equal to the users that stay means done.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from spotify_agent_assets.lake.atomic_file import write_bytes
from spotify_agent_assets.streams.erased_listeners import ledger_digest

USERS_FILE = "users.json"
ARRAYS_FILE = "arrays.npz"


@dataclass(frozen=True)
class TrainedVersion:
    """A registered version whose training data held erased listeners."""

    name: str
    version: str
    run_id: str | None
    listeners: int

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "listeners": self.listeners,
        }


def _versions(tracking_uri: str) -> Iterator[tuple[Any, str]]:
    """Every registered version with the location its files are loaded from (the same place
    ``mlflow_registry.downloaded_version`` reads)."""
    from spotify_agent_assets.mlflow_registry import client_for

    client = client_for(tracking_uri)
    for registered in client.search_registered_models():
        for version in client.search_model_versions(f"name = '{registered.name}'"):
            uri = client.get_model_version_download_uri(version.name, str(version.version))
            yield version, uri


def _repository(source: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(source)


def _users(repo: Any) -> list[Any] | None:
    names = {Path(info.path).name for info in repo.list_artifacts()}
    if USERS_FILE not in names:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return json.loads(Path(repo.download_artifacts(USERS_FILE, tmp)).read_text())


def plan_mlflow(
    tracking_uri: str, digests: Collection[str]
) -> tuple[list[TrainedVersion], set[str]]:
    """Versions whose listeners include erased ones, and the digests found."""
    trained: list[TrainedVersion] = []
    found: set[str] = set()
    if not digests:
        return trained, found
    for version, location in _versions(tracking_uri):
        users = _users(_repository(location))
        hits = {ledger_digest(str(u)) for u in users or ()} & set(digests)
        if hits:
            found |= hits
            trained.append(
                TrainedVersion(version.name, str(version.version), version.run_id, len(hits))
            )
    return trained, found


def erase_mlflow(tracking_uri: str, digests: Collection[str]) -> dict[str, int]:
    """Rewrite every version's model files without erased listeners; returns listeners
    removed per ``name/version`` (a version already clean is left alone)."""
    removed: dict[str, int] = {}
    for version, location in _versions(tracking_uri):
        repo = _repository(location)
        users = _users(repo)
        if users is None:
            continue
        keep = [ledger_digest(str(u)) not in digests for u in users]
        if all(keep):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            arrays_path = Path(repo.download_artifacts(ARRAYS_FILE, tmp))
            arrays = _without_users(arrays_path, keep, f"{version.name}/{version.version}")
            if arrays is not None:
                _replace(repo, location, ARRAYS_FILE, arrays, tmp)
            kept = [u for u, k in zip(users, keep, strict=True) if k]
            _replace(repo, location, USERS_FILE, json.dumps(kept).encode(), tmp)
        removed[f"{version.name}/{version.version}"] = keep.count(False)
    return removed


def _without_users(path: Path, keep: list[bool], label: str) -> bytes | None:
    """``arrays.npz`` without the users not kept, or None if a killed run already did it."""
    import numpy as np

    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    rows = len(arrays["user_vectors"])
    if rows == sum(keep):
        return None
    if rows != len(keep):
        raise RuntimeError(
            f"model files of {label}: {rows} user vectors for {len(keep)} listed users; "
            "expected them to match"
        )
    mask = np.array(keep, dtype=bool)
    pointers = arrays["seen_pointers"]
    starts, ends = pointers[:-1][mask], pointers[1:][mask]
    take = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)] or [[]])
    take = take.astype(np.int64)
    arrays["user_vectors"] = arrays["user_vectors"][mask]
    arrays["seen_items"] = arrays["seen_items"][take]
    arrays["seen_weights"] = arrays["seen_weights"][take]
    arrays["seen_pointers"] = np.concatenate([[0], np.cumsum(ends - starts)]).astype(pointers.dtype)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _replace(repo: Any, source: str, name: str, data: bytes, tmp: str) -> None:
    """One artifact file replaced: atomically for a local store, one upload otherwise."""
    parsed = urlparse(source)
    if parsed.scheme in ("", "file"):
        write_bytes(Path(unquote(parsed.path)) / name, data)
        return
    staged = Path(tmp) / "upload" / name
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(data)
    repo.log_artifact(str(staged))


def version_artifact_files(tracking_uri: str, into: Path) -> list[Path]:
    """Every registered version's files downloaded under ``into`` (for the verification)."""
    files: list[Path] = []
    for version, location in _versions(tracking_uri):
        target = into / version.name / str(version.version)
        target.mkdir(parents=True, exist_ok=True)
        local = Path(_repository(location).download_artifacts("", str(target)))
        files += [p for p in local.rglob("*") if p.is_file()]
    return files
