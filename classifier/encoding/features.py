"""Units and their features: a unit's embedding next to the embedding of its context."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.encoding.encoder import Encoder
from classifier.io.segment import Paragraph
from classifier.io.segment import sentences as split_sentences


@dataclass(frozen=True)
class Unit:
    """Text to classify plus its context: section heading, neighbouring paragraphs or given context columns."""

    text: str
    context: tuple[str, ...] = ()


def as_units(X: Iterable[Any]) -> list[Unit]:
    """Accept strings, Units, or mappings with ``text`` and optional ``context`` (a list of strings).

    One bare string is refused (as scikit-learn refuses it), not read one character at a time."""
    if isinstance(X, (str, bytes)):
        from classifier.errors import InputError
        raise InputError("X", f"expected a list of texts, got one {type(X).__name__}; wrap it in a list: [text]")
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
    """Embeddings of a batch of units: one row per piece (a window, or in sentence mode a sentence window),
    pooled views per unit."""

    windows: np.ndarray        # (n_pieces, d): each piece of each unit
    owner: np.ndarray          # (n_pieces,): the unit each piece belongs to
    units: np.ndarray          # (n_units, d): mean of a unit's pieces, renormalized
    context: np.ndarray        # (n_units, d): mean of the unit's context embeddings, or the unit itself
    pieces: list[str] | None = None  # sentence mode: the text of each piece (the evidence a theme points to)


def _normalize(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def _split(encoder: Encoder, texts: Sequence[str], sentences: bool) -> list[list[str]]:
    """Each text as the pieces the encoder reads: its windows, or (sentence mode) each sentence's windows."""
    if not sentences:
        return encoder.windows_many(list(texts))
    per_text = [split_sentences(t) for t in texts]
    flat = [s for group in per_text for s in group]
    wins = encoder.windows_many(flat)
    out, pos = [], 0
    for group in per_text:
        out.append([w for ws in wins[pos:pos + len(group)] for w in ws])
        pos += len(group)
    return out


def _pool(vectors: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(out, owner, vectors)
    return _normalize(out)


def embed(encoder: Encoder, units: Sequence[Unit], use_context: bool = True, sentences: bool = False) -> Embedded:
    """Encode all pieces and context strings of the units in one call, so each distinct text costs once.

    Paragraph mode reads each unit as its windows (one for most paragraphs). Sentence mode reads every text, the
    units' and their context's, as sentences: a unit's vector is the mean of its sentences, and each sentence can
    be scored alone, so a theme carried by one clause is found and pointed to. Encoding sentences costs about what
    encoding the paragraphs does (the same tokens in shorter sequences).
    """
    pieces = _split(encoder, [u.text for u in units], sentences)
    owner = np.repeat(np.arange(len(units)), [len(p) for p in pieces])
    flat = [w for p in pieces for w in p]
    ctx_texts = list(dict.fromkeys(c for u in units for c in u.context)) if use_context else []
    ctx_pieces = _split(encoder, ctx_texts, sentences) if sentences else [[c] for c in ctx_texts]
    ctx_flat = [w for p in ctx_pieces for w in p]
    vectors = encoder.encode(flat + ctx_flat)
    win = vectors[:len(flat)]
    if win.ndim != 2:
        win = np.zeros((0, encoder.dimension), dtype=np.float32)
    unit_emb = _pool(win, owner, len(units))
    ctx_emb = unit_emb.copy()
    if ctx_texts:
        ctx_owner = np.repeat(np.arange(len(ctx_texts)), [len(p) for p in ctx_pieces])
        per_ctx = _pool(vectors[len(flat):], ctx_owner, len(ctx_texts))
        index = {c: i for i, c in enumerate(ctx_texts)}
        for i, u in enumerate(units):
            if u.context:
                ctx_emb[i] = per_ctx[[index[c] for c in u.context]].mean(axis=0)
        ctx_emb = _normalize(ctx_emb)
    return Embedded(win, owner, unit_emb, ctx_emb, flat if sentences else None)


def design(unit_rows: np.ndarray, context_rows: np.ndarray, use_context: bool) -> np.ndarray:
    """The head's input: the unit embedding, with the context embedding appended when context is used."""
    return np.hstack([unit_rows, context_rows]) if use_context else unit_rows
