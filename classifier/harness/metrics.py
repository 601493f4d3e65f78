"""Scores of one system on one test set: per-label and overall, ranking and calibration.

Every input is in one shape whatever the codebook: ``Y`` gold and ``pred`` predictions as (n, k) 0/1
matrices (single-label rows are one-hot), ``P`` scores as (n, k) probabilities. Definitions follow
scikit-learn (the tests check them against it), with two choices made explicit:

* macro-F1 averages over the labels that occur in the gold of the evaluated set, so a theme absent
  from a test set (or from a bootstrap resample) neither scores 0 nor 1 (``classifier.scoring``, the one
  convention model selection and ``score`` use too);
* samples-F1 counts a paragraph with no gold and no predicted theme as a perfect match
  (``zero_division=1``): "no theme" is a legitimate answer in the codebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classifier.scoring import f1_from_counts, macro_f1

ECE_BINS = 10


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)


def row_f1(Y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-row F1 as in samples-F1; 1 for rows with no gold and no predicted label."""
    tp = (Y & pred).sum(1)
    denom = Y.sum(1) + pred.sum(1)
    return np.divide(2 * tp, denom, out=np.ones(len(Y)), where=denom > 0)


def calibration_bins(P: np.ndarray, Y: np.ndarray, multi_label: bool, bins: int = ECE_BINS):
    """(confidence, outcome) pairs the calibration metrics read, with their bin index.

    Multi-label: every (paragraph, theme) cell is a binary forecast. Single-label: the top-label
    confidence and whether the top label is right (Guo et al. 2017).
    """
    if multi_label:
        conf, hit = P.ravel(), Y.ravel().astype(float)
    else:
        top = P.argmax(1)
        conf, hit = P[np.arange(len(P)), top], Y[np.arange(len(P)), top].astype(float)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    return conf, hit, idx


def expected_calibration_error(P: np.ndarray, Y: np.ndarray, multi_label: bool, bins: int = ECE_BINS) -> float:
    conf, hit, idx = calibration_bins(P, Y.astype(bool), multi_label, bins)
    if not len(conf):
        return 0.0
    gap = np.bincount(idx, conf, bins) - np.bincount(idx, hit, bins)
    return float(np.abs(gap).sum() / len(conf))


def brier(P: np.ndarray, Y: np.ndarray, multi_label: bool) -> float:
    """Multi-label: mean squared error over all cells (mean of per-theme binary Brier scores).
    Single-label: the original multi-class Brier score, summed over classes and averaged over rows."""
    sq = (P - Y) ** 2
    return float(sq.mean() if multi_label else sq.sum(1).mean())


def reliability(P: np.ndarray, Y: np.ndarray, multi_label: bool, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per non-empty bin: mean confidence, observed frequency and count (the reliability diagram)."""
    conf, hit, idx = calibration_bins(P, Y.astype(bool), multi_label, bins)
    count = np.bincount(idx, minlength=bins)
    sc, sh = np.bincount(idx, conf, bins), np.bincount(idx, hit, bins)
    return [
        {"bin": b, "confidence": float(sc[b] / count[b]), "frequency": float(sh[b] / count[b]), "count": int(count[b])}
        for b in range(bins)
        if count[b]
    ]


def _ranking(P: np.ndarray, Y: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    ap, auc = [], []
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if 0 < y.sum() < len(y):
            ap.append(float(average_precision_score(y, P[:, j])))
            auc.append(float(roc_auc_score(y, P[:, j])))
        else:
            ap.append(float(average_precision_score(y, P[:, j])) if y.sum() else None)
            auc.append(None)
    return ap, auc


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def evaluate(Y: np.ndarray, P: np.ndarray, pred: np.ndarray, ids: Sequence[str], multi_label: bool) -> dict[str, Any]:
    """Every point metric for one system on one test set, ready for JSON."""
    Y, pred = np.asarray(Y, bool), np.asarray(pred, bool)
    P = np.asarray(P, float)
    tp, fp, fn = (Y & pred).sum(0), (~Y & pred).sum(0), (Y & ~pred).sum(0)
    support = Y.sum(0)
    f1 = f1_from_counts(tp, fp, fn)
    present = support > 0
    out: dict[str, Any] = {"n": int(len(Y))}
    out["macro_f1"] = macro_f1(Y, pred)
    out["micro_f1"] = float(f1_from_counts(tp.sum(), fp.sum(), fn.sum()))
    out["weighted_f1"] = float((f1 * support).sum() / support.sum()) if support.sum() else 0.0
    exact = (Y == pred).all(1)
    if multi_label:
        out["samples_f1"] = float(row_f1(Y, pred).mean()) if len(Y) else 0.0
        out["subset_accuracy"] = float(exact.mean()) if len(Y) else 0.0
        out["hamming_loss"] = float((Y != pred).mean()) if Y.size else 0.0
    else:
        out["accuracy"] = float(exact.mean()) if len(Y) else 0.0
    ap, auc = _ranking(P, Y)
    out["macro_ap"] = _mean([a for a, s in zip(ap, present) if s])
    out["macro_roc_auc"] = _mean(auc)
    out["ece"] = expected_calibration_error(P, Y, multi_label)
    out["brier"] = brier(P, Y.astype(float), multi_label)
    out["labels_without_support"] = [t for t, s in zip(ids, present) if not s]
    out["per_label"] = {
        t: {
            "precision": float(_ratio(tp[j], tp[j] + fp[j])),
            "recall": float(_ratio(tp[j], support[j])),
            "f1": float(f1[j]),
            "support": int(support[j]),
            "predicted": int(tp[j] + fp[j]),
            "ap": ap[j],
            "roc_auc": auc[j],
        }
        for j, t in enumerate(ids)
    }
    return out


def pr_curve(P: np.ndarray, Y: np.ndarray, j: int | None = None, points: int = 60) -> list[tuple[float, float]]:
    """(recall, precision) points of label ``j``'s precision-recall curve, or micro-averaged over all
    cells when ``j`` is None; thinned to about ``points`` points for plotting."""
    from sklearn.metrics import precision_recall_curve

    y, s = (Y.ravel(), P.ravel()) if j is None else (Y[:, j], P[:, j])
    if not y.any():
        return []
    if np.ptp(s) == 0:  # constant scores: one operating point, not a curve
        return [(1.0, float(y.mean()))]
    prec, rec, _ = precision_recall_curve(y.astype(int), s)
    keep = np.unique(np.linspace(0, len(rec) - 1, min(points, len(rec))).round().astype(int))
    return [(float(rec[i]), float(prec[i])) for i in keep]


def confusion(Y: np.ndarray, pred: np.ndarray, multi_label: bool) -> np.ndarray:
    """Rows gold theme, columns predicted theme, plus a last 'none' row and column.

    Single-label: the confusion matrix. Multi-label: cell (i, j) counts paragraphs with gold theme i
    that were given theme j, so the diagonal is recall counts and off-diagonal cells show which themes
    are predicted alongside (or instead of) a gold one; 'none' catches empty gold or empty predictions.
    """
    Y, pred = np.asarray(Y, bool), np.asarray(pred, bool)
    Yn = np.hstack([Y, ~Y.any(1, keepdims=True)]).astype(int)
    Pn = np.hstack([pred, ~pred.any(1, keepdims=True)]).astype(int)
    return Yn.T @ Pn
