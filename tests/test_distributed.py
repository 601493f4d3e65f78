"""The Ray engine (`policytag tag --engine ray`) and the Ray Data API give the local engine's records.

Real model, real encoder, a local Ray cluster of 2 CPUs started once for the module.
"""
import contextlib
import io
import json
import logging
import os
import warnings

import pytest
from helpers import CORPUS, write_articles

from classifier.cli import main

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra: pip install -e '.[test,ray]'")
from classifier.engines import ray_data, ray_run  # noqa: E402  (imports nothing heavy, but only matters with ray)
from classifier.engines.ray_ship import ModelFiles  # noqa: E402
from classifier.records import from_row  # noqa: E402

ROWS = [{"id": "one", "text": "The frigate escorted tankers through the strait, past mines laid in the spring.",
         "title": "Escorts in the strait", "date": "Wed, 04 Mar 2026 10:00:00 +0000", "outlet": "The Harbour Gazette"},
        {"id": "two", "text": "Germany will cover forty percent of the air-defence package; Norway pays the rest.",
         "title": "", "date": "2026-04", "outlet": "Northern Courier"},
        {"id": "three", "text": "<p>Envoys met in Geneva to trade ceasefire maps.</p><p>Prisoners come first.</p>",
         "title": "Maps in Geneva", "date": "", "outlet": ""}]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    with warnings.catch_warnings():  # Ray Data's own deprecation notices, raised on creating its context
        warnings.simplefilter("ignore", DeprecationWarning)
        ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Articles of every kind, a binary file, an empty file and a JSONL file with a malformed line."""
    root = tmp_path_factory.mktemp("ray")
    d = write_articles(root / "in")
    (d / "bad.txt").write_bytes(b"\x00\x01\x02\x03binary\x00\x00\x00 data")
    (d / "empty.txt").write_text("")
    lines = [json.dumps(ROWS[0]), "{broken", *map(json.dumps, ROWS[1:])]
    (d / "sub" / "docs.jsonl").write_text("\n".join(lines) + "\n")
    return root


def run(*argv):
    """Exit code and stderr of an in-process `policytag` run."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


@pytest.fixture(scope="module")
def local(work):
    """The local engine's run: small chunks, so the inputs span several encoder batches."""
    out = work / "local.jsonl"
    code, err = run("tag", work / "in", "-o", out, "--chunk", 4, "--cache-dir", work / "cache")
    return code, out.read_bytes(), err


def test_ray_engine_writes_the_local_engines_records_and_errors(cluster, work, local):
    out = work / "ray.jsonl"
    code, err = run("tag", work / "in", "-o", out, "--chunk", 4, "--engine", "ray", "--actors", 2, "--no-cache")
    assert (code, err) == local[::2]  # exit 1 (inputs failed), the same stderr lines in the same order
    assert out.read_bytes() == local[1]  # byte for byte, though computed afresh without the cache
    assert "bad.txt: binary file" in err and "docs.jsonl:2: malformed JSON" in err and "empty.txt: empty" in err
    assert "tagged 6 documents (10 paragraphs), skipped 1, failed 2" in err
    records = [json.loads(line) for line in local[1].splitlines()]
    assert {r["doc"] for r in records} >= {"one", "two", "three", str(work / "in" / "a.txt")}
    meta = {r["doc"]: r.get("meta") for r in records}  # article metadata crosses Arrow as the local engine writes it
    assert meta["one"] == {"title": "Escorts in the strait", "date": "2026-03-04", "outlet": "The Harbour Gazette"}
    assert meta["three"] == {"title": "Maps in Geneva"} and meta[str(work / "in" / "c.html")] == {"title": "Page"}


def test_ray_actors_apply_the_decision_rule_like_the_local_engine(cluster, work, local):
    rule = ["--top-k", 1, "--min-score", 0.6, "--threshold", "burden_sharing=0.3"]
    mine, theirs = work / "rule-local.jsonl", work / "rule-ray.jsonl"
    assert run("tag", work / "in", "-o", mine, "--chunk", 4, "--cache-dir", work / "cache", *rule)[0] == 1
    assert run("tag", work / "in", "-o", theirs, "--chunk", 4, "--engine", "ray", "--actors", 2, "--no-cache",
               *rule)[0] == 1
    assert theirs.read_bytes() == mine.read_bytes() != local[1]
    assert all(len(json.loads(line)["themes"]) <= 1 for line in mine.read_text().splitlines())


def test_ray_engine_resumes_and_refuses_to_overwrite(cluster, work, local):
    lines = local[1].splitlines(keepends=True)
    first = json.loads(lines[0])["doc"]
    done = [line for line in lines if json.loads(line)["doc"] == first]
    out = work / "resumed.jsonl"
    out.write_bytes(b"".join(done))
    code, _ = run("tag", work / "in", "-o", out, "--engine", "ray")
    assert code == 2 and out.read_bytes() == b"".join(done)  # refused before any Ray work, file untouched
    code, err = run("tag", work / "in", "-o", out, "--chunk", 4, "--engine", "ray", "--actors", 1, "--resume",
                    "--cache-dir", work / "cache")
    assert code == 1 and out.read_bytes() == local[1]
    assert "tagged 5 documents" in err and "1 already done" in err


