"""A text generator behind an OpenAI-compatible HTTP endpoint (``POST <base>/chat/completions``).

The base URL, model and key come from the environment through the ``content_generator``
resource; the key is sent only as the ``Authorization`` header and appears in no error, log
line or result. Transient failures (connection errors, 5xx, 429) are retried with backoff, a
429's ``Retry-After`` is slept when it is short; when retries run out the generator is
``GeneratorUnavailable`` and the local text stands in (recorded). Anything else (401, 400) is a
configuration error and raises ``EndpointRefused``, attempted once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from spotify_agent_assets.activation.content_text import GeneratorUnavailable, TextRequest
from spotify_agent_assets.spotify.retry import retry_after_seconds

RETRYABLE = frozenset({429, 500, 502, 503, 504})
SYSTEM_PROMPT = (
    "You write short texts for a music label's channels. Use only the facts given, copying "
    "every figure exactly as it is written there; write no other number, date or figure. "
    "Never mention listeners individually. Plain text, no hashtags, at most {max_chars} "
    "characters."
)
TASKS = {
    "insight_post": "Write a weekly insight post about the artist {subject} from these facts.",
    "playlist_description": "Write a description of the playlist {subject} from these facts.",
}


class EndpointRefused(Exception):
    """The endpoint refused the request for a reason retrying cannot cure (key, model)."""


@dataclass
class EndpointStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


@dataclass
class OpenAICompatibleGenerator:
    """Chat completions from ``base_url`` (e.g. ``http://localhost:8000/v1``)."""

    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout_s: float = 30.0
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_retry_after_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    stats: EndpointStats = field(default_factory=EndpointStats)

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    def messages(self, request: TextRequest) -> list[dict[str, str]]:
        """The prompt: the rules, the task and the facts as they are to be written."""
        facts = "\n".join(
            [f"- {k}: {v}" for k, v in sorted(request.written.items())]
            + [f"- {k}: {v}" for k, v in sorted(request.facts.names.items())]
        )
        return [
            {"role": "system", "content": SYSTEM_PROMPT.format(max_chars=request.max_chars)},
            {
                "role": "user",
                "content": TASKS[request.kind].format(subject=request.subject_name) + "\n" + facts,
            },
        ]

    def write(self, request: TextRequest) -> str:
        import requests

        url = f"{self.base_url.rstrip('/')}/chat/completions"
        body = {"model": self.model, "messages": self.messages(request), "temperature": 0}
        from spotify_agent_assets.observability.trace_context import trace_headers

        headers = {"Authorization": f"Bearer {self.api_key}", **trace_headers()}
        failure = "no attempt made"
        rng = random.Random(0)  # noqa: S311 -- backoff jitter, not security
        for attempt in range(1, self.max_attempts + 1):
            self.stats.requests += 1
            delay = min(10.0, self.base_delay_s * 2 ** (attempt - 1)) * rng.uniform(0.75, 1.25)
            try:
                response = requests.post(url, json=body, headers=headers, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as error:
                failure = type(error).__name__
            else:
                if response.status_code == 200:
                    return _content(response)
                failure = f"HttpStatus{response.status_code}"
                if response.status_code not in RETRYABLE:
                    raise EndpointRefused(
                        f"the text endpoint answered HTTP {response.status_code} for model "
                        f"{self.model!r}; check CONTENT_LLM_BASE_URL, CONTENT_LLM_MODEL and "
                        "CONTENT_LLM_API_KEY"
                    )
                if response.status_code == 429:
                    self.stats.rate_limited += 1
                    asked = retry_after_seconds(response.headers)
                    if asked is not None and asked > self.max_retry_after_s:
                        raise GeneratorUnavailable(f"{failure} (Retry-After {asked:.0f} s)")
                    delay = asked if asked is not None else delay
            if attempt < self.max_attempts:
                self.stats.retries += 1
                self.sleep(delay)
        raise GeneratorUnavailable(f"{failure} after {self.max_attempts} attempts")


def _content(response: object) -> str:
    """``choices[0].message.content``; a malformed answer counts as unavailable."""
    try:
        payload = response.json()  # type: ignore[attr-defined]
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise GeneratorUnavailable("malformed answer (no choices[0].message.content)") from None
    if not isinstance(content, str):
        raise GeneratorUnavailable("malformed answer (content is not text)")
    return content
