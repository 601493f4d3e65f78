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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np

from classifier.heads.linear import LinearHead

LEXICAL_C = 8.0
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
NGRAMS = (1, 2)  # words and word pairs (TfidfFeatures builds exactly these)


def make_vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(ngram_range=NGRAMS, min_df=2, max_features=50_000, sublinear_tf=True,
                           strip_accents="unicode", token_pattern=TOKEN_PATTERN)


def _strip_accents(text: str) -> str:
    """As scikit-learn's ``strip_accents_unicode``: NFKD, then drop combining marks (ASCII passes as is)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    marks = {ord(c): None for c in set(text) if unicodedata.combining(c)}  # each distinct character checked once
    return text.translate(marks) if marks else text


@dataclass
class TfidfFeatures:
    """A fitted TF-IDF transform as data: term list (column order) and idf weights; sublinear tf, l2 rows."""

    terms: list[str]
    idf: np.ndarray

    def __post_init__(self) -> None:
        self._token = re.compile(TOKEN_PATTERN)
        # the terms by word id, so that a text's words are looked up once and its word pairs matched in numpy;
        # other terms (more words, empty words) are never a text's word or word pair, as in scikit-learn
        parts = [t.split(" ") for t in self.terms]
        self._words = {w: i for i, w in enumerate(dict.fromkeys(chain.from_iterable(parts)))}
        n = len(self._words)
        word = self._words.__getitem__
        ones = [(col, p[0]) for col, p in enumerate(parts) if len(p) == 1]
        twos = [(col, p) for col, p in enumerate(parts) if len(p) == 2]
        self._unigram = np.full(n + 1, -1, dtype=np.int64)  # the last slot: a word no term has
        self._unigram[np.fromiter(map(word, (w for _, w in ones)), np.int64, len(ones))] = [c for c, _ in ones]
        first = np.fromiter(map(word, (p[0] for _, p in twos)), np.int64, len(twos))
        second = np.fromiter(map(word, (p[1] for _, p in twos)), np.int64, len(twos))
        keys = first * n + second
        order = np.argsort(keys, kind="stable")
        self._pair_keys = keys[order]
        self._pair_cols = np.array([c for c, _ in twos], dtype=np.int64)[order]

    @classmethod
    def from_vectorizer(cls, vectorizer: Any) -> TfidfFeatures:
        terms = [""] * len(vectorizer.vocabulary_)
        for term, col in vectorizer.vocabulary_.items():
            terms[col] = term
        return cls(terms, np.asarray(vectorizer.idf_, dtype=np.float64))

    def _tokens(self, text: str) -> list[str]:
        return self._token.findall(_strip_accents(text.lower()))

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one text's l2-normalised sublinear TF-IDF vector, columns ascending."""
        return next(self.rows([text]))

    def rows(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """:meth:`row` for each text. Tagging calls this for every paragraph, so the work is done for all texts at
        once in C: each word is looked up once, word pairs are matched as pairs of word ids (``searchsorted``) and
        terms counted with ``np.unique``. Each value is computed as a row at a time would be (``math.log`` tf,
        times idf, over the row's own ``np.dot`` norm), so scores stay bit for bit the same."""
        tokens = [self._tokens(t) for t in texts]
        sizes = [len(t) for t in tokens]
        unknown, n_words = len(self._words), max(len(self._words), 1)
        ids = np.fromiter(map(self._words.get, chain.from_iterable(tokens), repeat(unknown)), dtype=np.int64,
                          count=sum(sizes))
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
        uni = self._unigram[ids]
        same = owner[1:] == owner[:-1]  # a pair never spans two texts
        first, second = ids[:-1], ids[1:]
        known = same & (first < unknown) & (second < unknown)
        pair_owner = owner[:-1][known]
        at = np.searchsorted(self._pair_keys, first[known] * n_words + second[known])
        at_ok = at < len(self._pair_keys)
        hit = np.zeros(len(at), dtype=bool)
        hit[at_ok] = self._pair_keys[at[at_ok]] == (first[known] * n_words + second[known])[at_ok]
        term_owner = np.concatenate([owner[uni >= 0], pair_owner[hit]])
        found = np.concatenate([uni[uni >= 0], self._pair_cols[at[hit]]])
        width = max(len(self.terms), 1)
        keys, counts = np.unique(term_owner * width + found, return_counts=True)
        cols = keys % width
        tf = np.array([0.0] + [math.log(c) + 1.0 for c in range(1, int(counts.max(initial=0)) + 1)])
        vals = tf[counts] * self.idf[cols]
        bounds = np.searchsorted(keys // width, np.arange(len(texts) + 1))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            v = vals[a:b].copy()  # a fresh array, as a single row has, for the same dot product
            norm = math.sqrt(float(np.dot(v, v)))
            yield cols[a:b].copy(), (v / norm if norm > 0 else v)


@dataclass
class LexicalHead:
    """The TF-IDF features and the linear head over them; a :class:`~classifier.heads.base.Head` over texts."""

    features: TfidfFeatures | None = None
    head: LinearHead | None = None
    multi_label: bool = True
    random_state: int = 0
    n_classes: int | None = None

    ARRAYS = ("coef", "intercept", "terms", "idf")

    def fit(self, texts: Sequence[str], Y: np.ndarray) -> LexicalHead:
        vectorizer = make_vectorizer()
        try:
            X = vectorizer.fit_transform(list(texts))
        except ValueError:  # too few texts for min_df: fall back to every word
            vectorizer.set_params(min_df=1)
            X = vectorizer.fit_transform(list(texts))
        self.head = LinearHead(multi_label=self.multi_label, C=LEXICAL_C, class_weight="balanced",
                               random_state=self.random_state, n_classes=self.n_classes).fit(X, Y)
        self.features = TfidfFeatures.from_vectorizer(vectorizer)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        k = self.head.coef.shape[0]
        Z = np.empty((len(texts), k))
        for i, (cols, vals) in enumerate(self.features.rows(texts)):  # sparse row times dense weights
            Z[i] = self.head.coef[:, cols] @ vals + self.head.intercept
        return self.head.proba_from_logits(Z)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, settings = self.head.get_state()
        return {**arrays, "terms": np.array(self.features.terms, dtype=str), "idf": self.features.idf}, settings

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """As :meth:`LinearHead.check_arrays` over the vocabulary (``width`` is not the encoder's here), and the
        terms (text) and idf weights (numbers), one per column."""
        LinearHead.check_arrays(arrays, k, None, prefix)
        terms, idf = arrays.get(f"{prefix}terms"), arrays.get(f"{prefix}idf")
        if terms is None or idf is None or terms.dtype.kind != "U" or not np.issubdtype(idf.dtype, np.number):
            raise ValueError(f"{prefix}terms (text) and {prefix}idf (numbers) are required with {prefix}coef")
        if terms.shape != idf.shape or idf.shape != (arrays[f"{prefix}coef"].shape[1],):
            raise ValueError(f"{prefix}terms, {prefix}idf and {prefix}coef disagree on the vocabulary size")

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> LexicalHead:
        head = LinearHead.from_state(arrays, settings)
        features = TfidfFeatures(np.asarray(arrays["terms"]).tolist(), np.asarray(arrays["idf"]))
        return cls(features, head, head.multi_label)
