"""Trace ids from run ids, span ids from steps, and ``traceparent`` on outgoing requests:
checked on requests received by the Spotify emulator (a real local HTTP server), from a
catalogue step run by Dagster and from a client used outside any run."""

from __future__ import annotations

import re
import uuid

import dagster as dg

from spotify_agent_assets.defs.observability.resources import current_step_context
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.observability import audit_log, trace_context
from spotify_agent_assets.observability.http_trace import traced_session
from spotify_agent_assets.observability.trace_context import (
    TraceContext,
    run_span_id,
    step_span_id,
    trace_id_for_run,
    use_context,
)
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET
from spotify_agent_assets_tests.defs.harness import emulator_spotify, materialize

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01")


def test_ids_are_derived_from_the_run_and_step_alone() -> None:
    run_id = str(uuid.uuid4())
    assert trace_id_for_run(run_id) == uuid.UUID(run_id).hex
    assert step_span_id(run_id, "a") == step_span_id(run_id, "a") != step_span_id(run_id, "b")
    assert run_span_id(run_id) not in {step_span_id(run_id, "a"), step_span_id(run_id, "b")}
    assert step_span_id(str(uuid.uuid4()), "a") != step_span_id(run_id, "a")
    context = TraceContext(run_id, "a")
    assert TRACEPARENT.fullmatch(context.traceparent).groups() == (
        uuid.UUID(run_id).hex,
        step_span_id(run_id, "a"),
    )
    assert TraceContext(run_id).span_id == run_span_id(run_id)
    # A run id that is not a UUID still gives a 128-bit trace id, the same every time.
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id_for_run("not-a-uuid"))
    assert trace_id_for_run("not-a-uuid") == trace_id_for_run("not-a-uuid")


def test_outside_a_step_there_is_no_context_and_no_header(emulator) -> None:
    trace_context.register_provider(current_step_context)  # as build_resources does
    assert current_step_context() is None and trace_context.current() is None
    run_id = str(uuid.uuid4())
    session = traced_session()  # made outside the run: the header is set per request
    with use_context(TraceContext(run_id, "tool")):
        session.get(f"{emulator.api_base_url}markets", timeout=10)
    session.get(f"{emulator.api_base_url}markets", timeout=10)
    inside, outside = emulator.requests[-2:]
    headers = {k.lower(): v for k, v in inside.headers.items()}
    assert headers["traceparent"] == TraceContext(run_id, "tool").traceparent
    assert "traceparent" not in {k.lower() for k in outside.headers}


def test_spotify_requests_of_a_step_carry_its_run_and_step(
    settings: AgentSettings, emulator
) -> None:
    previous = audit_log.configured()
    try:
        result = materialize(
            settings,
            [spotify_assets.artist_roster, spotify_assets.spotify_artists],
            spotify=emulator_spotify(emulator, EMULATOR_ID, EMULATOR_SECRET),
        )
    finally:
        audit_log._configured = previous
    assert result.success
    run_id = result.run_id
    api = [r for r in emulator.requests if r.path.startswith("/v1/")]
    assert api, "the step made no Spotify API request"
    for request in api:
        header = {k.lower(): v for k, v in request.headers.items()}["traceparent"]
        trace_id, span_id = TRACEPARENT.fullmatch(header).groups()
        assert trace_id == run_id.replace("-", "")
        assert span_id == step_span_id(run_id, "spotify_artists")
    token = [r for r in emulator.requests if r.path == "/api/token"]
    assert token and all("traceparent" in {k.lower() for k in r.headers} for r in token)
    assert isinstance(result, dg.ExecuteInProcessResult)


def test_traces_are_off_unless_an_otlp_endpoint_is_set() -> None:
    from spotify_agent_assets.observability.traces import otlp_traces_endpoint

    assert otlp_traces_endpoint({}) is None
    assert otlp_traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    both = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/custom",
    }
    assert otlp_traces_endpoint(both) == "http://t:4318/custom"
