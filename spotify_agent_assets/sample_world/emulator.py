"""A real HTTP server on 127.0.0.1 that speaks the Spotify Web API over the sample world.

Tests point spotipy (or any HTTP client) at `api_base_url` and `accounts_url` and exercise the
production code path over real sockets, including the failures Spotify is known for: 429s with
and without `Retry-After` (also spelled in lower case, also `0`), 5xx answers, slow answers that
trip client timeouts, and tokens that expire mid-run. Faults are drawn from a seeded stream, so
the same `FaultPlan` and the same sequence of requests give the same faults. `fixed` serves given
objects (recorded real answers, bent by a test) in place of the world's.

Requests are recorded once answered (after a slow answer's sleep), so a client that timed out
may look at the log before its request shows up.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from spotify_agent_assets.sample_world.api import SampleWorldApi
from spotify_agent_assets.sample_world.api_requests import ApiResponse, bearer_token, error_response
from spotify_agent_assets.sample_world.fixed_objects import FixedObjects
from spotify_agent_assets.sample_world.world import DEFAULT_AS_OF, SampleWorld

ALL_FAULT_KINDS: tuple[str, ...] = (
    "429_retry_after",
    "429_retry_after_zero",
    "429_no_header",
    "429_lowercase",
    "500",
    "502",
    "503",
    "slow",
    "expired_token",
)
DEFAULT_EMULATOR_CREDENTIALS = ("emulator-client-id", "emulator-client-secret")
_RATE_LIMITED = "API rate limit exceeded"
_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class FaultPlan:
    """Which requests the emulator answers with a fault instead of the real answer."""

    rate: float = 0.0  # probability that a /v1/ request is answered with a fault
    kinds: tuple[str, ...] = ALL_FAULT_KINDS
    seed: int = 0  # same plan + same request sequence -> same faults
    slow_seconds: float = 2.0  # how long a "slow" answer sleeps before responding
    retry_after_seconds: int = 1  # Retry-After of 429_retry_after / 429_lowercase
    include_token_endpoint: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"FaultPlan.rate must be within [0, 1], got {self.rate}")
        unknown = [kind for kind in self.kinds if kind not in ALL_FAULT_KINDS]
        if unknown or not self.kinds:
            raise ValueError(
                f"FaultPlan.kinds must be a non-empty subset of {ALL_FAULT_KINDS}, got {self.kinds}"
            )


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]] = field(hash=False)
    status: int
    fault: str | None
    # As received (names as the client spelled them): tests read traceparent from here.
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


def fault_response(kind: str, plan: FaultPlan) -> ApiResponse:
    """The answer the emulator gives for one fault kind (all but `slow`)."""
    if kind == "429_retry_after":
        return _rate_limited({"Retry-After": str(plan.retry_after_seconds)})
    if kind == "429_retry_after_zero":
        return _rate_limited({"Retry-After": "0"})
    if kind == "429_lowercase":
        return _rate_limited({"retry-after": str(plan.retry_after_seconds)})
    if kind == "429_no_header":
        return ApiResponse(429, {}, b"")
    if kind == "500":
        return error_response(500, "Server error.")
    if kind == "502":
        # Spotify's edge answers a broken backend with a proxy's HTML page, not JSON.
        return ApiResponse(502, {"Content-Type": "text/html"}, _BAD_GATEWAY_HTML)
    if kind == "503":
        return error_response(503, "Service unavailable")
    if kind == "expired_token":
        return error_response(401, "The access token expired")
    raise ValueError(f"no canned response for fault kind {kind!r}")


def _rate_limited(headers: Mapping[str, str]) -> ApiResponse:
    answer = error_response(429, _RATE_LIMITED)
    return ApiResponse(429, {**answer.headers, **headers}, answer.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow answer must not hold up stop()

    def __init__(self, emulator: SpotifyEmulator) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.emulator = emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are part of the tests, not errors.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _dispatch(self) -> None:
        self.server.emulator._serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: test output should not fill with access logs.
        pass


class SpotifyEmulator:
    """The sample world behind HTTP on an ephemeral port; a context manager."""

    def __init__(
        self,
        world: SampleWorld | None = None,
        *,
        as_of: date = DEFAULT_AS_OF,
        faults: FaultPlan = FaultPlan(),  # frozen, so sharing one default is safe
        credentials: tuple[str, str] | None = DEFAULT_EMULATOR_CREDENTIALS,
        fixed: FixedObjects | None = None,
    ) -> None:
        self.world = world if world is not None else SampleWorld()
        self.api = SampleWorldApi(self.world, as_of=as_of, credentials=credentials, fixed=fixed)
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._faults = faults
        self._fault_rng = random.Random(faults.seed)  # noqa: S311 -- seeded fault injection, not security
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="spotify-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server, self._thread = None, None
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- addresses and settings --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Spotify emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/"

    @property
    def accounts_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/token"

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        with self._lock:
            self._faults = plan
            self._fault_rng = random.Random(plan.seed)  # noqa: S311 -- seeded fault injection, not security

    @property
    def as_of(self) -> date:
        return self.api.as_of

    @as_of.setter
    def as_of(self, day: date) -> None:
        self.api.as_of = day

    @property
    def fixed(self) -> FixedObjects:
        """Objects served verbatim instead of the world's; change them between syncs."""
        return self.api.fixed

    def expire_tokens(self) -> None:
        self.api.expire_tokens()

    # ---- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def count(self, path_prefix: str = "/v1/", *, faulted: bool | None = None) -> int:
        """How many requests under `path_prefix` were answered (optionally: with a fault)."""
        return sum(
            1
            for r in self.requests
            if r.path.startswith(path_prefix)
            and (faulted is None or (r.fault is not None) == faulted)
        )

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    # ---- serving ---------------------------------------------------------------------------

    def _draw_fault(self, path: str) -> tuple[str | None, FaultPlan]:
        with self._lock:
            plan = self._faults
            eligible = "/v1/" in path or (
                plan.include_token_endpoint and path.rstrip("/").endswith("/api/token")
            )
            if not eligible or plan.rate <= 0.0 or self._fault_rng.random() >= plan.rate:
                return None, plan
            return plan.kinds[self._fault_rng.randrange(len(plan.kinds))], plan

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {name: value for name, value in handler.headers.items()}
        url = f"http://127.0.0.1:{self.port}{handler.path}"
        parts = urlsplit(handler.path)
        fault, plan = self._draw_fault(parts.path)
        if fault is None or fault == "slow":
            if fault == "slow":
                time.sleep(plan.slow_seconds)
            response = self.api.handle(handler.command, url, headers, body)
        else:
            if fault == "expired_token":
                token = bearer_token({k.lower(): v for k, v in headers.items()})
                if token is not None:
                    self.api.expire_token(token)
            response = fault_response(fault, plan)
        record = RecordedRequest(
            handler.command, parts.path, parse_qs(parts.query), response.status, fault, headers
        )
        with self._lock:
            self._log.append(record)
        try:
            handler.send_response(response.status)
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout on a slow answer); nothing left to tell it.
            handler.close_connection = True
