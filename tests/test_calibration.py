"""Calibrated scores and prior-robust thresholds: a monotone per-theme calibration fitted on out-of-fold scores,
saved as plain arrays (an old folder without it scores as before), and the robust-f1 threshold objective."""
import json

import numpy as np
import pytest
from helpers import multi_label_table
from sklearn.base import clone

from classifier import DEFAULT_MODEL_DIR, ThemeClassifier, load_model
from classifier.cli import main
from classifier.heads.blend import BlendHead
from classifier.heads.calibration import PlattCalibration
from classifier.heads.select import ThresholdObjective, choose_thresholds, robust_thresholds
from classifier.io.tables import Columns, read_labeled
from classifier.persist import write_folder

FIXED = dict(embedding_head="linear", C=4.0, class_weight=None, context=False, lexical=0.0, sentence_weight=None)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return read_labeled(multi_label_table(tmp_path_factory.mktemp("t")), Columns(label="tags", label_sep=";",
                                                                                 group="doc"))


@pytest.fixture(scope="module")
def calibrated(table):
    return ThemeClassifier(**FIXED).fit(table.units, table.labels, groups=table.groups)


def test_calibration_is_fitted_monotone_and_keeps_each_themes_ranking(calibrated, table):
    cal = calibrated.head_.calibration
    assert cal is not None and not np.allclose(cal.slope, 1.0)  # fitted, not the identity
    grid = np.linspace(0.001, 0.999, 200)[:, None].repeat(len(cal.slope), 1)
    assert (np.diff(cal.predict_proba(grid), axis=0) > 0).all()  # strictly increasing per theme
    P = calibrated.predict_proba(table.units)
    calibrated.head_.calibration = None
    try:
        raw = calibrated.predict_proba(table.units)
    finally:
        calibrated.head_.calibration = cal
    assert not np.allclose(P, raw)
    for j in range(P.shape[1]):
        assert (np.argsort(P[:, j], kind="stable") == np.argsort(raw[:, j], kind="stable")).all()
    # the thresholds were tuned on the raw out-of-fold scores and mapped, so the same themes are assigned
    Y = calibrated._targets(table.labels, len(table.units))[1]
    raw_thresholds, _ = choose_thresholds(calibrated.oof_scores_, Y, "f1", calibrated.min_positives)
    assert np.allclose(calibrated.thresholds_, cal.predict_proba(raw_thresholds[None, :])[0])
    assert not np.allclose(calibrated.thresholds_, raw_thresholds)
    assert ((P >= calibrated.thresholds_) == (raw >= raw_thresholds)).all()


def test_a_saved_calibrated_model_keeps_it_as_plain_arrays(calibrated, table, tmp_path):
    from classifier.scorer import load_scorer
    calibrated.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "head.npz", allow_pickle=False) as saved:
        assert np.array_equal(saved["calibration_slope"], calibrated.head_.calibration.slope)
        assert np.array_equal(saved["calibration_intercept"], calibrated.head_.calibration.intercept)
    want = calibrated.predict_proba(table.units)
    assert np.array_equal(load_model(tmp_path / "m").predict_proba(table.units), want)
    assert np.array_equal(load_scorer(tmp_path / "m").predict_proba(table.units), want)  # what `tag` loads


def test_a_decreasing_calibration_is_refused():
    arrays = {"calibration_slope": np.array([1.0, -0.5]), "calibration_intercept": np.zeros(2)}
    with pytest.raises(ValueError, match="calibration_slope must be positive"):
        PlattCalibration.check_arrays(arrays, 2, None, "calibration_")
    arrays = {"coef": np.zeros((2, 3)), "intercept": np.zeros(2), **arrays}
    with pytest.raises(ValueError, match="must be positive"):
        BlendHead.check_arrays(arrays, 2, 3)


