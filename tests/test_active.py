"""Active learning: uncertainty near thresholds, diverse picks without near-copies, `policytag suggest`."""
import csv
import json

import numpy as np
import pytest
from ecosystem_data import FAST, multi_label_data

from classifier import ThemeClassifier, load_codebook
from classifier.annotate.active import diverse_top, suggest, uncertainty
from classifier.cli import main


@pytest.fixture(scope="module")
def model():
    texts, labels, groups = multi_label_data()
    with pytest.warns(UserWarning):
        return ThemeClassifier(codebook=load_codebook(), **FAST).fit(texts[:36], labels[:36], groups=groups[:36])


POOL = ["Allies argued over who should pay for the brigade, and the navy patrolled the strait.",
        "Allies argued over who should pay for the brigade, and the navy patrolled the strait!",
        "Envoys discussed sharing the cost of the ceasefire monitors between the two blocs.",
        "Envoys discussed sharing the cost of the ceasefire monitors between the two blocs!",
        "The weather was mild for the season and the harvest came early.",
        "A frigate escorted tankers past the chokepoint.",
        "Talks on a truce resumed in Geneva with mediators present.",
        "Partners agreed to split the bill for air defence by national income."]


def test_uncertainty_is_one_at_the_threshold_and_zero_at_the_far_ends():
    t = np.array([0.5, 0.2])
    P = np.array([[0.5, 0.0], [1.0, 0.0], [0.0, 1.0], [0.75, 0.0], [0.0, 0.1]])
    np.testing.assert_allclose(uncertainty(P, t, True), [1.0, 0.0, 0.0, 0.5, 0.5])
    single = uncertainty(np.array([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05]]), t, False)
    np.testing.assert_allclose(single, [1.0, 0.15])


def test_diverse_top_skips_near_copies_and_similar_rows():
    E = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3]]  # rows 0 and 1 are the same paragraph
    scores = np.array([0.9, 0.89, 0.5, 0.4, 0.3])
    assert diverse_top(scores, E, 3, diversity=0.0)[:2] == [0, 2]  # near-copies come last even with no diversity
    assert diverse_top(scores, E, 5, diversity=0.0) == [0, 2, 3, 4, 1]
    close = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)  # cosine(0, 1) = 0.8
    assert diverse_top(np.array([0.9, 0.8, 0.6]), close, 2, diversity=0.0) == [0, 1]
    assert diverse_top(np.array([0.9, 0.8, 0.6]), close, 2, diversity=1.0) == [0, 2]
    seen = np.array([[1, 0]], dtype=np.float32)  # already labeled: its twin is not picked first
    assert diverse_top(np.array([0.9, 0.8, 0.6]), close, 1, diversity=1.0, seen=seen) == [2]


def test_suggest_prefers_uncertain_paragraphs_and_never_two_copies(model):
    picked = suggest(model, POOL, n=4)
    texts = [POOL[i] for i in picked.indices]
    assert len(set(picked.indices)) == 4
    assert not ({POOL[0], POOL[1]} <= set(texts)) and not ({POOL[2], POOL[3]} <= set(texts))
    assert picked.uncertainty.mean() >= np.sort(picked.pool_uncertainty)[:4].mean()
    assert picked.P.shape == (4, len(model.classes_))
    np.testing.assert_allclose(picked.uncertainty, picked.pool_uncertainty[picked.indices])


def test_cli_suggest_exports_ranked_prelabeled_tasks(model, tmp_path):
    saved = str(model.save(tmp_path / "model"))
    pool = tmp_path / "pool.csv"
    with pool.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows([[f"p{i}", t] for i, t in enumerate(POOL)])
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text(json.dumps({"text": POOL[5], "labels": ["maritime_security"]}) + "\n")
    out, config = tmp_path / "suggest.json", tmp_path / "ls.xml"
    assert main(["suggest", "--pool", str(pool), "-n", "3", "--model", saved, "--labeled", str(labeled),
                 "-o", str(out), "--config", str(config), "-q"]) == 0
    tasks = json.loads(out.read_text())
    assert [t["data"]["policytag_rank"] for t in tasks] == [1, 2, 3]
    assert all(t["data"]["text"] != POOL[5] for t in tasks)  # already labeled: never suggested again
    assert all(0 <= t["data"]["policytag_uncertainty"] <= 1 and len(t["predictions"]) == 1 for t in tasks)
    assert "<Choices" in config.read_text()
    doccano = tmp_path / "suggest.jsonl"
    assert main(["suggest", "--pool", str(pool), "-n", "2", "--model", saved, "-o", str(doccano), "-q"]) == 0
    lines = [json.loads(x) for x in doccano.read_text().splitlines()]
    assert len(lines) == 2 and all("label" in x and "policytag_scores" in x for x in lines)


def test_cli_suggest_reports_an_empty_pool(tmp_path, capsys):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(json.dumps({"text": ""}) + "\n")
    assert main(["suggest", "--pool", str(pool), "-n", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{pool}:1: no text in column 'text'" in err and "no paragraphs to read" in err
