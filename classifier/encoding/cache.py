"""The on-disk embedding cache: (encoder fingerprint, text hash) -> vector, checked, size-bounded."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from classifier.errors import PolicytagError

DEFAULT_LIMIT_BYTES = 2 * 1024**3
LIMIT_ENV = "POLICYTAG_CACHE_LIMIT"
_CHUNK = 500
_TOUCH_AFTER = 24 * 3600  # refresh a hit's last-use time at most daily: reads stay reads
_EVICT_TO = 0.75          # past the limit, drop least recently used rows down to this share of it
_BROKEN = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
CHECKSUM = "crc32(encoder, text key, vector) v2"  # what the crc column holds; older caches are emptied once
log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """POLICYTAG_CACHE_DIR, else the user cache folder (XDG_CACHE_HOME or ~/.cache)/policytag."""
    if os.environ.get("POLICYTAG_CACHE_DIR"):
        return Path(os.environ["POLICYTAG_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "policytag"


MAX_SIZE = 10**18  # 1000000T


def parse_size(text: str | int) -> int:
    """Bytes from ``500M``, ``2G``, ``1.5GB``, ``300000``: the form the size-limit option takes."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise PolicytagError(f"{text!r}: not a size; write e.g. 500M, 2G or a number of bytes")
    size = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if not size <= MAX_SIZE:  # also inf: a limit past any disk would overflow the reads it bounds
        raise PolicytagError(f"{text!r}: too large a size (at most 1000000T)")
    return int(size)


