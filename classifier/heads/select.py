"""Choosing each theme's threshold on out-of-fold scores for what the user values: F1, a precision or a recall.

``f1`` (the default) takes the F1-best threshold (:func:`classifier.heads.linear.tune_thresholds`).
``precision@P`` takes the lowest threshold whose out-of-fold precision reaches ``P`` (so recall stays as high as
that precision allows); ``recall@R`` the highest threshold whose recall still reaches ``R`` (so precision is as
high as that recall allows). A theme whose scores cannot reach the target keeps its F1-best threshold, and the
choice says so in one note per theme.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifier.errors import TrainingDataError
from classifier.heads.linear import THRESHOLD_GRID, tune_thresholds

KINDS = ("f1", "precision", "recall")


@dataclass(frozen=True)
class ThresholdObjective:
    """What per-theme thresholds are chosen for: ``f1``, or a ``precision``/``recall`` target in (0, 1]."""

    kind: str = "f1"
    target: float | None = None

    @classmethod
    def parse(cls, text: str) -> ThresholdObjective:
        """``f1``, ``precision@0.8`` or ``recall@0.9``; anything else is refused with the accepted forms."""
        usage = f"a threshold objective is f1, precision@P or recall@R with P, R in (0, 1], not {text!r}"
        kind, _, value = str(text).strip().partition("@")
        if kind == "f1" and not value:
            return cls()
        if kind not in KINDS[1:] or not value:
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
                      min_positives: int = 3, names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Per-theme thresholds for ``objective`` from out-of-fold scores ``P`` and gold ``Y`` (both (n, k)), and one
    note per theme that fell back to its F1-best threshold because the target was out of reach."""
    goal = objective if isinstance(objective, ThresholdObjective) else ThresholdObjective.parse(objective)
    best_f1 = tune_thresholds(P, Y, min_positives)
    if goal.kind == "f1":
        return best_f1, []
    out, notes = best_f1.copy(), []
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
        name = names[j] if names else str(j)
        if pick is None:
            notes.append(f"{name}: {goal.kind} {goal.target:g} not reached on out-of-fold predictions (best "
                         f"{value.max():.2f}); kept the F1-best threshold {best_f1[j]:.2f}")
        else:
            out[j] = THRESHOLD_GRID[pick]
    return out, notes
