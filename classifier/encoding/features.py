"""Units and their features: a unit's embedding next to the embedding of its context."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from classifier.encoding.encoder import Encoder
from classifier.io.segment import Paragraph


@dataclass(frozen=True)
class Unit:
    """Text to classify plus its context: section heading, neighbouring paragraphs or given context columns."""

    text: str
    context: tuple[str, ...] = ()


def as_units(X: Iterable[Any]) -> list[Unit]:
    """Accept strings, Units, or mappings with ``text`` and optional ``context`` (a list of strings)."""
    if hasattr(X, "to_dict") and hasattr(X, "columns"):  # a pandas DataFrame
        X = X.to_dict("records")
    units = []
    for item in X:
        if isinstance(item, Unit):
            units.append(item)
        elif isinstance(item, str):
            units.append(Unit(item))
        elif isinstance(item, dict):
            ctx = item.get("context") or ()
            ctx = (ctx,) if isinstance(ctx, str) else tuple(ctx)
            units.append(Unit(str(item.get("text", "")), tuple(c for c in ctx if isinstance(c, str) and c.strip())))
        else:
            raise TypeError(f"cannot classify a {type(item).__name__}: pass strings, Units or dicts with 'text'")
    return units


def article_units(paragraphs: Sequence[Paragraph]) -> list[Unit]:
    """Units of one article: each paragraph with its section heading and its previous and next paragraph."""
    units = []
    for i, par in enumerate(paragraphs):
        ctx = [par.section] if par.section else []
        if i > 0:
            ctx.append(paragraphs[i - 1].text)
        if i + 1 < len(paragraphs):
            ctx.append(paragraphs[i + 1].text)
        units.append(Unit(par.text, tuple(ctx)))
    return units


@dataclass
class Embedded:
    """Embeddings of a batch of units: one row per window, pooled views per unit."""

    windows: np.ndarray        # (n_windows, d): each window of each unit
    owner: np.ndarray          # (n_windows,): the unit each window belongs to
    units: np.ndarray          # (n_units, d): mean of a unit's windows, renormalized
    context: np.ndarray        # (n_units, d): mean of the unit's context embeddings, or the unit itself
    has_context: np.ndarray    # (n_units,) bool


def _normalize(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def embed(encoder: Encoder, units: Sequence[Unit], use_context: bool = True) -> Embedded:
    """Encode all windows and context strings of the units in one call, so each distinct text costs once."""
    pieces = encoder.windows_many([u.text for u in units])
    owner = np.repeat(np.arange(len(units)), [len(p) for p in pieces])
    flat = [w for p in pieces for w in p]
    ctx_texts = [c for u in units for c in u.context] if use_context else []
    vectors = encoder.encode(flat + ctx_texts)
    win = vectors[:len(flat)]
    d = win.shape[1] if win.ndim == 2 else encoder.dimension
    unit_emb = np.zeros((len(units), d), dtype=np.float32)
    np.add.at(unit_emb, owner, win)
    unit_emb = _normalize(unit_emb)
    ctx_emb = unit_emb.copy()
    has_ctx = np.zeros(len(units), dtype=bool)
    if ctx_texts:
        pos = len(flat)
        for i, u in enumerate(units):
            if u.context:
                ctx_emb[i] = vectors[pos:pos + len(u.context)].mean(axis=0)
                has_ctx[i] = True
                pos += len(u.context)
        ctx_emb = _normalize(ctx_emb)
    return Embedded(win, owner, unit_emb, ctx_emb, has_ctx)


def design(unit_rows: np.ndarray, context_rows: np.ndarray, use_context: bool) -> np.ndarray:
    """The head's input: the unit embedding, with the context embedding appended when context is used."""
    return np.hstack([unit_rows, context_rows]) if use_context else unit_rows
