"""Hostile inputs (issue #14, input side): each case once broke a promise; each test failed before its fix.

Bounded reading of stdin and of JSONL lines, deep nesting, unterminated CSV quotes, encodings, lone surrogates in
ids, unreadable folders, control characters in file names, and the annotate/evaluate commands' own inputs and
outputs. Real files, the real CLI in process, the shipped model.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import pytest
from helpers import ARTICLE_TXT, DATA, run

from classifier.cli import main
from classifier.io.readers import ReadOptions, read_inputs

GOOD = ("Ministers agreed that the Netherlands will pay a third of the new radar chain while Denmark funds the crews, "
        "a split that settles a quarrel over who carries the cost of protecting the northern flank.")
DEEP = "[" * 100_000 + "]" * 100_000


def records(path):
    return [json.loads(line) for line in Path(path).read_bytes().decode("utf-8").splitlines()]


def good_file(tmp_path, name="good.txt"):
    path = tmp_path / name
    path.write_text(GOOD, encoding="utf-8")
    return path


class Endless(io.RawIOBase):
    """A stream that never ends (like /dev/zero), and fails the test if more than ``budget`` bytes are pulled."""

    def __init__(self, chunk=b"word ", budget=64_000_000):
        self.chunk, self.budget, self.pulled = chunk, budget, 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = len(buf)
        self.pulled += n
        assert self.pulled <= self.budget, "read past any sane limit: stdin is not bounded"
        buf[:n] = (self.chunk * (n // len(self.chunk) + 1))[:n]
        return n


# 1. stdin within --max-bytes; devices skipped; sizes like 50M ----------------------------------------------
def test_stdin_that_never_ends_stops_at_max_bytes_with_one_line(tmp_path, capsys, monkeypatch):
    stream = Endless()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(stream)))
    good = good_file(tmp_path)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", "-", str(good), "--max-bytes", "1M", "-o", str(out)], capsys)
    assert code == 1
    assert "<stdin>: input is over the 1,048,576-byte limit (raise it with --max-bytes); not read further" in err
    assert stream.pulled < 4 * 1024 * 1024
    assert {r["doc"] for r in records(out)} == {str(good)}


def test_stdin_jsonl_line_that_never_ends_stops_with_one_line():
    stream = Endless(b"\x00")
    items = list(read_inputs(["-"], ReadOptions(max_bytes=100_000, stdin_format="jsonl"),
                             stdin=io.BufferedReader(stream)))
    assert [str(i) for i in items] == ["<stdin>:1: line is over the 100,000-byte limit (raise it with --max-bytes); "
                                       "the rest of <stdin> is not read"]
    assert stream.pulled < 1_000_000


def test_devices_among_inputs_are_skipped(tmp_path, capsys):
    good = good_file(tmp_path)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", "/dev/zero", "/dev/urandom", str(good), "-o", str(out)], capsys)
    assert code == 0
    assert "/dev/zero: not a regular file (a pipe, device or socket), skipped" in err
    assert "/dev/urandom: not a regular file (a pipe, device or socket), skipped" in err
    assert len(records(out)) == 1


def test_max_bytes_takes_sizes_like_the_cache_limit(tmp_path, capsys):
    big = tmp_path / "big.txt"
    big.write_text(GOOD * 20)  # about 4 kB
    code, _, err = run(["tag", str(big), "--max-bytes", "2k", "-q"], capsys)
    assert code == 1 and f"{big}: file is {big.stat().st_size:,} bytes, over the 2,048-byte limit" in err
    with pytest.raises(SystemExit) as exc:
        main(["tag", str(big), "--max-bytes", "lots"])
    assert exc.value.code == 2
    assert "--max-bytes: 'lots': not a size" in capsys.readouterr().err


# 2. deep nesting -----------------------------------------------------------------------------------------
def test_deeply_nested_jsonl_line_is_one_line_and_the_batch_is_written(tmp_path, capsys):
    deep = tmp_path / "d.jsonl"
    deep.write_text(json.dumps({"id": "ok", "text": GOOD}) + "\n" + DEEP + "\n")
    good = good_file(tmp_path, "a.md")
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(good), str(deep), "-o", str(out)], capsys)
    assert code == 1
    assert f"{deep}:2: JSON nested too deeply to read" in err.splitlines()
    assert "Traceback" not in err
    assert {r["doc"] for r in records(out)} == {str(good), "ok"}


def test_annotate_import_of_deep_json(tmp_path, capsys):
    ls = tmp_path / "deep.json"
    ls.write_text(DEEP)
    code, out, err = run(["annotate", "import", str(ls)], capsys)
    assert code == 2 and err == f"policytag: {ls}: JSON nested too deeply to be an export\n" and out == ""
    doccano = tmp_path / "deep.jsonl"
    doccano.write_text(json.dumps({"text": GOOD, "label": ["burden_sharing"]}) + "\n" + DEEP + "\n")
    code, out, err = run(["annotate", "import", str(doccano)], capsys)
    assert code == 1 and f"{doccano}:2: JSON nested too deeply to read" in err.splitlines()
    assert [r["labels"] for r in map(json.loads, out.splitlines())] == [["burden_sharing"]]


def test_deeply_nested_codebook_is_a_codebook_error(tmp_path, capsys):
    book = tmp_path / "deep.yaml"
    book.write_text("themes: " + "[" * 5000 + "]" * 5000 + "\n")
    export = tmp_path / "x.jsonl"
    export.write_text(json.dumps({"text": GOOD, "label": []}) + "\n")
    code, _, err = run(["annotate", "import", str(export), "--codebook", str(book)], capsys)
    assert code == 2 and err == f"policytag: {book}: nested too deeply to be a codebook\n"


# 4. CSV quote left open ----------------------------------------------------------------------------------
def test_csv_unterminated_quote_fails_that_row_not_merged(tmp_path, capsys):
    table = tmp_path / "q.csv"
    table.write_text(f'id,text\nq0,"{GOOD}"\nq1,"x\nq2,y.\n')
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(table), "-o", str(out)], capsys)
    assert code == 1
    assert any(line.startswith(f"{table}:3: unterminated quote") for line in err.splitlines()), err
    assert [r["doc"] for r in records(out)] == ["q0"]


def test_csv_quoted_newlines_closed_in_time_are_still_one_field(tmp_path):
    table = tmp_path / "ok.csv"
    table.write_text(f'id,text\nm1,"{GOOD}\n\nSecond paragraph."\nm2,"last ""row""\nends here"\n')
    items = list(read_inputs([str(table)]))
    assert [(i.id, i.source) for i in items] == [("m1", f"{table}:4"), ("m2", f"{table}:6")]
    assert items[1].text == 'last "row"\nends here'


# 5. encodings ---------------------------------------------------------------------------------------------
def test_non_utf8_jsonl_and_csv_get_the_note_once(tmp_path, capsys):
    text = "Le ministre a d\xe9clar\xe9 que l\u2019alliance paiera \xe0 parts \xe9gales pour la d\xe9fense."
    lines = [json.dumps({"id": f"j{i}", "text": text}, ensure_ascii=False) for i in range(3)]
    jl = tmp_path / "fr.jsonl"
    jl.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    table = tmp_path / "fr.csv"
    table.write_bytes(f"id,text\nc1,{text}\nc2,{text}\n".encode("cp1252"))
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(jl), str(table), "-o", str(out)], capsys)
    assert code == 0
    notes = [line for line in err.splitlines() if "decoded as cp1252" in line]
    assert len(notes) == 2, err
    assert notes[0].startswith(f"{jl}:1: line 1 is not valid UTF-8 (byte ")
    assert notes[1].startswith(f"{table}:2: the file is not valid UTF-8 (byte ")
    assert {r["text"] for r in records(out)} == {text}


def test_bom_then_bad_bytes_gets_the_note(tmp_path, capsys):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "Le caf\xe9 de la d\xe9fense est ferm\xe9 ce soir.".encode("cp1252"))
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(path), "-o", str(out)], capsys)
    assert code == 0 and f"{path}: not valid UTF-8" in err and "decoded as cp1252" in err
    assert records(out)[0]["text"] == "Le café de la défense est fermé ce soir."


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_utf32_with_bom_is_utf32(tmp_path, capsys, codec):
    path = tmp_path / "u32.txt"
    data = GOOD.encode(codec)
    path.write_bytes(data if codec == "utf-32" else b"\x00\x00\xfe\xff" + data)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(path), "-o", str(out)], capsys)
    assert code == 0, err
    assert records(out)[0]["text"] == GOOD


# 6. lone surrogates in ids ---------------------------------------------------------------------------------
def test_lone_surrogate_id_is_valid_utf8_and_resumes(tmp_path, capsys):
    docs = tmp_path / "s.jsonl"
    docs.write_text('{"id": "a\\ud800", "text": "' + GOOD + '"}\n{"id": "plain", "text": "' + GOOD + '"}\n')
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(docs), "-o", str(out)], capsys)
    assert code == 0, err
    written = out.read_bytes()
    assert [r["doc"] for r in records(out)] == ["a\\ud800", "plain"]  # decodes as strict UTF-8
    code, _, err = run(["tag", str(docs), "-o", str(out), "--resume"], capsys)
    assert code == 0 and "tagged 0 documents" in err and "2 already done" in err
    assert out.read_bytes() == written


# 7. unreadable folder ---------------------------------------------------------------------------------------
def test_unreadable_folder_is_a_failed_input(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    good_file(locked)
    os.chmod(locked, 0)
    try:
        if os.geteuid() == 0 or os.access(locked, os.R_OK):
            pytest.skip("running as root: chmod 000 does not lock a folder (see the next test)")
        code, _, err = run(["tag", str(locked), "-q"], capsys)
    finally:
        os.chmod(locked, 0o755)
    assert code == 1 and err == f"{locked}: folder cannot be listed: permission denied\n"


def test_unlistable_folder_and_subfolder_fail_with_one_line_each(tmp_path, capsys, monkeypatch):
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    good_file(top)
    good_file(top / "sub")
    locked = tmp_path / "locked"
    locked.mkdir()
    good_file(locked)
    real = os.scandir

    def deny(path="."):
        if Path(path).name in ("sub", "locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", deny)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(top), str(locked), "-o", str(out)], capsys)
    assert code == 1
    lines = err.splitlines()
    assert f"{top / 'sub'}: folder cannot be listed: permission denied" in lines
    assert f"{locked}: folder cannot be listed: permission denied" in lines
    assert "has no" not in err
    assert [r["doc"] for r in records(out)] == [str(top / "good.txt")]


# 15. control characters in file names -------------------------------------------------------------------
def test_file_name_with_newline_cannot_split_or_forge_lines(tmp_path, capsys):
    forged = "policytag: tagged 99 documents (99 paragraphs), skipped 0, failed 0"
    evil = tmp_path / f"evil\n{forged}\n.txt"
    evil.write_bytes(b"")
    esc = tmp_path / "esc\x1b[31mred.jsonl"
    esc.write_text("{broken\n")
    good = good_file(tmp_path)
    code, _, err = run(["tag", str(evil), str(esc), str(good), "-o", str(tmp_path / "o.jsonl")], capsys)
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert forged not in lines and "\x1b" not in err
    assert f"{tmp_path}/evil\\n{forged}\\n.txt: empty file, nothing to tag" in lines
    assert lines[1].startswith(f"{tmp_path}/esc\\x1b[31mred.jsonl:1: malformed JSON")
    assert lines[2].startswith("policytag: tagged 1 document")


# 16. annotate and evaluate -------------------------------------------------------------------------------------
def test_annotate_import_with_mixed_annotation_ids(tmp_path, capsys):
    export = tmp_path / "ls.json"
    export.write_text(json.dumps([
        {"id": 1, "data": {"text": GOOD}, "annotations": [
            {"id": 7, "result": [{"type": "choices", "from_name": "themes", "value": {"choices": ["deterrence"]}}]},
            {"id": "x8", "result": [{"type": "choices", "from_name": "themes",
                                     "value": {"choices": ["burden_sharing"]}}]}]},
        {"id": "t2", "data": {"text": ARTICLE_TXT}, "annotations": [{"id": 3, "result": []}]},
    ]))
    code, out, err = run(["annotate", "import", str(export)], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["labels"] for r in rows] == [["burden_sharing"], []]


@pytest.mark.parametrize("name", ["bad.json", "bad.jsonl"])
def test_annotate_import_of_non_utf8_export(tmp_path, capsys, name):
    export = tmp_path / name
    export.write_bytes('{"text": "caf\xe9 cr\xe8me", "label": []}\n'.encode("cp1252"))
    code, out, err = run(["annotate", "import", str(export)], capsys)
    assert code == 2 and out == ""
    assert err == f"policytag: {export}: not UTF-8 (byte 13); annotation tools export UTF-8, so export it again\n"


def test_annotate_export_config_is_not_overwritten_without_force(tmp_path, capsys):
    cfg = tmp_path / "cfg.xml"
    cfg.write_text("<View>mine</View>")
    tasks = tmp_path / "tasks.json"
    args = ["annotate", "export", str(DATA / "mini.csv"), "-o", str(tasks), "--config", str(cfg), "-q"]
    code, _, err = run(args, capsys)
    assert code == 2 and err == f"policytag: {cfg}: output file exists; pass --force to overwrite it\n"
    assert cfg.read_text() == "<View>mine</View>" and not tasks.exists()
    code, _, err = run([*args, "--force"], capsys)
    assert code == 0, err
    assert "<Choices" in cfg.read_text() and len(json.loads(tasks.read_text())) == 24


def test_evaluate_refuses_to_overwrite_its_outputs_before_any_work(tmp_path, capsys):
    for opt in ("--json", "--html"):  # --markdown updates its document in place (test_evaluation_cli)
        path = tmp_path / f"report{opt.strip('-')}"
        path.write_text("earlier results")
        code, out, err = run(["evaluate", "--data", str(DATA / "mini.csv"), "--label-column", "label",
                              "--single-label", opt, str(path)], capsys)
        assert code == 2 and out == ""
        assert err == f"policytag: {path}: output file exists; pass --force to overwrite it\n"
        assert path.read_text() == "earlier results"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("deep.jsonl", ('{"text": ' + DEEP + "}\n").encode(), "deep.jsonl:1: JSON nested too deeply to read"),
    ("latin.csv", "text,labels\ncaf\xe9,deterrence\n".encode("cp1252"), "latin.csv: not UTF-8 (byte "),
    ("open.csv", b'text,labels\n"x,deterrence\n', "open.csv:2: unterminated quote: the quoted field opened on "
                                                  "this line runs to the end of the file"),
    ("merged.csv", b'text,labels\n"x\nq2,deterrence\nq3,"more,deterrence\nok,deterrence\n',
     "merged.csv:2: malformed CSV (',' expected after '\"'"),  # r1: rows 2-4 were one silently merged text
])
def test_training_data_that_cannot_be_read_is_one_line_exit_2(tmp_path, capsys, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = run(["train", "--data", str(path), "--out", str(tmp_path / "model")], capsys)
    assert code == 2 and err.startswith(f"policytag: {tmp_path}/{message}") and err.count("\n") == 1, err


# r1: nastier variants of the cases above, found on the merged code ------------------------------------------
def test_csv_quote_closed_by_a_later_row_is_an_error_not_rows_merged(tmp_path, capsys):
    """A quote left open whose closing quote sits inside a later row (``"more``): the lenient reader merged the
    rows between into one field; the row that opened it fails with one line instead (case 4)."""
    table = tmp_path / "q.csv"
    table.write_text(f'id,text\nq0,"{GOOD}"\nq1,"x\nq2,y.\nq3,"more\n')
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(table), "-o", str(out)], capsys)
    assert code == 1, err
    assert any(line.startswith(f"{table}:3: malformed CSV") for line in err.splitlines()), err
    assert [r["doc"] for r in records(out)] == ["q0"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-16-be"])
def test_jsonl_with_a_utf16_or_utf32_bom_is_read_in_that_encoding(tmp_path, capsys, codec):
    """The README honours UTF-16 and UTF-32 marks for every reader: a JSONL feed saved as UTF-16 (Windows tools
    do) was split on b"\\n" and failed as binary (case 5)."""
    feed = tmp_path / "u.jsonl"
    body = "".join(json.dumps({"id": f"u{i}", "text": GOOD}) + "\n" for i in range(2))
    feed.write_bytes(b"\xfe\xff" + body.encode(codec) if codec == "utf-16-be" else body.encode(codec))
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(feed), "-o", str(out)], capsys)
    assert code == 0, err
    assert [(r["doc"], r["text"]) for r in records(out)] == [("u0", GOOD), ("u1", GOOD)]


def test_lone_surrogate_in_metadata_keeps_every_output_valid_utf8(tmp_path, capsys):
    """A lone surrogate in a feed's title or outlet column (not only its id) is written as ``\\ud800`` in the
    records, the summary and the page, which all stay valid UTF-8 (case 6 with metadata columns)."""
    feed = tmp_path / "s.jsonl"
    feed.write_text(json.dumps({"id": "s1", "text": GOOD, "title": "T \ud800 x", "outlet": "\udc00 Post"}) + "\n")
    out, summary, md, page = (tmp_path / n for n in ("o.jsonl", "s.csv", "s.md", "v.html"))
    code, _, err = run(["tag", str(feed), "-o", str(out), "--summary", str(summary), "--summary-by", "outlet",
                        "--html", str(page)], capsys)
    assert code == 0, err
    code, _, err = run(["tag", str(feed), "-o", str(tmp_path / "o2.jsonl"), "--summary", str(md)], capsys)
    assert code == 0, err
    for path in (out, summary, md, page):
        path.read_bytes().decode("utf-8")  # strict: raises on an encoded lone surrogate
    assert records(out)[0]["meta"]["title"] == "T \\ud800 x"
    assert "\\udc00 Post" in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize("flag", ["-o", "--model", "--html"])
def test_paths_in_usage_errors_are_escaped_too(tmp_path, capsys, flag):
    """Control characters are escaped in every path printed, usage errors included (case 15): a missing folder
    or model named with a newline was printed raw, splitting the line."""
    target = str(tmp_path / "no\npolicytag: forged" / "o.jsonl")
    code, _, err = run(["tag", str(good_file(tmp_path)), flag, target, "-q"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "no\\npolicytag: forged" in err, err


EVALUATE = ["evaluate", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label"]


def test_evaluate_output_in_a_missing_folder_is_a_usage_error_before_any_work(tmp_path, capsys):
    """Cases 12 and 16 for evaluate: an output in a folder that does not exist was a FileNotFoundError traceback
    (exit 1) after the whole evaluation."""
    target = tmp_path / "nope" / "r.json"
    code, out, err = run([*EVALUATE, "--json", str(target)], capsys)
    assert code == 2 and out == ""
    assert err == f"policytag: {target}: the folder {target.parent} does not exist; create it or choose another " \
                  "path\n"


@pytest.mark.parametrize(("argv", "roles"), [
    (["--json", "{p}", "--html", "{p}"], "--json and --html"),
    (["--markdown", "{p}", "--json", "{p}"], "--json and --markdown"),
])
def test_evaluate_one_file_for_two_outputs_is_a_usage_error(tmp_path, capsys, argv, roles):
    """Case 10 for evaluate: --json and --html on one file both wrote it (the page replaced the metrics), exit 0."""
    path = tmp_path / "r.out"
    code, out, err = run([*EVALUATE, *(a.format(p=path) for a in argv), "--force"], capsys)
    assert code == 2 and out == "" and not path.exists()
    assert err == f"policytag: {path}: given as both {roles}; give each output its own file\n"


def test_annotate_export_one_file_for_tasks_and_config_is_a_usage_error(tmp_path, capsys):
    """Case 10 for annotate export: -o and --config on one file wrote the config over the tasks, exit 0."""
    path = tmp_path / "t.json"
    code, _, err = run(["annotate", "export", str(DATA / "mini.csv"), "-o", str(path), "--config", str(path),
                        "--force", "-q"], capsys)
    assert code == 2 and not path.exists()
    assert err == f"policytag: {path}: given as both -o and --config; give each output its own file\n"


@pytest.mark.parametrize("line", ["_a " * 20_000, "`a " * 20_000, "![ " * 20_000, "[" * 40_000 + "]" * 40_000,
                                  "# " + "#" * 60_000 + " x", "[a](" * 20_000])
def test_markdown_lines_built_to_backtrack_are_read_in_linear_time(tmp_path, line):
    """Case 1 for Markdown: unclosed emphasis, brackets or closing hashes made the segmenter's patterns
    backtrack over the whole line from every position (20-50 s for 60 kB, hours for a few MB under --max-bytes),
    so one such file hung the batch."""
    from classifier.io.segment import split_markdown
    start = time.perf_counter()
    paragraphs = split_markdown(f"{line}\n\n{GOOD}\n")
    assert time.perf_counter() - start < 2.0
    assert paragraphs[-1].text == GOOD


def test_deeply_nested_front_matter_is_read_as_text_not_a_failed_document(tmp_path, capsys):
    """Case 2 for Markdown front matter: YAML nested a few thousand deep raised RecursionError, so the article
    failed ("cannot split into paragraphs"); it is not metadata, so the article is tagged without it."""
    page = tmp_path / "deep.md"
    page.write_text("---\ntitle: " + "[" * 3000 + "]" * 3000 + f"\n---\n{GOOD}\n")
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(page), "-o", str(out)], capsys)
    assert code == 0, err
    assert records(out)[-1]["text"] == GOOD
