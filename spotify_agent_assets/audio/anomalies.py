"""Audio anomalies: rules on the decoded samples and the catalogue entry, plus an
IsolationForest over the extracted features. Every flag says which rule, why (a sentence with
the numbers), how far beyond its threshold (``score`` in [0, 1]) and how bad (``severity``).

Pure logic (numpy and scikit-learn only), callable from a test or a notebook:

- `signal_stats(y, sr=...)`: peak, clipped fraction, DC offset, RMS dBFS, silent fraction and
  the longest run of digital silence of the decoded samples (mono ``(n,)`` or ``(n, channels)``;
  with channels it also says which are silent and whether they are all the same).
- `rule_flags(entry, stats, track_duration_ms)`: the rules below for one catalogue entry
  (``CatalogEntry.to_record()``; ``sample_rate``, ``channels``, ``duration_s`` are read, and an
  optional ``full_track`` boolean from a sidecar or the caller).
- `isolation_forest_flags(features, ids)`: one row per item with its anomaly score, and a flag
  naming the three features that made each outlier unusual.

Rules (thresholds are the module constants):

- ``silence`` (error): RMS under `SILENCE_RMS_DBFS`, or more than `SILENT_FRACTION_MAX` of the
  samples digitally silent (under `DIGITAL_SILENCE_LEVEL`).
- ``dropout`` (warning): a run of digital silence of `DROPOUT_MIN_S` or more inside audio that is
  not silent as a whole (a gap in the stream, a bad splice).
- ``clipping`` (warning, error above `CLIPPED_FRACTION_ERROR`): more than
  `CLIPPED_FRACTION_MAX` of the samples at ``|x| >= CLIP_LEVEL``. A clean sine needs to peak
  under 0.999 not to count; a full-scale one spends 2.8% of its samples there, which is what a
  limiter pushed to 0 dBFS does to music too.
- ``dc_offset`` (warning): ``|mean| > DC_OFFSET_MAX``.
- ``duration_mismatch``: Spotify's ``duration_ms`` is the whole track, our clips are usually
  10-12 s previews, so a plain comparison would flag every file. The rule instead flags what a
  user would call wrong:

  * a file LONGER than the track by more than `LONGER_THAN_TRACK_TOLERANCE_S` (error): an
    excerpt cannot outlast its track, so the file is mapped to the wrong track or is a
    different (extended, live) version. The tolerance covers encoder padding and Spotify's
    rounding of ``duration_ms``;
  * a file declared a full track (``entry["full_track"]`` true) whose duration differs from the
    track's by more than `FULL_TRACK_TOLERANCE` (error): truncated delivery or another version;
  * any other file (an excerpt) shorter than `MIN_EXCERPT_S` (warning): too little audio for
    tempo and key to mean much, and usually a cut-off download.

  Without ``duration_ms`` (track not in the catalogue yet) only the excerpt minimum applies.
- ``sample_rate`` (warning under 22050 Hz, info otherwise): a rate outside
  `STANDARD_SAMPLE_RATES`. 22050 Hz is fine: it is the rate the features are computed at
  (``decoding.SAMPLE_RATE``), the usual rate of preview clips, and keeps everything up to
  11 kHz. A lower rate (8/16 kHz telephone or speech audio) has no content above 4-8 kHz and
  biases the spectral features; 32, 176.4 or 192 kHz are decodable but unusual for delivery.
- ``channels`` (warning): more than 2 channels (everything is downmixed to mono by averaging,
  so a surround file's centre-heavy mix reads differently), a silent channel in a multichannel
  file (a failed stereo transfer), and (info) channels that are all identical (mono stored as
  stereo: harmless, twice the bytes).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

Severity = Literal["info", "warning", "error"]

# Samples at or above this magnitude count as clipped: float decoders map the largest 16-bit
# value to 32767/32768 = 0.99997, and lossy codecs overshoot a clipped master by a little.
CLIP_LEVEL = 0.999
# More than 0.1% of samples at full scale is audible distortion, not the odd peak a limiter lets
# through (one 22050 Hz second has 22 such samples at this rate).
CLIPPED_FRACTION_MAX = 0.001
# Above 1% the clip is squared off for long stretches: unusable for loudness and timbre.
CLIPPED_FRACTION_ERROR = 0.01
# Score 1 at 5% clipped: a waveform clipped this much is mostly a square wave.
CLIPPED_FRACTION_FULL = 0.05
# |mean| above 1% of full scale: real recordings sit within 0.1% once high-passed, a larger
# offset is a broken ADC or a bad edit and shifts RMS and zero crossings.
DC_OFFSET_MAX = 0.01
# Score 1 at 10% of full scale.
DC_OFFSET_FULL = 0.1
# RMS under -60 dBFS is silence for music (a quiet classical passage averages -30 to -40).
SILENCE_RMS_DBFS = -60.0
# Score 1 at -90 dBFS, under the noise floor of 16-bit dither.
SILENCE_RMS_FULL_DBFS = -90.0
# A sample under -80 dBFS (1e-4) is digital silence: below 16-bit dither (about -90 dBFS RMS per
# sample peaks at 3e-5) but above anything audible.
DIGITAL_SILENCE_LEVEL = 1e-4
# More than 90% digitally silent samples: the file holds a click or a count-in, not music.
SILENT_FRACTION_MAX = 0.9
# A run of digital silence this long inside non-silent audio is a dropout (musical rests are
# never exactly zero for two seconds in a mastered track).
DROPOUT_MIN_S = 2.0
# Score 1 at a 10 s dropout (a whole preview's worth).
DROPOUT_FULL_S = 10.0
# An excerpt may not outlast its track by more than this (encoder priming and padding, Spotify
# rounding duration_ms).
LONGER_THAN_TRACK_TOLERANCE_S = 2.0
# A file declared as the full track may differ from duration_ms by this share (fade handling,
# silence trimmed at the ends by the distributor).
FULL_TRACK_TOLERANCE = 0.05
# Excerpts shorter than this carry too little for tempo and key (features need 8 s windows for
# the tempogram), and usually mean a cut-off download.
MIN_EXCERPT_S = 5.0
# Delivery rates we expect; 22050 is our analysis rate (see the module docstring).
STANDARD_SAMPLE_RATES = frozenset({22_050, 44_100, 48_000, 88_200, 96_000})
# Below this the audio lacks the high band the spectral features read.
ANALYSIS_SAMPLE_RATE = 22_050
# Downmixing more channels than stereo changes the mix the features see.
MAX_CHANNELS = 2
# The IsolationForest needs this many items to say anything: with fewer, every item is isolated
# in a handful of splits and the scores are noise.
MIN_MODEL_ITEMS = 20
# An item is an outlier only with an anomaly score of at least this. The paper's cut, 0.5
# (sklearn's contamination="auto"), flags the tails of ordinary data in samples of a few dozen
# (a 60-item Gaussian sample has one or two items at 0.51-0.55); planted outliers score 0.7+.
OUTLIER_SCORE_MIN = 0.6
# Flags name this many features, the most unusual first.
TOP_FEATURES = 3


@dataclass(frozen=True)
class Flag:
    """One anomaly of one file: ``rule`` (``silence``, ``clipping``... or ``isolation_forest``),
    a ``reason`` with the numbers, ``score`` in [0, 1] (0 at the threshold, 1 far beyond it)
    and ``severity`` (``info``, ``warning``, ``error``)."""

    rule: str
    reason: str
    score: float
    severity: Severity

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ItemAnomaly:
    """The IsolationForest's verdict on one item: ``score`` is sklearn's ``score_samples``
    negated, the original paper's anomaly score in (0, 1] (about 0.5 and under: ordinary; near
    1: isolated in very few splits); ``flag`` is set for the outliers only."""

    id: str
    score: float
    flag: Flag | None

    @property
    def is_outlier(self) -> bool:
        return self.flag is not None


@dataclass(frozen=True)
class IsolationForestResult:
    """One row per item in input order (empty when the model did not run), the feature columns
    the model used, and a ``note`` when it did not run or dropped columns."""

    rows: tuple[ItemAnomaly, ...]
    features_used: tuple[str, ...]
    note: str | None = None

    @property
    def flags(self) -> dict[str, Flag]:
        return {row.id: row.flag for row in self.rows if row.flag is not None}


def signal_stats(y: np.ndarray, *, sr: int | None = None) -> dict[str, Any]:
    """Sample statistics of decoded audio ``y`` (float samples in [-1, 1], shape ``(n,)`` or
    ``(n, channels)`` as ``soundfile.read(always_2d=True)`` gives).

    Keys: ``samples`` (frames), ``channels``, ``peak`` (max ``|x|``), ``clipped_fraction`` (share
    of samples at ``|x| >= CLIP_LEVEL``), ``dc_offset`` (mean), ``rms_dbfs`` (``20 log10 rms``,
    -inf for all zeros), ``silent_fraction`` (share of frames under `DIGITAL_SILENCE_LEVEL` on
    every channel), ``longest_silence_samples`` and, with ``sr``, ``longest_silence_s``;
    ``silent_channels`` (indices) and ``channels_identical`` for more than one channel.
    """
    array = np.asarray(y)
    if array.ndim not in (1, 2) or array.size == 0:
        raise ValueError(
            f"y must be non-empty samples of shape (n,) or (n, channels), got shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"y must hold float samples in [-1, 1], got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError("y holds NaN or infinite samples; expected finite audio samples")
    if sr is not None and sr <= 0:
        raise ValueError(f"sr must be a positive sample rate, got {sr!r}")
    frames = array.reshape(len(array), -1).astype(np.float64, copy=False)
    magnitude = np.abs(frames)
    mean_square = float(np.mean(frames * frames))
    silent = (magnitude < DIGITAL_SILENCE_LEVEL).all(axis=1)
    longest = _longest_run(silent)
    stats: dict[str, Any] = {
        "samples": int(frames.shape[0]),
        "channels": int(frames.shape[1]),
        "peak": float(magnitude.max()),
        "clipped_fraction": float(np.mean(magnitude >= CLIP_LEVEL)),
        "dc_offset": float(frames.mean()),
        "rms_dbfs": 10 * math.log10(mean_square) if mean_square > 0 else -math.inf,
        "silent_fraction": float(silent.mean()),
        "longest_silence_samples": longest,
        "longest_silence_s": None if sr is None else longest / sr,
    }
    if frames.shape[1] > 1:
        stats["silent_channels"] = [
            int(c) for c in np.flatnonzero((magnitude < DIGITAL_SILENCE_LEVEL).all(axis=0))
        ]
        stats["channels_identical"] = bool((frames == frames[:, :1]).all())
    return stats


def _longest_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    # Run lengths from the edges of the True stretches.
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def rule_flags(
    entry: Mapping[str, Any], stats: Mapping[str, Any], track_duration_ms: int | None
) -> list[Flag]:
    """The rule flags (see the module docstring) of one catalogue entry
    (``CatalogEntry.to_record()``) with its `signal_stats` and Spotify's ``duration_ms`` for its
    track (``None`` when unknown). An empty list means nothing looked wrong."""
    flags: list[Flag] = []
    for check in (_silence, _dropout, _clipping, _dc_offset):
        flag = check(stats)
        if flag is not None:
            flags.append(flag)
    flags.extend(_duration(entry, track_duration_ms))
    flags.extend(_sample_rate(entry))
    flags.extend(_channels(entry, stats))
    return flags


def _beyond(value: float, threshold: float, full: float) -> float:
    """0 at ``threshold``, 1 at ``full`` (either direction), linear and clipped between."""
    if full == threshold:
        return 1.0
    return float(min(max((value - threshold) / (full - threshold), 0.0), 1.0))


def _silence(stats: Mapping[str, Any]) -> Flag | None:
    rms = float(stats["rms_dbfs"])
    fraction = float(stats["silent_fraction"])
    quiet = rms < SILENCE_RMS_DBFS
    mostly_silent = fraction > SILENT_FRACTION_MAX
    if not (quiet or mostly_silent):
        return None
    rms_text = "digital zero" if rms == -math.inf else f"{rms:.1f} dBFS"
    reason = (
        f"silent: RMS {rms_text} (threshold {SILENCE_RMS_DBFS:.0f} dBFS), "
        f"{fraction:.1%} of samples digitally silent (threshold {SILENT_FRACTION_MAX:.0%})"
    )
    score = max(
        _beyond(max(rms, SILENCE_RMS_FULL_DBFS), SILENCE_RMS_DBFS, SILENCE_RMS_FULL_DBFS),
        _beyond(fraction, SILENT_FRACTION_MAX, 1.0) if mostly_silent else 0.0,
    )
    return Flag("silence", reason, score, "error")


def _dropout(stats: Mapping[str, Any]) -> Flag | None:
    seconds = stats.get("longest_silence_s")
    silent_as_whole = (
        float(stats["rms_dbfs"]) < SILENCE_RMS_DBFS
        or float(stats["silent_fraction"]) > SILENT_FRACTION_MAX
    )
    if seconds is None or silent_as_whole or seconds < DROPOUT_MIN_S:
        return None
    reason = (
        f"dropout: {seconds:.2f} s of digital silence in one run "
        f"(threshold {DROPOUT_MIN_S:.1f} s) inside audio that is otherwise not silent"
    )
    return Flag("dropout", reason, _beyond(seconds, DROPOUT_MIN_S, DROPOUT_FULL_S), "warning")


def _clipping(stats: Mapping[str, Any]) -> Flag | None:
    fraction = float(stats["clipped_fraction"])
    if fraction <= CLIPPED_FRACTION_MAX:
        return None
    reason = (
        f"clipping: {fraction:.2%} of samples at |x| >= {CLIP_LEVEL} "
        f"(threshold {CLIPPED_FRACTION_MAX:.1%}), peak {float(stats['peak']):.4f}"
    )
    severity: Severity = "error" if fraction > CLIPPED_FRACTION_ERROR else "warning"
    score = _beyond(fraction, CLIPPED_FRACTION_MAX, CLIPPED_FRACTION_FULL)
    return Flag("clipping", reason, score, severity)


def _dc_offset(stats: Mapping[str, Any]) -> Flag | None:
    offset = float(stats["dc_offset"])
    if abs(offset) <= DC_OFFSET_MAX:
        return None
    reason = (
        f"DC offset: mean sample {offset:+.4f} of full scale (threshold ±{DC_OFFSET_MAX}); "
        "the signal is not centred on zero"
    )
    return Flag("dc_offset", reason, _beyond(abs(offset), DC_OFFSET_MAX, DC_OFFSET_FULL), "warning")


def _duration(entry: Mapping[str, Any], track_duration_ms: int | None) -> list[Flag]:
    duration = float(entry["duration_s"])
    full_track = bool(entry.get("full_track", False))
    if track_duration_ms is not None:
        if track_duration_ms <= 0:
            raise ValueError(
                f"track_duration_ms must be a positive duration in ms, got {track_duration_ms!r}"
            )
        track_s = track_duration_ms / 1000
        if full_track:
            difference = abs(duration - track_s) / track_s
            if difference > FULL_TRACK_TOLERANCE:
                reason = (
                    f"duration mismatch: the file is declared the full track but lasts "
                    f"{duration:.1f} s against Spotify's {track_s:.1f} s ({difference:.1%} off, "
                    f"tolerance {FULL_TRACK_TOLERANCE:.0%})"
                )
                score = _beyond(difference, FULL_TRACK_TOLERANCE, 0.5)
                return [Flag("duration_mismatch", reason, score, "error")]
            return []
        excess = duration - track_s
        if excess > LONGER_THAN_TRACK_TOLERANCE_S:
            reason = (
                f"duration mismatch: the file lasts {duration:.1f} s, {excess:.1f} s longer than "
                f"the {track_s:.1f} s Spotify track it is mapped to (tolerance "
                f"{LONGER_THAN_TRACK_TOLERANCE_S:.0f} s): wrong track or another version"
            )
            # Score 1 once the file is half as long again as the track.
            score = _beyond(excess / track_s, LONGER_THAN_TRACK_TOLERANCE_S / track_s, 0.5)
            return [Flag("duration_mismatch", reason, score, "error")]
    if not full_track and duration < MIN_EXCERPT_S:
        of_track = (
            "" if track_duration_ms is None else f" of a {track_duration_ms / 1000:.1f} s track"
        )
        reason = (
            f"duration mismatch: a {duration:.1f} s excerpt{of_track}, shorter than the "
            f"{MIN_EXCERPT_S:.0f} s minimum for an excerpt"
        )
        score = _beyond(duration, MIN_EXCERPT_S, 0.0)
        return [Flag("duration_mismatch", reason, score, "warning")]
    return []


def _sample_rate(entry: Mapping[str, Any]) -> list[Flag]:
    rate = int(entry["sample_rate"])
    if rate in STANDARD_SAMPLE_RATES:
        return []
    expected = ", ".join(str(r) for r in sorted(STANDARD_SAMPLE_RATES))
    if rate < ANALYSIS_SAMPLE_RATE:
        reason = (
            f"odd sample rate: {rate} Hz, under the {ANALYSIS_SAMPLE_RATE} Hz the features are "
            f"computed at (no content above {rate / 2000:.1f} kHz); expected one of {expected}"
        )
        return [Flag("sample_rate", reason, _beyond(rate, ANALYSIS_SAMPLE_RATE, 8_000), "warning")]
    reason = f"odd sample rate: {rate} Hz, not a usual delivery rate; expected one of {expected}"
    return [Flag("sample_rate", reason, 0.0, "info")]


def _channels(entry: Mapping[str, Any], stats: Mapping[str, Any]) -> list[Flag]:
    flags = []
    channels = int(entry["channels"])
    if channels > MAX_CHANNELS:
        reason = (
            f"channels: {channels} channels, more than stereo; the analysis averages them to "
            "mono, which changes the mix the features see"
        )
        flags.append(Flag("channels", reason, _beyond(channels, MAX_CHANNELS, 8), "warning"))
    silent = stats.get("silent_channels") or []
    if silent and len(silent) < int(stats.get("channels", channels)):
        reason = (
            f"channels: channel(s) {', '.join(str(c) for c in silent)} of "
            f"{stats.get('channels', channels)} are digitally silent throughout"
        )
        score = len(silent) / int(stats.get("channels", channels))
        flags.append(Flag("channels", reason, score, "warning"))
    if stats.get("channels_identical"):
        reason = (
            f"channels: all {stats.get('channels', channels)} channels are identical "
            "(mono stored as multichannel)"
        )
        flags.append(Flag("channels", reason, 0.0, "info"))
    return flags


def isolation_forest_flags(
    features: Sequence[Mapping[str, Any]],
    ids: Sequence[str],
    *,
    contamination: float | Literal["auto"] = "auto",
    random_state: int = 0,
    n_estimators: int = 200,
    min_score: float = OUTLIER_SCORE_MIN,
) -> IsolationForestResult:
    """Score every item with an IsolationForest over its numeric features, and flag outliers.

    Columns: every key with a numeric value in some item (``bool`` counts as 0/1, strings are
    left out); NaN, inf and ``None`` are missing. Columns missing everywhere or constant are
    dropped. Each column is scaled robustly (median, IQR / 1.349, so one unit is one standard
    deviation for normal data; the standard deviation where the IQR is 0) and missing values
    take the median (0 after scaling). The forest is deterministic for a given
    ``random_state``. An item is flagged when the forest calls it an outlier
    (``contamination="auto"``: anomaly score over 0.5, the original paper's cut; a float: that
    share of the items) AND its score is at least ``min_score``, so that a forced share or the
    tails of ordinary data do not flag ordinary items. The flag's score maps that cut..1 to
    0..1; its reason names the `TOP_FEATURES` features farthest from the median in robust z.

    With fewer than `MIN_MODEL_ITEMS` items, or no usable column, the model does not run: no
    rows, and the ``note`` says why.
    """
    if len(features) != len(ids):
        raise ValueError(
            f"features and ids must have the same length, got {len(features)} and {len(ids)}"
        )
    if len(set(ids)) != len(ids):
        repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
        raise ValueError(f"ids must be unique, repeated: {', '.join(repeated[:5])}")
    if len(features) < MIN_MODEL_ITEMS:
        return IsolationForestResult(
            (),
            (),
            f"isolation forest not run: {len(features)} items, at least {MIN_MODEL_ITEMS} "
            "needed for the scores to mean anything",
        )
    columns, matrix, dropped = _numeric_matrix(features)
    if not columns:
        return IsolationForestResult((), (), "isolation forest not run: no numeric feature varies")
    z = _robust_z(matrix)

    from sklearn.ensemble import IsolationForest

    model = IsolationForest(
        n_estimators=n_estimators,
        contamination=contamination,
        random_state=random_state,
        n_jobs=1,
    ).fit(z)
    scores = -model.score_samples(z)
    # predict() is score_samples < offset_: the same cut, on the negated scores.
    threshold = max(-float(model.offset_), min_score)
    outliers = scores >= threshold
    medians = np.nanmedian(matrix, axis=0)
    rows = []
    for index, item_id in enumerate(ids):
        score = float(scores[index])
        flag = None
        if outliers[index]:
            flag = Flag(
                "isolation_forest",
                _outlier_reason(score, columns, z[index], matrix[index], medians),
                _beyond(score, threshold, 1.0),
                "warning",
            )
        rows.append(ItemAnomaly(str(item_id), score, flag))
    note = None
    if dropped:
        note = f"columns left out (missing or constant everywhere): {', '.join(dropped)}"
    return IsolationForestResult(tuple(rows), tuple(columns), note)


def _numeric_matrix(
    features: Sequence[Mapping[str, Any]],
) -> tuple[list[str], np.ndarray, list[str]]:
    """(kept columns, items x columns float matrix with NaN for missing, dropped columns)."""
    names: dict[str, None] = {}
    for item in features:
        for key, value in item.items():
            if isinstance(value, int | float | np.integer | np.floating):
                names.setdefault(key)
    candidates = list(names)
    matrix = np.full((len(features), len(candidates)), np.nan)
    for row, item in enumerate(features):
        for col, key in enumerate(candidates):
            value = item.get(key)
            if isinstance(value, int | float | np.integer | np.floating):
                matrix[row, col] = float(value)
    matrix[~np.isfinite(matrix)] = np.nan
    keep = []
    for col in range(len(candidates)):
        present = matrix[:, col][~np.isnan(matrix[:, col])]
        keep.append(present.size > 0 and bool(np.ptp(present) > 0))
    kept = [name for name, ok in zip(candidates, keep, strict=True) if ok]
    dropped = [name for name, ok in zip(candidates, keep, strict=True) if not ok]
    return kept, matrix[:, np.array(keep, dtype=bool)], dropped


def _robust_z(matrix: np.ndarray) -> np.ndarray:
    median = np.nanmedian(matrix, axis=0)
    q1, q3 = np.nanpercentile(matrix, [25, 75], axis=0)
    # IQR / 1.349 is one standard deviation for normal data; a column that is the same in
    # three items of four has no IQR and falls back to its standard deviation (never 0, since
    # constant columns are gone).
    scale = (q3 - q1) / 1.349
    flat = scale <= 0
    scale[flat] = np.nanstd(matrix[:, flat], axis=0)
    z = (matrix - median) / scale
    return np.where(np.isnan(z), 0.0, z)


def _outlier_reason(
    score: float, columns: list[str], z: np.ndarray, values: np.ndarray, medians: np.ndarray
) -> str:
    order = np.argsort(-np.abs(z), kind="stable")[:TOP_FEATURES]
    parts = []
    for col in order:
        value = "missing" if np.isnan(values[col]) else f"{values[col]:.4g}"
        direction = "above" if z[col] > 0 else "below"
        parts.append(
            f"{columns[col]} {value} vs median {medians[col]:.4g} "
            f"({abs(z[col]):.1f} robust SD {direction})"
        )
    return f"unusual features (isolation forest score {score:.3f}): " + "; ".join(parts)
