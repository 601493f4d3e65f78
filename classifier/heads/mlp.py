"""A small neural head over embeddings: a few one-hidden-layer networks, their probabilities averaged.

Why: a frozen encoder's themes are not all linearly separable in its space. On the v1 + v2 corpus a logistic
regression over all-MiniLM-L6-v2 paragraph vectors leaves most of the work to the TF-IDF head, which learns the
corpus's own words; one hidden layer reads more out of the embedding, and averaging a few networks trained from
different seeds steadies it (measurements: ``evaluation/experiments/mlp_head.py``).

Fitted with scikit-learn's ``MLPClassifier`` (ReLU, Adam, binary cross-entropy per theme for a multi-label
codebook, softmax for a single-label one, early stopping on a held-out tenth once there is enough data), then
kept as plain float32 arrays: ``w1`` (m, d, h), ``b1`` (m, h), ``w2`` (m, h, k), ``b2`` (m, k) for ``m`` members, so a
model folder never holds a pickle and scoring is numpy alone.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.heads.base import SATURATED, real_numbers

HIDDEN = 512  # hidden units per member
ALPHA = 1e-3  # L2 penalty
MEMBERS = 3  # networks averaged
EARLY_STOPPING_MIN = 200  # below this many rows, a held-out tenth is too small to stop on: fixed epochs instead
ABSENT = -50.0  # output bias of a single-label class missing from the training data (probability ~0)


@dataclass
class MLPHead:
    """A :class:`~classifier.heads.base.Head`: ``MLPHead(multi_label=..., n_classes=...).fit(X, Y)`` learns the
    members' weights; a loaded head is ``MLPHead(w1, b1, w2, b2, multi_label)``."""

    w1: np.ndarray | None = None
    b1: np.ndarray | None = None
    w2: np.ndarray | None = None
    b2: np.ndarray | None = None
    multi_label: bool = True
    random_state: int = 0
    n_classes: int | None = None
    hidden: int = HIDDEN
    alpha: float = ALPHA
    members: int = MEMBERS

    ARRAYS = ("w1", "b1", "w2", "b2")  # what get_state saves, in this order
    KIND = "mlp"  # its name in EMBEDDING_HEADS (a model's embedding_head)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> MLPHead:
        """Fit ``members`` networks from seeds ``random_state``, ``random_state + 1``, ...; ``Y`` is an (n, k) 0/1
        matrix (multi-label) or (n,) class indices into ``n_classes`` classes."""
        X = np.asarray(X, dtype=np.float64)
        k = Y.shape[1] if self.multi_label else (self.n_classes or int(np.max(Y, initial=0)) + 1)
        parts = [self._member(X, Y, k, self.random_state + m) for m in range(self.members)]
        # kept (and saved) as float32, the precision it scores in: half the model file, the same scores after a save
        self.w1, self.b1, self.w2, self.b2 = (np.stack([p[i] for p in parts]).astype(np.float32) for i in range(4))
        return self

    def _member(self, X: np.ndarray, Y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, ...]:
        from sklearn.neural_network import MLPClassifier

        early = len(X) >= EARLY_STOPPING_MIN
        net = MLPClassifier(hidden_layer_sizes=(self.hidden,), alpha=self.alpha, early_stopping=early,
                            validation_fraction=0.1, n_iter_no_change=10, max_iter=200 if early else 100,
                            random_state=seed)
        target = np.asarray(Y, dtype=int) if self.multi_label else np.asarray(Y).astype(int)
        with warnings.catch_warnings():  # no convergence chatter: the epochs are bounded on purpose
            warnings.simplefilter("ignore")
            net.fit(X, target)
        (w1, w2), (b1, b2) = net.coefs_, net.intercepts_
        if self.multi_label:
            return (w1, b1, *_saturate_constant(w2, b2, np.asarray(Y)))
        return (w1, b1, *_softmax_columns(w2, b2, net.classes_, k))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Each member's probabilities, averaged. The arithmetic is float32 (the weights' own precision), one member
        at a time: a batch of sentences is then a few BLAS calls on (n, hidden) blocks, several times faster and
        smaller than float64 across all members at once, which mattered next to a fully cached run's encoder-free
        time; the probabilities come back as float64."""
        X = np.asarray(X, dtype=np.float32)
        total = np.zeros((len(X), self.w2.shape[2]))
        for w1, b1, w2, b2 in zip(*(np.asarray(a, dtype=np.float32) for a in (self.w1, self.b1, self.w2, self.b2))):
            z = (np.maximum(X @ w1 + b1, 0.0) @ w2 + b2).astype(np.float64)
            if self.multi_label:
                total += 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                total += e / e.sum(axis=1, keepdims=True)
        return total / len(self.w1)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The members' weights as plain arrays (saved in ``head.npz``, never pickled) and the label mode."""
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2}, {"multi_label": self.multi_label}

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """Refuse saved weights that cannot score ``k`` themes over ``width`` features: missing, not finite, or
        shapes that do not chain (a ValueError naming the arrays as saved, under ``prefix``)."""
        names = [f"{prefix}{n}" for n in MLPHead.ARRAYS]
        w1, b1, w2, b2 = (arrays.get(n) for n in names)
        if any(a is None for a in (w1, b1, w2, b2)):
            raise ValueError(f"{', '.join(names)} are required")
        if not real_numbers(w1, b1, w2, b2):
            raise ValueError(f"{', '.join(names)} must be finite numbers (float or integer)")
        if w1.ndim != 3 or w2.ndim != 3 or b1.ndim != 2 or b2.ndim != 2:
            raise ValueError(f"{names[0]} and {names[2]} must be (members, in, out), {names[1]} and {names[3]} "
                             "(members, out)")
        m, d, h = w1.shape
        if m < 1 or h < 1:  # no member averages to NaN; no hidden unit scores every row the same
            raise ValueError(f"{names[0]} is {w1.shape}: an MLP head needs at least one member and one hidden unit")
        if b1.shape != (m, h) or w2.shape[:2] != (m, h) or w2.shape[2] != k or b2.shape != (m, k):
            raise ValueError(f"{names[0]} {w1.shape}, {names[1]} {b1.shape}, {names[2]} {w2.shape}, {names[3]} "
                             f"{b2.shape} do not chain into {k} themes")
        if width is not None and d != width:
            raise ValueError(f"{names[0]} reads {d} features, the encoder gives {width}")

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> MLPHead:
        w1, b1, w2, b2 = (np.asarray(arrays[n]) for n in cls.ARRAYS)
        return cls(w1, b1, w2, b2, bool(settings["multi_label"]))


