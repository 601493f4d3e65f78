"""Fuzzing every reader with hostile bytes (issue #14): random bytes, random nesting and random encodings go to
the file readers (txt, md, html, jsonl, csv), stdin, ``annotate import`` and the codebook loader.

Promises checked: no exception but our own (no traceback), one single-line message per bad input or line, the
good input's records still written, exit codes as documented (0, 1, 2), memory bounded. Most examples go to the
library reading functions (fast, memory measured with tracemalloc); a few run ``policytag tag`` end to end in
process with the shipped model. Deterministic: hypothesis runs derandomized.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import resource
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from classifier.annotate.roundtrip import read_annotations
from classifier.cli import main
from classifier.codebook import Codebook, load_codebook
from classifier.errors import CodebookError, InputError, PolicytagError, printable
from classifier.io.readers import Document, ReadOptions, read_inputs

GOOD = ("Ministers agreed that the Netherlands will pay a third of the new radar chain while Denmark funds the crews, "
        "a split that settles a quarrel over who carries the cost of protecting the northern flank.")
SUFFIXES = (".txt", ".md", ".html", ".jsonl", ".csv")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "cp1252", "latin-1",
             "shift_jis", "koi8-r")
BOMS = (b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
LIMITS = (300, 4096, 20_000_000)  # bytes; all above the good file's size
# No shrinking phase: a failure shows the example as generated, and the time a run takes stays bounded.
FAST = settings(derandomize=True, deadline=None, max_examples=200, phases=(Phase.explicit, Phase.generate),
                suppress_health_check=list(HealthCheck))
SLOW = settings(FAST, max_examples=10)


def nested(depth: int, kind: str, closed: bool) -> str:
    """JSON-, YAML- or HTML-like nesting ``depth`` deep, closed or left open."""
    opener, closer = {"list": ("[", "]"), "object": ('{"a":', "}"), "html": ("<div>", "</div>"),
                      "mixed": ('[{"text":', "}]")}[kind]
    return opener * depth + ("1" + closer * depth if closed else "")


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
recordish = st.one_of(
    st.builds(lambda t, i: json.dumps({"id": i, "text": t}, ensure_ascii=False),
              texts, st.one_of(st.none(), st.integers(), st.text(max_size=8))),
    st.builds(lambda s: '{"id": "a\\' + s + '", "text": "x\\' + s + ' y"}',  # a lone surrogate by JSON escape
              st.sampled_from(("ud800", "udfff", "udc80"))))
csvish = st.builds(lambda rows: "id,text\n" + "\n".join(rows) + "\n",
                   st.lists(st.text(st.sampled_from('ab ,"\n\r\x00é'), max_size=12), max_size=8))


@st.composite
def hostile_bytes(draw, depths=(1, 10, 999, 1001, 5000, 100_000)) -> bytes:
    """Bytes a reader may meet: noise, deep or unbalanced nesting, plausible text in an unexpected encoding,
    a byte-order mark in front of anything, a truncated tail."""
    kind = draw(st.sampled_from(("noise", "nesting", "encoded", "records")))
    if kind == "noise":
        data = draw(st.binary(max_size=2000))
    elif kind == "nesting":
        depth = draw(st.sampled_from(depths))
        text = nested(depth, draw(st.sampled_from(("list", "object", "html", "mixed"))), draw(st.booleans()))
        data = text.encode("utf-8")
    else:
        text = draw(texts) if kind == "encoded" else "\n".join(draw(st.lists(st.one_of(recordish, csvish),
                                                                            max_size=5)))
        data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    data = draw(st.sampled_from(BOMS)) + data
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return data


def _check_item(item: object, bad: str) -> None:
    if isinstance(item, Document):
        item.id.encode("utf-8")  # strict: ids and texts are valid UTF-8 whatever came in
        item.text.encode("utf-8")
        assert "\n" not in item.source and "\r" not in item.source
        return
    assert isinstance(item, InputError), f"not a document or an input error: {item!r}"
    line = str(item)
    assert "\n" not in line and "\r" not in line, line
    assert line.startswith(printable(bad)), line


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory(prefix="policytag-fuzz-") as d:
        root = Path(d)
        (root / "good.txt").write_text(GOOD, encoding="utf-8")
        yield root


DEEP = ("[" * 100_000 + "]" * 100_000 + "\n").encode()


@FAST
@given(data=hostile_bytes(), suffix=st.sampled_from(SUFFIXES), limit=st.sampled_from(LIMITS))
@example(data=DEEP, suffix=".jsonl", limit=20_000_000)
@example(data=b'{"id": "\\ud800", "text": "x\\udfff"}\n', suffix=".jsonl", limit=4096)
def test_file_readers_never_raise_and_stay_small(folder, data, suffix, limit):
    bad = folder / f"bad{suffix}"
    bad.write_bytes(data)
    tracemalloc.start()
    try:
        items = list(read_inputs([str(bad), str(folder / "good.txt")], ReadOptions(max_bytes=limit)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000 + 40 * len(data), f"{peak:,} bytes traced for a {len(data):,}-byte input"
    good = [i for i in items if isinstance(i, Document) and i.source == str(folder / "good.txt")]
    assert len(good) == 1 and good[0].text == GOOD
    for item in items[:-1]:
        _check_item(item, str(bad))


@FAST
@given(data=hostile_bytes(), fmt=st.sampled_from(("text", "markdown", "html", "jsonl")),
       limit=st.sampled_from(LIMITS))
def test_stdin_reader_never_raises_and_reads_at_most_the_limit(data, fmt, limit):
    stream = io.BytesIO(data + b"\x00" * 200_000)  # more than any limit here: reading must stop at it
    items = list(read_inputs(["-"], ReadOptions(max_bytes=limit, stdin_format=fmt), stdin=stream))
    assert items
    for item in items:
        _check_item(item, "<stdin>")
    if fmt != "jsonl":
        assert stream.tell() <= limit + 1


@FAST
@given(data=hostile_bytes(), tool=st.sampled_from(("label-studio", "doccano")))
@example(data=DEEP, tool="label-studio")
@example(data=DEEP, tool="doccano")
def test_annotation_import_reads_or_refuses_in_one_line(folder, data, tool):
    export = folder / ("export.json" if tool == "label-studio" else "export.jsonl")
    export.write_bytes(data)
    try:
        got = read_annotations(export, load_codebook(), tool)
    except PolicytagError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(export))
        return
    for line in got.problems:
        assert "\n" not in line and line.startswith(str(export))


@settings(FAST, max_examples=40)
@given(data=st.one_of(hostile_bytes(depths=(1, 10, 300)),  # PyYAML takes seconds on deep nesting: that case is
                      st.builds(lambda d, k, c: ("themes: " + nested(d, k, c)).encode(),  # in test_hostile_inputs
                                st.sampled_from((10, 300)),
                                st.sampled_from(("list", "object")), st.booleans())))
def test_codebook_loader_reads_or_raises_codebook_error(folder, data):
    book = folder / "book.yaml"
    book.write_bytes(data)
    try:
        got = load_codebook(book)
    except CodebookError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(book))
        return
    assert isinstance(got, Codebook) and len(got) > 0


def _cli(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    """``policytag ARGS`` in process: exit code, stdout, stderr. Nothing is caught here, so a traceback fails."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