def format_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """SQLite-backed store shared by tag, train and evaluate (and by concurrent runs: WAL mode).

    An entry is filed under the encoder's cache key (its weights' fingerprint, plus the backend when it is
    not torch) and the sha256 of the text, and stored with a CRC32 over all three and the vector's bytes
    (:func:`entry_checksum`). A row whose checksum does not match, or that does not decode to finite float32
    values, is deleted, logged in one line and reported as a miss, so it is encoded afresh, never served;
    the encoder also re-encodes a vector of the wrong length or norm. A database file that is not one, or is
    damaged, is deleted and started afresh.

    What this protects against: disk and copy damage, a torn write, a vector copied onto another text's or
    another encoder's entry, a cache shared by encoders or backends. What it does not: someone who can write
    the cache file can compute the checksum too (CRC32 is not a signature), so a deliberately forged vector
    of the right length and norm is served. The cache is only as trustworthy as its folder: keep it private
    (the default is under the user's own cache folder), and use ``--no-cache`` or ``policytag cache --clear``
    when in doubt; it holds only derived data. The size
    limit counts the pages in use; past it, the least recently used rows are dropped down to 75% of it.
    The limit is, in order: ``limit_bytes``, $POLICYTAG_CACHE_LIMIT, the one saved with
    ``set_limit`` (``policytag cache --limit``), 2 GiB.
    """

    def __init__(self, directory: str | Path | None = None, limit_bytes: int | str | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.limit_bytes = limit_bytes
        self._conn: sqlite3.Connection | None = None
        self.hits = 0
        self.repaired = 0
        self.refused = 0  # entries that failed their checks (see the class docstring)

    @property
    def path(self) -> Path:
        return self.directory / "embeddings.sqlite"

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                try:
                    self._conn = self._open()
                except sqlite3.DatabaseError as exc:
                    if getattr(exc, "sqlite_errorname", "") not in _BROKEN:
                        raise
                    self._set_aside()
                    self._conn = self._open()
            except (OSError, sqlite3.Error) as exc:
                raise PolicytagError(f"{self.path}: cannot use the embedding cache ({exc}); choose another folder "
                                     "with --cache-dir or run with --no-cache") from None
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS emb (fp TEXT, key BLOB, vec BLOB, crc INTEGER, "
                         "atime INTEGER, PRIMARY KEY (fp, key)) WITHOUT ROWID")
            conn.execute("CREATE INDEX IF NOT EXISTS emb_atime ON emb (atime)")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
            row = conn.execute("SELECT v FROM meta WHERE k='checksum'").fetchone()
            if row is None or row[0] != CHECKSUM:  # entries checksummed another way: derived data, start over
                conn.execute("DELETE FROM emb")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('checksum', ?)", (CHECKSUM,))
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _set_aside(self) -> None:
        """Delete a damaged database (it holds only derived data) so the cache can start afresh."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        self.repaired += 1

    def _guarded(self, action, *args):
        """Run a database action; a damaged file is set aside once and the action retried on a new one."""
        try:
            return action(*args)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "") not in _BROKEN:
                raise
            self._set_aside()
            return action(*args)

    @property
    def limit(self) -> int:
        """The size limit in force (see the class docstring for where it comes from)."""
        if self.limit_bytes is not None:
            return parse_size(self.limit_bytes)
        if os.environ.get(LIMIT_ENV):
            return parse_size(os.environ[LIMIT_ENV])
        row = self.conn.execute("SELECT v FROM meta WHERE k='limit_bytes'").fetchone()
        return int(row[0]) if row else DEFAULT_LIMIT_BYTES

    def set_limit(self, limit: int | str) -> None:
        """Save a size limit with the cache, for every later run, and apply it now."""
        value = parse_size(limit)
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('limit_bytes', ?)", (str(value),))
        self._enforce_limit()

    def get_many(self, fingerprint: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        return self._guarded(self._get_many, fingerprint, list(texts))

    def _get_many(self, fingerprint: str, texts: list[str]) -> dict[str, np.ndarray]:
        by_key = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        corrupt: list[bytes] = []
        stale: list[bytes] = []
        keys = list(by_key)
        old = int(time.time()) - _TOUCH_AFTER
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT key, vec, crc, atime FROM emb WHERE fp=? AND key IN ({marks})",
                                     [fingerprint, *chunk]).fetchall()
            for key, vec, crc, atime in rows:
                vector = _decode(vec, crc, fingerprint, key)
                if vector is None:
                    corrupt.append(key)
                    continue
                found[by_key[key]] = vector
                if atime < old:
                    stale.append(key)
        if corrupt:
            self.conn.executemany("DELETE FROM emb WHERE fp=? AND key=?", [(fingerprint, k) for k in corrupt])
            self.refused += len(corrupt)
            log.warning("%s: %d cached embedding(s) failed their checksum and are encoded afresh", self.path,
                        len(corrupt))
        if stale:
            now = int(time.time())
            self.conn.executemany("UPDATE emb SET atime=? WHERE fp=? AND key=?", [(now, fingerprint, k) for k in stale])
        self.hits += len(found)
        return found

    def put_many(self, fingerprint: str, vectors: Mapping[str, np.ndarray]) -> None:
        self._guarded(self._put_many, fingerprint, vectors)

    def _put_many(self, fingerprint: str, vectors: Mapping[str, np.ndarray]) -> None:
        now = int(time.time())
        rows = []
        for text, vec in vectors.items():
            blob = np.ascontiguousarray(vec, dtype=np.float32).tobytes()
            key = text_key(text)
            rows.append((fingerprint, key, blob, entry_checksum(fingerprint, key, blob), now))
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany("INSERT OR REPLACE INTO emb VALUES (?,?,?,?,?)", rows)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self._enforce_limit()

    def used_bytes(self) -> int:
        """Bytes of the pages that hold data (free pages left by evictions are reused, not counted)."""
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size

    def size_bytes(self) -> int:
        """Bytes on disk: the database, its write-ahead log and shared-memory index."""
        return sum(p.stat().st_size for p in self.directory.glob("embeddings.sqlite*") if p.exists())

    def stats(self) -> dict[str, int | str]:
        count = self.conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        models = self.conn.execute("SELECT COUNT(DISTINCT fp) FROM emb").fetchone()[0]
        return {"path": str(self.path), "entries": count, "encoders": models, "bytes": self.size_bytes(),
                "used_bytes": self.used_bytes(), "limit_bytes": self.limit}

    def encoders(self) -> list[tuple[str, int]]:
        """(fingerprint[+backend], entries) for each encoder with vectors in the cache."""
        return [(fp, n) for fp, n in self.conn.execute("SELECT fp, COUNT(*) FROM emb GROUP BY fp ORDER BY fp")]

    def clear(self, fingerprint: str | None = None) -> int:
        """Delete every entry (or one encoder's) and give the space back to the file system."""
        if fingerprint is None:
            n = self.conn.execute("DELETE FROM emb").rowcount
        else:
            n = self.conn.execute("DELETE FROM emb WHERE fp=?", (fingerprint,)).rowcount
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def _enforce_limit(self) -> None:
        limit = self.limit
        used = self.used_bytes()
        if used <= limit:
            return
        count = self.conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        drop = max(1, int(count * (1 - _EVICT_TO * limit / used)))
        self.conn.execute("DELETE FROM emb WHERE (fp, key) IN (SELECT fp, key FROM emb ORDER BY atime LIMIT ?)",
                          (drop,))
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_conn"] = None
        return state


def entry_checksum(fingerprint: str, key: bytes, blob: bytes) -> int:
    """CRC32 of an entry's encoder key, text key and vector bytes: a vector moved onto another entry fails it."""
    return zlib.crc32(blob, zlib.crc32(bytes(key), zlib.crc32(fingerprint.encode("utf-8"))))


def _decode(blob: bytes, crc: int, fingerprint: str, key: bytes) -> np.ndarray | None:
    """The stored vector, or None when its bytes are damaged or belong to another entry."""
    if (not isinstance(blob, bytes) or not blob or len(blob) % 4 or not isinstance(key, bytes)
            or entry_checksum(fingerprint, key, blob) != crc):
        return None
    vector = np.frombuffer(blob, dtype=np.float32).copy()
    return vector if np.isfinite(vector).all() else None
