from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from spotify_agent_assets.audio.classification import (
    CONTENT_TYPE_FEATURES,
    GENRE_FEATURES,
    N_DRIVERS,
    STATUS_INDICATORS,
    Driver,
    feature_matrix,
    train_classifier,
)
from spotify_agent_assets.audio.feature_names import FEATURE_NAMES

FEATURES = ("speechiness", "key_confidence", "loudness_db")
# Class means of FEATURES; the generic classifier tests call their near-silent class "other".
MEANS = {
    "music": (0.3, 0.75, -18.0),
    "speech": (0.8, 0.3, -19.0),
    "other": (None, None, -65.0),
}


def item(values: dict[str, Any], status: str = "ok") -> dict[str, Any]:
    """A feature dict as `extract_features` writes it: every name, None where not given."""
    features: dict[str, Any] = dict.fromkeys(FEATURE_NAMES)
    features.update(extractor_version="1", status=status)
    features.update(values)
    return features


def draw(
    rng: np.random.Generator, counts: dict[str, int], spread: float = 0.05
) -> tuple[list[dict[str, Any]], list[str]]:
    items, labels = [], []
    for label, count in counts.items():
        for _ in range(count):
            values = {}
            for name, mean in zip(FEATURES, MEANS[label], strict=True):
                scale = spread * (20 if name == "loudness_db" else 1)
                values[name] = None if mean is None else float(mean + scale * rng.normal())
            items.append(item(values, "silent" if label == "other" else "ok"))
            labels.append(label)
    return items, labels


@pytest.fixture(scope="module")
def separable() -> tuple[list[dict[str, Any]], list[str]]:
    return draw(np.random.default_rng(0), {"music": 120, "speech": 30, "other": 12})


def test_separable_classes_are_learned_and_measured(separable) -> None:
    items, labels = separable
    trained = train_classifier(items, labels, FEATURES)
    metrics = trained.metrics
    assert trained.classes == ("music", "other", "speech")
    assert trained.columns == (*FEATURES, *STATUS_INDICATORS)
    assert metrics.accuracy == pytest.approx(1.0)
    assert metrics.baseline_accuracy == pytest.approx(30 / 41)  # music, 30 of 41 held out
    assert (metrics.n_train, metrics.n_test) == (121, 41)
    assert sum(map(sum, metrics.confusion)) == metrics.n_test
    assert set(metrics.per_class) == set(trained.classes)
    assert metrics.per_class["other"] == {"precision": 1.0, "recall": 1.0, "support": 3}
    assert metrics.log_loss < 0.2
    assert 0 <= metrics.brier_score < 0.05
    assert trained.params["calibration"] == "sigmoid"
    assert trained.params["cv_folds"] == 5


def test_training_is_deterministic(separable) -> None:
    items, labels = separable
    first = train_classifier(items, labels, FEATURES, random_state=3)
    second = train_classifier(items, labels, FEATURES, random_state=3)
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64
    assert first.metrics == second.metrics
    assert first.predict(items[:20]) == second.predict(items[:20])


def test_the_fingerprint_follows_the_training_data_and_settings(separable) -> None:
    items, labels = separable
    base = train_classifier(items, labels, FEATURES).fingerprint
    relabelled = [*labels[:-1], "speech"]
    assert train_classifier(items, relabelled, FEATURES).fingerprint != base
    assert train_classifier(items, labels, FEATURES[:2]).fingerprint != base
    assert train_classifier(items, labels, FEATURES, random_state=1).fingerprint != base
    changed = [dict(items[0], speechiness=0.31), *items[1:]]
    assert train_classifier(changed, labels, FEATURES).fingerprint != base


