"""The evidence sentence per paragraph and theme (vectorised for speed) is the highest-scoring one, the first
on ties, exactly as the one-piece-at-a-time rule it replaced."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.scorer import _evidence


def reference(scores: np.ndarray, owner: np.ndarray, pieces: list[str], n: int) -> list[list[str]]:
    out = [[""] * scores.shape[1] for _ in range(n)]
    top = np.full((n, scores.shape[1]), -1.0)
    for i in range(len(owner)):
        better = scores[i] > top[owner[i]]
        top[owner[i], better] = scores[i, better]
        for j in np.flatnonzero(better):
            out[owner[i]][j] = pieces[i]
    return out


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 6), k=st.integers(1, 4), data=st.data())
def test_evidence_is_each_themes_best_piece_first_on_ties(n, k, data):
    owners = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=20 if n else 0))
    if not data.draw(st.booleans()):
        owners.sort()  # as embed gives them; any order must work
    owner = np.array(owners, dtype=np.int64)
    levels = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])  # few levels: many ties
    scores = np.array([[data.draw(levels) for _ in range(k)] for _ in owners]).reshape(len(owners), k)
    pieces = [f"sentence {i}" for i in range(len(owners))]
    assert _evidence(scores, owner, pieces, n) == reference(scores, owner, pieces, n)
