"""Guardrails every generated text must pass, whichever generator wrote it.

A text is refused when it is too long, when it carries anything that looks like listener data
(a pseudonymous listener key is a 64-hex digest), or when it holds a number that is not one of
the facts it was written from. Numbers are parsed back from the text and compared with each
fact at the precision the text shows (``+7.9%`` matches a change of 0.07908...; ``12,345``
matches 12345): a model that invents, miscopies or rounds a figure differently is caught.
Names and labels among the facts (an artist called "Blink 182", the week "2026-W44", the key
"8A") are taken out of the text before numbers are parsed, so their digits are not figures.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

# Numbers as texts write them: optional sign, digits with thousands commas, decimals, percent.
# Not inside a word or a longer number ("W44", "mp3", "1.2.3"), so labels never read as figures.
NUMBER = re.compile(r"(?<![\w.,])([+\-−]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%?)(?![\w]|[.,]\d)")
LISTENER_KEY = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
LISTENER_WORDS = re.compile(r"listener[_ ]?(?:key|id)|spotify:user:", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

LENGTH = "length"
NO_LISTENER_DATA = "no_listener_data"
NUMBERS_MATCH_FACTS = "numbers_match_facts"
TEXT_CHECKS = (LENGTH, NO_LISTENER_DATA, NUMBERS_MATCH_FACTS)


@dataclass(frozen=True)
class Facts:
    """What a text may say: figures (``counts`` as plain numbers, ``ratios`` as percentages:
    0.079 is written 7.9%) and names or labels that may appear verbatim."""

    counts: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for group in (self.counts, self.ratios):
            for name, value in group.items():
                if not isinstance(value, int | float) or not math.isfinite(value):
                    raise ValueError(f"fact {name!r} must be a finite number, got {value!r}")

    def to_json(self) -> str:
        return json.dumps(
            {"counts": self.counts, "ratios": self.ratios, "names": self.names}, sort_keys=True
        )


@dataclass(frozen=True)
class ParsedNumber:
    text: str
    value: float
    decimals: int
    percent: bool


def parse_numbers(text: str, names: list[str] | tuple[str, ...] = ()) -> list[ParsedNumber]:
    """The numbers written in ``text``, after removing the given names and labels."""
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(name, " ")
    found = []
    for match in NUMBER.finditer(text):
        sign, whole, fraction, percent = match.groups()
        value = float(whole.replace(",", "") + (fraction or ""))
        found.append(
            ParsedNumber(
                text=match.group(0),
                value=-value if sign in ("-", "−") else value,
                decimals=len(fraction) - 1 if fraction else 0,
                percent=bool(percent),
            )
        )
    return found


def _same_at_precision(written: ParsedNumber, fact: float) -> bool:
    # The sign may be spelled out in words ("down 5%"), so only magnitudes are compared.
    return f"{abs(fact):.{written.decimals}f}" == f"{abs(written.value):.{written.decimals}f}"


def matches_fact(number: ParsedNumber, facts: Facts) -> bool:
    """Whether ``number`` is one of the facts as written at its own precision."""
    if number.percent:
        return any(_same_at_precision(number, value * 100) for value in facts.ratios.values())
    return any(_same_at_precision(number, value) for value in facts.counts.values())


def text_problems(text: str, facts: Facts, max_chars: int) -> list[str]:
    """Why ``text`` may not be published (empty when it passes every guardrail).

    Each problem starts with the guardrail's name; none repeats the refused text's numbers
    beyond the offending one, and none can carry a listener key (it is only named as found).
    """
    problems = []
    stripped = text.strip()
    if not stripped:
        problems.append(f"{LENGTH}: the text is empty")
    elif len(stripped) > max_chars:
        problems.append(f"{LENGTH}: {len(stripped)} characters, at most {max_chars} allowed")
    if CONTROL.search(text):
        problems.append(f"{LENGTH}: the text holds control characters")
    if LISTENER_KEY.search(text) or LISTENER_WORDS.search(text):
        problems.append(f"{NO_LISTENER_DATA}: the text holds a listener key or id")
    unknown = [
        n.text
        for n in parse_numbers(text, list(facts.names.values()))
        if not matches_fact(n, facts)
    ]
    if unknown:
        shown = ", ".join(sorted(set(unknown))[:5])
        problems.append(f"{NUMBERS_MATCH_FACTS}: number(s) not among the facts: {shown}")
    return problems
