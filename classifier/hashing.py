"""Hashing, one way everywhere: files (model heads, ONNX graphs and packaged encoder weights are checked by it)
and paragraph texts (a model's record of the rows it trained on)."""
from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (weights files run to hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _text_key(text: str) -> int:
    """A paragraph's 64-bit key: blake2b of its text as the model reads it (Unicode NFKC, case folded, whitespace
    runs as one space), so texts that score the same share a key."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return int.from_bytes(hashlib.blake2b(folded.encode("utf-8"), digest_size=8).digest(), "little")


def text_keys(texts: Iterable[str]) -> np.ndarray:
    """Sorted, distinct keys of paragraph texts, so a model can record which rows it trained on without keeping
    their text, and an evaluation can find the scored rows it has seen (:func:`seen`)."""
    return np.array(sorted({_text_key(t) for t in texts}), dtype=np.uint64)


def seen(keys: np.ndarray | None, texts: Iterable[str]) -> int | None:
    """How many of ``texts`` have a key in ``keys``; None without keys (a model saved before it kept them: it
    cannot say)."""
    if keys is None:
        return None
    return int(np.isin(np.array([_text_key(t) for t in texts], dtype=np.uint64), keys).sum())


def key_set(texts: Iterable[str]) -> set[int]:
    """The keys of ``texts`` as a set: for asking, text by text, whether one of them is among ``texts``."""
    return {_text_key(t) for t in texts}


def in_keys(text: str, keys: set[int]) -> bool:
    """Whether ``text`` reads the same as one of the texts ``keys`` came from (:func:`key_set`)."""
    return _text_key(text) in keys
