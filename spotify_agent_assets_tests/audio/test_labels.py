"""The curated content-type labels file."""

from __future__ import annotations

import pytest

from spotify_agent_assets.audio.labels import (
    LabelsFileError,
    format_content_type_labels,
    parse_content_type_labels,
)

A, B, C = "4uLU6hMCjMI75M1A2tKUQC", "0VjIjW4GlUZAMYd2vXMi3b", "7qiZfU4dY1lWllzX7mPBI3"


def test_labels_round_trip_and_accept_uris_links_and_extra_columns() -> None:
    text = format_content_type_labels({B: "speech", A: "music"})
    assert text.splitlines() == ["track_id,content_type", f"{B},speech", f"{A},music"]
    parsed = parse_content_type_labels(
        (
            "track_id,content_type,curator\n"
            f"spotify:track:{A},Music,ana\n"
            f"https://open.spotify.com/track/{B}?si=x, speech ,ben\n"
        ).encode()
    )
    assert parsed.labels == {A: "music", B: "speech"} and parsed.problems == ()


def test_bad_rows_are_left_out_with_line_and_reason_and_the_rest_stand() -> None:
    parsed = parse_content_type_labels(
        (
            "track_id,content_type\n"
            f"{A},music\n"
            f"{B},podcast\n"
            "not-an-id,speech\n"
            f"{C},speech\n"
            f"{C},other\n"
        ).encode()
    )
    assert parsed.labels == {A: "music"}
    reasons = {p.line: p.reason for p in parsed.problems}
    assert "content_type 'podcast' is not one of music, speech, other" in reasons[3]
    assert "not-an-id" in reasons[4]
    assert f"track {C} is labelled 'other' here and 'speech' on line 5" in reasons[6]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,label\nx,music\n", r"lacks the column\(s\) track_id, content_type"),
        (b"\xff\xfe\x00binary", "is not UTF-8 text"),
    ],
)
def test_an_unusable_file_is_an_error_naming_it(data: bytes, message: str) -> None:
    with pytest.raises(LabelsFileError, match=message):
        parse_content_type_labels(data, "zone/_labels.csv")