def _saturate_constant(w2: np.ndarray, b2: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A multi-label network's output columns with a theme never (always) present in training fixed at logit
    -SATURATED (+SATURATED), as the linear head does: the network alone leaves such a theme near its initial 0.5,
    which a threshold of 0.5 (a theme too rare to tune) would then assign at random."""
    pos = Y.sum(axis=0)
    constant = (pos == 0) | (pos == len(Y))
    w2, b2 = w2.copy(), b2.copy()
    w2[:, constant] = 0.0
    b2[constant] = np.where(pos[constant] > 0, SATURATED, -SATURATED)
    return w2, b2


def _softmax_columns(w2: np.ndarray, b2: np.ndarray, classes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A single-label network's output layer as ``k`` softmax columns: one per class index, a class absent from
    training gets bias :data:`ABSENT`; scikit-learn's one logistic unit for two classes becomes logits (0, z)."""
    h = w2.shape[0]
    W, b = np.zeros((h, k)), np.full(k, ABSENT)
    cols = np.asarray(classes, dtype=int)
    if w2.shape[1] == 1 and len(cols) == 2:  # binary: p(second) = sigmoid(z) = softmax((0, z))
        b[cols[0]] = 0.0
        W[:, cols[1]], b[cols[1]] = w2[:, 0], b2[0]
    elif len(cols) == 1:  # one class seen: it always wins
        b[cols[0]] = 0.0
    else:
        W[:, cols], b[cols] = w2, b2
    return W, b
