"""Zero-shot tagging: a paragraph gets a theme when it is close enough to that theme's codebook description.

Needs no labeled data at all (``ZeroShotClassifier.from_codebook()`` or ``fit(X=None)``); given labels it
tunes one threshold per theme and calibrates similarities into probabilities, which makes it the natural
floor any trained model has to beat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from classifier.codebook import Codebook, load_codebook, resolve_codebook
from classifier.encoding.encoder import make_encoder
from classifier.encoding.features import as_units, embed
from classifier.hashing import text_keys
from classifier.heads.linear import tune_thresholds
from classifier.labels import encode_labels
from classifier.persist import TRAINING_KEYS
from classifier.tagger import TaggerMixin

DEFAULT_SIMILARITY = 0.25  # cosine cut-off with no labels: best global value for all-MiniLM-L6-v2 on our corpus
DEFAULT_TEMPERATURE = 0.05  # spread of the similarity-to-probability map when nothing is calibrated
_TEMPERATURES = np.geomspace(0.005, 0.5, 41)


def prototype_texts(codebook: Codebook) -> list[list[str]]:
    """What stands for each theme: 'Name: description', plus its examples when the codebook has any."""
    return [[f"{t.name}: {t.description}", *t.examples] for t in codebook.themes]


class ZeroShotClassifier(TaggerMixin, ClassifierMixin, BaseEstimator):
    """Tag paragraphs by cosine similarity to each theme's codebook description.

    Same interface as :class:`~classifier.model.ThemeClassifier` (``predict``, ``predict_proba``,
    ``decide``, ``themes_of``, ``tag_article``). Without labels, or with ``threshold`` set to a float, a
    theme is assigned when its cosine similarity reaches that cut-off (default 0.25). With labels and
    ``threshold="tune"`` each theme with at least ``min_positives`` examples gets a one-feature logistic
    calibration (Platt scaling, unless ``calibrate=False``) and the F1-best threshold on the training
    data. Single-label codebooks take the most similar theme, with a softmax temperature fitted by log-loss.
    """

    def __init__(
        self,
        encoder: str | None = None,
        codebook: Codebook | str | None = None,
        threshold: float | str = "tune",
        calibrate: bool = True,
        batch_size: int = 64,
        cache: Any = True,
        min_positives: int = 3,
    ):
        self.encoder = encoder
        self.codebook = codebook
        self.threshold = threshold
        self.calibrate = calibrate
        self.batch_size = batch_size
        self.cache = cache
        self.min_positives = min_positives

    @classmethod
    def from_codebook(cls, codebook: Codebook | str | None = None, **params: Any) -> ZeroShotClassifier:
        """A ready-to-use classifier for a codebook (default: the geopolitics one), no labels needed."""
        return cls(codebook=codebook, **params).fit()

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self, X: Iterable[Any] | None = None, y: Any = None, groups: Sequence | None = None
    ) -> ZeroShotClassifier:
        """Embed the theme descriptions; with ``X`` and ``y`` also tune thresholds and calibration."""
        codebook = resolve_codebook(self.codebook)
        labeled = X is not None and y is not None
        units = as_units(X) if labeled else []
        if labeled:
            codebook, Y = encode_labels(codebook, y, len(units))
        elif codebook is None:
            codebook = load_codebook()
        self.encoder_ = make_encoder(self.encoder, self.batch_size, self.cache)
        self.prototypes_ = self._prototypes(codebook)
        self.codebook_ = codebook
        self.classes_ = np.array(codebook.ids)
        k = len(codebook)
        cut = DEFAULT_SIMILARITY if self.threshold in ("tune", None) else float(self.threshold)
        self.coef_ = np.full(k, 1.0 / DEFAULT_TEMPERATURE)
        self.intercept_ = -self.coef_ * cut
        self.thresholds_ = np.full(k, 0.5)
        self.temperature_ = DEFAULT_TEMPERATURE
        if labeled and len(units):
            S = self.similarity(units)
            if codebook.multi_label:
                self._fit_multi(S, Y)
            elif self.calibrate:
                self.temperature_ = _fit_temperature(S, Y)
        self.n_train_ = len(units)
        self.training_keys_ = text_keys(u.text for u in units)  # the rows its thresholds were tuned on
        self.encoder_identity_ = self.encoder_.identity()
        return self

    def to_theme_classifier(self) -> Any:
        """The same scorer as a fitted ThemeClassifier, so it saves, loads and tags like any trained model.

        Cosine similarity to a theme's prototype over normalized embeddings is a linear function of the
        embedding: row j of the head is ``coef_j * prototype_j`` (multi-label) or ``prototype_j / T``
        (single-label softmax)."""
        import hashlib

        from classifier.heads.linear import LinearHead
        from classifier.model import ThemeClassifier

        self._check_fitted()
        multi = self.codebook_.multi_label
        scale = self.coef_[:, None] if multi else np.full((len(self.classes_), 1), 1.0 / self.temperature_)
        model = ThemeClassifier(encoder=self.encoder, codebook=self.codebook_, context=False,
                                embedding_head="linear", C=1.0, class_weight=None, threshold=0.5, lexical=0.0,
                                cache=self.cache, batch_size=self.batch_size)
        head = LinearHead(self.prototypes_.astype(np.float64) * scale,
                          self.intercept_.astype(np.float64) if multi else np.zeros(len(self.classes_)), multi)
        state = {"codebook": self.codebook_.to_dict(), "encoder": self.encoder_identity_, "multi_label": multi,
                 "selected": {"context": False, "C": None, "class_weight": None, "lexical": 0.0},
                 "thresholds": {str(t): float(v) for t, v in zip(self.classes_, self.thresholds_)},
                 "selection": [{"zero_shot": True, "calibrated_on": self.n_train_}],
                 "training": {"hash": hashlib.sha256(self.prototypes_.tobytes()).hexdigest()[:16], "n": self.n_train_}}
        model.set_state(state, {**head.get_state()[0], TRAINING_KEYS: self.training_keys_}, self.encoder_)
        del model.manifest_  # not loaded from a folder
        return model

    def _prototypes(self, codebook: Codebook) -> np.ndarray:
        texts = prototype_texts(codebook)
        vectors = self.encoder_.encode([t for group in texts for t in group])
        out, pos = [], 0
        for group in texts:
            v = vectors[pos : pos + len(group)].mean(axis=0)
            out.append(v / (np.linalg.norm(v) or 1.0))
            pos += len(group)
        return np.stack(out).astype(np.float32)

    def _fit_multi(self, S: np.ndarray, Y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        if self.threshold != "tune":
            return  # a given cut-off is the user's decision: labels do not move it
        Y = Y.astype(bool)
        for j in range(S.shape[1]):
            pos = int(Y[:, j].sum())
            if pos < self.min_positives or pos == len(Y):
                continue  # too rare to learn from: keep the label-free cut-off
            if self.calibrate:
                lr = LogisticRegression(C=100.0, max_iter=1000).fit(S[:, [j]], Y[:, j])
                self.coef_[j], self.intercept_[j] = lr.coef_[0, 0], lr.intercept_[0]
        self.thresholds_ = tune_thresholds(self._multi_proba(S), Y, self.min_positives)
        self.thresholds_[Y.sum(0) < self.min_positives] = 0.5

    # -- prediction ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "prototypes_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this ZeroShotClassifier is not fitted yet: call fit() or from_codebook()")

    def similarity(self, X: Iterable[Any]) -> np.ndarray:
        """(n, k) cosine similarity of each unit to each theme; a long unit takes its best window."""
        self._check_fitted()
        units = as_units(X)
        if not units:
            return np.zeros((0, len(self.classes_)))
        emb = embed(self.encoder_, units, use_context=False)
        sims = emb.windows @ self.prototypes_.T
        pooled = np.full((len(units), sims.shape[1]), -np.inf)
        np.maximum.at(pooled, emb.owner, sims)
        return pooled

    def _multi_proba(self, S: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(S * self.coef_ + self.intercept_, -50, 50)))

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        S = self.similarity(X)
        if self.codebook_.multi_label:
            return self._multi_proba(S)
        return _softmax(S / self.temperature_)

    def decision_function(self, X: Iterable[Any]) -> np.ndarray:
        """(n, k) margins: positive exactly where ``predict`` assigns the theme (multi-label); similarities
        for single-label codebooks."""
        S = self.similarity(X)
        if not self.codebook_.multi_label:
            return S
        t = np.clip(self.thresholds_, 1e-6, 1 - 1e-6)
        return S * self.coef_ + self.intercept_ - np.log(t / (1 - t))

    # -- articles ------------------------------------------------------------------------------

def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _fit_temperature(S: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature with the lowest log-loss on the training similarities (argmax is unchanged)."""
    rows = np.arange(len(y))
    losses = [-np.log(np.clip(_softmax(S / t)[rows, y], 1e-12, None)).mean() for t in _TEMPERATURES]
    return float(_TEMPERATURES[int(np.argmin(losses))])


__all__ = ["ZeroShotClassifier", "make_encoder", "DEFAULT_SIMILARITY"]
