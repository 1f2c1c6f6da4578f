"""A real local OTLP/HTTP traces receiver: decodes each protobuf export request it accepts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets_tests.http_receiver import Request, Response, serve_http


@dataclass
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    attributes: dict[str, Any]
    status_code: int
    start_ns: int
    end_ns: int
    resource: dict[str, Any]


@dataclass
class OtlpReceiver:
    port: int = 0
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def traces_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    state = OtlpReceiver()

    def respond(http_request: Request) -> Response:
        if http_request.path != "/v1/traces" or (
            http_request.headers.get("content-type") != "application/x-protobuf"
        ):
            return Response(404)
        request = ExportTraceServiceRequest()
        request.ParseFromString(http_request.body)
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            attributes=_attributes(span.attributes),
                            status_code=span.status.code,
                            start_ns=span.start_time_unix_nano,
                            end_ns=span.end_time_unix_nano,
                            resource=resource,
                        )
                    )
        with state.lock:
            state.requests += 1
            state.spans += received
        payload = ExportTraceServiceResponse().SerializeToString()
        headers = [
            ("content-type", "application/x-protobuf"),
            ("content-length", str(len(payload))),
        ]
        return Response(200, headers, payload)

    with serve_http(respond) as port:
        state.port = port
        yield state
