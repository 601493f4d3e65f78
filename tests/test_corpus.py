"""The geopolitics corpus: loads through datasets, meets its size targets, and the checker catches leaks."""
import json
import shutil

import pytest
from helpers import CORPUS

from classifier import CorpusError, load_codebook, load_corpus
from classifier.annotate.agreement import agreement, krippendorff_alpha_nominal
from classifier.cli import main
from classifier.io.corpus import assign_splits, check_corpus


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS)


def test_corpus_loads_as_a_datasetdict_with_three_splits(corpus):
    from datasets import DatasetDict
    assert isinstance(corpus, DatasetDict) and set(corpus) == {"train", "dev", "test"}
    assert ({"id", "article_id", "paragraph", "text", "labels", "genre", "region", "split"}
            <= set(corpus["train"].column_names))


def test_corpus_meets_the_size_targets(corpus):
    rows = [r for split in corpus.values() for r in split]
    ids = load_codebook(CORPUS / "codebook.yaml").ids
    assert len(rows) >= 1000 and len({r["article_id"] for r in rows}) >= 90
    counts = {t: sum(t in r["labels"] for r in rows) for t in ids}
    assert all(counts[t] >= 100 for t in ids if t != "asean_analogy") and counts["asean_analogy"] >= 60
    assert sum(not r["labels"] for r in rows) >= 0.2 * len(rows)
    test = corpus["test"]
    assert all(sum(t in labels for labels in test["labels"]) >= 20 for t in ids)
    per_article = {}
    for r in rows:
        per_article.setdefault(r["article_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in per_article.values())


@pytest.fixture()
def copy(tmp_path):
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


def rewrite(path, edit):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    edit(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def test_checker_catches_a_leaked_article(copy, capsys):
    def leak(rows):
        first = rows[0]["article_id"]
        other = next(s for s in ("train", "dev", "test") if s != rows[0]["split"])
        next(r for r in rows if r["article_id"] == first and r["paragraph"] == 1)["split"] = other
    rewrite(copy / "paragraphs.jsonl", leak)
    problems = check_corpus(copy)
    assert any("leaks across splits" in p and ":2:" in p for p in problems)
    assert main(["corpus", "check", str(copy)]) == 1
    with pytest.raises(CorpusError, match="leaks across splits"):
        load_corpus(copy)


def test_checker_catches_unknown_labels_duplicates_and_schema(copy):
    def spoil(rows):
        rows[3]["labels"] = ["deterrence", "world_peace"]
        rows[5]["text"] = rows[4]["text"]
        del rows[7]["genre"]
    rewrite(copy / "paragraphs.jsonl", spoil)
    problems = "\n".join(check_corpus(copy))
    assert "paragraphs.jsonl:4: label(s) not in codebook 'geopolitics': world_peace" in problems
    assert "paragraphs.jsonl:6: duplicate text of line 5" in problems
    assert "paragraphs.jsonl:8: missing or mistyped field(s): genre" in problems


def test_checker_catches_near_duplicates_across_splits(copy):
    def near(rows):
        a = next(r for r in rows if r["split"] == "train")
        b = next(r for r in rows if r["split"] == "test")
        b["text"] = a["text"].replace(".", ";", 1)
    rewrite(copy / "paragraphs.jsonl", near)
    assert any("near-duplicate" in p for p in check_corpus(copy))


def test_the_shipped_corpus_passes(capsys):
    assert main(["corpus", "check", str(CORPUS)]) == 0
    assert main(["corpus", "stats", str(CORPUS)]) == 0
    assert "| asean_analogy |" in capsys.readouterr().out


def test_assign_splits_keeps_articles_whole_and_fills_test():
    rows = [{"article_id": f"a{i}", "labels": ["x"] if i % 3 == 0 else []} for i in range(50) for _ in range(10)]
    splits = assign_splits(rows, ["x"], min_test=10)
    assert set(splits) == {f"a{i}" for i in range(50)}
    test = [a for a, s in splits.items() if s == "test"]
    assert 8 <= len(test) <= 12 and sum(int(a[1:]) % 3 == 0 for a in test) * 10 >= 10


def test_agreement_statistics_match_references():
    from sklearn.metrics import cohen_kappa_score
    assert krippendorff_alpha_nominal([[1, 1, 0, 0], [1, 1, 0, 0]]) == 1.0
    # two nominal coders; 0.692 is what the reference implementation (PyPI package krippendorff) gives
    c1 = ["a", "a", "b", "b", "d", "c", "c", "c", "e", "d", "d", "a"]
    c2 = ["b", "a", "b", "b", "b", "c", "c", "c", "e", "d", "d", "d"]
    assert krippendorff_alpha_nominal([c1, c2]) == pytest.approx(0.692, abs=0.001)
    first = {"p1": ["x"], "p2": ["x", "y"], "p3": [], "p4": ["y"]}
    second = {"p1": ["x"], "p2": ["x"], "p3": ["y"], "p4": ["y"]}
    res = agreement(first, second, ["x", "y"])
    assert res["per_theme"]["y"]["kappa"] == pytest.approx(cohen_kappa_score([0, 1, 0, 1], [0, 0, 1, 1]))
    assert res["exact_match"] == 0.5


def test_the_union_corpus_serves_both_members_with_their_own_splits():
    """corpora/geopolitics_all = v1 + v2: every member row once, each in the split its own corpus gave it."""
    import json

    from classifier import load_corpus
    root = CORPUS.parent
    members = [json.loads(line) for name in ("geopolitics", "geopolitics_v2")
               for line in (root / name / "paragraphs.jsonl").read_text().splitlines()]
    union = load_corpus(root / "geopolitics_all")
    for split in ("train", "dev", "test"):
        assert sorted(union[split]["id"]) == sorted(r["id"] for r in members if r["split"] == split)


def test_stress_set_and_v2_pass_the_corpus_check_and_keep_southeast_asian_negatives():
    from classifier.io.corpus import check_corpus, corpus_stats
    for name in ("stress", "geopolitics_v2"):
        folder = CORPUS.parent / name
        assert check_corpus(folder) == []
        line = next(x for x in corpus_stats(folder).splitlines() if "share of asean_analogy's negatives" in x)
        assert float(line.split("(")[-1].split("%")[0]) >= 15.0


def test_a_corpus_groups_its_rows_by_article_or_by_a_field_every_row_carries(copy):
    """Folds keep an article together by default; --group-column writer keeps a writer's articles together, so
    model selection scores each setting on writers it did not train on. Every row of every shipped corpus names
    its writer; a row without the field is named in one error."""
    from classifier.io.tables import Columns, read_labeled
    union = read_labeled(CORPUS.parent / "geopolitics_all", Columns(split="train,dev", group="writer"))
    by_article = read_labeled(CORPUS.parent / "geopolitics_all", Columns(split="train,dev"))
    assert len(set(union.groups)) == 5 + len(list((CORPUS.parent / "geopolitics_v2" / "parts").glob("*.txt")))
    assert {g.split("/")[0] for g in union.groups} == {"geopolitics", "geopolitics_v2"}
    writer_of = {}
    for w, a in zip(union.groups, by_article.groups):
        assert w.startswith(("geopolitics/" + a[0], "geopolitics_v2/"))
        assert writer_of.setdefault(a, w) == w  # an article has one writer
    stress = read_labeled(CORPUS.parent / "stress", Columns(group="writer"))
    assert set(stress.groups) == {"stress/s1", "stress/s2"}
    rewrite(copy / "paragraphs.jsonl", lambda rows: rows[3].pop("writer"))
    with pytest.raises(CorpusError, match=r"row 'a01-p03' has no 'writer' field to group by"):
        read_labeled(copy, Columns(group="writer"))
