"""Synthesized audio: the plan covers the catalogue, clips are reproducible and readable in all
four formats, the landing-zone writer is atomic and idempotent, and librosa recovers the truth."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spotify_agent_assets.sample_world import audio, audio_landing_files, write_audio_zone
from spotify_agent_assets.sample_world.audio import (
    AUDIO_FORMATS,
    CHARACTERS,
    CONTENT_TYPES,
    PITCH_CLASSES,
    SAMPLE_RATE,
    AudioGroundTruth,
    audio_ground_truth,
    plan_clip,
    render_clip,
)
from spotify_agent_assets.sample_world.audio_landing_files import (
    write_audio_landing_zone,
    write_clip,
)
from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF
from spotify_agent_assets.sample_world.world import SampleWorld


@pytest.fixture(scope="module")
def truths(world: SampleWorld) -> list[AudioGroundTruth]:
    return audio_ground_truth(world)


def _first(truths: list[AudioGroundTruth], **fields: object) -> AudioGroundTruth:
    return next(t for t in truths if all(getattr(t, k) == v for k, v in fields.items()))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_one_clip_per_served_track(world: SampleWorld, truths: list[AudioGroundTruth]):
    served = sorted(track.id for track in world.visible_tracks(DEFAULT_AS_OF))
    assert len(served) == 502
    assert [t.track_id for t in truths] == served
    for truth in truths:
        stem, extension = truth.file_name.rsplit(".", 1)
        assert stem == truth.track_id  # the naming convention the audio catalogue relies on
        assert extension in AUDIO_FORMATS


def test_the_truth_covers_every_key_mode_character_and_format(truths: list[AudioGroundTruth]):
    instrumental = [t for t in truths if t.character in ("percussive", "tonal")]
    assert {(t.key, t.mode) for t in instrumental} == {
        (k, m) for k in PITCH_CLASSES for m in audio.MODES
    }
    characters = Counter(t.character for t in truths)
    assert set(characters) == set(CHARACTERS)
    assert set(Counter(t.content_type for t in truths)) == {"music", "speech", "other", "silence"}
    assert set(Counter(t.audio_format for t in truths)) == set(AUDIO_FORMATS)
    assert len(instrumental) >= 0.7 * len(truths)
    # Every kind of sound the content-type classifier must learn has at least a dozen clips.
    assert min(characters.values()) >= 12, characters
    formats = Counter(t.audio_format for t in truths)
    assert formats["wav"] > len(truths) / 2  # mostly WAV
    for truth in truths:
        assert truth.content_type == CONTENT_TYPES[truth.character]
        assert truth.sample_rate == SAMPLE_RATE
        assert 10.0 <= truth.duration_s <= 12.0
        drummed = truth.character in ("percussive", "tonal", "drums_only")
        keyed = truth.character in ("percussive", "tonal", "a_cappella")
        if drummed:
            assert truth.tempo_bpm is not None and 70 <= truth.tempo_bpm <= 180
            assert truth.beat_samples == round(60 * SAMPLE_RATE / truth.tempo_bpm)
        else:
            assert truth.tempo_bpm is None
        if keyed:
            assert truth.key in PITCH_CLASSES and truth.mode in ("major", "minor")
        else:
            assert (truth.key, truth.mode) == (None, None)


def test_a_character_can_be_forced_for_labelled_clips_outside_the_catalogue():
    for character in CHARACTERS:
        truth = plan_clip(7, f"forced{character}", "rock", forced_character=character)
        assert truth.character == character
        assert truth.content_type == CONTENT_TYPES[character]
    drawn = plan_clip(7, "forcedtrack", "rock")
    forced = plan_clip(7, "forcedtrack", "rock", forced_character="animal")
    # Only the character changes; tempo and key follow it (an animal has neither).
    assert (forced.file_name, forced.duration_s) == (drawn.file_name, drawn.duration_s)
    with pytest.raises(ValueError, match="character must be one of"):
        plan_clip(7, "forcedtrack", "rock", forced_character="podcast")


def test_a_clip_depends_only_on_the_seed_and_its_track(truths: list[AudioGroundTruth]):
    truth = truths[0]
    family = _family_of(truth)
    assert plan_clip(7, truth.track_id, family) == truth
    assert plan_clip(8, truth.track_id, family) != truth
    longer = plan_clip(7, truth.track_id, family, durations=(20.0, 30.0))
    assert 20.0 <= longer.duration_s <= 30.0
    assert replace(longer, duration_s=truth.duration_s) == truth  # only the length changed
    with pytest.raises(ValueError, match="durations"):
        plan_clip(7, truth.track_id, family, durations=(12.0, 10.0))


def _family_of(truth: AudioGroundTruth) -> str | None:
    world = SampleWorld(seed=7)
    track = world.track(truth.track_id)
    assert track is not None
    artist = world.artist(track.artist_ids[0])
    return artist.family if artist else None


@pytest.mark.parametrize("character", CHARACTERS)
def test_clips_are_reproducible_and_in_range(truths: list[AudioGroundTruth], character: str):
    truth = _first(truths, character=character)
    first, second = render_clip(truth, 7), render_clip(truth, 7)
    assert first.dtype == np.float32 and first.shape == (truth.n_samples,)
    assert np.array_equal(first, second)
    assert np.max(np.abs(first)) <= 1.0
    rms = float(np.sqrt(np.mean(first.astype(np.float64) ** 2)))
    if character == "near_silent":
        assert rms < 10 ** (-55 / 20)
    elif character == "animal":  # calls between pauses: loud peaks, a lower mean
        assert rms > 10 ** (-45 / 20)
    else:
        assert rms > 10 ** (-35 / 20)


def test_a_music_clip_without_tempo_is_refused(truths: list[AudioGroundTruth]):
    truth = replace(_first(truths, character="percussive"), tempo_bpm=None)
    with pytest.raises(ValueError, match=rf"{truth.track_id}.*tempo_bpm"):
        render_clip(truth, 7)


@pytest.mark.parametrize("extension", ["wav", "flac"])
def test_lossless_files_are_byte_identical(
    tmp_path: Path, truths: list[AudioGroundTruth], extension: str
):
    truth = _first(truths, character="tonal")
    paths = [tmp_path / f"{name}.{extension}" for name in ("one", "two")]
    for path in paths:
        write_clip(render_clip(truth, 7), path)
    assert _sha(paths[0]) == _sha(paths[1])


@pytest.mark.parametrize("extension", AUDIO_FORMATS)
def test_every_format_reads_back(tmp_path: Path, truths: list[AudioGroundTruth], extension: str):
    truth = _first(truths, audio_format=extension)
    samples = render_clip(truth, 7)
    path = tmp_path / truth.file_name
    write_clip(samples, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [truth.file_name]  # no temp file left
    info = sf.info(path)
    assert info.samplerate == SAMPLE_RATE and info.channels == 1
    back, rate = sf.read(path, dtype="float32")
    assert rate == SAMPLE_RATE
    if extension in ("wav", "flac"):
        assert back.shape == samples.shape
        assert np.max(np.abs(back - samples)) < 1e-4  # 16-bit PCM
    else:
        assert abs(len(back) / rate - truth.duration_s) < 0.05


def test_write_clip_refuses_an_unknown_extension(tmp_path: Path):
    with pytest.raises(ValueError, match=r"\.aiff.*wav"):
        write_clip(np.zeros(10, dtype=np.float32), tmp_path / "x.aiff")


@pytest.fixture
def small_catalogue(
    monkeypatch: pytest.MonkeyPatch, truths: list[AudioGroundTruth]
) -> list[AudioGroundTruth]:
    """A clip of every character and format instead of 502, to keep writer tests fast."""
    subset = {_first(truths, character=c).track_id: _first(truths, character=c) for c in CHARACTERS}
    for extension in AUDIO_FORMATS:
        truth = _first(truths, audio_format=extension)
        subset[truth.track_id] = truth
    chosen = sorted(subset.values(), key=lambda t: t.track_id)
    monkeypatch.setattr(audio, "audio_ground_truth", lambda *args, **kwargs: chosen)
    monkeypatch.setattr(audio_landing_files, "audio_ground_truth", lambda *args, **kwargs: chosen)
    return chosen


def test_landing_zone_has_one_file_per_track_and_the_truth(
    tmp_path: Path, world: SampleWorld, small_catalogue: list[AudioGroundTruth]
):
    # A clip an earlier version wrote in another format must not leave the track with two.
    other = next(e for e in AUDIO_FORMATS if e != small_catalogue[0].audio_format)
    stale = tmp_path / "audio" / f"{small_catalogue[0].track_id}.{other}"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")

    written = write_audio_landing_zone(world, tmp_path)

    folder = tmp_path / "audio"
    assert written == [folder / t.file_name for t in small_catalogue]
    audio_files = sorted(p for p in folder.iterdir() if not p.name.startswith(("_", ".")))
    assert audio_files == sorted(written)
    assert not any(p.name.startswith(".") for p in folder.iterdir())
    stems = Counter(p.stem for p in audio_files)
    assert set(stems.values()) == {1}
    truth_rows = json.loads((folder / "_ground_truth.json").read_text())
    assert truth_rows == [t.as_record() for t in small_catalogue]
    assert set(truth_rows[0]) == {
        "track_id",
        "file_name",
        "tempo_bpm",
        "key",
        "mode",
        "character",
        "content_type",
        "duration_s",
        "sample_rate",
    }


def test_cli_writes_once_then_nothing(
    tmp_path: Path, small_catalogue: list[AudioGroundTruth], monkeypatch, capsys
):
    monkeypatch.setenv("SPOTIFY_AGENT_ENV", "local")
    monkeypatch.setenv("SPOTIFY_AGENT_LANDING_URL", str(tmp_path))
    monkeypatch.setenv("SPOTIFY_AGENT_DATA_DIR", str(tmp_path / "data"))
    count = len(small_catalogue)
    assert write_audio_zone.main([]) == 0
    assert f"wrote {count} files" in capsys.readouterr().out
    folder = tmp_path / "audio"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    marker = json.loads((folder / write_audio_zone.MARKER).read_text())
    assert marker["stamp"]["version"] == write_audio_zone.SAMPLE_AUDIO_VERSION

    assert write_audio_zone.main([]) == 0
    assert f"already has {count} files" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before

    (folder / small_catalogue[0].file_name).unlink()  # an incomplete zone is written again
    assert write_audio_zone.write_zone(tmp_path) == (count, True)
    assert write_audio_zone.write_zone(tmp_path) == (count, False)
    assert write_audio_zone.write_zone(tmp_path, force=True) == (count, True)


def test_cli_refuses_a_remote_landing_zone(monkeypatch, capsys, tmp_path: Path):
    monkeypatch.setenv("SPOTIFY_AGENT_ENV", "local")
    monkeypatch.setenv("SPOTIFY_AGENT_LANDING_URL", "s3://bucket/landing")
    monkeypatch.setenv("SPOTIFY_AGENT_DATA_DIR", str(tmp_path))
    assert write_audio_zone.main([]) == 2
    assert "refusing" in capsys.readouterr().err


@pytest.mark.slow
def test_librosa_recovers_tempo_and_tonic(truths: list[AudioGroundTruth]):
    """A sanity check on a handful of clips; the full-catalogue accuracy belongs to the audio
    features asset. An octave error (x2, x1/2) is a known ambiguity of beat trackers."""
    import librosa

    percussive = [t for t in truths if t.character == "percussive"][:4]
    tonal = [t for t in truths if t.character == "tonal"][:4]
    for truth in percussive:
        tempo, _ = librosa.beat.beat_track(y=render_clip(truth, 7), sr=truth.sample_rate)
        assert truth.tempo_bpm is not None
        ratio = float(np.atleast_1d(tempo)[0]) / truth.tempo_bpm
        assert any(abs(ratio / octave - 1) <= 0.04 for octave in (1, 2, 0.5)), truth
    for truth in tonal:
        chroma = librosa.feature.chroma_cqt(y=render_clip(truth, 7), sr=truth.sample_rate)
        assert PITCH_CLASSES[int(np.argmax(chroma.mean(axis=1)))] == truth.key, truth
