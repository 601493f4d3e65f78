"""Folds and subsamples that keep documents whole and label proportions even.

Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011) for multi-label data, applied to
groups: each document is one item carrying the label counts of its paragraphs, so no article is split
across folds while rare themes are still spread over all of them. Single-label data is the special case
of one label per row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from classifier.harness.bootstrap import group_index

Fold = tuple[np.ndarray, np.ndarray]


def _pick(candidates: np.ndarray, rng: np.random.Generator) -> int:
    return int(candidates[rng.integers(len(candidates))]) if len(candidates) > 1 else int(candidates[0])


def assign_folds(Y: np.ndarray, n_splits: int, groups: Sequence | None = None, seed: int = 0) -> np.ndarray:
    """Fold number of each row. Raises ValueError when there are fewer groups than folds."""
    Y = np.asarray(Y, dtype=float)
    inv, G = group_index(groups, len(Y))
    if n_splits < 2:
        raise ValueError("need at least 2 folds")
    if G < n_splits:
        raise ValueError(f"{G} documents cannot fill {n_splits} folds; use fewer folds")
    counts = np.zeros((G, Y.shape[1]))
    np.add.at(counts, inv, Y)
    size = np.bincount(inv, minlength=G).astype(float)
    rng = np.random.default_rng(seed)
    want_rows = np.full(n_splits, size.sum() / n_splits)
    want = np.tile(counts.sum(0) / n_splits, (n_splits, 1))
    fold = np.full(G, -1)
    order = rng.permutation(G)
    while True:
        open_ = order[fold[order] < 0]
        remaining = counts[open_].sum(0)
        if not (remaining > 0).any():
            break
        label = int(np.flatnonzero(remaining == remaining[remaining > 0].min())[0])
        for g in open_[counts[open_, label] > 0]:
            best = np.flatnonzero(np.isclose(want[:, label], want[:, label].max()))
            best = best[np.isclose(want_rows[best], want_rows[best].max())]
            f = _pick(best, rng)
            fold[g] = f
            want[f] -= counts[g]
            want_rows[f] -= size[g]
    for g in order[fold[order] < 0]:  # documents with no labels: fill the folds that are short of rows
        f = _pick(np.flatnonzero(np.isclose(want_rows, want_rows.max())), rng)
        fold[g] = f
        want_rows[f] -= size[g]
    return fold[inv]


def stratified_folds(Y: np.ndarray, n_splits: int, groups: Sequence | None = None, seed: int = 0) -> list[Fold]:
    """(train rows, test rows) for each fold of a grouped iteratively stratified K-fold split."""
    fold = assign_folds(Y, n_splits, groups, seed)
    idx = np.arange(len(fold))
    return [(idx[fold != f], idx[fold == f]) for f in range(n_splits)]


def stratified_subsample(Y: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``size`` rows drawn at random, seeded with one positive of every label that has
    one (as far as ``size`` allows), so that a small training set still knows every theme."""
    Y = np.asarray(Y, bool)
    n = len(Y)
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for j in rng.permutation(Y.shape[1]):
        if len(chosen) >= size:
            break
        if Y[chosen, j].any() if chosen else False:
            continue
        pos = np.flatnonzero(Y[:, j])
        if len(pos):
            chosen.append(int(rng.choice(pos)))
    rest = np.setdiff1d(np.arange(n), chosen)
    chosen += rng.choice(rest, size - len(chosen), replace=False).tolist()
    return np.sort(np.array(chosen[:size], dtype=int))
