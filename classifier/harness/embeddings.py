"""One Encoder per encoder model for a whole evaluation run, so no text is ever encoded twice.

Systems, folds and seeds all ask the pool for their encoder. The pool hands out one shared
:class:`~classifier.encoding.encoder.Encoder` per model whose cache is an in-memory layer over the on-disk
:class:`~classifier.encoding.cache.EmbeddingCache` (or memory only with ``--no-cache``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from classifier.encoding.cache import EmbeddingCache
from classifier.encoding.encoder import Encoder, resolve_model


class LayeredCache:
    """Memory first, then disk; counts what had to be computed (``encoded``)."""

    def __init__(self, disk: EmbeddingCache | None):
        self.disk = disk
        self.memory: dict[tuple[str, str], np.ndarray] = {}
        self.encoded = 0
        self.hits = 0

    def get_many(self, fingerprint: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        texts = list(texts)
        found = {t: self.memory[(fingerprint, t)] for t in texts if (fingerprint, t) in self.memory}
        rest = [t for t in texts if t not in found]
        if rest and self.disk is not None:
            from_disk = self.disk.get_many(fingerprint, rest)
            for t, v in from_disk.items():
                self.memory[(fingerprint, t)] = v
            found.update(from_disk)
        self.hits += len(found)
        return found

    def put_many(self, fingerprint: str, vectors: Mapping[str, np.ndarray]) -> None:
        self.encoded += len(vectors)
        for t, v in vectors.items():
            self.memory[(fingerprint, t)] = v
        if self.disk is not None:
            self.disk.put_many(fingerprint, vectors)


class EncoderPool:
    """Shared encoders for one run. Pass it as an estimator's ``cache`` parameter (see
    :func:`classifier.zeroshot.make_encoder`); ``cache`` here is True, a folder, or None (memory only)."""

    def __init__(self, cache: Any = True, backend: str = "torch"):
        disk = EmbeddingCache() if cache is True else (EmbeddingCache(cache) if cache else None)
        self.store = LayeredCache(disk)
        self.backend = backend
        self._encoders: dict[str, Encoder] = {}

    def encoder_for(self, name: str | None, batch_size: int = 64) -> Encoder:
        display, path = resolve_model(name)
        key = str(path) if path is not None else display
        if key not in self._encoders:
            self._encoders[key] = Encoder(name, batch_size=batch_size, cache=self.store, backend=self.backend)
        return self._encoders[key]

    def adopt(self, model: Any) -> None:
        """Point a loaded model at the pool's encoder, if it is the same encoder (same weights)."""
        mine = self.encoder_for(model.encoder)
        if mine.fingerprint == model.encoder_.fingerprint:
            model.encoder_ = mine
        else:
            model.encoder_.backend = self.backend

    def identities(self) -> dict[str, dict]:
        """Name, dimension and weights fingerprint of every encoder used in the run."""
        return {key: enc.identity() for key, enc in self._encoders.items()}

    @property
    def encoded(self) -> int:
        """Texts actually run through an encoder model in this run (not found in memory or on disk)."""
        return self.store.encoded
