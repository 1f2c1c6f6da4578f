"""The audio catalogue: good files catalogued, every bad one quarantined with a clear reason.

Audio is written at test time with soundfile (a 1 s sine); the real recordings are copied from
the shared data folder into a temporary zone, never into the repository.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spotify_agent_assets.audio.catalog import (
    CatalogEntry,
    CatalogScan,
    catalog_zone,
    scan_audio_zone,
    unchanged_entries,
)
from spotify_agent_assets.audio.zone import (
    ObjectStoreAudioZone,
    OutsideZoneError,
    ZoneFile,
    check_relative_path,
    resolve_in_zone,
)
from spotify_agent_assets_tests.s3_server import S3Server

SHARED_AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "audio"
# Durations from the shared folder's SOURCE.txt.
RECORDINGS = {
    "Kevin_MacLeod_-_Vibe_Ace": 61.5,
    "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra)": 45.8,
    "sorohanro_-_solo-trumpet-06": 5.3,
    "456440__inspectorj__bird-whistling-robin-single-13": 2.7,
    "5703-47212-0000": 14.8,
}
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "aiff": ("AIFF", "PCM_16"),
}


def track(n: int) -> str:
    """A valid 22-character base62 track id that reads as its number."""
    return f"track{n:017d}"


def write_audio(
    path: Path, fmt: str, *, sample_rate: int = 22050, channels: int = 1, seconds: float = 1.0
) -> bytes:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    data = np.stack([tone * (0.5 + c / 2) for c in range(channels)], axis=1)
    major, subtype = FORMATS[fmt]
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, data, sample_rate, format=major, subtype=subtype)
    return path.read_bytes()


def write(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)


def sidecar(path: Path, track_id: str) -> None:
    write(path, json.dumps({"track_id": track_id}))


# --- a zone with every kind of file -------------------------------------------------------------

GOOD = {
    # path: (track id, format, sample rate, channels)
    f"{track(1)}.wav": (track(1), "wav", 22050, 1),
    f"artist-a/{track(2)}.flac": (track(2), "flac", 44100, 2),
    f"{track(3)}.ogg": (track(3), "ogg", 22050, 1),
    f"artist-b/live/{track(4)}.mp3": (track(4), "mp3", 44100, 2),
    f"{track(5)}.WAV": (track(5), "wav", 16000, 1),
    "Take 3 (final).wav": (track(6), "wav", 22050, 1),
    "from-uri.ogg": (track(7), "ogg", 22050, 1),
    "from-url.flac": (track(8), "flac", 22050, 1),
    "wav-named.mp3": (track(9), "wav", 22050, 1),
    "inside-link.wav": (track(10), "wav", 22050, 1),
}

BAD = {
    # path: (code, what the reason says)
    "random-bytes.wav": ("not_audio", "not an audio file: content is not wav, flac, ogg or mp3"),
    "notes.mp3": ("not_audio", "not an audio file: content looks like text"),
    "empty.flac": ("empty", "empty file (0 bytes)"),
    "broken-header.wav": ("corrupt", "corrupt or truncated wav: Error in WAV"),
    "cut.wav": ("corrupt", "corrupt or truncated wav: the data chunk declares"),
    "cut.flac": ("corrupt", "corrupt or truncated flac: decoding failed"),
    "cut.ogg": ("corrupt", "corrupt or truncated ogg: the file does not end with a complete"),
    "cut.mp3": ("corrupt", "corrupt or truncated mp3: "),
    "silence.wav": ("zero_duration", "zero duration: the wav header declares no audio frames"),
    "aiff-inside.wav": ("unsupported_format", "unsupported audio format: content is AIFF"),
    "cover.jpg": ("unsupported_extension", "unsupported extension '.jpg'"),
    "README": ("unsupported_extension", "unsupported extension none"),
    "lonely.json": ("orphan_sidecar", "sidecar without an audio file: no lonely.wav"),
    "escape.wav": ("outside_zone", "path escapes the zone: symlink to"),
    "escape-dir": ("outside_zone", "path escapes the zone: symlink to"),
    "dangling.wav": ("broken_symlink", "broken symlink: its target"),
    "pipe.wav": ("not_a_file", "not a regular file"),
    "untitled.wav": (
        "no_track_id",
        "no Spotify track id: name the file <track_id>.wav (the 22-character id) or add "
        'untitled.json with {"track_id": "<id>"} beside it',
    ),
    "bad-json.ogg": ("bad_sidecar", "sidecar bad-json.json is not valid JSON"),
    "no-key.ogg": ("bad_sidecar", 'sidecar no-key.json has no "track_id" string'),
    "album-id.ogg": ("bad_sidecar", "is a Spotify album reference where a track was expected"),
    f"{track(20)}.flac": (
        "track_id_conflict",
        f"track id conflict: the name says {track(20)} but {track(20)}.json says {track(21)}",
    ),
    f"zz-copies/{track(1)}.wav": (
        "duplicate_track",
        f"duplicate track: same track_id as {track(1)}.wav (identical content)",
    ),
    "zz-copies/retake.ogg": (
        "duplicate_track",
        f"duplicate track: same track_id as {track(3)}.ogg",
    ),
}


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("audio")
    zone, outside = base / "zone", base / "outside"
    for path, (_, fmt, rate, channels) in GOOD.items():
        if path in ("wav-named.mp3", "inside-link.wav"):
            continue
        write_audio(zone / path, fmt, sample_rate=rate, channels=channels)
    sidecar(zone / "Take 3 (final).json", track(6))
    sidecar(zone / "from-uri.json", f"spotify:track:{track(7)}")
    sidecar(zone / "from-url.json", f"https://open.spotify.com/intl-de/track/{track(8)}?si=ab")
    write_audio(zone / "wav-named.mp3", "wav")
    sidecar(zone / "wav-named.json", track(9))
    write_audio(zone / "stored" / "original.wav", "wav")
    sidecar(zone / "inside-link.json", track(10))
    os.symlink(Path("stored") / "original.wav", zone / "inside-link.wav")
    sidecar(zone / "stored" / "original.json", track(11))

    write(zone / "random-bytes.wav", np.random.default_rng(7).bytes(6000))
    write(zone / "notes.mp3", "Track list for the album\n1. Opening\n2. Closing\n")
    write(zone / "empty.flac", b"")
    wav = (zone / f"{track(1)}.wav").read_bytes()
    write(zone / "broken-header.wav", wav[:20] + b"\xff" * 16 + wav[36:])
    write(zone / "cut.wav", wav[: len(wav) // 2])
    for fmt in ("flac", "ogg", "mp3"):
        whole = write_audio(base / f"whole.{fmt}", fmt)
        write(zone / f"cut.{fmt}", whole[: len(whole) // 2])
    soundfile.write(zone / "silence.wav", np.zeros((0, 1)), 22050)  # a header, no frames
    sidecar(zone / "silence.json", track(30))
    write(zone / "aiff-inside.wav", write_audio(base / "x.aiff", "aiff"))
    write(zone / "cover.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    write(zone / "README", "audio drop zone\n")
    write(zone / "lonely.json", json.dumps({"track_id": track(31)}))
    write_audio(outside / "elsewhere.wav", "wav")
    write_audio(outside / "dir" / f"{track(32)}.wav", "wav")
    os.symlink(outside / "elsewhere.wav", zone / "escape.wav")
    os.symlink(outside / "dir", zone / "escape-dir")
    os.symlink(zone / "missing.wav", zone / "dangling.wav")
    os.mkfifo(zone / "pipe.wav")
    write_audio(zone / "untitled.wav", "wav")
    write_audio(zone / "bad-json.ogg", "ogg")
    write(zone / "bad-json.json", "{track_id: nope")
    write_audio(zone / "no-key.ogg", "ogg")
    write(zone / "no-key.json", json.dumps({"id": track(33)}))
    write_audio(zone / "album-id.ogg", "ogg")
    sidecar(zone / "album-id.json", f"spotify:album:{track(34)}")
    write_audio(zone / f"{track(20)}.flac", "flac")
    sidecar(zone / f"{track(20)}.json", track(21))
    write(zone / "zz-copies" / f"{track(1)}.wav", (zone / f"{track(1)}.wav").read_bytes())
    write_audio(zone / "zz-copies" / "retake.ogg", "ogg", seconds=0.5)
    sidecar(zone / "zz-copies" / "retake.json", track(3))
    # A corrupt first copy does not hide a good second one.
    write(zone / "aa-broken" / f"{track(12)}.wav", b"RIFF" + bytes(40))
    write_audio(zone / "bb-good" / f"{track(12)}.wav", "wav")

    # Not data: temporary files, markers, anything in a hidden folder.
    write(zone / ".partial.wav", b"half a file")
    write(zone / "_ground_truth.json", "[]")
    write(zone / "_SUCCESS", "")
    write(zone / ".staging" / f"{track(40)}.wav", b"garbage")
    return zone


@pytest.fixture(scope="module")
def scan(zone: Path) -> CatalogScan:
    return scan_audio_zone(str(zone))


@pytest.mark.parametrize("path", sorted(GOOD))
def test_good_files_are_catalogued_with_their_properties(
    scan: CatalogScan, zone: Path, path: str
) -> None:
    entries = {entry.path: entry for entry in scan.entries}
    track_id, fmt, rate, channels = GOOD[path]
    entry = entries[path]
    assert (entry.track_id, entry.format, entry.sample_rate, entry.channels) == (
        track_id,
        fmt,
        rate,
        channels,
    )
    assert entry.frames == rate and entry.duration_s == pytest.approx(1.0)
    assert entry.content_hash == hashlib.sha256((zone / path).read_bytes()).hexdigest()
    assert entry.size_bytes == (zone / path).stat().st_size
    assert entry.mtime_ns == (zone / path).stat().st_mtime_ns


def test_track_ids_come_from_the_name_or_the_sidecar(scan: CatalogScan) -> None:
    sources = {entry.path: entry.track_id_source for entry in scan.entries}
    assert sources[f"{track(1)}.wav"] == "name"
    assert sources[f"artist-b/live/{track(4)}.mp3"] == "name"
    assert sources["Take 3 (final).wav"] == "sidecar"
    assert sources["from-url.flac"] == "sidecar"


def test_an_extension_naming_another_format_is_catalogued_by_content_with_a_note(
    scan: CatalogScan,
) -> None:
    entry = next(e for e in scan.entries if e.path == "wav-named.mp3")
    assert entry.format == "wav" and entry.subtype == "PCM_16"
    assert entry.note == "extension says mp3 but content is wav; catalogued as wav"
    assert all(e.note is None for e in scan.entries if e.path != "wav-named.mp3")


@pytest.mark.parametrize("path", sorted(BAD))
def test_every_bad_file_is_quarantined_with_a_clear_reason(scan: CatalogScan, path: str) -> None:
    quarantined = {q.path: q for q in scan.quarantined}
    code, reason = BAD[path]
    assert path in quarantined, f"{path} was not quarantined"
    assert quarantined[path].code == code
    assert reason in quarantined[path].reason


def test_the_scan_accounts_for_every_visible_file_exactly_once(scan: CatalogScan) -> None:
    catalogued = {entry.path for entry in scan.entries}
    quarantined = {q.path for q in scan.quarantined}
    assert catalogued.isdisjoint(quarantined)
    # Sidecars that named a track are consumed; hidden names and marker files are never seen.
    expected_extra = {
        "stored/original.wav",  # the real file behind inside-link.wav
        f"bb-good/{track(12)}.wav",
    }
    assert catalogued == set(GOOD) | expected_extra
    assert quarantined == set(BAD) | {f"aa-broken/{track(12)}.wav"}
    assert [e.path for e in scan.entries] == sorted(catalogued)
    assert len({e.track_id for e in scan.entries}) == len(scan.entries)


def test_what_was_detected_is_kept_with_the_reason(scan: CatalogScan, zone: Path) -> None:
    quarantined = {q.path: q for q in scan.quarantined}
    text = quarantined["notes.mp3"]
    content = (zone / "notes.mp3").read_bytes()
    assert text.size_bytes == len(content)
    assert text.details["content_hash"] == hashlib.sha256(content).hexdigest()
    untitled = quarantined["untitled.wav"].details
    assert (untitled["format"], untitled["sample_rate"], untitled["channels"]) == ("wav", 22050, 1)
    assert untitled["duration_s"] == pytest.approx(1.0)
    assert quarantined["escape.wav"].details["symlink_target"].endswith("outside/elsewhere.wav")
    assert quarantined["cut.flac"].details["format"] == "flac"


def test_paths_with_dot_dot_or_absolute_are_refused(zone: Path) -> None:
    real = zone.resolve()
    for bad in ("../outside/elsewhere.wav", "a/../../outside/x.wav", "/etc/passwd", "", "a//b"):
        with pytest.raises(OutsideZoneError, match="path escapes the zone"):
            resolve_in_zone(real, bad)
    with pytest.raises(OutsideZoneError, match=r"resolves to .*outside the zone"):
        resolve_in_zone(real, "escape.wav")
    with pytest.raises(OutsideZoneError, match=r"'\.\.' component"):
        check_relative_path("artist/../../x.wav")
    assert resolve_in_zone(real, "inside-link.wav") == real / "stored" / "original.wav"
    assert check_relative_path("artist/x.wav") == "artist/x.wav"


def test_a_missing_zone_is_empty_and_a_file_is_not_a_zone(tmp_path: Path) -> None:
    assert scan_audio_zone(str(tmp_path / "not-yet")) == CatalogScan((), (), ())
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file; expected a directory"):
        scan_audio_zone(str(tmp_path / "file"))


def test_object_store_keys_with_dot_dot_are_refused(tmp_path: Path) -> None:
    """S3 keys are free-form strings (SeaweedFS refuses these, other stores may not)."""
    from pyarrow import fs as pafs

    wav = write_audio(tmp_path / "x.wav", "wav")
    keys = {f"ok/{track(1)}.wav": wav, f"a/../{track(2)}.wav": wav, f"./{track(3)}.wav": wav}

    class Listing:
        def get_file_info(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
            return [pafs.FileInfo(k, pafs.FileType.File, size=len(v)) for k, v in keys.items()]

        def open_input_stream(self, path: str) -> io.BytesIO:
            return io.BytesIO(keys[path])

    scan = catalog_zone(ObjectStoreAudioZone("s3://bucket/zone", Listing()))  # type: ignore[arg-type]

    assert [e.path for e in scan.entries] == [f"ok/{track(1)}.wav"]
    assert {q.path: q.code for q in scan.quarantined} == {
        f"./{track(3)}.wav": "outside_zone",
        f"a/../{track(2)}.wav": "outside_zone",
    }
    assert "has a '..' component" in scan.quarantined[1].reason


# --- incremental scans --------------------------------------------------------------------------


def test_a_rescan_reads_only_new_and_changed_files(tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    for n, fmt in enumerate(("wav", "flac", "ogg", "mp3"), start=1):
        write_audio(zone / f"{track(n)}.{fmt}", fmt)
    write_audio(zone / "named-later.wav", "wav")
    first = scan_audio_zone(str(zone))
    assert len(first.entries) == 4 and first.probed == tuple(sorted(p.name for p in zone.iterdir()))

    stored = [CatalogEntry.from_record(e.to_record() | {"extra": 1}) for e in first.entries]
    assert stored == list(first.entries)
    again = scan_audio_zone(str(zone), previous=stored)
    assert again.entries == first.entries  # the hash is stable
    assert again.probed == ("named-later.wav",)  # quarantined files are looked at again
    assert again.reused == 4

    # Same bytes, new mtime: read again, same hash. New bytes: new hash.
    touched = zone / f"{track(1)}.wav"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    write_audio(zone / f"{track(3)}.ogg", "ogg", seconds=2.0)
    sidecar(zone / "named-later.json", track(9))
    third = scan_audio_zone(str(zone), previous=again.entries)
    assert third.probed == ("named-later.wav", f"{track(1)}.wav", f"{track(3)}.ogg")
    by_path = {e.path: e for e in third.entries}
    assert by_path[f"{track(1)}.wav"].content_hash == first.entries[0].content_hash
    assert by_path[f"{track(3)}.ogg"].duration_s == pytest.approx(2.0)
    assert by_path[f"{track(3)}.ogg"].content_hash != first.entries[2].content_hash
    assert by_path["named-later.wav"].track_id == track(9)

    # A sidecar that changes re-maps the file without reading its audio again.
    sidecar(zone / "named-later.json", track(10))
    fourth = scan_audio_zone(str(zone), previous=third.entries)
    assert fourth.probed == ()
    assert {e.path: e.track_id for e in fourth.entries}["named-later.wav"] == track(10)


def test_unchanged_entries_match_path_size_and_mtime() -> None:
    entry = CatalogEntry(
        "a.wav", track(1), "name", "wav", "PCM_16", "h", 100, 5, 1.0, 22050, 1, 22050
    )
    assert unchanged_entries([entry], [ZoneFile("a.wav", 100, 5, "/z/a.wav")]) == {"a.wav": entry}
    assert unchanged_entries([entry], [ZoneFile("a.wav", 100, 6, "/z/a.wav")]) == {}
    assert unchanged_entries([entry], [ZoneFile("a.wav", 101, 5, "/z/a.wav")]) == {}
    assert unchanged_entries([entry], [ZoneFile("b.wav", 100, 5, "/z/b.wav")]) == {}
    moved = dataclasses.replace(entry, path="b.wav")
    assert unchanged_entries([moved], []) == {}


def test_full_decode_finds_damage_in_the_middle_of_a_stream(tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    flac = bytearray(write_audio(zone / f"{track(1)}.flac", "flac", seconds=3.0))
    middle = len(flac) // 2
    flac[middle : middle + 64] = np.random.default_rng(3).bytes(64)
    (zone / f"{track(1)}.flac").write_bytes(bytes(flac))

    assert [e.path for e in scan_audio_zone(str(zone)).entries] == [f"{track(1)}.flac"]
    full = scan_audio_zone(str(zone), full_decode=True)
    assert full.entries == ()
    assert full.quarantined[0].code == "corrupt"
    assert full.quarantined[0].reason.startswith("corrupt or truncated flac: decoding failed")


# --- the real recordings ------------------------------------------------------------------------


def test_real_recordings_are_catalogued(tmp_path: Path) -> None:
    if not SHARED_AUDIO.is_dir():
        pytest.skip(f"the shared recordings are not available at {SHARED_AUDIO}")
    zone = tmp_path / "zone"
    zone.mkdir()
    expected = {}
    for n, (stem, seconds) in enumerate(sorted(RECORDINGS.items()), start=1):
        shutil.copy(SHARED_AUDIO / f"{stem}.ogg", zone / f"{stem}.ogg")
        sidecar(zone / f"{stem}.json", track(n))
        expected[f"{stem}.ogg"] = (track(n), seconds)

    scan = scan_audio_zone(str(zone))

    assert scan.quarantined == ()
    assert {e.path: e.track_id for e in scan.entries} == {p: t for p, (t, _) in expected.items()}
    for entry in scan.entries:
        assert (entry.format, entry.subtype, entry.sample_rate, entry.channels) == (
            "ogg",
            "VORBIS",
            22050,
            1,
        )
        assert entry.duration_s == pytest.approx(expected[entry.path][1], abs=0.05)
        source = SHARED_AUDIO / entry.path
        assert entry.content_hash == hashlib.sha256(source.read_bytes()).hexdigest()


# --- a zone in object storage -------------------------------------------------------------------


@pytest.mark.s3
def test_an_s3_zone_is_catalogued_like_a_local_one(s3_server: S3Server, tmp_path: Path) -> None:
    from spotify_agent_assets.lake.s3 import arrow_filesystem

    settings = s3_server.settings()
    filesystem = arrow_filesystem(settings)
    objects = {
        f"artist/{track(1)}.flac": write_audio(tmp_path / "a.flac", "flac"),
        "Some Song.ogg": write_audio(tmp_path / "b.ogg", "ogg"),
        "Some Song.json": json.dumps({"track_id": f"spotify:track:{track(2)}"}).encode(),
        "notes.mp3": b"not an mp3\n",
        "empty.wav": b"",
        "untitled.wav": write_audio(tmp_path / "c.wav", "wav"),
        "_ground_truth.json": b"[]",
    }
    for key, content in objects.items():
        with filesystem.open_output_stream(f"{s3_server.bucket}/audio-zone/{key}") as out:
            out.write(content)

    scan = scan_audio_zone(s3_server.url("audio-zone"), s3=settings)

    assert [(e.path, e.track_id, e.format) for e in scan.entries] == [
        ("Some Song.ogg", track(2), "ogg"),
        (f"artist/{track(1)}.flac", track(1), "flac"),
    ]
    assert scan.entries[1].content_hash == hashlib.sha256(objects[scan.entries[1].path]).hexdigest()
    assert scan.entries[1].duration_s == pytest.approx(1.0)
    assert {q.path: q.code for q in scan.quarantined} == {
        "empty.wav": "empty",
        "notes.mp3": "not_audio",
        "untitled.wav": "no_track_id",
    }
    again = scan_audio_zone(s3_server.url("audio-zone"), s3=settings, previous=scan.entries)
    assert again.entries == scan.entries and again.reused == 2
