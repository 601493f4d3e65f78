"""How sure we are: bootstrap confidence intervals over documents, and paired tests between systems.

Paragraphs of one article are not independent, so the resampling unit is the group (article id or
``--group-column``), never the row. Every metric here is a function of per-group sums (label counts,
matched rows, squared errors, calibration bins), so a resample is one weighted sum: ``W @ stats``
with ``W`` the (B, groups) matrix of how often each group was drawn. Thousands of resamples cost
milliseconds, and two systems scored with the same ``W`` give a paired test for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.harness.metrics import ECE_BINS, calibration_bins, f1_from_counts, row_f1

DEFAULT_RESAMPLES = 1000
CI_METRICS_MULTI = (
    "macro_f1",
    "micro_f1",
    "weighted_f1",
    "samples_f1",
    "subset_accuracy",
    "hamming_loss",
    "ece",
    "brier",
)
CI_METRICS_SINGLE = ("macro_f1", "micro_f1", "weighted_f1", "accuracy", "ece", "brier")


@dataclass
class GroupStats:
    """Per-group sufficient statistics of one system on one test set."""

    tp: np.ndarray  # (G, k)
    fp: np.ndarray
    fn: np.ndarray
    rows: np.ndarray  # (G,)
    exact: np.ndarray  # (G,) rows with every label right
    wrong: np.ndarray  # (G,) wrong cells
    rowf1: np.ndarray  # (G,) sum of per-row F1
    sq: np.ndarray  # (G,) sum of squared probability errors (Brier numerator)
    bin_n: np.ndarray  # (G, bins) calibration counts, confidences, outcomes
    bin_conf: np.ndarray
    bin_hit: np.ndarray
    multi_label: bool

    def matrix(self) -> np.ndarray:
        cols = [
            self.tp,
            self.fp,
            self.fn,
            self.rows[:, None],
            self.exact[:, None],
            self.wrong[:, None],
            self.rowf1[:, None],
            self.sq[:, None],
            self.bin_n,
            self.bin_conf,
            self.bin_hit,
        ]
        return np.hstack([c.astype(float) for c in cols])


def group_index(groups: Sequence | None, n: int) -> tuple[np.ndarray, int]:
    """(group number of each row, number of groups); each row is its own group when none are given."""
    if groups is None:
        return np.arange(n), n
    _, inv = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    return inv, int(inv.max(initial=-1)) + 1


def group_stats(
    Y: np.ndarray, P: np.ndarray, pred: np.ndarray, groups: Sequence | None, multi_label: bool, bins: int = ECE_BINS
) -> GroupStats:
    Y, pred, P = np.asarray(Y, bool), np.asarray(pred, bool), np.asarray(P, float)
    inv, G = group_index(groups, len(Y))

    def per_group(values: np.ndarray) -> np.ndarray:
        out = np.zeros((G, *values.shape[1:]))
        np.add.at(out, inv, values)
        return out

    sq = ((P - Y) ** 2).sum(1)
    conf, hit, idx = calibration_bins(P, Y, multi_label, bins)
    owner = np.repeat(inv, Y.shape[1]) if multi_label else inv
    cell = owner * bins + idx
    size = G * bins
    return GroupStats(
        per_group(Y & pred),
        per_group(~Y & pred),
        per_group(Y & ~pred),
        per_group(np.ones(len(Y))),
        per_group((Y == pred).all(1)),
        per_group((Y != pred).sum(1)),
        per_group(row_f1(Y, pred)),
        per_group(sq),
        np.bincount(cell, minlength=size).reshape(G, bins).astype(float),
        np.bincount(cell, conf, size).reshape(G, bins),
        np.bincount(cell, hit, size).reshape(G, bins),
        multi_label,
    )


def metrics_from_totals(T: np.ndarray, k: int, multi_label: bool, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Metrics for each row of ``T`` (resamples x summed statistics), vectorized over resamples."""
    tp, fp, fn = T[:, :k], T[:, k : 2 * k], T[:, 2 * k : 3 * k]
    rows, exact, wrong, rowf1, sq = (T[:, 3 * k + i] for i in range(5))
    base = 3 * k + 5
    bn, bc, bh = T[:, base : base + bins], T[:, base + bins : base + 2 * bins], T[:, base + 2 * bins : base + 3 * bins]
    support = tp + fn
    f1 = f1_from_counts(tp, fp, fn)
    present = support > 0
    n_present = present.sum(1)
    safe_rows = np.where(rows > 0, rows, 1)
    out = {
        "macro_f1": np.divide((f1 * present).sum(1), n_present, out=np.zeros(len(T)), where=n_present > 0),
        "micro_f1": f1_from_counts(tp.sum(1), fp.sum(1), fn.sum(1)),
        "weighted_f1": np.divide((f1 * support).sum(1), support.sum(1), out=np.zeros(len(T)), where=support.sum(1) > 0),
        "ece": np.abs(bc - bh).sum(1) / np.where(bn.sum(1) > 0, bn.sum(1), 1),
        "brier": sq / (safe_rows * (k if multi_label else 1)),
        "per_label_f1": np.where(present, f1, np.nan),
        "per_label_precision": np.where(
            tp + fp > 0, np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0), np.nan
        ),
        "per_label_recall": np.where(present, np.divide(tp, support, out=np.zeros_like(tp), where=present), np.nan),
    }
    if multi_label:
        out["samples_f1"] = rowf1 / safe_rows
        out["subset_accuracy"] = exact / safe_rows
        out["hamming_loss"] = wrong / (safe_rows * k)
    else:
        out["accuracy"] = exact / safe_rows
    return out


