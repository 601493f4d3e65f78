"""What every theme tagger shares once it can score: thresholds to themes, records, articles, tables.

A class mixing this in provides ``predict_proba(X)``, ``classes_``, ``codebook_`` and ``thresholds_``;
ThemeClassifier and ZeroShotClassifier both do, so they tag, score and fit the ecosystem the same way.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from classifier.decision import DecisionRule, assign, ranked
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
    """Predictions, macro-F1 scoring and article/table tagging on top of ``predict_proba``.

    Which themes a row of scores carries is decided in one place, :func:`classifier.decision.assign`: the
    learned thresholds, unless a decision rule moves them. A rule is given per call (``min_score``, ``top_k``,
    ``thresholds``: per-theme overrides) or kept on the model with :meth:`set_decision` (what ``policytag tag``
    does), a call's arguments over the kept rule.
    """

    decision_rule: DecisionRule | None = None

    def set_decision(self, min_score: float | None = None, top_k: int | None = None,
                     thresholds: Mapping[str, float] | None = None) -> Any:
        """Keep a decision rule for every later prediction, record and tag call; no arguments: the model's own."""
        self.decision_rule = DecisionRule(min_score, top_k, dict(thresholds or {})).check(self.classes_)
        return self

    def resolve_rule(self, min_score: float | None = None, top_k: int | None = None,
                     thresholds: Mapping[str, float] | None = None) -> DecisionRule:
        """The rule a call applies: its own arguments over the kept one, checked against this model's themes."""
        kept = self.decision_rule or DecisionRule()
        if min_score is None and top_k is None and not thresholds:
            return kept
        return kept.merged(min_score, top_k, thresholds).check(self.classes_)

    def assigned(self, P: np.ndarray, rule: DecisionRule | None = None) -> np.ndarray:
        """(n, k) booleans: the themes each row of probabilities carries under ``rule`` (default: the kept one)."""
        return assign(P, self.classes_, self.thresholds_, self.codebook_.multi_label, rule or self.resolve_rule())

    def predict(self, X: Iterable[Any], *, min_score: float | None = None, top_k: int | None = None,
                thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """0/1 matrix (n, k) for multi-label codebooks; an array of theme ids for single-label ones ("" for a row
        that a ``min_score`` or threshold override leaves without a theme)."""
        return self.decide(self.predict_proba(X), min_score=min_score, top_k=top_k, thresholds=thresholds)

    def decide(self, P: np.ndarray, *, min_score: float | None = None, top_k: int | None = None,
               thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """Turn probabilities into predictions with the learned thresholds (or the rule given)."""
        M = self.assigned(P, self.resolve_rule(min_score, top_k, thresholds))
        if self.codebook_.multi_label:
            return M.astype(int)
        best = self.classes_[np.asarray(P).argmax(axis=1)]
        return best if M.any(axis=1).all() else np.where(M.any(axis=1), best, "")

    def themes_of(self, P: np.ndarray, *, min_score: float | None = None, top_k: int | None = None,
                  thresholds: Mapping[str, float] | None = None) -> list[list[str]]:
        """Theme ids per row of a probability matrix, in codebook order."""
        M = self.assigned(P, self.resolve_rule(min_score, top_k, thresholds))
        return [[str(c) for c in self.classes_[row]] for row in M]

    def score(self, X: Iterable[Any], y: Any, sample_weight: Any = None) -> float:
        """Macro-F1 (the metric the product reports first, by the convention of :mod:`classifier.scoring`),
        not subset accuracy."""
        self._check_fitted()
        _, Y = encode_labels(self.codebook_, y, len(y))  # the fitted codebook: a test fold may lack some labels
        M = self.assigned(self.predict_proba(X))
        if self.codebook_.multi_label:
            return macro_f1(Y, M)
        return macro_f1(one_hot(Y, len(self.classes_)), M)

    def __call__(self, texts: str | Iterable[Any], top_k: int | None = None) -> list[Any]:
        """Scores the way Hugging Face text-classification pipelines return them: per text, ``[{"label",
        "score"}, ...]`` highest first, at most ``top_k``; one string gives one such list."""
        if isinstance(texts, str):
            return self([texts], top_k=top_k)[0]
        if top_k is not None:
            DecisionRule(top_k=top_k)  # the same check as everywhere else
        return ranked(self.predict_proba(texts), self.classes_, top_k)

    # -- articles ------------------------------------------------------------------------------
    def tag_paragraphs(self, paragraphs: Sequence[Paragraph], **rule: Any) -> Records:
        """Records for the paragraphs of one article, each read with its article context (a list that Jupyter
        shows as a table); ``rule``: the ``min_score``/``top_k``/``thresholds`` arguments of :meth:`predict`."""
        units = article_units(paragraphs)
        if hasattr(self, "score_units"):
            return Records(self.records(paragraphs, *self.score_units(units), **rule))
        return Records(self.records(paragraphs, self.predict_proba(units), **rule))

    def records(self, paragraphs: Sequence[Paragraph], P: np.ndarray,
                evidence: list[list[str]] | None = None, **rule: Any) -> list[Record]:
        """One record per paragraph (schema in :mod:`classifier.records`); ``evidence`` (per paragraph and
        theme, the sentence that scored highest) adds each assigned theme's sentence."""
        themes = self.themes_of(P, **rule)
        index = {str(c): j for j, c in enumerate(self.classes_)}
        out = []
        for i, (p, t, row) in enumerate(zip(paragraphs, themes, P)):
            rec = {"paragraph": p.index, "section": p.section, "text": p.text, "themes": t,
                   "scores": {str(c): round(float(s), 4) for c, s in zip(self.classes_, row)}}
            if evidence is not None:
                rec["evidence"] = {theme: evidence[i][index[theme]] for theme in t}
            out.append(rec)
        return out

    def tag_article(self, text: str, fmt: str = "text", **rule: Any) -> Records:
        """Split an article (``text``, ``markdown`` or ``html``) into paragraphs and tag each one (``rule``: the
        ``min_score``/``top_k``/``thresholds`` arguments of :meth:`predict`)."""
        return self.tag_paragraphs(split(text, fmt), **rule)
