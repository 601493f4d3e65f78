"""Evaluation metrics, bootstrap and fold assignment against scikit-learn and hand-made cases (no encoder)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from classifier.harness.bootstrap import (
    confidence_intervals,
    group_stats,
    metrics_from_totals,
    paired_test,
    resample_weights,
)
from classifier.harness.metrics import brier, confusion, evaluate, expected_calibration_error, pr_curve, reliability
from classifier.harness.stratify import assign_folds, stratified_folds, stratified_subsample

IDS = ["a", "b", "c", "d"]


@pytest.fixture
def multi():
    """A hand-made multi-label case: 8 rows, label d never in the gold, rows 6-7 with no gold label."""
    Y = np.array(
        [
            [1, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [1, 0, 1, 0],
            [0, 1, 1, 0],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
        ],
        bool,
    )
    P = np.array(
        [
            [0.9, 0.2, 0.1, 0.0],
            [0.6, 0.4, 0.3, 0.1],
            [0.2, 0.7, 0.2, 0.6],
            [0.1, 0.3, 0.8, 0.2],
            [0.4, 0.1, 0.9, 0.1],
            [0.3, 0.8, 0.35, 0.0],
            [0.1, 0.1, 0.1, 0.1],
            [0.55, 0.2, 0.1, 0.3],
        ]
    )
    return Y, P, P >= 0.5


def test_multi_label_metrics_match_scikit_learn(multi):
    Y, P, pred = multi
    m = evaluate(Y, P, pred, IDS, multi_label=True)
    present = [0, 1, 2]
    assert m["macro_f1"] == pytest.approx(skm.f1_score(Y, pred, average="macro", labels=present, zero_division=0))
    assert m["micro_f1"] == pytest.approx(skm.f1_score(Y, pred, average="micro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(Y, pred, average="weighted", zero_division=0))
    assert m["samples_f1"] == pytest.approx(skm.f1_score(Y, pred, average="samples", zero_division=1))
    assert m["subset_accuracy"] == pytest.approx(skm.accuracy_score(Y, pred))
    assert m["hamming_loss"] == pytest.approx(skm.hamming_loss(Y, pred))
    p, r, f, s = skm.precision_recall_fscore_support(Y, pred, zero_division=0)
    for j, t in enumerate(IDS):
        got = m["per_label"][t]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx((p[j], r[j], f[j], s[j]))
    for j in present:
        assert m["per_label"][IDS[j]]["ap"] == pytest.approx(skm.average_precision_score(Y[:, j], P[:, j]))
        assert m["per_label"][IDS[j]]["roc_auc"] == pytest.approx(skm.roc_auc_score(Y[:, j], P[:, j]))
    assert m["per_label"]["d"]["roc_auc"] is None and m["labels_without_support"] == ["d"]
    assert m["brier"] == pytest.approx(np.mean([skm.brier_score_loss(Y[:, j], P[:, j]) for j in range(4)]))


def test_single_label_metrics_match_scikit_learn():
    y = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1, 2])
    P = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.4, 0.5, 0.1],
            [0.2, 0.6, 0.2],
            [0.1, 0.3, 0.6],
            [0.1, 0.1, 0.8],
            [0.3, 0.3, 0.4],
            [0.5, 0.2, 0.3],
            [0.6, 0.3, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.2, 0.7],
        ]
    )
    k = 3
    Y, pred = np.eye(k, dtype=bool)[y], np.eye(k, dtype=bool)[P.argmax(1)]
    m = evaluate(Y, P, pred, IDS[:k], multi_label=False)
    yp = P.argmax(1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, yp))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, yp, average="macro"))
    assert m["micro_f1"] == pytest.approx(skm.f1_score(y, yp, average="micro"))
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y, yp, average="weighted"))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, P, labels=[0, 1, 2]))
    conf = confusion(Y, pred, multi_label=False)[:k, :k]
    assert (conf == skm.confusion_matrix(y, yp)).all()


def test_expected_calibration_error_by_hand():
    P = np.array([[0.05], [0.15], [0.15], [0.95], [0.85], [0.85]])
    Y = np.array([[0], [0], [1], [1], [1], [0]], bool)
    # bins: [0,.1): conf .05 hit 0; [.1,.2): conf .15 mean hit .5; [.8,.9): conf .85 hit .5; [.9,1]: conf .95 hit 1
    expected = (1 * 0.05 + 2 * abs(0.15 - 0.5) + 2 * abs(0.85 - 0.5) + 1 * abs(0.95 - 1)) / 6
    assert expected_calibration_error(P, Y, multi_label=True) == pytest.approx(expected)
    bins = reliability(P, Y, multi_label=True)
    assert [b["count"] for b in bins] == [1, 2, 2, 1]
    assert brier(P, Y.astype(float), True) == pytest.approx(np.mean((P - Y) ** 2))


def test_pr_curve_points_come_from_scikit_learn(multi):
    Y, P, _ = multi
    points = pr_curve(P, Y, 0, points=1000)
    prec, rec, _ = skm.precision_recall_curve(Y[:, 0], P[:, 0])
    assert points == [(pytest.approx(r), pytest.approx(p)) for r, p in zip(rec, prec)]
    assert pr_curve(np.full_like(P, 0.3), Y, 0) == [(1.0, pytest.approx(Y[:, 0].mean()))]


def test_bootstrap_totals_reproduce_the_point_metrics(multi):
    Y, P, pred = multi
    groups = ["g1", "g1", "g2", "g2", "g3", "g4", "g4", "g5"]
    point = evaluate(Y, P, pred, IDS, True)
    stats = group_stats(Y, P, pred, groups, True)
    totals = metrics_from_totals(np.ones((1, 5)) @ stats.matrix(), 4, True)
    for key in ("macro_f1", "micro_f1", "weighted_f1", "samples_f1", "subset_accuracy", "hamming_loss", "ece", "brier"):
        assert totals[key][0] == pytest.approx(point[key]), key


def _synthetic(n_groups: int, seed: int, per_group: int = 4):
    """Gold and predictions for n_groups documents; each row's labels are right 80% of the time."""
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    Y = rng.random((n, 5)) < 0.3
    flip = rng.random((n, 5)) < 0.2
    pred = Y ^ flip
    P = np.clip(np.where(pred, 0.75, 0.25) + rng.normal(0, 0.1, (n, 5)), 0, 1)
    return Y, P, pred, np.repeat(np.arange(n_groups), per_group)


