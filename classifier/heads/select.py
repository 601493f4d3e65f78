"""Choosing each theme's threshold on out-of-fold scores for what the user values: F1, a precision or a recall.

``f1`` (the default) takes the F1-best threshold (:func:`classifier.heads.linear.tune_thresholds`).
``precision@P`` takes the lowest threshold whose out-of-fold precision reaches ``P`` (so recall stays as high as
that precision allows); ``recall@R`` the highest threshold whose recall still reaches ``R`` (so precision is as
high as that recall allows). A theme whose scores cannot reach the target keeps its F1-best threshold, and the
choice says so in one note per theme.

``robust-f1`` takes the threshold with the best mean F1 over shifted priors: the training corpus's shares are
not the reader's (our corpus has ~15% paragraphs with no theme, the stress set ~11%, real articles ~9%, and theme
prevalences differ too), and the F1-best threshold of one prior can be a poor one at another. The scenarios
(:data:`POSITIVE_SCALES` x :data:`NO_THEME_SHARES`) re-weight the out-of-fold rows: the theme's positives x0.5,
x1, x2 against its negatives, and the rows with no theme to 5%, 15%, 25% of all rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from classifier.errors import TrainingDataError
from classifier.heads.linear import THRESHOLD_GRID, tune_thresholds
from classifier.scoring import f1_from_counts


class Calibration(Protocol):
    """A monotone per-theme map of scores (:class:`classifier.heads.calibration.PlattCalibration`)."""

    def predict_proba(self, P: np.ndarray) -> np.ndarray: ...

    def keep_identity(self, themes: np.ndarray) -> Calibration: ...


# a mapped threshold must stay this far inside (0, 1): beyond it, it would meet the clip to [1e-6, 1 - 1e-6] (or the
# float saturation at 1), where raw scores on its other side land too
MAPPED_MARGIN = 1e-5


POSITIVE_SCALES = (0.5, 1.0, 2.0)  # robust-f1: a theme's positives weighted so against its negatives
NO_THEME_SHARES = (0.05, 0.15, 0.25)  # robust-f1: rows with no theme weighted to these shares of all rows


@dataclass(frozen=True)
class ThresholdObjective:
    """What per-theme thresholds are chosen for: ``f1``, ``robust-f1``, or a ``precision``/``recall`` target in
    (0, 1]."""

    kind: str = "f1"
    target: float | None = None

    @classmethod
    def parse(cls, text: str) -> ThresholdObjective:
        """``f1``, ``robust-f1``, ``precision@0.8`` or ``recall@0.9``; anything else is refused with the accepted
        forms."""
        usage = (f"a threshold objective is f1, precision@P or recall@R with P, R in (0, 1], or robust-f1, "
                 f"not {text!r}")
        kind, _, value = str(text).strip().partition("@")
        if kind in ("f1", "robust-f1") and not value:
            return cls(kind)
        if kind not in ("precision", "recall") or not value:
            raise TrainingDataError(usage)
        try:
            target = float(value)
        except ValueError:
            raise TrainingDataError(usage) from None
        if not 0.0 < target <= 1.0:
            raise TrainingDataError(usage)
        return cls(kind, target)

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}@{self.target:g}"


def choose_thresholds(P: np.ndarray, Y: np.ndarray, objective: str | ThresholdObjective = "f1",
                      min_positives: int = 3, names: list[str] | None = None,
                      calibration: Calibration | None = None) -> tuple[np.ndarray, list[str]]:
    """Per-theme thresholds for ``objective`` from out-of-fold scores ``P`` and gold ``Y`` (both (n, k)), and one
    note per theme that fell back to its F1-best threshold because the target was out of reach.

    With ``calibration`` (a monotone map fitted on ``P``) the thresholds are chosen on ``P`` and mapped through
    it: a paragraph's calibrated score passes the mapped threshold exactly when its raw score passes the raw one,
    so calibration changes what a score reads as, never which themes are assigned. A theme whose map is so steep
    that its threshold would land within :data:`MAPPED_MARGIN` of 0 or 1 has its calibration set to the identity
    (``calibration`` is changed in place), since there raw scores on both sides of the threshold meet. (Choosing
    on the calibrated scores instead only moves each threshold along a flat F1 plateau on a different grid, no
    better on writing the model never saw: see ``evaluation/experiments/prior_shift.py``.)"""
    goal = objective if isinstance(objective, ThresholdObjective) else ThresholdObjective.parse(objective)
    thresholds, missed = _choose(P, Y, goal, min_positives)
    if calibration is not None:
        mapped = calibration.predict_proba(thresholds[None, :])[0]
        steep = (mapped < MAPPED_MARGIN) | (mapped > 1 - MAPPED_MARGIN)
        if steep.any():  # a map that steep would change which themes are assigned: those themes stay raw
            mapped = calibration.keep_identity(steep).predict_proba(thresholds[None, :])[0]
        thresholds = np.clip(mapped, 1e-6, 1 - 1e-6)
    # each note names the threshold the model keeps (calibrated, as the manifest and 'tag' read it)
    notes = [f"{names[j] if names else j}: {goal.kind} {goal.target:g} not reached on out-of-fold predictions "
             f"(best {best:.2f}); kept the F1-best threshold {thresholds[j]:.2f}" for j, best in missed]
    return thresholds, notes


def _choose(P: np.ndarray, Y: np.ndarray, goal: ThresholdObjective,
            min_positives: int) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Raw thresholds for ``goal``, and (theme, best value reached) for each theme that kept its F1-best one."""
    best_f1 = tune_thresholds(P, Y, min_positives)
    if goal.kind == "f1":
        return best_f1, []
    if goal.kind == "robust-f1":
        return robust_thresholds(P, Y, min_positives), []
    out, missed = best_f1.copy(), []
    for j in range(P.shape[1]):
        y = Y[:, j].astype(bool)
        if y.sum() < min_positives:
            continue
        pred = P[:, j][None, :] >= THRESHOLD_GRID[:, None]
        tp = (pred & y).sum(1).astype(float)
        if goal.kind == "precision":
            n_pred = pred.sum(1)
            value = np.divide(tp, n_pred, out=np.zeros_like(tp), where=n_pred > 0)
            ok = np.flatnonzero((value >= goal.target - 1e-12) & (n_pred > 0))
            pick = ok[0] if len(ok) else None  # the lowest threshold that is precise enough
        else:
            value = tp / y.sum()
            ok = np.flatnonzero(value >= goal.target - 1e-12)
            pick = ok[-1] if len(ok) else None  # the highest threshold that still finds enough
        if pick is None:
            missed.append((j, float(value.max())))
        else:
            out[j] = THRESHOLD_GRID[pick]
    return out, missed