def _folder_from_before_calibration(directory):
    """The shipped model as a folder saved before calibration existed: no calibration arrays, no such parameter."""
    model = load_model(DEFAULT_MODEL_DIR)
    model.head_.calibration = None
    state, arrays = model.get_state()
    del state["params"]["calibrate"]
    state["encoder"] = dict(state.pop("encoder_identity"))  # as ThemeClassifier.save writes it
    write_folder(directory, state, arrays)
    return directory


def test_a_model_folder_from_before_calibration_loads_and_scores_uncalibrated(tmp_path):
    old = _folder_from_before_calibration(tmp_path / "old")
    manifest = json.loads((old / "manifest.json").read_text())
    assert "calibrate" not in manifest["params"]
    assert not any(name.startswith("calibration_") for name in manifest["head"]["arrays"])
    model = load_model(old)
    assert model.head_.calibration is None
    texts = ["Manila's coast guard shadowed the survey ship for a third day.", "Allies split over the budget."]
    shipped = load_model(DEFAULT_MODEL_DIR)
    calibrated = shipped.predict_proba(texts)
    shipped.head_.calibration = None
    np.testing.assert_array_equal(model.predict_proba(texts), shipped.predict_proba(texts))  # the raw scores
    assert not np.allclose(model.predict_proba(texts), calibrated)
    # and its parameters say how it was trained, so a refit (clone; 'policytag evaluate --model') is that recipe,
    # not a calibrated one whose probabilities the folder's never were
    assert model.get_params()["calibrate"] is False and clone(model).calibrate is False


def test_train_without_calibration_and_with_robust_f1(tmp_path, capsys):
    src = multi_label_table(tmp_path)
    fixed = ["--label-column", "tags", "--label-sep", ";", "--group-column", "doc", "--embedding-head", "linear",
             "--C", "4", "--class-weight",
             "none", "--context", "off", "--lexical", "0", "--sentence-weight", "none", "-q"]
    assert main(["train", "--data", str(src), "--out", str(tmp_path / "m"), "--calibration", "off",
                 "--threshold-objective", "robust-f1", *fixed]) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["params"]["calibrate"] is False
    assert manifest["params"]["threshold_objective"] == "robust-f1"
    assert not any(name.startswith("calibration_") for name in manifest["head"]["arrays"])
    model = load_model(tmp_path / "m")
    assert model.head_.calibration is None
    refit = ThemeClassifier(**FIXED, calibrate=False, threshold_objective="robust-f1")
    data = read_labeled(src, Columns(label="tags", label_sep=";", group="doc"))
    refit.fit(data.units, data.labels, groups=data.groups)
    Y = refit._targets(data.labels, len(data.units))[1]
    assert (refit.thresholds_ == robust_thresholds(refit.oof_scores_, Y, refit.min_positives)).all()
    assert [float(manifest["thresholds"][t]) for t in refit.classes_] == refit.thresholds_.tolist()


def test_robust_f1_parses_and_moves_the_threshold_when_the_prior_matters():
    assert str(ThresholdObjective.parse("robust-f1")) == "robust-f1"
    with pytest.raises(ValueError, match="or robust-f1"):
        ThresholdObjective.parse("robust-f1@0.5")
    # one theme, 40 rows: 10 positives, 10 rows of another theme, 20 rows with no theme that score in the middle.
    # Here half the rows have no theme; the scenarios give them 5-25%, so their false positives cost less and the
    # threshold that holds across priors is lower than the F1-best one on these shares.
    p = np.r_[np.linspace(0.35, 0.95, 10), np.linspace(0.05, 0.6, 10), np.linspace(0.3, 0.7, 20)]
    P = np.column_stack([p, p])
    Y = np.zeros((40, 2), int)
    Y[:10, 0], Y[10:20, 1] = 1, 1
    f1, _ = choose_thresholds(P, Y, "f1")
    robust, notes = choose_thresholds(P, Y, "robust-f1")
    assert notes == []
    assert robust[0] < f1[0]
    assert (robust_thresholds(P, Y) == robust).all()


