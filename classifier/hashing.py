"""Hashing, one way everywhere: files (model heads, ONNX graphs and packaged encoder weights are checked by it)
and paragraph texts (a model's record of the rows it trained on)."""
from __future__ import annotations

import hashlib
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
    """A paragraph's 64-bit key: blake2b of its text with whitespace runs as one space."""
    return int.from_bytes(hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).digest(), "little")


def text_keys(texts: Iterable[str]) -> np.ndarray:
    """Sorted, distinct keys of paragraph texts, so a model can record which rows it trained on without keeping
    their text, and an evaluation can find the scored rows it has seen (:func:`seen`)."""
    return np.array(sorted({_text_key(t) for t in texts}), dtype=np.uint64)


def seen(keys: np.ndarray | None, texts: Iterable[str]) -> int:
    """How many of ``texts`` have a key in ``keys`` (0 without keys: a model saved before it kept them)."""
    if keys is None or not len(keys):
        return 0
    return int(np.isin(np.array([_text_key(t) for t in texts], dtype=np.uint64), keys).sum())
