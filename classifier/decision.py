"""When a theme is assigned: the one rule that turns a paragraph's theme scores into its themes.

By default a multi-label model assigns every theme whose score reaches that theme's learned threshold, and a
single-label model assigns its highest-scoring theme. A :class:`DecisionRule` lets a user move that operating
point without retraining: per-theme threshold overrides, a ``min_score`` every assigned theme must also reach,
and ``top_k``, at most K themes per paragraph, highest scores first. ``predict``, ``themes_of``, records and
``score`` all go through :func:`assign`, so the CLI and the library cannot disagree; the pipeline call assigns
nothing, it ranks scores (:func:`ranked`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.errors import PolicytagError


class DecisionRuleError(PolicytagError, ValueError):
    """A decision rule that cannot apply: a threshold out of range, a theme the model does not have."""


@dataclass(frozen=True)
class DecisionRule:
    """A user's operating point; ``DecisionRule()`` is the model's own (learned thresholds, no cap)."""

    min_score: float | None = None
    top_k: int | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_score is not None and not 0.0 <= float(self.min_score) <= 1.0:
            raise DecisionRuleError(f"min_score takes a number from 0 to 1, not {self.min_score!r}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or int(self.top_k) != self.top_k
                                       or self.top_k < 1):
            raise DecisionRuleError(f"top_k takes a whole number of at least 1, not {self.top_k!r}")
        for theme, value in self.thresholds.items():
            if not 0.0 <= float(value) <= 1.0:
                raise DecisionRuleError(f"the threshold of {theme!r} takes a number from 0 to 1, not {value!r}")

    @property
    def is_default(self) -> bool:
        return self.min_score is None and self.top_k is None and not self.thresholds

    def merged(self, min_score: float | None = None, top_k: int | None = None,
               thresholds: Mapping[str, float] | None = None) -> DecisionRule:
        """This rule with the given arguments on top (a call's arguments over a model's stored rule)."""
        return DecisionRule(self.min_score if min_score is None else min_score,
                            self.top_k if top_k is None else top_k,
                            {**self.thresholds, **(thresholds or {})})

    def check(self, classes: Sequence[Any]) -> DecisionRule:
        """Refuse a threshold for a theme the model does not have, naming the ones it has."""
        known = [str(c) for c in classes]
        unknown = [t for t in self.thresholds if t not in known]
        if unknown:
            raise DecisionRuleError(f"no theme {unknown[0]!r} in this model; its themes are {', '.join(known)}")
        return self


def effective_thresholds(classes: Sequence[Any], learned: np.ndarray, rule: DecisionRule) -> np.ndarray:
    """Per theme, the score it must reach: its override, else its learned threshold, and at least ``min_score``."""
    t = np.array([float(rule.thresholds.get(str(c), v)) for c, v in zip(classes, learned)])
    return t if rule.min_score is None else np.maximum(t, float(rule.min_score))


def single_label_floor(classes: Sequence[Any], rule: DecisionRule) -> np.ndarray:
    """Per theme, the score a single-label model's top theme must reach to be kept: its override, at least
    ``min_score`` (0 where the rule says nothing): :func:`effective_thresholds` over no learned threshold."""
    return effective_thresholds(classes, np.zeros(len(classes)), rule)


def cutoffs(classes: Sequence[Any], learned: Sequence[float], multi_label: bool,
            rule: DecisionRule | None = None) -> np.ndarray | None:
    """The score each theme must reach under ``rule``, as reports show it (the pretty report's head, the HTML
    view's legend and chips); None for a single-label model under its own rule, which has no cut-off."""
    rule = rule or DecisionRule()
    if multi_label:
        return effective_thresholds(classes, np.asarray(learned, dtype=float), rule)
    if rule.min_score is None and not rule.thresholds:
        return None
    return single_label_floor(classes, rule)


def assign(P: np.ndarray, classes: Sequence[Any], learned: np.ndarray, multi_label: bool,
           rule: DecisionRule | None = None) -> np.ndarray:
    """(n, k) booleans: which themes each row of scores ``P`` carries under ``rule``.

    Multi-label: a theme is assigned when its score reaches its (overridden) threshold and ``min_score``; then
    ``top_k`` keeps the highest scores (ties to the earlier theme, so the result is deterministic).
    Single-label: the highest-scoring theme, unless a threshold override or ``min_score`` it misses leaves the
    row without a theme.
    """
    rule = rule or DecisionRule()
    P = np.asarray(P, dtype=float)
    if not multi_label:
        M = np.zeros(P.shape, dtype=bool)
        if P.shape[0]:
            M[np.arange(P.shape[0]), P.argmax(axis=1)] = True
        if rule.is_default:
            return M
        return M & (P >= single_label_floor(classes, rule))
    if rule.is_default:
        return P >= learned
    M = P >= effective_thresholds(classes, learned, rule)
    if rule.top_k is not None and P.shape[1] > rule.top_k:
        order = np.argsort(-P, axis=1, kind="stable")  # best first; ties keep the codebook's order
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(P.shape[1])[None, :].repeat(P.shape[0], 0), axis=1)
        M &= rank < rule.top_k
    return M


def ranked(P: np.ndarray, classes: Sequence[Any], top_k: int | None = None) -> list[list[dict[str, Any]]]:
    """Per row, ``[{"label", "score"}, ...]`` highest score first (ties to the earlier theme), at most ``top_k``:
    the shape Hugging Face text-classification pipelines return."""
    rows = []
    for row in np.asarray(P, dtype=float):
        order = np.argsort(-row, kind="stable")
        if top_k is not None:
            order = order[:top_k]
        rows.append([{"label": str(classes[j]), "score": float(row[j])} for j in order])
    return rows
