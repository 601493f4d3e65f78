"""The simple alternatives a model must beat, as scikit-learn estimators with ThemeClassifier's interface.

Each takes ``X`` as strings, Units or dicts, ``y`` as ThemeClassifier does, a ``codebook``, and returns
(n, k) probabilities from ``predict_proba`` and decisions from ``decide(P)``/``predict``:

* :class:`PriorClassifier`: label prior; always predicts the most frequent labels.
* :class:`TfidfClassifier`: TF-IDF word and bigram features with a logistic regression.
* :class:`KNNClassifier`: k nearest training paragraphs by embedding cosine similarity.
* :class:`EmbeddingLogistic`: MTEB's protocol, a plain logistic regression on frozen embeddings.
* :class:`PooledThemeClassifier`: ThemeClassifier drawing its encoder from the run's shared pool.

The zero-shot baseline is :class:`classifier.zeroshot.ZeroShotClassifier`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from classifier.codebook import Codebook, resolve_codebook
from classifier.encoding.features import as_units, embed
from classifier.heads.linear import SATURATED, LinearHead, fit_head, make_folds, tune_thresholds
from classifier.labels import encode_labels
from classifier.model import ThemeClassifier
from classifier.tagger import TextInputTags
from classifier.zeroshot import make_encoder


class _CodebookEstimator(TextInputTags, ClassifierMixin, BaseEstimator):
    """Shared plumbing: labels to a 0/1 matrix or class indices, and decisions from probabilities."""

    def _prepare(self, X: Iterable[Any], y: Any):
        units = as_units(X)
        codebook, T = encode_labels(resolve_codebook(getattr(self, "codebook", None)), y, len(units))
        self.codebook_ = codebook
        self.classes_ = np.array(codebook.ids)
        self.thresholds_ = np.full(len(codebook), 0.5)
        return units, T

    @property
    def _multi(self) -> bool:
        return self.codebook_.multi_label

    def _onehot(self, T: np.ndarray) -> np.ndarray:
        return T.astype(bool) if self._multi else np.eye(len(self.classes_), dtype=bool)[T]

    def predict(self, X: Iterable[Any]) -> np.ndarray:
        return self.decide(self.predict_proba(X))

    def decide(self, P: np.ndarray) -> np.ndarray:
        if self._multi:
            return (P >= self.thresholds_).astype(int)
        return self.classes_[P.argmax(axis=1)]

    def themes_of(self, P: np.ndarray) -> list[list[str]]:
        if self._multi:
            return [[str(c) for c in self.classes_[row >= self.thresholds_]] for row in P]
        return [[str(self.classes_[row.argmax()])] for row in P]


def _full_head(head: LinearHead, k: int) -> LinearHead:
    """A single-label head with a row for every class, even those missing from the training data."""
    if head.coef.shape[0] >= k:
        return head
    missing = k - head.coef.shape[0]
    return LinearHead(
        np.vstack([head.coef, np.zeros((missing, head.coef.shape[1]))]),
        np.concatenate([head.intercept, np.full(missing, -SATURATED)]),
        head.multi_label,
    )


class PriorClassifier(_CodebookEstimator):
    """Scores every paragraph with the training prevalence of each theme.

    Single-label: always the majority class. Multi-label: always the m most frequent themes, m being
    the mean number of themes per training paragraph (rounded), so the prediction has the usual size.
    """

    def __init__(self, codebook: Codebook | str | None = None):
        self.codebook = codebook

    def fit(self, X: Iterable[Any], y: Any, groups: Sequence | None = None) -> PriorClassifier:
        units, T = self._prepare(X, y)
        Y = self._onehot(T)
        self.prior_ = Y.mean(0) if len(Y) else np.zeros(len(self.classes_))
        if self._multi:
            m = int(np.floor(Y.sum(1).mean() + 0.5)) if len(Y) else 0
            top = np.argsort(-self.prior_, kind="stable")[:m]
            self.thresholds_ = np.full(len(self.classes_), np.inf)
            self.thresholds_[top] = self.prior_[top]
        return self

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        return np.tile(self.prior_, (len(as_units(X)), 1))


class TfidfClassifier(_CodebookEstimator):
    """TF-IDF (words and bigrams) and logistic regression, with per-theme thresholds tuned out of fold.

    Terms must occur in ``min_df`` training paragraphs (1 below 100 paragraphs, where 2 would leave
    almost nothing)."""

    def __init__(
        self,
        codebook: Codebook | str | None = None,
        C: float = 10.0,
        class_weight: str | None = "balanced",
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        cv: int = 3,
        random_state: int = 0,
        min_positives: int = 3,
    ):
        self.codebook = codebook
        self.C = C
        self.class_weight = class_weight
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.cv = cv
        self.random_state = random_state
        self.min_positives = min_positives

    def fit(self, X: Iterable[Any], y: Any, groups: Sequence | None = None) -> TfidfClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer

        units, T = self._prepare(X, y)
        min_df = self.min_df if len(units) >= 100 else 1
        self.vectorizer_ = TfidfVectorizer(ngram_range=tuple(self.ngram_range), min_df=min_df, sublinear_tf=True)
        Xs = self.vectorizer_.fit_transform([u.text for u in units])
        k = len(self.classes_)
        self.head_ = self._head(Xs, T, k)
        folds = make_folds(len(units), groups, self.cv, self.random_state)
        if self._multi and folds:
            oof = np.zeros((len(units), k))
            for train, test in folds:
                oof[test] = self._head(Xs[train], T[train], k).predict_proba(Xs[test])
            self.thresholds_ = tune_thresholds(oof, T, self.min_positives)
        return self

    def _head(self, Xs: Any, T: np.ndarray, k: int) -> LinearHead:
        """One liblinear fit per theme (fast on sparse text features), or one multinomial fit."""
        if not self._multi:
            return _full_head(fit_head(Xs, T, False, self.C, self.class_weight, self.random_state), k)
        from sklearn.linear_model import LogisticRegression

        coef, intercept = np.zeros((k, Xs.shape[1])), np.zeros(k)
        for j in range(k):
            pos = int(T[:, j].sum())
            if pos in (0, len(T)):
                intercept[j] = SATURATED if pos else -SATURATED
                continue
            lr = LogisticRegression(
                C=self.C, class_weight=self.class_weight, solver="liblinear", random_state=self.random_state
            ).fit(Xs, T[:, j])
            coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
        return LinearHead(coef, intercept, True)

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        Xs = self.vectorizer_.transform([u.text for u in as_units(X)])
        return self.head_.predict_proba(Xs)


class _EmbeddingEstimator(_CodebookEstimator):
    def _embed(self, units) -> np.ndarray:
        if not hasattr(self, "encoder_"):
            self.encoder_ = make_encoder(self.encoder, self.batch_size, self.cache)
        if not units:
            return np.zeros((0, self.encoder_.dimension), dtype=np.float32)
        return embed(self.encoder_, units, use_context=False).units


class KNNClassifier(_EmbeddingEstimator):
    """Similarity-weighted vote of the ``k`` most similar training paragraphs.

    Thresholds (multi-label) are tuned on leave-one-document-out votes of the training data, so a
    paragraph's own article never votes for it.
    """

    def __init__(
        self,
        encoder: str | None = None,
        codebook: Codebook | str | None = None,
        k: int = 10,
        cache: Any = True,
        batch_size: int = 64,
        min_positives: int = 3,
    ):
        self.encoder = encoder
        self.codebook = codebook
        self.k = k
        self.cache = cache
        self.batch_size = batch_size
        self.min_positives = min_positives

    def fit(self, X: Iterable[Any], y: Any, groups: Sequence | None = None) -> KNNClassifier:
        units, T = self._prepare(X, y)
        self.encoder_ = make_encoder(self.encoder, self.batch_size, self.cache)
        self.embeddings_ = self._embed(units)
        self.targets_ = self._onehot(T).astype(float)
        if self._multi and len(units) > 1:
            S = self.embeddings_ @ self.embeddings_.T
            owner = (
                np.unique(np.asarray(groups, dtype=str), return_inverse=True)[1]
                if groups is not None
                else np.arange(len(S))
            )
            S[owner[:, None] == owner[None, :]] = -np.inf
            self.thresholds_ = tune_thresholds(self._vote(S), T, self.min_positives)
        return self

    def _vote(self, S: np.ndarray) -> np.ndarray:
        k = max(1, min(self.k, S.shape[1]))
        idx = np.argpartition(-S, k - 1, axis=1)[:, :k]
        sims = np.take_along_axis(S, idx, axis=1)
        w = np.where(np.isfinite(sims), np.clip(sims, 1e-6, None), 0.0)
        total = w.sum(1, keepdims=True)
        votes = np.einsum("nk,nkj->nj", w, self.targets_[idx])
        return np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        return self._vote(self._embed(as_units(X)) @ self.embeddings_.T)


class EmbeddingLogistic(_EmbeddingEstimator):
    """MTEB's classification protocol: logistic regression (C=1) on frozen paragraph embeddings,
    no context, no class weighting, threshold 0.5."""

    def __init__(
        self,
        encoder: str | None = None,
        codebook: Codebook | str | None = None,
        C: float = 1.0,
        cache: Any = True,
        batch_size: int = 64,
        random_state: int = 0,
    ):
        self.encoder = encoder
        self.codebook = codebook
        self.C = C
        self.cache = cache
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Iterable[Any], y: Any, groups: Sequence | None = None) -> EmbeddingLogistic:
        units, T = self._prepare(X, y)
        self.encoder_ = make_encoder(self.encoder, self.batch_size, self.cache)
        E = self._embed(units)
        self.head_ = _full_head(fit_head(E, T, self._multi, self.C, None, self.random_state), len(self.classes_))
        return self

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        return self.head_.predict_proba(self._embed(as_units(X)))


class PooledThemeClassifier(ThemeClassifier):
    """ThemeClassifier that accepts the harness's encoder pool as ``cache`` (shared encoder, no re-encoding)."""

    def make_encoder(self):
        return make_encoder(self.encoder, self.batch_size, self.cache)
