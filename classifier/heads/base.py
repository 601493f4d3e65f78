"""The head seam (SetFit's ``model_head``): what every head is, so that a new head type is one file.

A head turns features into an (n, k) matrix of theme probabilities. It is configured in its constructor, learns
in :meth:`Head.fit`, scores in :meth:`Head.predict_proba`, and hands its fitted state out and back as plain
arrays plus JSON-able settings (:meth:`Head.get_state`, :meth:`Head.from_state`), which is all a model folder
stores (``head.npz`` and ``manifest.json``): loading a head never unpickles anything.

A head that holds other heads (the blend) saves each under a key prefix (:func:`prefixed`,
:func:`unprefixed`), so the arrays of every part sit side by side in one ``head.npz``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

Arrays = dict[str, np.ndarray]
SATURATED = 12.0  # logit a head gives a label that is always (or never) present in training (linear and MLP heads)


@runtime_checkable
class Head(Protocol):
    """What the estimator and the model folder need of a head; the features ``X`` are the head's own kind
    (embedding rows for the linear head, texts for the TF-IDF head, both for the blend)."""

    multi_label: bool

    def fit(self, X: Any, Y: np.ndarray) -> Head:
        """Learn from features ``X`` and targets ``Y`` ((n, k) 0/1 for multi-label, class indices otherwise)."""
        ...

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, k) probabilities: sigmoid per theme (multi-label) or a softmax over themes (single-label)."""
        ...

    def get_state(self) -> tuple[Arrays, dict[str, Any]]:
        """(arrays, settings): the fitted head as plain arrays and JSON-able values, never pickled."""
        ...

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> Head:
        """The fitted head that :meth:`get_state` described."""
        ...

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """Raise ValueError (naming the arrays as saved, under ``prefix``) when saved arrays cannot be this head for
        ``k`` themes over ``width`` features: a model folder is checked before anything is scored."""
        ...


def real_numbers(*arrays: np.ndarray) -> bool:
    """Whether saved arrays are finite real numbers (float or integer; not complex, bool, dates or text): what
    every head's check_arrays requires of its weights, so a forged file cannot score complex or NaN values."""
    return all(a.dtype.kind in "fiu" and bool(np.isfinite(a).all()) for a in arrays)


def prefixed(prefix: str, arrays: Mapping[str, np.ndarray]) -> Arrays:
    """A part's arrays under its key prefix (``lexical_coef``), as the blend saves them."""
    return {f"{prefix}{k}": v for k, v in arrays.items()}


def is_saved(prefix: str, arrays: Mapping[str, np.ndarray], names: tuple[str, ...]) -> bool:
    """Whether a part was saved under ``prefix``: its first array is there (the one rule loading and checking
    share)."""
    return f"{prefix}{names[0]}" in arrays


def unprefixed(prefix: str, arrays: Mapping[str, np.ndarray], names: tuple[str, ...]) -> Arrays | None:
    """The arrays ``names`` saved under ``prefix``, the prefix taken off; None when the part was not saved (its
    first array is absent). Names are explicit, so the paragraph head (prefix ``""``) does not take its
    neighbours' arrays."""
    if not is_saved(prefix, arrays, names):
        return None
    return {name: arrays[f"{prefix}{name}"] for name in names}
