"""What every theme tagger shares once it can score: thresholds to themes, records, articles, tables.

A class mixing this in provides ``predict_proba(X)``, ``classes_``, ``codebook_`` and ``thresholds_``;
ThemeClassifier and ZeroShotClassifier both do, so they tag, score and fit the ecosystem the same way.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from classifier.encoding.features import article_units
from classifier.io.segment import Paragraph, split
from classifier.labels import encode_labels
from classifier.records import Record, Records
from classifier.scoring import macro_f1, one_hot


def check_fitted(estimator: Any, attribute: str) -> None:
    """scikit-learn's NotFittedError when ``attribute`` is not set, without importing scikit-learn otherwise
    (a fully cached tagging run stays free of it)."""
    if not hasattr(estimator, attribute):
        from sklearn.exceptions import NotFittedError
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: call fit() or load_model()")


class TextInputTags:
    """scikit-learn tags for an estimator fed raw strings (not a 2-D array), with multi-output targets."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        return tags


class TaggerMixin(TextInputTags):
    """Predictions, macro-F1 scoring and article/table tagging on top of ``predict_proba``."""

    def predict(self, X: Iterable[Any]) -> np.ndarray:
        """0/1 matrix (n, k) for multi-label codebooks; an array of theme ids for single-label ones."""
        return self.decide(self.predict_proba(X))

    def decide(self, P: np.ndarray) -> np.ndarray:
        """Turn probabilities into predictions with the learned thresholds."""
        if self.codebook_.multi_label:
            return (P >= self.thresholds_).astype(int)
        return self.classes_[P.argmax(axis=1)]

    def themes_of(self, P: np.ndarray) -> list[list[str]]:
        """Theme ids per row of a probability matrix."""
        if self.codebook_.multi_label:
            return [[str(c) for c in self.classes_[row >= self.thresholds_]] for row in P]
        return [[str(self.classes_[row.argmax()])] for row in P]

    def score(self, X: Iterable[Any], y: Any, sample_weight: Any = None) -> float:
        """Macro-F1 (the metric the product reports first, by the convention of :mod:`classifier.scoring`),
        not subset accuracy."""
        self._check_fitted()
        _, Y = encode_labels(self.codebook_, y, len(y))  # the fitted codebook: a test fold may lack some labels
        P = self.predict_proba(X)
        if self.codebook_.multi_label:
            return macro_f1(Y, P >= self.thresholds_)
        k = len(self.classes_)
        return macro_f1(one_hot(Y, k), one_hot(P.argmax(1), k))

    # -- articles ------------------------------------------------------------------------------
    def tag_paragraphs(self, paragraphs: Sequence[Paragraph]) -> Records:
        """Records for the paragraphs of one article, each read with its article context (a list that
        Jupyter shows as a table)."""
        units = article_units(paragraphs)
        if hasattr(self, "score_units"):
            return Records(self.records(paragraphs, *self.score_units(units)))
        return Records(self.records(paragraphs, self.predict_proba(units)))

    def records(self, paragraphs: Sequence[Paragraph], P: np.ndarray,
                evidence: list[list[str]] | None = None) -> list[Record]:
        """One record per paragraph (schema in :mod:`classifier.records`); ``evidence`` (per paragraph and
        theme, the sentence that scored highest) adds each assigned theme's sentence."""
        themes = self.themes_of(P)
        index = {str(c): j for j, c in enumerate(self.classes_)}
        out = []
        for i, (p, t, row) in enumerate(zip(paragraphs, themes, P)):
            rec = {"paragraph": p.index, "section": p.section, "text": p.text, "themes": t,
                   "scores": {str(c): round(float(s), 4) for c, s in zip(self.classes_, row)}}
            if evidence is not None:
                rec["evidence"] = {theme: evidence[i][index[theme]] for theme in t}
            out.append(rec)
        return out

    def tag_article(self, text: str, fmt: str = "text") -> Records:
        """Split an article (``text``, ``markdown`` or ``html``) into paragraphs and tag each one."""
        return self.tag_paragraphs(split(text, fmt))
