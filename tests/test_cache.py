"""The embedding cache: same vectors as a fresh encode, damaged entries recomputed, size limit, CLI."""
import sqlite3
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from helpers import ROOT

from classifier.cli import main
from classifier.encoding import encoder as encoder_module
from classifier.encoding.cache import EmbeddingCache, parse_size, text_key
from classifier.encoding.encoder import Encoder
from classifier.errors import PolicytagError

TEXTS = ["Germany will cover forty percent of the new air-defence shield.",
         "Talks resumed in Geneva on Wednesday, with mediators carrying drafts between the delegations.",
         "Sanctions on shipping insurers were extended for another six months."]


class Spy:
    """Counts the texts that reach the model (what the cache failed to answer)."""

    def __init__(self, monkeypatch):
        self.texts: list[str] = []
        real = Encoder._compute

        def compute(enc, texts):
            self.texts.extend(texts)
            return real(enc, texts)

        monkeypatch.setattr(Encoder, "_compute", compute)


@pytest.fixture()
def store(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    yield cache
    cache.close()


@pytest.fixture(scope="module")
def fresh():
    """The texts encoded with no cache at all: what every cached read must reproduce."""
    return Encoder(cache=None).encode(TEXTS)


def test_cached_embeddings_equal_a_fresh_encode(store, fresh, monkeypatch):
    first = Encoder(cache=store).encode(TEXTS)
    np.testing.assert_allclose(first, fresh, atol=1e-6)
    spy = Spy(monkeypatch)
    again = Encoder(cache=store).encode(TEXTS[::-1] + TEXTS)  # a new encoder: nothing in memory
    assert spy.texts == []
    assert again.dtype == np.float32
    np.testing.assert_array_equal(again, np.vstack([first[::-1], first]))
    assert store.hits >= len(TEXTS)


def _rows(store):
    return store.conn.execute("SELECT key, vec FROM emb ORDER BY key").fetchall()


@pytest.mark.parametrize("damage", ["flipped byte", "truncated, checksum redone", "nan, checksum redone",
                                    "not normalized, checksum redone"])
def test_a_damaged_entry_is_recomputed_not_served(store, fresh, monkeypatch, damage):
    enc = Encoder(cache=store)
    fp = enc.cache_key
    enc.encode(TEXTS)
    key, blob = _rows(store)[0]
    vec = np.frombuffer(blob, dtype=np.float32).copy()
    if damage == "flipped byte":
        bad, crc = bytes([blob[0] ^ 0xFF]) + blob[1:], zlib.crc32(blob)
    else:
        if damage.startswith("truncated"):
            vec = vec[:-1]
        elif damage.startswith("nan"):
            vec[3] = np.nan
        else:
            vec = vec * 3
        bad = vec.astype(np.float32).tobytes()
        crc = zlib.crc32(bad)
    store.conn.execute("UPDATE emb SET vec=?, crc=? WHERE fp=? AND key=?", (bad, crc, fp, key))
    spy = Spy(monkeypatch)
    out = Encoder(cache=store).encode(TEXTS)
    assert len(spy.texts) == 1  # the damaged one, and only it, went back to the model
    np.testing.assert_allclose(out, fresh, atol=1e-6)
    repaired = dict(_rows(store))[key]
    assert np.allclose(np.frombuffer(repaired, dtype=np.float32), out[[text in spy.texts for text in TEXTS]][0])


def test_a_file_that_is_not_a_database_is_replaced(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "embeddings.sqlite").write_bytes(b"this is not sqlite " * 500)
    cache = EmbeddingCache(folder)
    assert cache.get_many("fp", ["a"]) == {}
    cache.put_many("fp", {"a": np.ones(4, dtype=np.float32)})
    assert list(cache.get_many("fp", ["a"])) == ["a"]
    assert cache.repaired == 1
    cache.close()


def test_unusable_cache_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PolicytagError, match="--no-cache"):
        EmbeddingCache(blocker / "cache").get_many("fp", ["a"])


