"""The lexical view: TF-IDF word and bigram features under a logistic head, blended with the embedding head.

Sentence embeddings capture what a paragraph is about; policy themes also hang on telling words ("per cent
of", "host-nation costs", "water cannon") that a small encoder smooths away. Model selection decides how much
weight this view gets, so a corpus where it does not help gives it none.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .head import LinearHead, fit_head

LEXICAL_C = 8.0


def make_vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True, strip_accents="unicode")


@dataclass
class LexicalHead:
    """A fitted TF-IDF vectorizer and the linear head over its features."""

    vectorizer: Any
    head: LinearHead

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.head.proba(self.vectorizer.transform(list(texts)))


def fit_lexical(texts: Sequence[str], Y: np.ndarray, multi_label: bool, random_state: int = 0,
                n_classes: int | None = None) -> LexicalHead:
    vectorizer = make_vectorizer()
    try:
        X = vectorizer.fit_transform(list(texts))
    except ValueError:  # too few texts for min_df: fall back to every word
        vectorizer.set_params(min_df=1)
        X = vectorizer.fit_transform(list(texts))
    return LexicalHead(vectorizer, fit_head(X, Y, multi_label, LEXICAL_C, "balanced", random_state, n_classes))