def resample_weights(n_groups: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_groups) draw counts: each resample draws n_groups groups with replacement."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=resamples).astype(float)


def _interval(values: np.ndarray, level: float) -> list[float | None]:
    values = values[~np.isnan(values)]
    if not len(values):
        return [None, None]
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return [float(lo), float(hi)]


def confidence_intervals(
    stats: GroupStats,
    ids: Sequence[str],
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """Percentile intervals for the overall metrics and per-label precision, recall and F1."""
    S = stats.matrix()
    W = weights if weights is not None else resample_weights(len(S), resamples, seed)
    m = metrics_from_totals(W @ S, len(ids), stats.multi_label)
    names = CI_METRICS_MULTI if stats.multi_label else CI_METRICS_SINGLE
    out: dict[str, Any] = {name: _interval(m[name], level) for name in names}
    out["per_label"] = {
        t: {
            "precision": _interval(m["per_label_precision"][:, j], level),
            "recall": _interval(m["per_label_recall"][:, j], level),
            "f1": _interval(m["per_label_f1"][:, j], level),
        }
        for j, t in enumerate(ids)
    }
    out["settings"] = {"resamples": int(len(W)), "level": level, "seed": seed, "groups": int(len(S))}
    return out


def paired_test(
    a: GroupStats,
    b: GroupStats,
    k: int,
    metric: str = "macro_f1",
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the same test set (same resampled groups).

    The two-sided p-value is twice the share of resamples on the far side of zero from the observed
    difference (with the usual +1 correction), i.e. the smallest level at which the percentile
    interval of the difference excludes zero.
    """
    Sa, Sb = a.matrix(), b.matrix()
    if Sa.shape[0] != Sb.shape[0]:
        raise ValueError("paired test needs both systems scored on the same groups")
    W = resample_weights(len(Sa), resamples, seed)
    full = np.ones((1, len(Sa)))
    observed = float(
        (
            metrics_from_totals(full @ Sa, k, a.multi_label)[metric]
            - metrics_from_totals(full @ Sb, k, b.multi_label)[metric]
        )[0]
    )
    diff = metrics_from_totals(W @ Sa, k, a.multi_label)[metric] - metrics_from_totals(W @ Sb, k, b.multi_label)[metric]
    if observed >= 0:
        tail = (diff <= 0).sum()
    else:
        tail = (diff >= 0).sum()
    p = min(1.0, 2 * (tail + 1) / (len(diff) + 1))
    return {
        "metric": metric,
        "difference": observed,
        "ci": _interval(diff, level),
        "p_value": float(p),
        "resamples": int(len(diff)),
        "seed": seed,
    }