def test_size_limit_evicts_least_recently_used(store):
    rng = np.random.default_rng(0)
    vec = lambda: rng.standard_normal(384).astype(np.float32)  # noqa: E731
    old, older = [f"old {i}" for i in range(50)], [f"older {i}" for i in range(50)]
    store.put_many("fp", {t: vec() for t in old + older})
    now = int(time.time())
    store.conn.execute("UPDATE emb SET atime=?", (now - 2 * 86400,))
    store.conn.executemany("UPDATE emb SET atime=? WHERE key=?", [(now - 3 * 86400, text_key(t)) for t in older])
    assert len(store.get_many("fp", old)) == 50  # read now: their last use moves to today
    store.set_limit(store.used_bytes() + 20_000)
    store.put_many("fp", {f"new {i}": vec() for i in range(60)})
    assert store.used_bytes() <= store.limit
    kept_old, kept_older = len(store.get_many("fp", old)), len(store.get_many("fp", older))
    assert kept_older < 50  # something was evicted ...
    assert kept_older == 0 or kept_old == 50  # ... and the long-unused rows went first


def test_limit_sources_and_sizes(tmp_path, monkeypatch):
    assert parse_size("500M") == 500 * 1024**2 and parse_size("1.5G") == int(1.5 * 1024**3)
    assert parse_size("2GiB") == 2 * 1024**3 and parse_size("1000") == 1000
    with pytest.raises(PolicytagError, match="not a size"):
        parse_size("lots")
    cache = EmbeddingCache(tmp_path)
    cache.set_limit("10M")
    assert EmbeddingCache(tmp_path).limit == 10 * 1024**2  # saved with the cache
    monkeypatch.setenv("POLICYTAG_CACHE_LIMIT", "3M")
    assert EmbeddingCache(tmp_path).limit == 3 * 1024**2
    assert EmbeddingCache(tmp_path, limit_bytes=1234).limit == 1234
    cache.close()


def test_each_backend_has_its_own_entries():
    keys = {Encoder(backend=b).cache_key for b in ("torch", "onnx", "onnx-int8")}
    assert len(keys) == 3
    assert Encoder().cache_key == Encoder().fingerprint  # torch entries keep the plain weights fingerprint


def test_all_cached_needs_no_model(store, monkeypatch):
    Encoder(cache=store).encode(TEXTS)
    monkeypatch.setattr(encoder_module, "_LOADED", {})
    enc = Encoder(cache=store)
    assert enc.fingerprint and enc.dimension == 384  # neither loads the model
    enc.encode(TEXTS)
    assert encoder_module._LOADED == {}


def test_cache_command_shows_limits_and_clears(store, capsys):
    Encoder(cache=store).encode(TEXTS)
    folder = str(store.directory)
    store.close()
    assert main(["cache", "--cache-dir", folder, "--limit", "64M"]) == 0
    shown = capsys.readouterr().out
    assert "entries: 3" in shown and "limit 64.0 MiB" in shown and f"encoder {Encoder().fingerprint}: 3" in shown
    assert main(["cache", "clear", "--cache-dir", folder]) == 0
    assert "3 embeddings" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", folder]) == 0
    assert "entries: 0" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", folder, "--limit", "lots"]) == 2


def test_second_tag_run_loads_neither_torch_nor_the_model(mini_model, tmp_path):
    """A run whose paragraphs are all cached starts no encoder: checked in a fresh interpreter."""
    model_dir = tmp_path / "model"
    mini_model.save(model_dir)
    article = tmp_path / "a.txt"
    article.write_text("Allies argued over who pays for the brigade.\n\nTokyo offered to pay more of the base costs.\n")
    cache = tmp_path / "c"
    args = ["tag", str(article), "--model", str(model_dir), "--cache-dir", str(cache), "-q"]
    assert main([*args, "-o", str(tmp_path / "first.jsonl")]) == 0
    code = ("import sys; from classifier.cli import main; "
            f"rc = main({[*args, '-o', str(tmp_path / 'second.jsonl')]!r}); "
            "print(rc, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.split() == ["0", "False", "False"], done.stderr[-2000:]
    assert (tmp_path / "first.jsonl").read_text() == (tmp_path / "second.jsonl").read_text()


def test_concurrent_writers_do_not_corrupt(tmp_path):
    a, b = EmbeddingCache(tmp_path), EmbeddingCache(tmp_path)
    vec = np.ones(8, dtype=np.float32)
    for i in range(20):
        a.put_many("fp", {f"a{i}": vec})
        b.put_many("fp", {f"b{i}": vec})
    assert len(a.get_many("fp", [f"b{i}" for i in range(20)])) == 20
    assert sqlite3.connect(tmp_path / "embeddings.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    a.close()
    b.close()
