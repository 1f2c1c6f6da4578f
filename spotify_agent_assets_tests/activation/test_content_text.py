"""Texts and their guardrails: numbers parsed back at the precision written, listener data and
over-long texts refused, and the endpoint adapter against a local fake: a good answer is kept,
a wrong number, a listener key or an over-long text falls back to the local text (recorded),
transient failures are retried (Retry-After respected), a bad key fails without showing it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from spotify_agent_assets.activation.content_guardrails import (
    Facts,
    matches_fact,
    parse_numbers,
    text_problems,
)
from spotify_agent_assets.activation.content_llm import EndpointRefused, OpenAICompatibleGenerator
from spotify_agent_assets.activation.content_text import (
    LOCAL,
    GeneratorUnavailable,
    LocalTextGenerator,
    artist_post_request,
    generate_text,
    playlist_request,
)
from spotify_agent_assets_tests.activation.fake_llm import API_KEY, facts_in, fake_llm

LISTENER = hashlib.sha256(b"listener-1").hexdigest()
REPORT = {
    "artist_id": "4Z8W4fKeB5YxbusRsdQVPb",
    "artist_name": "Blink 182",  # digits in a name are not figures
    "week": "2026-W44",
    "week_start": dt.date(2026, 10, 26),
    "week_end": dt.date(2026, 10, 31),
    "streams": 12345,
    "streams_change": -0.0791,
    "anomalies": 2,
}
TREND = {
    "followers": 1_316_530,
    "follower_growth_7d": 0.16721,
    "trend_status": "breakout",
    "breakout_day": dt.date(2026, 10, 20),
}
METRICS = [
    {"date": dt.date(2026, 10, 26) + dt.timedelta(days=i), "artist_id": REPORT["artist_id"],
     "listening_ms": 3_600_000 * (i + 1), "popularity": 70 + i}
    for i in range(6)
]  # fmt: skip


def _request():
    return artist_post_request(REPORT, TREND, METRICS)


def test_numbers_are_parsed_back_at_the_precision_written() -> None:
    facts = Facts(counts={"streams": 12345, "hours": 3.456}, ratios={"change": 0.079086})
    text = "12,345 streams (+7.9%), 3.5 hours; 7.91% or 12345 or 99 or 7.8% or W44 or 1.2.3"
    verdict = {n.text: matches_fact(n, facts) for n in parse_numbers(text)}
    assert verdict == {"12,345": True, "+7.9%": True, "3.5": True, "7.91%": True,
                       "12345": True, "99": False, "7.8%": False}  # fmt: skip


def test_local_post_uses_only_its_facts_and_reads_them_from_the_tables() -> None:
    request = _request()
    text = LocalTextGenerator().write(request)
    assert text_problems(text, request.facts, request.max_chars) == []
    assert "Blink 182" in text and "2026-W44" in text and "Breakout since 2026-10-20" in text
    assert "12,345 streams, down 7.9%" in text
    assert "21.0 hours listened" in text  # 1+2+...+6 hours of the week
    assert "1,316,530 followers (+16.72% over the week)" in text
    assert "Popularity 75." in text  # the week's last day
    numbers = [n.value for n in parse_numbers(text, list(request.facts.names.values()))]
    assert numbers == [12345, 7.9, 21.0, 1316530, 16.72, 75, 2]


def test_playlist_description_from_its_tracks() -> None:
    tracks = [
        {"duration_ms": 180_000, "primary_artist_id": f"a{i % 3}", "tempo_bpm": 100.0 + i,
         "energy": 0.5, "valence": 0.25, "camelot": "8A" if i < 3 else "9B"}
        for i in range(5)
    ]  # fmt: skip
    request = playlist_request("Top 40 Nights", tracks)
    text = LocalTextGenerator().write(request)
    assert text == (
        "Top 40 Nights: 5 tracks, 15 minutes from 3 artists, around 102 BPM, mostly in 8A "
        "(A minor), energy 50% and valence 25%. Ordered for smooth key and tempo."
    )
    assert text_problems(text, request.facts, request.max_chars) == []


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("Blink 182 streamed 12,346 times.", "numbers_match_facts: number(s) not among the facts: 12,346"),
        ("Blink 182 is up 9% this week.", "numbers_match_facts: number(s) not among the facts: 9%"),
        (f"Thanks to listener {LISTENER}!", "no_listener_data"),
        ("Shout-out to listener_id 77!", "no_listener_data"),
        ("Blink 182 " + "really " * 100, "length: 709 characters, at most 600 allowed"),
    ],
)  # fmt: skip
def test_guardrails_refuse(bad: str, problem: str) -> None:
    request = _request()
    problems = text_problems(bad, request.facts, request.max_chars)
    assert any(p.startswith(problem) for p in problems), problems


def _generator(llm, sleeps: list[float] | None = None) -> OpenAICompatibleGenerator:
    return OpenAICompatibleGenerator(
        base_url=llm.base_url, model="tiny-chat", api_key=API_KEY, base_delay_s=0.01,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )  # fmt: skip


def test_endpoint_text_that_keeps_to_the_facts_is_used() -> None:
    def answer(messages: list[dict[str, str]]) -> str:
        facts = facts_in(messages)
        return f"Big week for {facts['artist_name']}: {facts['streams']} streams!"

    with fake_llm(answer) as llm:
        text = generate_text(_request(), _generator(llm))
    assert text.text == "Big week for Blink 182: 12,345 streams!"
    assert text.generator == "llm:tiny-chat" and text.fallback_reason is None
    (sent,) = llm.requests
    assert sent["path"] == "/v1/chat/completions" and sent["body"]["model"] == "tiny-chat"
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    # The key travels only in the header; the payload holds no listener data.
    assert API_KEY.encode() not in sent["raw"] and LISTENER.encode() not in sent["raw"]
    assert "listener_key" not in sent["raw"].decode()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Blink 182 hit 13,000 streams.", "numbers_match_facts: number(s) not among the facts: 13,000"),
        (f"Blink 182 was loved by {LISTENER}.", "no_listener_data"),
        ("Blink 182! " * 80, "length: 879 characters"),
    ],
)  # fmt: skip
def test_endpoint_text_breaking_a_guardrail_falls_back_to_local(answer: str, reason: str) -> None:
    request = _request()
    with fake_llm(lambda messages: answer) as llm:
        text = generate_text(request, _generator(llm))
    assert text.generator == LOCAL and text.text == LocalTextGenerator().write(request)
    assert text.fallback_reason is not None and text.fallback_reason.startswith(reason)
    assert LISTENER not in text.fallback_reason and LISTENER not in text.text


def test_transient_failures_are_retried_and_retry_after_respected() -> None:
    sleeps: list[float] = []
    failures = [(503, {}), (429, {"Retry-After": "2"})]
    with fake_llm(lambda m: "Blink 182: 12,345 streams.", failures) as llm:
        generator = _generator(llm, sleeps)
        text = generate_text(_request(), generator)
    assert text.generator == "llm:tiny-chat"
    assert len(llm.requests) == 3 and generator.stats.retries == 2
    assert sleeps[1] == 2.0 and 0 < sleeps[0] < 1


def test_an_endpoint_down_for_good_falls_back_and_a_long_retry_after_gives_up() -> None:
    with fake_llm(lambda m: "unused", [(503, {})] * 4) as llm:
        text = generate_text(_request(), _generator(llm))
    assert text.generator == LOCAL
    assert text.fallback_reason == "endpoint_failed: HttpStatus503 after 4 attempts"
    with fake_llm(lambda m: "unused", [(429, {"Retry-After": "3600"})]) as llm:
        with pytest.raises(GeneratorUnavailable, match="Retry-After 3600"):
            _generator(llm).write(_request())
        assert len(llm.requests) == 1


def test_a_refused_key_fails_without_showing_it() -> None:
    with fake_llm(lambda m: "unused") as llm:
        generator = OpenAICompatibleGenerator(llm.base_url, "tiny-chat", "sk-wrong-key-123456")
        with pytest.raises(EndpointRefused, match="HTTP 401") as caught:
            generate_text(_request(), generator)
    assert "sk-wrong-key" not in str(caught.value) and "sk-wrong-key" not in repr(generator)
    assert len(llm.requests) == 1  # a 401 is not retried


def test_facts_are_stored_as_json() -> None:
    facts = json.loads(_request().facts.to_json())
    assert facts["counts"]["streams"] == 12345 and facts["ratios"]["streams_change"] == -0.0791