def prior_weights(y: np.ndarray, no_theme: np.ndarray, positive_scale: float, no_theme_share: float) -> np.ndarray:
    """Row weights that make one theme's positives count ``positive_scale`` times against its negatives and the
    rows with no theme (``no_theme``) ``no_theme_share`` of the total weight: one shifted prior."""
    w = np.ones(len(y))
    n_none = int(no_theme.sum())
    if 0 < n_none < len(y):
        w[no_theme] = no_theme_share / (1 - no_theme_share) * (len(y) - n_none) / n_none
    return np.where(y, positive_scale * w, w)


def robust_thresholds(P: np.ndarray, Y: np.ndarray, min_positives: int = 3) -> np.ndarray:
    """Per theme, the grid threshold with the best mean F1 over the prior scenarios (:func:`prior_weights` for
    each of :data:`POSITIVE_SCALES` x :data:`NO_THEME_SHARES`); 0.5 for themes too rare to tune, ties to the
    threshold closest to 0.5 (as :func:`tune_thresholds`)."""
    out = np.full(P.shape[1], 0.5)
    no_theme = ~Y.astype(bool).any(1)
    for j in range(P.shape[1]):
        y = Y[:, j].astype(bool)
        if y.sum() < min_positives:
            continue
        pred = (P[:, j][None, :] >= THRESHOLD_GRID[:, None]).astype(float)
        mean = np.zeros(len(THRESHOLD_GRID))
        for scale in POSITIVE_SCALES:
            for share in NO_THEME_SHARES:
                w = prior_weights(y, no_theme, scale, share)
                mean += f1_from_counts(pred @ (w * y), pred @ (w * ~y), (1 - pred) @ (w * y))
        best = np.flatnonzero(np.isclose(mean, mean.max()))
        out[j] = THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]]
    return out
