"""Macro-F1, the product's headline metric, under one convention used everywhere: model selection inside
``fit``, ``ThemeClassifier.score`` (so ``GridSearchCV`` optimises what reports show) and the evaluation harness.

The convention: F1 per label from its counts (0 where a label is predicted but never true), averaged over the
labels that occur in the gold of the evaluated rows. A theme absent from a fold, a test set or a bootstrap
resample neither scores 0 nor 1; it is simply not part of that average.
"""
from __future__ import annotations

import numpy as np


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 from true/false positive and false negative counts (elementwise); 0 where nothing was counted."""
    tp, fp, fn = (np.asarray(a, dtype=float) for a in (tp, fp, fn))
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros(np.broadcast(tp, denom).shape), where=denom > 0)


def macro_f1(Y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 of (n, k) 0/1 matrices, gold ``Y`` first, over the labels present in ``Y`` (0.0 if none)."""
    Y, pred = np.asarray(Y, dtype=bool), np.asarray(pred, dtype=bool)
    present = Y.any(0)
    if not present.any():
        return 0.0
    f1 = f1_from_counts((Y & pred).sum(0), (~Y & pred).sum(0), (Y & ~pred).sum(0))
    return float(f1[present].mean())


def as_matrix(Y: np.ndarray, k: int | None = None) -> np.ndarray:
    """A 0/1 label matrix from a matrix or from single-label class indices (``k`` classes; by default as many as
    the largest index needs)."""
    Y = np.asarray(Y)
    if Y.ndim == 2:
        return Y.astype(bool)
    return one_hot(Y, int(Y.max(initial=0)) + 1 if k is None else k)


def one_hot(indices: np.ndarray, k: int) -> np.ndarray:
    """Single-label class indices as an (n, k) 0/1 matrix, so one macro-F1 serves both kinds of codebook."""
    return np.eye(k, dtype=bool)[np.asarray(indices, dtype=int)]
