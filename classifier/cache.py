"""The on-disk embedding cache: (encoder fingerprint, text hash) -> vector, checked, size-bounded."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

DEFAULT_LIMIT_BYTES = 2 * 1024**3
_CHUNK = 500


def default_cache_dir() -> Path:
    """POLICYTAG_CACHE_DIR, else the user cache folder (XDG_CACHE_HOME or ~/.cache)/policytag."""
    if os.environ.get("POLICYTAG_CACHE_DIR"):
        return Path(os.environ["POLICYTAG_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "policytag"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """SQLite-backed store shared by tag, train and evaluate.

    Each vector is stored with its CRC32; a row whose bytes do not match is deleted and reported as a
    miss, so a corrupt entry is recomputed, never served. Past ``limit_bytes`` the oldest-written
    rows (a quarter of the store at a time) are evicted.
    """

    def __init__(self, directory: str | Path | None = None, limit_bytes: int = DEFAULT_LIMIT_BYTES):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.limit_bytes = limit_bytes
        self._conn: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    @property
    def path(self) -> Path:
        return self.directory / "embeddings.sqlite"

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS emb (fp TEXT, key BLOB, vec BLOB, crc INTEGER, "
                               "atime INTEGER, PRIMARY KEY (fp, key)) WITHOUT ROWID")
        return self._conn

    def get_many(self, fingerprint: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        by_key = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        corrupt: list[bytes] = []
        keys = list(by_key)
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT key, vec, crc FROM emb WHERE fp=? AND key IN ({marks})",
                                     [fingerprint, *chunk]).fetchall()
            for key, vec, crc in rows:
                if zlib.crc32(vec) != crc or len(vec) % 4:
                    corrupt.append(key)
                else:
                    found[by_key[key]] = np.frombuffer(vec, dtype=np.float32).copy()
        if corrupt:
            self.conn.executemany("DELETE FROM emb WHERE fp=? AND key=?", [(fingerprint, k) for k in corrupt])
        self.hits += len(found)
        self.misses += len(by_key) - len(found)
        return found

    def put_many(self, fingerprint: str, vectors: Mapping[str, np.ndarray]) -> None:
        now = int(time.time())
        rows = []
        for text, vec in vectors.items():
            blob = np.ascontiguousarray(vec, dtype=np.float32).tobytes()
            rows.append((fingerprint, text_key(text), blob, zlib.crc32(blob), now))
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO emb VALUES (?,?,?,?,?)", rows)
        self._enforce_limit()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.glob("embeddings.sqlite*") if p.exists())

    def stats(self) -> dict[str, int | str]:
        count = self.conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        models = self.conn.execute("SELECT COUNT(DISTINCT fp) FROM emb").fetchone()[0]
        return {"path": str(self.path), "entries": count, "encoders": models, "bytes": self.size_bytes(),
                "limit_bytes": self.limit_bytes}

    def clear(self) -> None:
        self.conn.execute("DELETE FROM emb")
        self.conn.execute("VACUUM")

    def _enforce_limit(self) -> None:
        if self.size_bytes() <= self.limit_bytes:
            return
        count = self.conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        self.conn.execute("DELETE FROM emb WHERE (fp, key) IN (SELECT fp, key FROM emb ORDER BY atime LIMIT ?)",
                          (max(1, count // 4),))
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("VACUUM")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_conn"] = None
        return state
