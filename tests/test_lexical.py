"""The TF-IDF transform that tagging runs without scikit-learn: scikit-learn's numbers, and bit for bit the
row-at-a-time arithmetic the shipped model's records were pinned with (the batched version must not drift)."""
from __future__ import annotations

import json
import math
import unicodedata

import numpy as np
import pytest
from helpers import CORPUS, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.heads.lexical import TfidfFeatures, make_vectorizer
from classifier.persist import read_folder

ODD = ["", "x", "a b", "Crème brûlée, naïve Zürich: ﬁnance in São Paulo’s “defence” budget", "Москва и ΑΘΗΝΑ",
       "de\u0301fense de\u0301fense defense", "the the the the the " * 80, "zzzz qqqq", "per cent of per cent of"]


INDEX: dict[int, dict[str, int]] = {}  # each vocabulary's term -> column, built once per features object


def reference_row(features: TfidfFeatures, text: str) -> tuple[np.ndarray, np.ndarray]:
    """One text at a time, as the transform was written before it was batched (kept here as the yardstick)."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    tokens = features._token.findall(text.lower())
    grams = tokens + [" ".join(tokens[i:i + 2]) for i in range(len(tokens) - 1)]
    if id(features) not in INDEX:
        INDEX[id(features)] = {t: i for i, t in enumerate(features.terms)}
    index = INDEX[id(features)]
    counts: dict[int, int] = {}
    for g in grams:
        col = index.get(g)
        if col is not None:
            counts[col] = counts.get(col, 0) + 1
    cols = np.array(sorted(counts), dtype=np.int64)
    vals = np.array([math.log(counts[c]) + 1.0 for c in cols], dtype=np.float64) * features.idf[cols]
    norm = math.sqrt(float(np.dot(vals, vals)))
    return cols, (vals / norm if norm > 0 else vals)


@pytest.fixture(scope="module")
def shipped() -> TfidfFeatures:
    _, arrays = read_folder(ROOT / "models" / "geopolitics")
    return TfidfFeatures([str(t) for t in arrays["lexical_terms"]], np.asarray(arrays["lexical_idf"]))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rows = [json.loads(line) for line in (CORPUS / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["text"] for r in rows[:400]] + ODD


def same_rows(features: TfidfFeatures, texts: list[str]) -> None:
    got = list(features.rows(texts))
    assert len(got) == len(texts)
    for text, (cols, vals) in zip(texts, got):
        want_cols, want_vals = reference_row(features, text)
        assert cols.dtype == want_cols.dtype and np.array_equal(cols, want_cols), text
        assert vals.tobytes() == want_vals.tobytes(), text  # bit for bit, not approximately


def test_batched_rows_equal_the_row_at_a_time_transform_bit_for_bit(shipped, texts):
    same_rows(shipped, texts)
    assert [c.tolist() for c, _ in (shipped.row(t) for t in ODD)] == [c.tolist() for c, _ in shipped.rows(ODD)]
    assert list(shipped.rows([])) == []


def test_rows_are_scikit_learns_tfidf(texts):
    vectorizer = make_vectorizer()
    X = vectorizer.fit_transform(texts[:300]).tocsr()
    features = TfidfFeatures.from_vectorizer(vectorizer)
    unseen = texts[300:]
    Y = vectorizer.transform(unseen).tocsr()
    for i, (cols, vals) in enumerate(features.rows(texts[:300])):
        assert np.array_equal(cols, np.sort(X[i].indices)) and np.allclose(vals, X[i].toarray()[0, cols], atol=1e-12)
    for i, (cols, vals) in enumerate(features.rows(unseen)):
        assert np.array_equal(cols, np.sort(Y[i].indices)) and np.allclose(vals, Y[i].toarray()[0, cols], atol=1e-12)


WORDS = ["defence", "budget", "per", "cent", "of", "the", "navy", "strait", "ceasefire", "talks", "a", "Zürich",
         "crème", "x1", "qqqq", "host-nation", "costs", "water", "cannon"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join), max_size=8))
def test_any_texts_batched_as_one_at_a_time(shipped, batch):
    same_rows(shipped, batch)