def test_ray_data_documents_give_the_local_records(cluster, work, local):
    records = [json.loads(line) for line in local[1].splitlines()]
    expected = sorted((r for r in records if r["doc"].startswith(str(work / "in")) and ".jsonl" not in r["doc"]),
                      key=lambda r: (r["doc"], r["paragraph"]))
    files = ray_data.tag_documents(ray_data.read_files(str(work / "in")), cache=str(work / "cache"),
                                   concurrency=1, chunk=3, batch_size=2).take_all()  # one CPU left to read, split
    good = sorted((r for r in files if r["error"] is None), key=lambda r: (r["doc"], r["paragraph"]))
    assert [from_row(r) for r in good] == expected
    errors = sorted(r["error"] for r in files if r["error"] is not None)
    assert len(errors) == 2 and "bad.txt: binary file" in errors[0] and "empty.txt: empty file" in errors[1]

    blank = {**dict.fromkeys(ROWS[0], ""), "id": "blank", "text": "  "}
    rows = ray_data.tag_documents(ray.data.from_items(ROWS + [blank]), keep=["id"],
                                     cache=str(work / "cache")).take_all()
    good = sorted((r for r in rows if r["error"] is None), key=lambda r: (r["doc"], r["paragraph"]))
    assert [from_row(r) for r in good] == sorted(
        (r for r in records if r["doc"] in ("one", "two", "three")), key=lambda r: (r["doc"], r["paragraph"]))
    assert [r["error"] for r in rows if r["error"]] == ["blank: contains only whitespace, nothing to tag"]
    assert all(r["id"] == r["doc"] for r in rows)


def test_ray_data_paragraph_table_reads_article_context_like_tag_dataset(cluster, shipped_model):
    from classifier import load_corpus
    sample = load_corpus(CORPUS)["test"].select(range(20))
    expected = shipped_model.tag_dataset(sample)  # fills the shared cache, so both read the same vectors
    ds = ray.data.from_items(sample.to_list())
    got = ray_data.tag_paragraphs(ds, keep=["id"], concurrency=1, cache=os.environ["POLICYTAG_CACHE_DIR"])
    got = {r["id"]: r for r in got.take_all()}
    assert len(got) == len(sample)
    for row in expected:
        rec = got[row["id"]]
        assert rec["error"] is None and rec["doc"] == row["article_id"] and rec["text"] == row["text"]
        assert rec["themes"] == row["themes"]
        assert all(abs(rec["scores"][t] - row[f"score_{t}"]) < 1e-4 for t in shipped_model.classes_)


def test_a_document_that_breaks_encoding_fails_alone_as_in_the_local_engine(shipped_model, monkeypatch):
    from classifier.engines.local import plan_chunks, tag_stream
    from classifier.errors import InputError
    from classifier.io.readers import Document

    scorer = ray_run.ChunkScorer(ModelFiles.read(), cache=None)  # as the engine makes its actors
    docs = [Document(r["id"], r["text"], "html" if r["id"] == "three" else "text", f"in:{i}")
            for i, r in enumerate(ROWS)]
    docs[1] = Document("two", "POISON " + docs[1].text, "text", "in:1")
    docs[1:1] = [InputError("in:x", "malformed JSON"), Document("nothing", "<script>x()</script>", "html", "in:y")]

    def fragile(predict):
        def proba(units):
            if any("POISON" in (u.text if hasattr(u, "text") else u) for u in units):
                raise ValueError("encoder blew up")
            return predict(units)
        return proba

    monkeypatch.setattr(scorer.model, "score_units", fragile(scorer.model.score_units))
    monkeypatch.setattr(shipped_model, "score_units", fragile(shipped_model.score_units))
    want = list(tag_stream(shipped_model, docs, chunk=100))
    (chunk,) = list(plan_chunks(docs, chunk=100))
    got = list(ray_run.chunk_results(chunk, scorer.score(ray_run.chunk_docs(chunk))))
    assert [str(r.error) for r in got] == [str(r.error) for r in want] == [
        "None", "in:x: malformed JSON", "in:y: no paragraphs to tag", "in:1: could not be encoded (see --verbose for "
        "details)", "None"]
    assert [r.records for r in got] == [r.records for r in want]

    tagger = ray_data.Tagger(ModelFiles.read(), cache=None)  # the Ray Data worker isolates the same document
    monkeypatch.setattr(tagger.model, "score_units", fragile(tagger.model.score_units))
    rows = [row for doc, pars in ray_run.chunk_docs(chunk) for row in ray_data.paragraph_rows(doc, pars)]
    out = tagger.tag_rows(rows)
    assert [r["error"] for r in out if r["error"]] == ["two: could not be encoded (see --verbose for details)"]
    assert [(r["doc"], r["paragraph"], r["themes"]) for r in out if r["error"] is None] == [
        (rec["doc"], rec["paragraph"], rec["themes"]) for res in want for rec in res.records]
