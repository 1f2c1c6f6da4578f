"""Tempo from evidence in the audio: the metrical level is chosen by the drums, not by a prior.

`estimate_tempo(percussive_db, envelope)` takes the percussive part of the mel spectrogram (dB)
and its onset envelope at `FRAME_RATE` and returns a `TempoEstimate`:

1. **Is there a pulse?** The autocorrelation of the envelope over the lags of 40-320 BPM; its
   highest peak (over the zero-lag energy) is the pulse strength. Speech, noise and beatless
   ambience stay under `NO_PULSE_BELOW` (their onsets do not repeat at any one lag), or their
   confidence (below) under `NO_PULSE_CONFIDENCE`: no tempo.
2. **The finest steady pulse (tatum)**: the strongest autocorrelation peak down to `BAR_MIN_BPM`
   (the beat, two beats or a bar, also under a slow groove) divided by 2, 4 and 8, or by 3 and 6
   when its third peaks higher than its half (the two are exclusive: a bar's third is no multiple
   of its quarter); the finest division in that tree with a peak at the division itself (within
   `TATUM_FIT`) of at least `TATUM_SHARE` of the strongest (`_tatum_lag`), or a finer one that a
   single band keeps (`_finest_band_tatum`: hats under syncopated kicks); beats are tracked at
   that period (``librosa.beat.beat_track``, dynamic programming).
3. **Climbing the metrical hierarchy**: the tracked pulses are grouped in twos (threes when that
   accent is clearly better: a shuffle) level by level, the strongest phase kept. Per pulse, the
   onset strength in three bands (kick-like under 150 Hz, snare/voice-like 150-5000 Hz, hat-like
   above). A level in `MIN_BPM`-`MAX_BPM` where the snare-like band alternates against the
   kick-like one (`_backbeat`: a snare on 2 and 4, the kick on 1 and 3; the clearest if several)
   is the beat. Without a backbeat, grouping goes on while the off positions carry only
   subdivisions (`_grouping_score`: hats alone, or much weaker attacks, on the "and"s) and stops
   where they carry kick or snare energy of their own (a four-on-the-floor kick, chords struck
   on every beat); always while faster than `MAX_BPM`, never below `MIN_BPM`.
4. **Tempo**: beats tracked again at the chosen level, their mean interval (sub-frame, not
   quantised to whole lags as a tempogram is).
5. **A tempo change**: for clips of `CHANGE_MIN_S` or more, the period near the chosen beat is
   measured in each quarter; when the first two quarters agree, the last two agree, and the
   halves differ by more than `CHANGE_MIN_RATIO`, each half is estimated on its own and the
   second half's tempo is `second_bpm`.

``confidence`` in [0, 1] is the product of the pulse strength (scaled so `FULL_PULSE` is 1), the
margin of the metrical decision (how far the deciding backbeat or grouping score was from its
threshold, counted half) and the share of tracked beats that land on an onset. Under
`NO_PULSE_CONFIDENCE` there is no tempo (``"no_pulse"``); under `LOW_CONFIDENCE_BELOW` the
tempo is reported with ``status`` ``"low_confidence"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# The analysis grid of audio.decoding and audio.intermediates (intermediates imports this module,
# so they are repeated here).
SAMPLE_RATE = 22_050
HOP_LENGTH = 512
N_FFT = 2048
FRAME_RATE = SAMPLE_RATE / HOP_LENGTH
# Onset bands by mel band centre: kick and bass, snare body/noise and voices, hats and cymbals.
BAND_EDGES_HZ = (150.0, 5000.0)
QUIET_BAND = 0.1
PULSE_MIN_BPM, PULSE_MAX_BPM = 40.0, 320.0
BAR_MIN_BPM = 30.0
TATUM_MAX_BPM = 520.0
TATUM_SHARE = 0.3
BAND_TATUM_FIT = 0.05
# A division's peak must lie within 5% (at least 0.6 frame) of it, not merely near it.
TATUM_FIT, TATUM_FIT_FRAMES = 0.05, 0.6
MIN_BPM, MAX_BPM = 55.0, 215.0
# Grouping score (weighted share of off-position energy) under which a level is a subdivision.
GROUP_BELOW = 0.45
TRIPLE_MARGIN = 0.2
BACKBEAT_MIN = 0.35
BACKBEAT_KICK_SLACK = 0.25
# The kick's alternation against the snare-like band counts half as much as the snare's own.
KICK_SHARE = 0.5
BAND_RATIO_CAP = np.array([1.5, 1.5, 1.0])
BAND_WEIGHT = np.array([1.0, 1.0, 0.5])
NO_PULSE_BELOW = 0.2
FULL_PULSE = 0.5
NO_PULSE_CONFIDENCE = 0.3
LOW_CONFIDENCE_BELOW = 0.45
CHANGE_MIN_S = 16.0
CHANGE_MIN_RATIO = 1.08
CHANGE_STABLE = 0.04
CHANGE_SEARCH = 0.4


@dataclass(frozen=True)
class TempoEstimate:
    """The tempo (None without a pulse), its confidence, a second tempo, why, and the beats."""

    tempo_bpm: float | None
    confidence: float
    second_bpm: float | None
    status: str  # "ok", "low_confidence" or "no_pulse"
    beats: np.ndarray = field(repr=False)  # beat frames at the chosen level (empty: none)


def estimate_tempo(percussive_db: np.ndarray, envelope: np.ndarray) -> TempoEstimate:
    """The tempo of a clip from its percussive mel spectrogram (dB) and onset envelope."""
    envelope = np.asarray(envelope, dtype=np.float64)
    bands = band_envelopes(percussive_db, len(envelope))
    estimate = _estimate_segment(envelope, bands)
    if estimate.tempo_bpm is None or len(envelope) < CHANGE_MIN_S * FRAME_RATE:
        return estimate
    split = _tempo_change_split(envelope, 60 * FRAME_RATE / estimate.tempo_bpm)
    if split is None:
        return estimate
    first = _estimate_segment(envelope[:split], bands[:, :split])
    second = _estimate_segment(envelope[split:], bands[:, split:])
    if first.tempo_bpm is None or second.tempo_bpm is None:
        return estimate
    ratio = second.tempo_bpm / first.tempo_bpm
    if max(ratio, 1 / ratio) < CHANGE_MIN_RATIO:
        return estimate  # the halves agree after all: one tempo
    return TempoEstimate(
        tempo_bpm=first.tempo_bpm,
        confidence=min(first.confidence, second.confidence),
        second_bpm=second.tempo_bpm,
        status=first.status if first.status != "ok" else second.status,
        beats=np.concatenate([first.beats, second.beats + split]),
    )


def band_envelopes(percussive_db: np.ndarray, frames: int) -> np.ndarray:
    """Onset strength in the three `BAND_EDGES_HZ` bands, aligned with librosa's envelope.

    The rise of *amplitude* (not of dB as librosa's envelope) summed over the band's mel bins:
    a hat played at half velocity rises half as much, where in dB it rises as far from silence
    as a loud one, and the metrical level is read from such accents. Each band is scaled to a
    mean of 1 so the bands compare by pattern, not loudness. Shifted as librosa's
    ``onset_strength`` (lag 1, centred: ``1 + n_fft // (2 hop)`` frames) so positions agree.
    """
    import librosa

    centres = librosa.mel_frequencies(n_mels=percussive_db.shape[0], fmax=SAMPLE_RATE / 2)
    low, high = np.searchsorted(centres, BAND_EDGES_HZ)
    amplitude = librosa.db_to_amplitude(percussive_db.astype(np.float64))
    rise = np.maximum(0.0, np.diff(amplitude, axis=1))
    rows = [rise[:low].sum(axis=0), rise[low:high].sum(axis=0), rise[high:].sum(axis=0)]
    shift = 1 + N_FFT // (2 * HOP_LENGTH)
    out = np.zeros((3, frames))
    for band, row in enumerate(rows):
        usable = row[: max(frames - shift, 0)]
        out[band, shift : shift + len(usable)] = usable
    # A band with next to nothing in it (the hats of a kick-only groove) is not scaled up
    # into a pattern of its own: no band is scaled more than `QUIET_BAND` of the loudest.
    means = out.mean(axis=1, keepdims=True)
    scale = np.maximum(means, QUIET_BAND * means.max())
    return np.divide(out, scale, out=np.zeros_like(out), where=scale > 0)


def autocorrelation(envelope: np.ndarray) -> np.ndarray:
    """The autocorrelation of the mean-removed envelope over lag 0 (zeros if it is flat)."""
    centred = envelope - envelope.mean()
    n = len(centred)
    spectrum = np.fft.rfft(centred, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    return ac / ac[0] if ac[0] > 0 else np.zeros(n)


def _estimate_segment(envelope: np.ndarray, bands: np.ndarray) -> TempoEstimate:
    none = TempoEstimate(None, 0.0, None, "no_pulse", np.zeros(0, dtype=int))
    ac = autocorrelation(envelope)
    lags = _lag_range(PULSE_MIN_BPM, PULSE_MAX_BPM, len(ac))
    if lags is None:
        return none
    strongest = float(ac[lags].max())
    pulse = _clip(strongest / FULL_PULSE)
    if strongest < NO_PULSE_BELOW:
        return TempoEstimate(None, pulse, None, "no_pulse", none.beats)
    # The strongest periodicity, divided down to the tatum, may be a bar or half a bar: under
    # a slow groove that is longer than the slowest pulse (a half bar at 68 BPM is 35 BPM).
    bar_lags = _lag_range(BAR_MIN_BPM, PULSE_MAX_BPM, len(ac))
    bar_lags = lags if bar_lags is None else bar_lags
    tatum = _finest_band_tatum(_tatum_lag(ac, bar_lags), ac, bar_lags, bands)
    beats = _track(envelope, 60 * FRAME_RATE / tatum)
    if len(beats) < 4:
        return TempoEstimate(None, pulse, None, "no_pulse", none.beats)
    period, margin = _metrical_level(beats, bands, tatum)
    beats = _track(envelope, 60 * FRAME_RATE / period)
    tempo = _refined_tempo(60 * FRAME_RATE / period, beats)
    confidence = pulse * (0.5 + 0.5 * margin) * _on_onset_share(envelope, beats)
    if confidence < NO_PULSE_CONFIDENCE:
        # Speech has syllables and noise has bursts, at no steady rate: whatever period the
        # tracker locks onto is weak, undecided and often missed. No tempo beats a wrong one.
        return TempoEstimate(None, confidence, None, "no_pulse", none.beats)
    status = "ok" if confidence >= LOW_CONFIDENCE_BELOW else "low_confidence"
    return TempoEstimate(tempo, confidence, None, status, beats)


def _lag_range(slowest_bpm: float, fastest_bpm: float, n: int) -> np.ndarray | None:
    low = max(2, math.floor(60 * FRAME_RATE / fastest_bpm))
    high = min(n - 1, math.ceil(60 * FRAME_RATE / slowest_bpm))
    return np.arange(low, high + 1) if high > low + 2 else None


def _tatum_lag(ac: np.ndarray, lags: np.ndarray) -> float:
    """The finest pulse that divides the strongest periodicity, as a sub-frame lag.

    The strongest autocorrelation peak may be the beat, two beats or a bar. Its divisions by
    2, 4 and 8 (or 3 and 6, when its third peaks higher than its half: triplets) are tried; one
    counts when the autocorrelation peaks within `TATUM_FIT` of it at `TATUM_SHARE` of the
    strongest or more, and the finest that counts is the tatum. Requiring a divisor keeps
    syncopated accents (a kick three sixteenths after the beat) from posing as the pulse; the
    tree and the fit keep them from posing as a division (a tresillo's 3+3+2 sixteenths peak
    near a third of two beats). Parabolic interpolation gives the sub-frame lag.
    """
    strongest_lag = _parabolic_peak(ac, int(lags[np.argmax(ac[lags])]))
    strongest = float(ac[lags].max())
    shortest = 60 * FRAME_RATE / TATUM_MAX_BPM

    def peak_near(lag: float) -> float | None:
        centre = round(lag)
        if lag < shortest or centre < 2 or centre + 2 >= len(ac):
            return None
        best = centre - 1 + int(np.argmax(ac[centre - 1 : centre + 2]))
        if ac[best] < TATUM_SHARE * strongest:
            return None
        peak = _parabolic_peak(ac, best)
        # At short lags a frame either side is a wide window: the peak must sit at the
        # division itself, not at a neighbouring one (a bar's sixth is not its eighth).
        return peak if abs(peak - lag) <= max(TATUM_FIT_FRAMES, TATUM_FIT * lag) else None

    found = {1: strongest_lag}
    for divisor in (2, 3, 4, 6, 8):
        if (lag := peak_near(strongest_lag / divisor)) is not None:
            found[divisor] = lag
    # Twos or threes: the two trees are exclusive (a bar's third is no multiple of its
    # quarter); the stronger first division decides, and the finer divisions follow it.
    halves, thirds = (ac[round(found[d])] if d in found else -1.0 for d in (2, 3))
    tree = (1, 3, 6) if thirds > halves else (1, 2, 4, 8)
    finest = max(d for d in found if d in tree)
    return strongest_lag / finest if finest > 1 else strongest_lag


def _finest_band_tatum(tatum: float, ac: np.ndarray, lags: np.ndarray, bands: np.ndarray) -> float:
    """The tatum, or a finer one that a single band keeps steadily (hats under a breakbeat).

    Syncopated kicks blur the whole envelope's short lags while the hats still tick evenly. A
    band's tatum counts when the band has a pulse of its own and divides the envelope's
    strongest period into 2, 3, 4, 6 or 8 parts (within `BAND_TATUM_FIT`).
    """
    strongest_lag = float(lags[np.argmax(ac[lags])])
    finest = tatum
    for band in bands:
        band_ac = autocorrelation(band)
        if band_ac[lags].max() < NO_PULSE_BELOW:
            continue
        lag = _tatum_lag(band_ac, lags)
        parts = strongest_lag / lag
        fits = any(abs(parts / n - 1) <= BAND_TATUM_FIT for n in (2, 3, 4, 6, 8))
        if fits and lag < finest * (1 - BAND_TATUM_FIT):
            finest = lag
    return finest


def _parabolic_peak(ac: np.ndarray, lag: int) -> float:
    left, centre, right = ac[lag - 1], ac[lag], ac[lag + 1]
    curvature = left - 2 * centre + right
    offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return lag + max(-0.5, min(0.5, offset))


def _track(envelope: np.ndarray, bpm: float) -> np.ndarray:
    import librosa

    _, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=SAMPLE_RATE, bpm=bpm)
    return np.asarray(beats, dtype=int)


def _metrical_level(beats: np.ndarray, bands: np.ndarray, tatum: float) -> tuple[float, float]:
    """The beat period (frames) grouped up from the tatum's beats, and the decision margin.

    The pulses are grouped in twos (or threes, when that accent is clearly better) level by
    level down to `MIN_BPM`. A level in `MIN_BPM`-`MAX_BPM` with a backbeat (`_backbeat` at
    least `BACKBEAT_MIN`; the strongest if several) is the beat. Without one, grouping goes on
    while the off positions are a subdivision (score under `GROUP_BELOW`), and always while
    the beat is faster than `MAX_BPM`. The margin is how far the deciding score was from its
    threshold (0 on it, 1 far away).
    """
    strengths = _beat_strengths(beats, bands)
    period = tatum
    levels: list[tuple[float, float, float]] = []  # (period, grouping score, backbeat)
    while strengths.shape[1] >= 4:
        scores = {g: _grouping_score(strengths, g) for g in (2, 3)}
        # Twos unless threes are clearly better: triplets (a shuffle) are the exception.
        group = 3 if scores[3] < scores[2] - TRIPLE_MARGIN else 2
        levels.append((period, scores[group], _backbeat(strengths)))
        if 60 * FRAME_RATE / (period * group) < MIN_BPM:
            break
        strengths = strengths[:, _strong_phase(strengths, group) :: group]
        period *= group
    in_range = [level for level in levels if MIN_BPM <= 60 * FRAME_RATE / level[0] <= MAX_BPM]
    if in_range:
        best = max(in_range, key=lambda level: level[2])
        if best[2] >= BACKBEAT_MIN:
            return best[0], _clip((best[2] - BACKBEAT_MIN) / BACKBEAT_MIN)
    for period, score, _ in levels:
        too_fast = 60 * FRAME_RATE / period > MAX_BPM
        if not too_fast and score >= GROUP_BELOW:
            return period, _clip((score - GROUP_BELOW) / GROUP_BELOW)
    return levels[-1][0] if levels else tatum, 0.0


def _backbeat(strengths: np.ndarray) -> float:
    """How clearly the snare-like band alternates against the kick-like band, about [0, 1.5].

    Pulses in twos: the mid band's contrast between the two phases (a snare on 2 and 4), plus
    `KICK_SHARE` of the low band's contrast the other way (the kick on 1 and 3), when the low
    band is not much louder on the snare's phase. On eighths under a backbeat the snare and the
    kick share the on-beat phase: no backbeat. Kicks on the off-eighths (a breakbeat) or toms on
    the "and"s can make the mid band alternate on the eighths too, but there the kick does not
    alternate against it: the kick's share keeps the beat the clearer backbeat.
    """
    usable = strengths.shape[1] // 2 * 2
    if usable < 4:
        return 0.0
    low, mid, _ = strengths[:, :usable].reshape(3, -1, 2).mean(axis=1)
    if mid.sum() <= 0:
        return 0.0
    snare = int(np.argmax(mid))
    mid_contrast = (mid[snare] - mid[1 - snare]) / mid.sum()
    low_contrast = (low[1 - snare] - low[snare]) / max(low.sum(), 1e-9)
    return (
        float(mid_contrast + KICK_SHARE * low_contrast)
        if low_contrast >= -BACKBEAT_KICK_SLACK
        else 0.0
    )


def _beat_strengths(beats: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Per band and beat: the band's onset peak within one frame of the beat."""
    frames = bands.shape[1]
    near = np.clip(beats[None, :] + np.arange(-1, 2)[:, None], 0, frames - 1)
    return bands[:, near].max(axis=1)


def _strong_phase(strengths: np.ndarray, group: int) -> int:
    usable = strengths.shape[1] // group * group
    folded = strengths[:, :usable].reshape(3, -1, group).mean(axis=1)
    return int(np.argmax(folded.sum(axis=0)))


def _grouping_score(strengths: np.ndarray, group: int) -> float:
    """How much the off positions of a group of pulses weigh against the strong one, in [0, 1].

    Per band, the mean onset strength at the other positions over that at the strongest phase
    (capped at 1), weighted by the band's share of the strong phase's energy. A band that is
    loud on the off positions (a snare on 2 and 4 against a kick on 1 and 3) scores 1; hats
    alone on the off eighths score the hats' share only.
    """
    usable = strengths.shape[1] // group * group
    if usable < 2 * group:
        return 1.0
    folded = strengths[:, :usable].reshape(3, -1, group).mean(axis=1)  # (band, phase)
    phase = int(np.argmax(folded.sum(axis=0)))
    strong = folded[:, phase]
    off = np.delete(folded, phase, axis=1).max(axis=1)
    weights = strong + off
    if weights.sum() <= 0:
        return 1.0
    # A kick or snare louder off the strong phase (the snare on 2 and 4) counts up to 1.5: it
    # is another instrument's beat, not a subdivision. Hats off the beat (an open hat on every
    # "and") are the classic subdivision: the high band counts at most 1, at half weight.
    ratios = np.minimum(BAND_RATIO_CAP, off / np.maximum(strong, 1e-9))
    weights = weights * BAND_WEIGHT
    return float((ratios * weights).sum() / weights.sum())


def _on_onset_share(envelope: np.ndarray, beats: np.ndarray) -> float:
    """The share of beats with an onset above the envelope's median within one frame."""
    if len(beats) == 0:
        return 0.0
    near = np.clip(beats[None, :] + np.arange(-1, 2)[:, None], 0, len(envelope) - 1)
    return float((envelope[near].max(axis=0) > np.median(envelope)).mean())


def _refined_tempo(tempo: float, beats: np.ndarray) -> float:
    """The tempo refined to the mean interval of the tracked beats (sub-frame resolution).

    Intervals more than 20% off the period (a skipped or doubled beat) are left out, and the
    refinement is kept only if it moves the tempo by less than 6% (within one lag step).
    """
    if len(beats) < 5:
        return tempo
    period = 60 * FRAME_RATE / tempo
    intervals = np.diff(beats).astype(np.float64)
    regular = intervals[np.abs(intervals / period - 1) <= 0.2]
    if len(regular) < 4:
        return tempo
    refined = 60 * FRAME_RATE / float(regular.mean())
    return refined if abs(refined / tempo - 1) < 0.06 else tempo


def _tempo_change_split(envelope: np.ndarray, period: float) -> int | None:
    """The middle frame when the beat period differs between the halves and holds in each."""
    n = len(envelope)
    quarter = n // 4
    periods = []
    for index in range(4):
        ac = autocorrelation(envelope[index * quarter : (index + 1) * quarter])
        low = max(2, math.floor(period * (1 - CHANGE_SEARCH)))
        high = min(len(ac) - 2, math.ceil(period * (1 + CHANGE_SEARCH)))
        if high <= low:
            return None
        lag = low + int(np.argmax(ac[low : high + 1]))
        periods.append(_parabolic_peak(ac, lag))
    first, second = (periods[0] + periods[1]) / 2, (periods[2] + periods[3]) / 2
    stable = all(
        abs(a / b - 1) <= CHANGE_STABLE for a, b in ((periods[0], periods[1]), periods[2:])
    )
    changed = max(first / second, second / first) >= CHANGE_MIN_RATIO
    return n // 2 if stable and changed else None


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))
