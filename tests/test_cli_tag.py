"""`policytag tag` end to end with the shipped model and the real encoder."""
import csv
import json
import subprocess
import sys

import pytest
from helpers import ARTICLE_MD, ARTICLE_TXT, read_jsonl, write_articles

from classifier.cli import main

BURDEN = ("Under the deal struck in Brussels, Germany will cover forty percent of the new air-defence shield, while "
          "the Netherlands, Denmark and Norway split the remaining costs and Poland provides the launch sites "
          "and crews.")
ASEAN = ("Ukraine's experience offers lessons for Southeast Asia: just as Kyiv depends on a coalition of distant "
         "partners, ASEAN members facing pressure in the South China Sea must ask how far outside powers would go, "
         "and the comparison is studied closely in Manila, Hanoi and Jakarta.")


@pytest.fixture()
def folder(tmp_path):
    d = write_articles(tmp_path / "articles")
    (d / "ignored.pdf").write_bytes(b"%PDF-1.4")
    return d


def test_shipped_model_tags_the_two_reference_paragraphs(shipped_model):
    burden, asean = shipped_model.predict_proba([BURDEN, ASEAN])
    ids = list(shipped_model.classes_)
    assert "burden_sharing" in shipped_model.themes_of(burden[None])[0]
    assert "asean_analogy" in shipped_model.themes_of(asean[None])[0]
    assert burden[ids.index("burden_sharing")] > burden[ids.index("asean_analogy")]
    assert asean[ids.index("asean_analogy")] > asean[ids.index("burden_sharing")]


def test_tag_folder_of_mixed_files_to_jsonl(folder, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(folder), "-o", str(out), "--summary", str(tmp_path / "s.jsonl")]) == 0
    records = read_jsonl(out)
    docs = {r["doc"] for r in records}
    assert docs == {str(folder / "a.txt"), str(folder / "sub" / "b.md"), str(folder / "c.html")}
    assert len(records) == 2 + 2 + 2
    for r in records:
        assert set(r) >= {"doc", "paragraph", "text", "themes", "scores"}
        assert len(r["scores"]) == 12 and all(0 <= v <= 1 for v in r["scores"].values())
        assert all(t in r["scores"] for t in r["themes"])
    a = [r for r in records if r["doc"].endswith("a.txt")]
    assert "burden_sharing" in a[0]["themes"]
    summary = read_jsonl(tmp_path / "s.jsonl")
    assert len(summary) == 3 and all(0 <= v <= 1 for s in summary for v in s["shares"].values())
    err = capsys.readouterr().err
    assert "tagged 3 documents (6 paragraphs), skipped 1, failed 0" in err  # the PDF, said so on its own line
    assert f"{folder / 'ignored.pdf'}: .pdf files are not read" in err and "convert it to text first" in err


def test_tag_jsonl_input_to_csv(tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": "one", "body": BURDEN}) + "\n" + json.dumps({"id": "two", "body": ASEAN}) + "\n")
    out = tmp_path / "out.csv"
    assert main(["tag", str(src), "--text-field", "body", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["doc"] for r in rows] == ["one", "two"]
    assert "burden_sharing" in rows[0]["themes"].split(";")
    assert "asean_analogy" in rows[1]["themes"].split(";")
    assert float(rows[0]["score_burden_sharing"]) > 0.5


def test_stdin_and_stdout_through_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "classifier.cli", "tag", "-", "-q"], input=ARTICLE_TXT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["paragraph"] for r in records] == [0, 1] and records[0]["doc"] == "<stdin>"


def test_glob_input(folder, tmp_path):
    out = tmp_path / "o.jsonl"
    assert main(["tag", str(folder / "**" / "*.md"), "-o", str(out), "-q"]) == 0
    assert {r["doc"] for r in read_jsonl(out)} == {str(folder / "sub" / "b.md")}


def test_seed_article_end_to_end(seed_article, tmp_path, shipped_model):
    records = shipped_model.tag_article(seed_article)
    assert len(records) == 13
    assert records[2]["section"] == "Strategic Realignment and Transatlantic Recalibration"
    tagged = {t for r in records for t in r["themes"]}
    assert {"asean_analogy", "negotiation_diplomacy"} <= tagged


def test_library_tag_article_is_deterministic(shipped_model):
    assert shipped_model.tag_article(ARTICLE_TXT) == shipped_model.tag_article(ARTICLE_TXT)


@pytest.mark.parametrize("suffix", ["md", "csv"])
def test_summary_tables_are_written_per_document_and_continued_on_resume(folder, tmp_path, capsys, suffix):
    out, summary = tmp_path / "out.jsonl", tmp_path / f"s.{suffix}"
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.txt").write_text(ARTICLE_TXT)
    assert main(["tag", str(one), "-o", str(out), "--summary", str(summary)]) == 0
    assert main(["tag", str(one), "-o", str(out), "--summary", str(summary)]) == 2  # never overwritten unasked
    assert "--force" in capsys.readouterr().err
    (one / "b.md").write_text(ARTICLE_MD)
    assert main(["tag", str(one), "-o", str(out), "--summary", str(summary), "--resume"]) == 0
    lines = summary.read_text().splitlines()
    header = 2 if suffix == "md" else 1
    assert len(lines) == header + 2  # one header, one row per document, a.txt's row not repeated
    assert lines[header].split("|" if suffix == "md" else ",")[1 if suffix == "md" else 0].strip().endswith("a.txt")
    assert "burden_sharing" in lines[0]


def test_a_fifo_among_the_inputs_is_skipped_with_a_line_not_waited_on(tmp_path, capsys):
    import os

    from classifier.cli import main
    (tmp_path / "in").mkdir()
    fifo = tmp_path / "in" / "f.txt"
    os.mkfifo(fifo)
    (tmp_path / "in" / "a.txt").write_text(ARTICLE_TXT)
    assert main(["tag", str(tmp_path / "in"), "-o", str(tmp_path / "o.jsonl")]) == 0
    err = capsys.readouterr().err
    assert f"{fifo}: not a regular file" in err and "skipped 1" in err


def test_an_output_in_a_missing_folder_is_a_usage_error_before_any_work(tmp_path, capsys):
    from classifier.cli import main
    (tmp_path / "a.txt").write_text(ARTICLE_TXT)
    for flag in ("-o", "--html", "--summary"):
        args = ["tag", str(tmp_path / "a.txt"), flag, str(tmp_path / "missing" / "x.out")]
        if flag != "-o":
            args += ["-o", str(tmp_path / f"o{flag}.jsonl")]
        assert main(args) == 2
        assert "does not exist" in capsys.readouterr().err
    assert not list(tmp_path.glob("o*.jsonl"))