def test_confidence_interval_narrows_as_the_test_set_grows():
    widths = []
    for n_groups in (25, 100, 400):
        Y, P, pred, groups = _synthetic(n_groups, seed=n_groups)
        ci = confidence_intervals(group_stats(Y, P, pred, groups, True), list("vwxyz"), resamples=500, seed=0)
        lo, hi = ci["macro_f1"]
        point = evaluate(Y, P, pred, list("vwxyz"), True)["macro_f1"]
        assert lo <= point <= hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.7 * widths[0] / 2  # about 1/sqrt(n): 16x the data, a quarter of the width


def test_grouped_bootstrap_is_wider_when_errors_cluster_in_documents():
    """Whole documents right or wrong: resampling rows would overstate how sure we are."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(30), 10)
    Y = rng.random((300, 3)) < 0.4
    bad_doc = rng.random(30) < 0.3
    pred = np.where(bad_doc[groups][:, None], ~Y, Y)
    P = pred.astype(float)
    grouped = confidence_intervals(group_stats(Y, P, pred, groups, True), list("xyz"), resamples=500)["macro_f1"]
    rows = confidence_intervals(group_stats(Y, P, pred, None, True), list("xyz"), resamples=500)["macro_f1"]
    assert grouped[1] - grouped[0] > 1.5 * (rows[1] - rows[0])


def test_paired_test():
    Y, P, pred, groups = _synthetic(60, seed=3)
    good = group_stats(Y, P, pred, groups, True)
    same = paired_test(good, good, 5)
    assert same["difference"] == 0 and same["p_value"] == 1.0
    worse_pred = pred.copy()
    worse_pred[::2] = ~worse_pred[::2]
    worse = group_stats(Y, P, worse_pred, groups, True)
    test = paired_test(good, worse, 5, resamples=500)
    assert test["difference"] > 0.2 and test["p_value"] < 0.01 and test["ci"][0] > 0
    reverse = paired_test(worse, good, 5, resamples=500)
    assert reverse["difference"] == pytest.approx(-test["difference"]) and reverse["p_value"] == test["p_value"]
    slight = pred.copy()
    slight[0] = ~slight[0]
    close = paired_test(good, group_stats(Y, P, slight, groups, True), 5, resamples=500)
    assert close["p_value"] > 0.05


def test_resample_weights_draw_every_group_count_once_per_resample():
    W = resample_weights(7, 50, seed=0)
    assert W.shape == (50, 7) and (W.sum(1) == 7).all()
    assert (resample_weights(7, 50, seed=0) == W).all()


def test_iterative_stratification_keeps_documents_whole_and_spreads_rare_labels():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), rng.integers(2, 8, 60))
    n = len(groups)
    Y = rng.random((n, 6)) < np.array([0.4, 0.2, 0.1, 0.05, 0.03, 0.3])
    folds = stratified_folds(Y, 5, groups, seed=0)
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen) == list(range(n))
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    fold = assign_folds(Y, 5, groups, seed=0)
    for j in range(6):  # every label with at least 5 documents appears in every fold
        docs = len(np.unique(groups[Y[:, j]]))
        if docs >= 5:
            assert all(Y[fold == f, j].any() for f in range(5)), j
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= 0.35 * n / 5
    assert (assign_folds(Y, 5, groups, seed=0) == fold).all()
    assert (assign_folds(Y, 5, groups, seed=1) != fold).any()
    with pytest.raises(ValueError):
        assign_folds(Y[:3], 5, groups[:3])


def test_stratified_subsample_holds_every_label():
    Y = np.zeros((200, 4), bool)
    Y[:150, 0] = True
    Y[150:190, 1] = True
    Y[190:198, 2] = True
    Y[198, 3] = True
    for seed in range(5):
        idx = stratified_subsample(Y, 6, seed)
        assert len(idx) == len(set(idx)) == 6 and Y[idx].any(0).all()
    assert len(stratified_subsample(Y, 500, 0)) == 200