def test_probabilities_sum_to_one_and_name_the_label(separable) -> None:
    items, labels = separable
    trained = train_classifier(items, labels, FEATURES)
    fresh, truth = draw(np.random.default_rng(1), {"music": 20, "speech": 10, "other": 5})
    predictions = trained.predict(fresh)
    assert [p.label for p in predictions] == truth
    for prediction in predictions:
        assert set(prediction.probabilities) == set(trained.classes)
        assert math.fsum(prediction.probabilities.values()) == pytest.approx(1.0)
        assert prediction.probability == prediction.probabilities[prediction.label]
        assert prediction.probability == max(prediction.probabilities.values())


def test_probabilities_are_calibrated_on_overlapping_classes() -> None:
    # Two classes one standard deviation apart: about 69% can be told apart.
    rng = np.random.default_rng(5)

    def overlapping(n: int) -> tuple[list[dict[str, Any]], list[str]]:
        labels = ["music" if rng.random() < 0.6 else "speech" for _ in range(n)]
        items = [
            item({"speechiness": float((label == "speech") + rng.normal())}) for label in labels
        ]
        return items, labels

    items, labels = overlapping(600)
    trained = train_classifier(items, labels, ("speechiness",))
    fresh, truth = overlapping(3000)
    predictions = trained.predict(fresh)
    confidence = np.array([p.probability for p in predictions])
    correct = np.array([p.label == t for p, t in zip(predictions, truth, strict=True)])
    assert confidence.mean() == pytest.approx(correct.mean(), abs=0.03)
    # Reliability: in each confidence band the share right matches the mean confidence.
    for low, high in ((0.5, 0.65), (0.65, 0.8), (0.8, 1.0)):
        band = (confidence >= low) & (confidence < high)
        assert band.sum() > 200, (low, high)
        assert correct[band].mean() == pytest.approx(confidence[band].mean(), abs=0.06)


def test_drivers_name_features_that_push_towards_the_label(separable) -> None:
    items, labels = separable
    trained = train_classifier(items, labels, FEATURES)
    speech = item({"speechiness": 0.85, "key_confidence": 0.25, "loudness_db": -18.0})
    silent = item({"loudness_db": -66.0}, status="silent")
    predictions = trained.predict([speech, silent, *items[:30]])
    assert predictions[0].label == "speech"
    assert {d.feature for d in predictions[0].drivers[:2]} == {"speechiness", "key_confidence"}
    assert predictions[1].label == "other"
    assert {d.feature for d in predictions[1].drivers[:2]} == {"status_silent", "loudness_db"}
    assert predictions[1].drivers[0].value in (1.0, -66.0)
    for prediction in predictions:
        assert 0 < len(prediction.drivers) <= N_DRIVERS
        contributions = [d.contribution for d in prediction.drivers]
        assert all(c > 0 for c in contributions)
        assert contributions == sorted(contributions, reverse=True)
        assert {d.feature for d in prediction.drivers} <= set(trained.columns)


def test_a_missing_value_is_imputed_with_the_training_median(separable) -> None:
    items, labels = separable
    trained = train_classifier(items, labels, FEATURES)
    speech = item({"speechiness": 0.85, "key_confidence": None, "loudness_db": -18.0})
    [prediction] = trained.predict([speech])
    assert prediction.label == "speech"
    speech_nan = item({"speechiness": 0.85, "key_confidence": math.nan, "loudness_db": -18.0})
    assert trained.predict([speech_nan]) == [prediction]


def test_driver_describe() -> None:
    assert Driver("speechiness", 0.8234, 2.309).describe() == "speechiness=0.82 (+2.31)"
    assert Driver("loudness_db", -18.0, -0.5).describe() == "loudness_db=-18.00 (-0.50)"


def test_two_classes_work_too() -> None:
    items, labels = draw(np.random.default_rng(2), {"music": 40, "speech": 20})
    trained = train_classifier(items, labels, FEATURES)
    assert trained.classes == ("music", "speech")
    assert trained.metrics.accuracy == pytest.approx(1.0)
    predictions = trained.predict(items)
    assert [p.label for p in predictions] == labels
    assert all(p.drivers and p.drivers[0].contribution > 0 for p in predictions)


