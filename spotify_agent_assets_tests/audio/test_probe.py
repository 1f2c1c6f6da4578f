"""Probing one file: the container checks libsndfile does not make, and the mp3 frame walk."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from spotify_agent_assets.audio.probe import (
    AudioProbe,
    UnusableAudioError,
    mpeg_frame,
    probe_audio,
    sniff_format,
)


def encode(fmt: str, *, seconds: float = 1.0, sample_rate: int = 44100, channels: int = 1) -> bytes:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    data = np.stack([0.3 * np.sin(2 * np.pi * 330 * (c + 1) * t) for c in range(channels)], axis=1)
    buffer = io.BytesIO()
    soundfile.write(buffer, data, sample_rate, format=fmt)
    return buffer.getvalue()


def probe(data: bytes, **kwargs: object) -> AudioProbe:
    return probe_audio(io.BytesIO(data), **kwargs)  # type: ignore[arg-type]


def refusal(data: bytes) -> UnusableAudioError:
    with pytest.raises(UnusableAudioError) as caught:
        probe(data)
    return caught.value


def test_the_four_formats_report_what_libsndfile_reads() -> None:
    for fmt, subtype in (("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")):
        found = probe(encode(fmt, channels=2, seconds=0.5), declared_format=fmt.lower())
        assert (found.format, found.subtype, found.channels, found.frames) == (
            fmt.lower(),
            subtype,
            2,
            22050,
        )
        assert found.note is None
    mp3 = probe(encode("MP3", seconds=0.5))
    assert (mp3.format, mp3.sample_rate, mp3.frames, mp3.note) == ("mp3", 44100, 22050, None)


def test_a_wav_whose_data_chunk_is_cut_short_is_refused() -> None:
    wav = encode("WAV")
    assert refusal(wav[:-2]).reason == (
        "corrupt or truncated wav: the data chunk declares 88200 bytes but the file holds "
        "88198 (cut short)"
    )
    # Streaming writers that cannot seek back leave 0xFFFFFFFF: the data runs to the end.
    streamed = wav[:40] + b"\xff\xff\xff\xff" + wav[44:]
    assert probe(streamed).frames == 44100


def test_an_ogg_must_end_with_a_complete_end_of_stream_page() -> None:
    ogg = bytearray(encode("OGG"))
    last_page = ogg.rfind(b"OggS")
    assert ogg[last_page + 5] & 0x04
    assert "does not end with a complete Ogg page" in refusal(bytes(ogg[:-1])).reason
    assert "does not end with a complete Ogg page" in refusal(bytes(ogg) + b"junk").reason
    ogg[last_page + 5] &= ~0x04
    assert "has no end-of-stream flag" in refusal(bytes(ogg)).reason


def test_an_mp3_cut_inside_a_frame_or_at_a_frame_boundary_is_refused() -> None:
    mp3 = encode("MP3")
    assert "the last MPEG frame is cut short" in refusal(mp3[:-50]).reason
    # Cut exactly after a frame: only the Xing header's frame count shows what is missing.
    position, boundaries = 0, []
    while (frame := mpeg_frame(mp3[position : position + 4])) is not None:
        position += frame.length
        boundaries.append(position)
    assert boundaries[-1] == len(mp3)
    reason = refusal(mp3[: boundaries[len(boundaries) // 2]]).reason
    assert reason.startswith("corrupt or truncated mp3: the Xing/Info header declares 44100")


def test_an_mp3_without_a_xing_header_is_measured_by_its_frames() -> None:
    mp3 = encode("MP3", seconds=2.0)
    first = mpeg_frame(mp3[:4])
    assert first is not None and b"Xing" in mp3[: first.length]
    bare = mp3[first.length :] + b"TAG" + bytes(125)  # and an ID3v1 tag at the end
    found = probe(bare)
    # libsndfile estimates from the first frame's bitrate; the frames themselves say 2 s.
    assert found.duration_s == pytest.approx(2.0, abs=0.1)
    assert found.note is not None and found.note.startswith("mp3 without a Xing/Info header")


def test_an_id3_tag_without_frames_is_a_broken_mp3() -> None:
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"\x00" * 5
    found = refusal(tag + b"no frames here" * 10)
    assert found.code == "corrupt"
    assert found.reason.startswith("corrupt or truncated mp3")


def test_content_that_is_not_audio_says_what_it_looks_like() -> None:
    text = refusal("Ünïcödé lyrics\nsecond line\n".encode())
    assert text.code == "not_audio"
    assert (
        text.reason == "not an audio file: content looks like text (starts with 'Ünïcödé lyrics')"
    )
    binary = refusal(bytes(range(256)) * 4)
    assert binary.reason == (
        "not an audio file: content is not wav, flac, ogg or mp3 "
        "(first bytes 00 01 02 03 04 05 06 07)"
    )
    au = refusal(encode("AU"))
    assert au.code == "unsupported_format"
    assert au.reason.startswith("unsupported audio format: content is AU")
    assert refusal(b"").reason == "empty file (0 bytes)"


def test_random_bytes_behind_an_mpeg_sync_word_are_not_an_mp3() -> None:
    noise = b"\xff\xfb\x90\x00" + np.random.default_rng(1).bytes(4000)
    assert sniff_format(io.BytesIO(noise), len(noise)) is None
    assert refusal(noise).code == "not_audio"


def test_mpeg_frame_headers() -> None:
    # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417 bytes, 1152 samples.
    assert mpeg_frame(b"\xff\xfb\x90\x00") is not None
    frame = mpeg_frame(b"\xff\xfb\x90\x00")
    assert frame is not None and (frame.length, frame.samples, frame.sample_rate) == (
        417,
        1152,
        44100,
    )
    # MPEG-2 layer III, 64 kbit/s, 22.05 kHz, padded: 209 bytes, 576 samples.
    frame = mpeg_frame(b"\xff\xf3\x82\x00")
    assert frame is not None and (frame.length, frame.samples) == (209, 576)
    assert mpeg_frame(b"\xff\xfb\xf0\x00") is None  # bitrate index 15
    assert mpeg_frame(b"\xff\xfb\x9c\x00") is None  # sample-rate index 3
    assert mpeg_frame(b"ID3\x04") is None