COUNTS = re.compile(r"^policytag: tagged (\d+) documents? \(\d+ paragraphs?\), skipped (\d+), failed (\d+)$")


@pytest.fixture(scope="module")
def warm(folder):
    """One run first, so the model is loaded (and the memory high-water mark set) before the measured runs."""
    assert _cli(["tag", str(folder / "good.txt"), "-o", str(folder / "warm.jsonl"), "--force", "-q"])[0] == 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@SLOW
@given(data=hostile_bytes(), suffix=st.sampled_from((*SUFFIXES, "-")))
@example(data=DEEP, suffix=".jsonl")
@example(data=b'{"id": "\\ud800", "text": "x\\udfff"}\n', suffix=".jsonl")
def test_tag_end_to_end_one_line_per_bad_input_and_the_good_one_written(folder, warm, data, suffix):
    good, out = folder / "good.txt", folder / "out.jsonl"
    bad = "-" if suffix == "-" else str(folder / f"bad{suffix}")
    if bad != "-":
        Path(bad).write_bytes(data)
    code, stdout, err = _cli(["tag", bad, str(good), "-o", str(out), "--force", "--max-bytes", "100k"],
                             stdin=data if bad == "-" else None)
    assert "Traceback" not in err and stdout == ""
    lines = err.splitlines()
    counts = COUNTS.match(lines[-1])
    assert counts, err
    tagged, skipped, failed = map(int, counts.groups())
    name = "<stdin>" if bad == "-" else printable(bad)
    about_bad = [line for line in lines[:-1] if line.startswith(name)]
    assert about_bad == lines[:-1], err  # every message names the bad input, one line each
    notes = [line for line in about_bad if "; decoded as " in line]
    assert len(about_bad) - len(notes) == skipped + failed
    assert code == (1 if failed else 0)
    docs = [json.loads(line)["doc"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert str(good) in docs and tagged >= 1
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - warm
    assert grown < 1_000_000, f"peak memory grew by {grown:,} kB"  # ru_maxrss is in kB on Linux


@SLOW
@given(data=hostile_bytes(), tool=st.sampled_from(("label-studio", "doccano")))
def test_annotate_import_end_to_end_exit_codes(folder, data, tool):
    export = folder / ("cli-export.json" if tool == "label-studio" else "cli-export.jsonl")
    export.write_bytes(data)
    code, stdout, err = _cli(["annotate", "import", str(export), "-o", str(folder / "rows.jsonl"), "--force"])
    assert "Traceback" not in err and stdout == ""
    lines = err.splitlines()
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith(f"policytag: {export}")
        return
    summary = re.match(r"^policytag: imported \d+ labeled paragraphs, \d+ without annotation, (\d+) problem",
                       lines[-1])
    assert summary, err
    assert len(lines) - 1 == int(summary.group(1)) and code == (1 if lines[:-1] else 0)