@pytest.mark.parametrize("seed", [13, 16, 17])
def test_mapped_thresholds_assign_the_same_themes_even_where_a_steep_fit_would_saturate(seed):
    # scores bunched tightly around the class boundary with a few positives spread above: the Platt fit is steep,
    # and the highest threshold that keeps recall 0.1 would map to 1 (clipped to 1 - 1e-6), where raw scores
    # below it also land
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    y = (rng.random(n) < rng.uniform(0.2, 0.6)).astype(int)
    centre, spread = rng.uniform(0.1, 0.9), 10 ** rng.uniform(-4, -1)
    p = np.where(y == 1, centre + spread * rng.random(n), centre - spread * rng.random(n))
    spread_out = np.flatnonzero(y == 1)[:int(rng.integers(1, 8))]
    p[spread_out] = rng.uniform(centre, 0.99, len(spread_out))
    P, Y = np.clip(p, 0, 1)[:, None], y[:, None]
    calibration = PlattCalibration().fit(P, Y)
    for objective in ("f1", "recall@0.1", "recall@0.2", "precision@0.9", "robust-f1"):
        raw, _ = choose_thresholds(P, Y, objective)
        mapped, _ = choose_thresholds(P, Y, objective, calibration=calibration)
        assert ((calibration.predict_proba(P) >= mapped) == (P >= raw)).all(), objective


# -- single-label: one temperature over the distribution ---------------------------------------------------------
def test_the_temperature_recovers_how_overconfident_scores_are():
    from classifier.heads.calibration import TemperatureCalibration
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 5))
    true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=p) for p in true])
    sharp = np.exp(3 * z) / np.exp(3 * z).sum(1, keepdims=True)  # three times too confident
    cal = TemperatureCalibration().fit(sharp, y)
    assert 2.6 < cal.temperature[0] < 3.4
    mapped = cal.predict_proba(sharp)
    assert np.allclose(mapped.sum(1), 1.0) and (mapped.argmax(1) == sharp.argmax(1)).all()
    assert np.abs(mapped - true).mean() < 0.2 * np.abs(sharp - true).mean()


def test_a_single_label_model_is_calibrated_by_temperature_and_keeps_its_predictions(tmp_path):
    from helpers import DATA

    from classifier.heads.calibration import TemperatureCalibration
    from classifier.scorer import load_scorer
    data = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True, group="doc"))
    model = ThemeClassifier().fit(data.units, data.labels, groups=data.groups)
    cal = model.head_.calibration
    assert isinstance(cal, TemperatureCalibration) and cal.temperature[0] != 1.0
    P = model.predict_proba(data.units)
    model.head_.calibration = None
    try:
        raw, raw_labels = model.predict_proba(data.units), model.predict(data.units)
    finally:
        model.head_.calibration = cal
    assert np.allclose(P.sum(1), 1.0) and not np.allclose(P, raw)
    assert (P.argmax(1) == raw.argmax(1)).all() and list(model.predict(data.units)) == list(raw_labels)
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "head.npz", allow_pickle=False) as saved:
        assert np.array_equal(saved["calibration_temperature"], cal.temperature)
    assert np.array_equal(load_scorer(tmp_path / "m").predict_proba(data.units), P)
    with pytest.raises(ValueError, match="temperature must be one positive"):
        TemperatureCalibration.check_arrays({"calibration_temperature": np.array([0.0])}, 3, None, "calibration_")


def test_flat_or_perfect_out_of_fold_scores_do_not_push_the_temperature_to_an_extreme():
    from classifier.heads.calibration import temperature
    y = np.arange(30) % 3
    assert temperature(np.full((30, 3), 1 / 3), y) == 1.0  # no temperature fits flat scores better
    assert temperature(np.eye(3)[y] * 0.999 + 0.0003, y) == pytest.approx(0.2)  # bounded, not 1/20
