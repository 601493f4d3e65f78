"""The blend: a ThemeClassifier's whole head, the paragraph head mixed with its best sentence and the TF-IDF head.

A theme's score is ``(1 - s)`` x the paragraph head's plus ``s`` x its best sentence's (sentence evidence), then
``(1 - l)`` x that plus ``l`` x the TF-IDF head's (``s`` and ``l`` one number, or one per theme), then, when the
model was fitted with calibration, each theme's monotone calibration of that score (a single-label model: one
temperature over its distribution; :mod:`classifier.heads.calibration`). Without sentence evidence a paragraph
takes each theme's best window. The weights are chosen by model selection (see :mod:`classifier.model`); the
blend only applies them, so scoring here is the one place this arithmetic lives.

Saved as its parts' arrays side by side (see :data:`PARTS`: the paragraph head's unprefixed, the others under
``sentence_``, ``lexical_`` and ``calibration_``; a folder without calibration arrays scores uncalibrated) and
the weights as JSON (the manifest's ``selected.lexical`` and ``selected.sentence_weight``): the model folder's
format.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.heads.base import Arrays, is_saved, prefixed, unprefixed
from classifier.heads.calibration import PlattCalibration, TemperatureCalibration
from classifier.heads.lexical import LexicalHead
from classifier.heads.linear import LinearHead, fit_sentence_head
from classifier.heads.mlp import MLPHead

Weight = float | list[float]

# role -> (key prefix in head.npz, the head types it may be): the blend's parts, each saved and loaded through the
# Head protocol; a part's type is told by which type's first array is saved under its prefix
EMBEDDING_KINDS = (LinearHead, MLPHead)
PARTS: dict[str, tuple[str, tuple[type, ...]]] = {
    "paragraph": ("", EMBEDDING_KINDS), "sentence": ("sentence_", EMBEDDING_KINDS),
    "lexical": ("lexical_", (LexicalHead,)),
    "calibration": ("calibration_", (PlattCalibration, TemperatureCalibration))}


def saved_kind(prefix: str, arrays: Mapping[str, np.ndarray], kinds: tuple[type, ...]) -> type | None:
    """Which of ``kinds`` was saved under ``prefix`` (None when the part was not saved)."""
    return next((kind for kind in kinds if is_saved(prefix, arrays, kind.ARRAYS)), None)


@dataclass
class BlendInput:
    """What the blend reads for n paragraphs: their design rows (``paragraphs``; needed with sentence evidence),
    the design rows of their pieces (sentences, or windows of a long paragraph) with each piece's paragraph in
    ``owner``, and their texts (for the TF-IDF head)."""

    paragraphs: np.ndarray | None
    pieces: np.ndarray | None
    owner: np.ndarray
    texts: Sequence[str]


@dataclass
class BlendHead:
    """The paragraph head, an optional head of its own for sentences, an optional TF-IDF head, and their weights.

    ``sentence_weight`` None: the model reads whole paragraphs (no evidence), and a paragraph's score is its best
    window's. ``sentence`` None: the paragraph head also scores sentences. ``lexical`` None: no TF-IDF blend.
    ``calibration`` None: the blended score is the probability (as in models saved before calibration); it is
    fitted by the estimator on out-of-fold blended scores, not by :meth:`fit`."""

    paragraph: LinearHead | MLPHead
    sentence: LinearHead | MLPHead | None = None
    lexical: LexicalHead | None = None
    sentence_weight: Weight | None = None
    lexical_weight: Weight = 0.0
    calibration: PlattCalibration | TemperatureCalibration | None = None
    sentence_labels: str = "all"  # how fit teaches the sentence head (fit_sentence_head); not needed to score

    @property
    def multi_label(self) -> bool:
        return self.paragraph.multi_label

    def fit(self, X: BlendInput, Y: np.ndarray) -> BlendHead:
        """Fit each part with its own settings: the paragraph head on paragraphs, the sentence head on sentences
        (learning from their paragraphs' labels as ``sentence_labels`` says), the TF-IDF head on texts; the weights
        and the calibration are kept as given (both are chosen on out-of-fold scores)."""
        self.paragraph.fit(X.paragraphs, Y)
        if self.sentence is not None:
            self.sentence = fit_sentence_head(X.pieces, Y, X.owner, self.sentence_labels, self.sentence)
        if self.lexical is not None:
            self.lexical.fit(X.texts, Y)
        return self

    def scores(self, X: BlendInput) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) blended probabilities and each piece's own scores (which sentence carries a theme: evidence)."""
        piece_scores = (self.sentence or self.paragraph).predict_proba(X.pieces)
        best = np.zeros((len(X.texts), piece_scores.shape[1]))
        np.maximum.at(best, X.owner, piece_scores)  # a theme present in any piece is present in the paragraph
        if self.sentence_weight is None:
            P = best
        else:
            w = np.asarray(self.sentence_weight, dtype=float)  # one number, or one per theme
            P = (1 - w) * self.paragraph.predict_proba(X.paragraphs) + w * best
        if not self.multi_label:
            P = P / P.sum(axis=1, keepdims=True)
        if self.lexical is not None:
            lex = np.asarray(self.lexical_weight, dtype=float)
            P = (1 - lex) * P + lex * self.lexical.predict_proba(X.texts)
        if self.calibration is not None:
            P = self.calibration.predict_proba(P)
        return P, piece_scores

    def predict_proba(self, X: BlendInput) -> np.ndarray:
        return self.scores(X)[0]

    def get_state(self) -> tuple[Arrays, dict[str, Any]]:
        """Every part's arrays under its prefix; settings: the label mode and the two weights."""
        arrays: Arrays = {}
        for role, (prefix, _) in PARTS.items():
            part = getattr(self, role)
            if part is not None:
                arrays.update(prefixed(prefix, part.get_state()[0]))
        return arrays, {"multi_label": self.multi_label, "lexical": self.lexical_weight,
                        "sentence_weight": self.sentence_weight}

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """Refuse saved arrays that cannot be this head for ``k`` themes over ``width``-wide design rows: each
        part's own check (:data:`PARTS`), the paragraph head required, the others only when saved; a part saved
        as two types at once (``coef`` beside ``w1``: loading would silently pick one), and a sentence head of
        another type than the paragraph head (a model has one ``embedding_head``), are refused."""
        for role, (part, kinds) in PARTS.items():
            saved = [kind for kind in kinds if is_saved(f"{prefix}{part}", arrays, kind.ARRAYS)]
            if len(saved) > 1:
                raise ValueError(f"the {role} head is saved as both " + " and ".join(
                    f"{kind.KIND} ({prefix}{part}{kind.ARRAYS[0]})" for kind in saved) + ": one type per part")
            if not saved and role == "paragraph":  # required, as one type or the other
                raise ValueError("the paragraph head is missing: " + " or ".join(
                    f"{', '.join(prefix + part + name for name in kind.ARRAYS)} ({kind.KIND})" for kind in kinds)
                    + " are required")
            if saved:
                saved[0].check_arrays(arrays, k, width, f"{prefix}{part}")
        paragraph = BlendHead.embedding_kind(arrays, prefix)
        sentence = saved_kind(f"{prefix}{PARTS['sentence'][0]}", arrays, EMBEDDING_KINDS)
        if sentence is not None and sentence is not paragraph:
            raise ValueError(f"the paragraph head is {paragraph.KIND}, the sentence head {sentence.KIND}: a model "
                             "has one embedding head type")

    @staticmethod
    def embedding_kind(arrays: Mapping[str, np.ndarray], prefix: str = "") -> type | None:
        """The type of the saved paragraph head (its name, ``.KIND``, is the model's ``embedding_head``)."""
        return saved_kind(f"{prefix}{PARTS['paragraph'][0]}", arrays, EMBEDDING_KINDS)

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> BlendHead:
        parts = {}
        for role, (prefix, kinds) in PARTS.items():
            kind = saved_kind(prefix, arrays, kinds)
            parts[role] = None if kind is None else kind.from_state(unprefixed(prefix, arrays, kind.ARRAYS), settings)
        sentence = settings.get("sentence_weight")
        return cls(parts["paragraph"], parts["sentence"], parts["lexical"],
                   None if sentence is None else _weight(sentence), _weight(settings.get("lexical", 0.0)),
                   parts["calibration"])


def _weight(value: Weight) -> Weight:
    """A blend weight from a manifest: one number for all themes, or a list with one per theme."""
    return [float(v) for v in value] if isinstance(value, list) else float(value)
