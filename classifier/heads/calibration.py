"""Calibration of the blended score, fitted on out-of-fold scores: per theme (multi-label), one temperature
(single-label).

The blend mixes three heads' probabilities by weights, so its score is a ranking, not a frequency: a
0.6 need not mean "present 60% of the time". Calibration maps each theme's score ``p`` to
``sigmoid(slope * logit(p) + intercept)``, fitted by maximum likelihood on the out-of-fold scores (Platt 1999,
with his smoothed targets, so a theme with few positives is not pushed to 0 and 1). Two numbers per theme: it
cannot overfit the way a binned (isotonic) map does on a theme with 30 positives, and with ``slope > 0`` it is
strictly increasing, so each theme's ranking of paragraphs is unchanged. A theme too rare to fit, or whose fit
is not increasing, keeps the identity (slope 1, intercept 0), as does a model saved without calibration.

A :class:`~classifier.heads.base.Head` over scores: fitted on (out-of-fold scores, gold), scoring scores, saved as
two plain arrays (``calibration_slope``, ``calibration_intercept`` in ``head.npz``). Numpy only, so tagging from
a saved model imports no scikit-learn.

A single-label model's themes compete for one paragraph, so its scores are a distribution: calibrating themes one
by one would break that. :class:`TemperatureCalibration` instead sharpens or flattens the whole distribution
with one exponent (``p ** (1 / T)``, renormalised; Guo et al. 2017 on logits), fitted by maximum likelihood on
the out-of-fold scores; the best-scoring theme, and so every prediction, stays the same.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.heads.base import real_numbers

EPS = 1e-6  # scores are clipped to [EPS, 1 - EPS] before the logit


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def platt(scores: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """(slope, intercept) maximising the likelihood of Platt's smoothed targets given ``logit(scores)``.

    Newton's method on two parameters with step halving (so the log-loss never rises): deterministic, no solver
    options, and a tiny ridge (1e-6) keeps the Hessian invertible when the scores separate the classes."""
    z, y = _logit(np.asarray(scores, dtype=float)), np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    X = np.column_stack([z, np.ones_like(z)])
    w = np.array([1.0, 0.0])

    def loss(w: np.ndarray) -> float:
        q = np.clip(_sigmoid(X @ w), 1e-12, 1 - 1e-12)
        return float(-(t * np.log(q) + (1 - t) * np.log(1 - q)).sum())

    current = loss(w)
    for _ in range(iterations):
        q = _sigmoid(X @ w)
        grad = X.T @ (q - t)
        hess = (X * (q * (1 - q))[:, None]).T @ X + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-8:
            trial = w - size * step
            value = loss(trial)
            if value <= current:
                break
            size /= 2
        else:
            break
        done = current - value < 1e-10 * max(1.0, abs(current))
        w, current = trial, value
        if done:
            break
    return float(w[0]), float(w[1])


@dataclass
class PlattCalibration:
    """One (slope, intercept) per theme; identity where slope is 1 and intercept 0.

    ``fit(P, Y)`` takes out-of-fold blended scores and gold labels (both (n, k)); ``min_positives``: a theme with
    fewer positives (or negatives) keeps the identity."""

    slope: np.ndarray | None = None
    intercept: np.ndarray | None = None
    min_positives: int = 3

    ARRAYS = ("slope", "intercept")
    multi_label = True  # calibrates each theme on its own: only multi-label scores

    def fit(self, P: np.ndarray, Y: np.ndarray) -> PlattCalibration:
        k = P.shape[1]
        self.slope, self.intercept = np.ones(k), np.zeros(k)
        for j in range(k):
            y = Y[:, j].astype(bool)
            if min(y.sum(), (~y).sum()) < self.min_positives:
                continue
            a, b = platt(P[:, j], y)
            if a > 0 and np.isfinite([a, b]).all():  # only an increasing map keeps the ranking
                self.slope[j], self.intercept[j] = a, b
        return self

    def keep_identity(self, themes: np.ndarray) -> PlattCalibration:
        """The identity for ``themes`` (a boolean mask): for a theme whose fit is too steep to map its threshold
        faithfully (see :func:`classifier.heads.select.choose_thresholds`)."""
        self.slope[themes], self.intercept[themes] = 1.0, 0.0
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        """Calibrated scores; identity themes keep their scores exactly (no clipping round trip)."""
        identity = (self.slope == 1.0) & (self.intercept == 0.0)
        if identity.all():
            return P
        return np.where(identity, P, _sigmoid(self.slope * _logit(P) + self.intercept))

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"slope": self.slope, "intercept": self.intercept}, {}

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """Refuse saved calibration that is not one finite (slope > 0, intercept) pair per theme: a slope <= 0
        would reverse or flatten a theme's ranking."""
        slope, intercept = arrays.get(f"{prefix}slope"), arrays.get(f"{prefix}intercept")
        if slope is None or intercept is None:
            raise ValueError(f"{prefix}slope and {prefix}intercept are required")
        if not (slope.shape == intercept.shape == (k,) and real_numbers(slope, intercept)):
            raise ValueError(f"{prefix}slope and {prefix}intercept must be {k} finite numbers each")
        if not (slope > 0).all():
            raise ValueError(f"{prefix}slope must be positive (an increasing map)")

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> PlattCalibration:
        return cls(np.asarray(arrays["slope"], dtype=np.float64), np.asarray(arrays["intercept"], dtype=np.float64))


def temperature(P: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log-loss of ``P ** (1 / T)`` (renormalised) for classes ``y``, or 1 when
    none fits better than leaving the scores alone (flat scores).

    A golden-section search over log T in [1/5, 5]: the loss is smooth and one-dimensional there, the search is
    deterministic with no solver options, and the bounds keep degenerate out-of-fold scores (every row right with
    certainty) from pushing every later score to 0 or 1."""
    logp = np.log(np.clip(np.asarray(P, dtype=float), 1e-12, 1.0))
    rows = np.arange(len(y))

    def loss(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[rows, y] - np.log(np.exp(z).sum(axis=1))).mean())

    lo, hi = np.log(1 / 5), np.log(5.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    best = (lo + hi) / 2
    return float(np.exp(best)) if loss(best) < loss(0.0) - 1e-12 else 1.0


@dataclass
class TemperatureCalibration:
    """One temperature for a single-label model's score distribution (``T`` 1: unchanged).

    ``fit(P, y)`` takes out-of-fold blended scores ((n, k), rows summing to 1) and gold class indices."""

    temperature: np.ndarray | None = None

    ARRAYS = ("temperature",)
    multi_label = False

    def fit(self, P: np.ndarray, y: np.ndarray) -> TemperatureCalibration:
        self.temperature = np.array([temperature(P, np.asarray(y, dtype=int))])
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        """Scores ``p ** (1 / T)`` renormalised per row; the ranking of themes in a row is unchanged (bar scores
        that differ only in their last bits, which may round to a tie)."""
        t = float(self.temperature[0])
        if t == 1.0:
            return P
        z = np.log(np.clip(P, 1e-12, 1.0)) / t
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"temperature": self.temperature}, {}

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """Refuse a saved temperature that is not one positive finite number."""
        t = arrays.get(f"{prefix}temperature")
        if t is None or t.shape != (1,) or not real_numbers(t) or not (t > 0).all():
            raise ValueError(f"{prefix}temperature must be one positive finite number")

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> TemperatureCalibration:
        return cls(np.asarray(arrays["temperature"], dtype=np.float64))
