"""Outgoing HTTP requests carry the current run's trace context as a W3C ``traceparent``.

Every client of an outside service (Spotify catalogue and playlists, alert channels, social
platforms, the LLM endpoint) builds its ``requests`` session here, so a request made inside a
step tells the receiver which run and step made it: the trace id is the Dagster run id.
The header is set when the request is sent (``send``, which redirects and spotipy's calls go
through too), not when the session is made: one session can outlive a step.
"""

from __future__ import annotations

from typing import Any

import requests

from spotify_agent_assets.observability.trace_context import TRACEPARENT, current


class TracedSession(requests.Session):
    """A ``requests.Session`` that adds ``traceparent`` to each request sent inside a run."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        context = current()
        if context is not None:
            # Set, not setdefault: a header copied from an earlier request of another step
            # (a session reused across steps in one process) must not survive.
            request.headers[TRACEPARENT] = context.traceparent
        return super().send(request, **kwargs)


def traced_session() -> requests.Session:
    """A new session whose requests carry the current trace context."""
    return TracedSession()