def test_shuffled_labels_score_near_the_baseline(separable) -> None:
    items, labels = separable
    shuffled = list(np.random.default_rng(7).permutation(labels))
    metrics = train_classifier(items, shuffled, FEATURES).metrics
    assert metrics.accuracy <= metrics.baseline_accuracy + 0.1


def bad_input(case: str, items: list[dict[str, Any]], labels: list[str]) -> tuple[Any, ...]:
    """(features, labels, feature_names) with one thing wrong."""
    if case == "lengths":
        return items, labels[:-1], FEATURES
    if case == "empty":
        return [], [], FEATURES
    if case == "unknown feature":
        return items, labels, ("speechiness", "loudness")
    if case == "non-numeric feature":
        return items, labels, ("key",)
    if case == "no features":
        return items, labels, ()
    if case == "repeated feature":
        return items, labels, ("speechiness", "speechiness")
    if case == "missing key":
        return [{"status": "ok"}, *items[1:]], labels, FEATURES
    if case == "string value":
        return [dict(items[0], speechiness="high"), *items[1:]], labels, FEATURES
    if case == "no label":
        return items, [None, *labels[1:]], FEATURES
    if case == "one class":
        return items, ["music"] * len(labels), FEATURES
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("lengths", "same length"),
        ("empty", "features is empty"),
        ("unknown feature", "unknown features \\['loudness'\\]"),
        ("non-numeric feature", "non-numeric features \\['key'\\]"),
        ("no features", "feature_names is empty"),
        ("repeated feature", "repeats \\['speechiness'\\]"),
        ("missing key", "features\\[0\\] lacks the feature 'speechiness'"),
        ("string value", "features\\[0\\]\\['speechiness'\\] is 'high': a number or None"),
        ("no label", "labels\\[0\\] is None: a non-empty string"),
        ("one class", "only the class \\['music'\\]"),
    ],
)
def test_bad_input_is_a_clear_error(separable, case: str, message: str) -> None:
    items, labels = separable
    with pytest.raises(ValueError, match=message):
        train_classifier(*bad_input(case, items, labels))


def test_a_class_too_rare_to_split_and_calibrate_is_named(separable) -> None:
    items, labels = separable
    keep = [i for i, label in enumerate(labels) if label != "other"][:60]
    rare = [i for i, label in enumerate(labels) if label == "other"][:3]
    with pytest.raises(ValueError, match="too few items of 'other' \\(3\\): at least 4"):
        train_classifier(
            [items[i] for i in keep + rare], [labels[i] for i in keep + rare], FEATURES
        )
    with pytest.raises(ValueError, match="test_size must be a share"):
        train_classifier(items, labels, FEATURES, test_size=1.5)


def test_feature_matrix_marks_missing_values_and_status() -> None:
    matrix = feature_matrix(
        [item({"speechiness": 0.5}), item({}, status="silent"), item({}, status="too_short")],
        ("speechiness",),
    )
    assert matrix.shape == (3, 1 + len(STATUS_INDICATORS))
    assert matrix[0].tolist() == [0.5, 0.0, 0.0]
    assert math.isnan(matrix[1, 0]) and matrix[1, 1:].tolist() == [1.0, 0.0]
    assert matrix[2, 1:].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="single mapping"):
        feature_matrix(item({}), ("speechiness",))
    with pytest.raises(ValueError, match="features\\[0\\]\\['status'\\] is 'loud': one of"):
        feature_matrix([item({}, status="loud")], ("speechiness",))


def test_nothing_to_predict_is_no_predictions(separable) -> None:
    trained = train_classifier(*separable, FEATURES)
    assert trained.predict([]) == []


def test_head_features_are_numeric_features() -> None:
    for names in (CONTENT_TYPE_FEATURES, GENRE_FEATURES):
        feature_matrix([item(dict.fromkeys(names, 0.0))], names)
