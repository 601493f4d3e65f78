"""The lexical view: TF-IDF word and bigram features under a logistic head, blended with the embedding head.

Sentence embeddings capture what a paragraph is about; policy themes also hang on telling words ("per cent
of", "host-nation costs", "water cannon") that a small encoder smooths away. Model selection decides how much
weight this view gets, so a corpus where it does not help gives it none.

Fitting uses scikit-learn's ``TfidfVectorizer``; what it learned (vocabulary and idf weights) is kept as plain
arrays in :class:`TfidfFeatures`, which re-implements the transform, so a saved model is arrays and JSON (no
pickle) and tagging never imports scikit-learn.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.heads.linear import LinearHead, fit_head

LEXICAL_C = 8.0
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
NGRAMS = (1, 2)


def make_vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(ngram_range=NGRAMS, min_df=2, max_features=50_000, sublinear_tf=True,
                           strip_accents="unicode", token_pattern=TOKEN_PATTERN)


def _strip_accents(text: str) -> str:
    """As scikit-learn's ``strip_accents_unicode``: NFKD, then drop combining marks (ASCII passes as is)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass
class TfidfFeatures:
    """A fitted TF-IDF transform as data: term list (column order) and idf weights; sublinear tf, l2 rows."""

    terms: list[str]
    idf: np.ndarray
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.terms)}
        self._token = re.compile(TOKEN_PATTERN)

    @classmethod
    def from_vectorizer(cls, vectorizer: Any) -> TfidfFeatures:
        terms = [""] * len(vectorizer.vocabulary_)
        for term, col in vectorizer.vocabulary_.items():
            terms[col] = term
        return cls(terms, np.asarray(vectorizer.idf_, dtype=np.float64))

    def _ngrams(self, text: str) -> list[str]:
        tokens = self._token.findall(_strip_accents(text.lower()))
        grams = list(tokens)
        for n in range(NGRAMS[0] + 1, NGRAMS[1] + 1):
            grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        return grams

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one text's l2-normalised sublinear TF-IDF vector, columns ascending."""
        counts: dict[int, int] = {}
        for g in self._ngrams(text):
            col = self.index.get(g)
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
        cols = np.array(sorted(counts), dtype=np.int64)
        vals = np.array([math.log(counts[c]) + 1.0 for c in cols], dtype=np.float64) * self.idf[cols]
        norm = math.sqrt(float(np.dot(vals, vals)))
        return cols, (vals / norm if norm > 0 else vals)


@dataclass
class LexicalHead:
    """The TF-IDF features and the linear head over them."""

    features: TfidfFeatures
    head: LinearHead

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        k = self.head.coef.shape[0]
        Z = np.empty((len(texts), k))
        for i, text in enumerate(texts):  # sparse row times dense weights, without building the matrix
            cols, vals = self.features.row(text)
            Z[i] = self.head.coef[:, cols] @ vals + self.head.intercept
        return self.head.proba_from_logits(Z)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"lexical_terms": np.array(self.features.terms, dtype=str), "lexical_idf": self.features.idf,
                **{f"lexical_{k}": v for k, v in self.head.to_arrays().items()}}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], multi_label: bool) -> LexicalHead:
        head = LinearHead.from_arrays({k[len("lexical_"):]: v for k, v in arrays.items()
                                       if k in ("lexical_coef", "lexical_intercept")}, multi_label)
        return cls(TfidfFeatures([str(t) for t in arrays["lexical_terms"]], np.asarray(arrays["lexical_idf"])), head)


def fit_lexical(texts: Sequence[str], Y: np.ndarray, multi_label: bool, random_state: int = 0,
                n_classes: int | None = None) -> LexicalHead:
    vectorizer = make_vectorizer()
    try:
        X = vectorizer.fit_transform(list(texts))
    except ValueError:  # too few texts for min_df: fall back to every word
        vectorizer.set_params(min_df=1)
        X = vectorizer.fit_transform(list(texts))
    head = fit_head(X, Y, multi_label, LEXICAL_C, "balanced", random_state, n_classes)
    return LexicalHead(TfidfFeatures.from_vectorizer(vectorizer), head)
