"""Column contracts of the audio tables (``<lake>/audio/<table>/``, views ``audio.<table>``)."""

from __future__ import annotations

from spotify_agent_assets.audio.feature_names import DESCRIPTORS, FEATURE_NAMES
from spotify_agent_assets.audio.signal_columns import SIGNAL_COLUMNS
from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, F, B, L = "string", "int64", "float64", "bool", "list<string>"

AUDIO_GROUP = "audio"

AUDIO_CATALOG = TableContract(
    name="audio_catalog",
    key=("track_id",),
    columns=(
        Column("track_id", S, "Spotify track id the file is mapped to", nullable=False),
        Column("path", S, "Path relative to the audio landing zone", nullable=False),
        Column("track_id_source", S, "How the track was named: 'name' (file stem) or 'sidecar'"),
        Column("format", S, "Container of the content: wav, flac, ogg or mp3"),
        Column("subtype", S, "libsndfile codec name (PCM_16, VORBIS, MPEG_LAYER_III, ...)"),
        Column("content_hash", S, "SHA-256 hex digest of the file's bytes", nullable=False),
        Column("size_bytes", INT, "File size in bytes"),
        Column("mtime_ns", INT, "Modification time as listed (ns since the epoch)"),
        Column("duration_s", F, "Duration in seconds"),
        Column("sample_rate", INT, "Sample rate of the file in Hz"),
        Column("channels", INT, "Channel count"),
        Column("frames", INT, "Sample frames per channel"),
        Column("note", S, "Something the producer got wrong but the audio survives (extension)"),
    ),
)

AUDIO_QUARANTINE = TableContract(
    name="audio_quarantine",
    key=("path",),
    columns=(
        Column("path", S, "Path relative to the audio landing zone", nullable=False),
        Column("code", S, "Reason group: outside_zone, empty, not_audio, corrupt, ...", False),
        Column("reason", S, "What is wrong and what to fix", nullable=False),
        Column("size_bytes", INT, "File size in bytes, when listed"),
        Column("mtime_ns", INT, "Modification time, when listed"),
        Column("details", S, "JSON: what was detected (format, hash, symlink target, ...)"),
    ),
)

_STRING_FEATURES = frozenset(
    {"extractor_version", "status", "key", "mode", "tempo_status", "key_status"}
)
_FEATURE_DESCRIPTIONS = {
    "extractor_version": "Version of the feature definitions that produced the row",
    "status": "ok, silent, too_short, or failed (analysis error, see error)",
    "duration_s": "Duration analysed in seconds",
    "loudness_db": "Integrated RMS loudness in dBFS",
    "tempo_bpm": "Tempo in beats per minute (at the start if it changes); null unless "
    "tempo_status is ok or low_confidence",
    "tempo_confidence": "Confidence of tempo_bpm in [0, 1] (pulse strength, metrical decision, "
    "beats on onsets); set whenever status is ok, also when tempo_bpm is null",
    "tempo_second_bpm": "The tempo the clip changes to (second half), null unless it changes",
    "tempo_status": "Why tempo_bpm is what it is: ok, low_confidence (reported, flagged), "
    "no_pulse (null: speech, noise, no steady beat), or the row's status when not ok",
    "key": "Tonic pitch class (C, C#, ..., B); null unless key_status is ok",
    "mode": "major or minor; null unless key_status is ok",
    "key_confidence": "Correlation of the best key profile, floored at 0; set whenever status "
    "is ok, also when key is null",
    "key_status": "ok, atonal (key_confidence under features.ATONAL_BELOW: no tonal centre, "
    "key and mode null), or the row's status when not ok",
    **{name: f"Spotify-style descriptor in [0, 1] ({name})" for name in DESCRIPTORS},
    "harmonicity_mean": "Mean periodicity of active frames, 0 noise to 1 a steady tone",
    "voiced_share": "Share of active frames that are periodic (harmonicity >= 0.5)",
    "syllable_rate": "Loudness peaks of the 300-3000 Hz band per active second (syllables)",
    "pitch_stability": "Share of spectral peaks held (within 30 cents) into the next ~0.2 s",
    "high_pitch_share": "Share of active frames whose strongest peak is above 1.5 kHz",
    "tuning_concentration": "How tightly spectral peaks sit on one semitone grid, 0 to 1",
    "rhythm_regularity": "Autocorrelation of the onset flux at a 0.25-1.5 s lag, 0 to 1",
    "spectral_change_db": "Median change of the log-mel spectrum between 0.5 s blocks, dB",
    "level_variation_db": "Standard deviation of the loudness of 0.5 s blocks, dB",
}

AUDIO_FEATURES = TableContract(
    name="audio_features",
    key=("track_id",),
    columns=(
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("path", S, "Path relative to the audio landing zone", nullable=False),
        Column("content_hash", S, "SHA-256 of the file the features come from", nullable=False),
        *(
            Column(
                name,
                S if name in _STRING_FEATURES else F,
                _FEATURE_DESCRIPTIONS.get(name, "librosa feature; see audio.features"),
            )
            for name in FEATURE_NAMES
        ),
        *(
            Column(
                name,
                S
                if name.endswith("silent_channels")
                else B
                if name.endswith("identical")
                else INT
                if name.endswith(("samples", "channels"))
                else F,
                "Statistic of the decoded samples at the file's own rate; see audio.anomalies",
            )
            for name in SIGNAL_COLUMNS
        ),
        Column("error", S, "Why the analysis failed (status failed), naming the file"),
    ),
)

AUDIO_ANOMALIES = TableContract(
    name="audio_anomalies",
    key=("track_id", "rule", "reason"),
    columns=(
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("path", S, "Path relative to the audio landing zone", nullable=False),
        Column("content_hash", S, "SHA-256 of the file", nullable=False),
        Column("rule", S, "silence, dropout, clipping, dc_offset, duration_mismatch, ...", False),
        Column("severity", S, "info, warning or error", nullable=False),
        Column("score", F, "How far beyond the threshold: 0 at it, 1 far beyond", False),
        Column("reason", S, "What was found, with the numbers", nullable=False),
    ),
)

TRACK_CLASSIFICATION = TableContract(
    name="track_classification",
    key=("track_id",),
    columns=(
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("content_hash", S, "SHA-256 of the file classified", nullable=False),
        Column(
            "content_type",
            S,
            "Predicted content type: music (drums-only, a cappella, solo and ambient too), "
            "speech (over a music bed too), other (animals, nature, machine noise) or silence",
        ),
        Column("content_type_probability", F, "Calibrated probability of content_type"),
        Column("content_type_probabilities", S, "JSON: calibrated probability per class"),
        Column("content_type_drivers", L, "Features that pushed towards content_type"),
        Column("content_type_label", S, "Curated label the model trained on, if any"),
        Column("genre", S, "Predicted genre family"),
        Column("genre_probability", F, "Calibrated probability of genre"),
        Column("genre_probabilities", S, "JSON: calibrated probability per genre family"),
        Column("genre_drivers", L, "Features that pushed towards genre"),
        Column("genre_label", S, "Genre family of the track's artists on Spotify, if any"),
        Column("content_type_model", S, "MLflow registered model and version"),
        Column("genre_model", S, "MLflow registered model and version"),
    ),
)
