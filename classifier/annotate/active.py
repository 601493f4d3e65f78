"""Active learning: which unlabeled paragraphs would teach the model most if a person labeled them.

A paragraph is informative when the model is unsure about it: some theme's score sits near that theme's
decision threshold (multi-label), or the top two themes are close (single-label). Picking only the most
uncertain paragraphs can pick near-copies, so picks are greedy: each pick loses uncertainty in proportion
to how much closer than ``SIMILAR`` (cosine) it is to a paragraph already picked or labeled, and a near-copy
(``NEAR_COPY``) comes only after everything else. Ordinary topical similarity below ``SIMILAR`` costs
nothing: in a simulation on the geopolitics corpus, a penalty on all similarity (classic maximal marginal
relevance) chose batches that taught the model less than uncertainty alone. evaluation/active_learning.py
measures the whole strategy against random choice (evaluation/ACTIVE_LEARNING.md).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.encoding.features import as_units, embed

if TYPE_CHECKING:
    from classifier.model import ThemeClassifier

log = logging.getLogger(__name__)
SIMILAR = 0.7     # cosine of paraphrases or the same event retold; median nearest neighbour is ~0.6
NEAR_COPY = 0.95


def uncertainty(P: np.ndarray, thresholds: np.ndarray, multi_label: bool) -> np.ndarray:
    """Per row in [0, 1]: 1 when a decision is a coin flip, 0 when every decision is as sure as it gets.

    Multi-label: for each theme, 1 minus the distance of its score from its threshold (scaled so the far
    end of either side is 0); the row takes its least certain theme. Single-label: 1 minus the margin
    between the two most probable themes.
    """
    P = np.asarray(P, dtype=float)
    if len(P) == 0:
        return np.zeros(0)
    if multi_label:
        t = np.clip(np.asarray(thresholds, dtype=float), 1e-6, 1 - 1e-6)
        span = np.where(P >= t, 1 - t, t)
        return np.clip(1 - np.abs(P - t) / span, 0, 1).max(axis=1)
    if P.shape[1] < 2:
        return np.zeros(len(P))
    top = np.sort(P, axis=1)[:, -2:]
    return 1 - (top[:, 1] - top[:, 0])


def diverse_top(scores: np.ndarray, embeddings: np.ndarray, n: int, diversity: float = 0.5,
                similar: float = SIMILAR, near_copy: float = NEAR_COPY, seen: np.ndarray | None = None) -> list[int]:
    """Greedy picks maximizing ``score - diversity * penalty``, where the penalty grows from 0 at cosine
    ``similar`` to 1 at cosine 1 with the closest row already picked (or ``seen``). Rows at ``near_copy``
    or closer come last. Ties go to the lower index."""
    N = len(scores)
    n = min(n, N)
    if n <= 0:
        return []
    E = np.asarray(embeddings, dtype=np.float32)
    closest = np.full(N, -1.0, dtype=np.float32)
    if seen is not None and len(seen):
        closest = np.max(E @ np.asarray(seen, dtype=np.float32).T, axis=1)
    taken = np.zeros(N, dtype=bool)
    picks: list[int] = []
    for _ in range(n):
        penalty = np.clip((closest - similar) / (1 - similar), 0, 1)
        value = scores - diversity * penalty - np.where(closest >= near_copy, 10.0, 0.0)
        value[taken] = -np.inf
        i = int(np.argmax(value))
        picks.append(i)
        taken[i] = True
        closest = np.maximum(closest, E @ E[i])
    return picks


@dataclass
class Suggestions:
    """Pool rows to label, best first, with the model's scores for them."""

    indices: list[int]          # into the pool, in pick order
    uncertainty: np.ndarray     # of the picked rows
    P: np.ndarray               # probabilities of the picked rows
    pool_uncertainty: np.ndarray  # of every pool row


def suggest(model: ThemeClassifier, X: Iterable[Any], n: int = 50, diversity: float = 0.5,
            seen: Iterable[Any] | None = None, P: np.ndarray | None = None) -> Suggestions:
    """The ``n`` pool paragraphs whose labels should teach ``model`` most, most useful first.

    ``X`` takes what ``predict`` takes; ``seen`` (optional) are paragraphs already labeled, which picks
    should not repeat; ``P`` reuses probabilities already computed for ``X``.
    """
    model._check_fitted()
    units = as_units(X)
    if P is None:
        P = model.predict_proba(units)
    u = uncertainty(P, model.thresholds_, model.head_.multi_label)
    E = embed(model.encoder_, units, use_context=False).units
    S = embed(model.encoder_, as_units(seen), use_context=False).units if seen is not None else None
    picks = diverse_top(u, E, n, diversity, seen=S)
    log.info("suggested %d of %d pool paragraphs (mean uncertainty %.3f picked, %.3f pool)", len(picks), len(units),
             float(u[picks].mean()) if picks else 0.0, float(u.mean()) if len(u) else 0.0)
    return Suggestions(picks, u[picks], P[picks], u)
