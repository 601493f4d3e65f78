"""Outputs that never eat themselves (issue #14, cases 3 and 8-13): the run's own files are never read as input,
a failed write leaves whole documents, two runs never share an output, and every output path or impossible number
is a usage error (exit 2, one line) before any work."""
import fcntl
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import ARTICLE_MD, ARTICLE_TXT, ROOT, run
from helpers import read_jsonl as jsonl

from classifier.cli import main

NEWS = ("Envoys met in Geneva for a third round of talks on a ceasefire line, trading drafts of a map that would "
        "freeze the front and open a corridor for prisoner exchanges.")
COST = ("Ministers agreed that the Netherlands will pay a third of the new radar chain while Denmark funds the "
        "crews, a split that settles a quarrel over who carries the cost of protecting the northern flank.")


def cli(*args):
    return [sys.executable, "-m", "classifier.cli", "tag", *map(str, args)]


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text(ARTICLE_TXT)
    (d / "b.md").write_text(ARTICLE_MD)
    return d


# 3. the run's outputs are never its inputs

def test_outputs_inside_the_input_folder_are_never_read_as_inputs(folder, capsys):
    out, summary, page = folder / "zz.jsonl", folder / "s.jsonl", folder / "v.html"
    code, _, err = run(["tag", str(folder), "-o", str(out), "--summary", str(summary), "--html", str(page),
                        "--chunk", "1"], capsys)
    assert code == 0, err
    assert {r["doc"] for r in jsonl(out)} == {str(folder / "a.txt"), str(folder / "b.md")}
    assert "tagged 2 documents" in err and "skipped 0, failed 0" in err
    before = out.read_bytes()
    # again, resuming, with the output also named explicitly (as a shell glob like in/* would): one line, no growth
    code, _, err = run(["tag", str(folder), str(out), "-o", str(out), "--summary", str(summary), "--html", str(page),
                        "--resume", "--chunk", "1"], capsys)
    assert code == 0, err
    assert f"{out}: is an output of this run" in err and err.count("is an output of this run") == 1
    assert "tagged 0 documents" in err and "2 already done" in err
    assert out.read_bytes() == before
    assert len(jsonl(summary)) == 2


def test_an_output_reached_through_a_link_is_still_the_output(folder, capsys):
    out = folder / "zz.jsonl"
    assert main(["tag", str(folder / "a.txt"), "-o", str(out), "-q"]) == 0
    os.symlink(out, folder / "alias.jsonl")
    code, _, err = run(["tag", str(folder), "-o", str(out), "--resume"], capsys)
    assert code == 0, err
    docs = [r["doc"] for r in jsonl(out)]
    assert sorted(set(docs)) == [str(folder / "a.txt"), str(folder / "b.md")] and len(docs) == 4


def test_stdin_redirected_from_the_output_is_not_read(folder, tmp_path):
    out = tmp_path / "o.jsonl"
    assert main(["tag", str(folder / "a.txt"), "-o", str(out), "-q"]) == 0
    before = out.read_bytes()
    with open(out, "rb") as stdin:
        done = subprocess.run(cli("-", "-o", out, "--resume", "--stdin-format", "jsonl"), stdin=stdin,
                              capture_output=True, text=True, timeout=120, cwd=ROOT, env=env())
    assert done.returncode == 0, done.stderr
    assert "<stdin>: is an output of this run" in done.stderr and "skipped 1" in done.stderr
    assert out.read_bytes() == before


# 8. a failed write (disk full, file too large) leaves whole documents; --resume completes them

def _small_files(limit):
    def limit_writes():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_writes


def test_a_failed_write_cuts_back_to_whole_documents_and_resume_completes_it(tmp_path):
    src = tmp_path / "docs.jsonl"
    docs = [{"id": f"d{i:02d}", "text": f"Report {i}.\n\n{NEWS}\n\n{COST} Day {i}."} for i in range(12)]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out, summary, whole = tmp_path / "o.jsonl", tmp_path / "s.jsonl", tmp_path / "whole.jsonl"
    limit = 9000
    args = cli(src, "-o", out, "--summary", summary, "--no-cache", "--chunk", "4")
    full = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env(),
                          preexec_fn=_small_files(limit))
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    lines = [line for line in full.stderr.splitlines() if "could not write" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{out}: could not write (File too large)")
    assert "--resume" in lines[0]
    records = jsonl(out)  # every line parses: no torn record
    written = {r["doc"] for r in records}
    assert 0 < len(written) < len(docs) and out.stat().st_size <= limit
    assert all(sum(r["doc"] == d for r in records) == 3 for d in written)  # whole documents only
    assert [s["doc"] for s in jsonl(summary)] == sorted(written)  # the summary holds the same documents
    resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env())
    assert resumed.returncode == 0, resumed.stderr
    once = subprocess.run(cli(src, "-o", whole, "--no-cache", "-q"), capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env())
    assert once.returncode == 0, once.stderr
    assert out.read_bytes() == whole.read_bytes()  # nothing lost, nothing twice
    assert len(jsonl(summary)) == len(docs)


# 9. two runs never write the same output

def test_a_second_run_on_the_same_output_refuses_before_any_work(folder, tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    # the first run encodes (no cache), so it is busy for seconds
    first = subprocess.Popen(cli(folder, "-o", out, "-q", "--no-cache"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env())
    try:
        deadline = time.time() + 120
        while not out.exists() and time.time() < deadline and first.poll() is None:
            time.sleep(0.02)
        assert first.poll() is None, "the first run ended before the second started"
        code, _, err = run(["tag", str(folder / "a.txt"), "-o", str(out), "--force"], capsys)
        assert code == 2 and err.strip() == f"policytag: {out}: in use by another policytag run"  # and nothing else
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
    assert {r["doc"] for r in jsonl(out)} == {str(folder / "a.txt"), str(folder / "b.md")}


def test_a_lock_held_on_the_summary_is_respected_too(folder, tmp_path, capsys):
    summary = tmp_path / "s.md"
    with open(summary, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = run(["tag", str(folder), "-o", str(tmp_path / "o.jsonl"), "--summary", str(summary)], capsys)
    assert code == 2 and f"{summary}: in use by another policytag run" in err
    assert not (tmp_path / "o.jsonl").exists()  # the record file it made for itself is gone again


# 10. one file for two outputs

@pytest.mark.parametrize("flag", ["--html", "--summary"])
def test_one_file_for_two_outputs_is_a_usage_error(folder, tmp_path, capsys, flag):
    out = tmp_path / "o.jsonl"
    os.symlink(out, tmp_path / "alias.jsonl")
    for other in (out, tmp_path / "alias.jsonl", tmp_path / "." / "o.jsonl"):
        code, _, err = run(["tag", str(folder), "-o", str(out), flag, str(other)], capsys)
        assert code == 2 and f"given as both -o and {flag}" in err and len(err.splitlines()) == 1
        assert not out.exists()
    out.write_text('{"doc": "precious"}\n')
    code, _, err = run(["tag", str(folder), "-o", str(out), flag, str(tmp_path / "alias.jsonl"), "--force"], capsys)
    assert code == 2 and out.read_text() == '{"doc": "precious"}\n'


# 11. --resume and the HTML page, --resume and the pretty report

def test_resume_rebuilds_the_page_from_every_record_old_and_new(folder, tmp_path, capsys):
    out, page = tmp_path / "o.jsonl", tmp_path / "v.html"
    (tmp_path / "once").mkdir()
    assert main(["tag", str(folder), "-o", str(tmp_path / "once" / "o.jsonl"), "--html",
                 str(tmp_path / "once" / "v.html"), "-q"]) == 0
    assert main(["tag", str(folder / "a.txt"), "-o", str(out), "--html", str(page), "-q"]) == 0
    assert page.read_text().count('<article class="doc"') == 1
    code, _, err = run(["tag", str(folder), "-o", str(out), "--html", str(page), "--resume"], capsys)
    assert code == 0, err
    assert page.read_text().count('<article class="doc"') == 2
    assert page.read_text() == (tmp_path / "once" / "v.html").read_text()  # as if never interrupted


@pytest.mark.parametrize("fmt", ["csv"])
def test_resume_rebuilds_the_page_from_csv_records_too(folder, tmp_path, capsys, fmt):
    out, page = tmp_path / "o.csv", tmp_path / "v.html"
    assert main(["tag", str(folder / "b.md"), "-o", str(out), "--html", str(page), "-q"]) == 0
    assert main(["tag", str(folder), "-o", str(out), "--html", str(page), "--resume", "-q"]) == 0
    text = page.read_text()
    assert text.count('<article class="doc"') == 2 and "Talks in Geneva" in text and "Eastern Air Defence" in text


def test_resume_refuses_a_pretty_report(folder, tmp_path, capsys):
    out = tmp_path / "o.txt"
    assert main(["tag", str(folder / "a.txt"), "-o", str(out), "--format", "pretty", "-q"]) == 0
    before = out.read_text()
    code, _, err = run(["tag", str(folder), "-o", str(out), "--format", "pretty", "--resume"], capsys)
    assert code == 2 and "--resume needs --format jsonl or csv" in err and len(err.splitlines()) == 1
    assert out.read_text() == before


# 12. every output path is checked before any work

# root writes anywhere, so as root the run drops to nobody once the modules it needs are loaded (the interpreter
# lives under /root, which nobody may not read); as anyone else it runs as is
AS_NOBODY = """import os, sys
import classifier, classifier.cli.tag, classifier.engines.run, classifier.io.readers, classifier.io.writers
import classifier.decision, classifier.io.meta, classifier.cli.config, tomllib  # stdlib is out of reach after
classifier.cli.build_parser().parse_args(["tag", *sys.argv[1:]])  # loads what parsing needs (gettext, locale)
if os.geteuid() == 0:
    os.setegid(65534)
    os.seteuid(65534)
from classifier.cli import main
sys.exit(main(["tag", *sys.argv[1:]]))
"""


def test_an_output_that_cannot_be_written_is_a_usage_error_before_any_work():
    base = Path(tempfile.mkdtemp(prefix="policytag-test-"))  # not under pytest's private folder: nobody reads it
    try:
        base.chmod(0o755)
        src, locked, ro_file, free = base / "a.txt", base / "locked", base / "ro.jsonl", base / "free"
        src.write_text(ARTICLE_TXT)
        free.mkdir()
        free.chmod(0o777)
        locked.mkdir()
        locked.chmod(0o555)
        ro_file.write_text("")
        ro_file.chmod(0o444)
        for flag, path, says in [("-o", locked / "o.jsonl", "permission denied"),
                                 ("--summary", locked / "s.md", "permission denied"),
                                 ("--html", ro_file, "permission denied"),
                                 ("-o", base, "is a directory"), ("--html", base, "is a directory")]:
            args = cli(src, flag, path, "--force") + (["-o", free / "x.jsonl"] if flag != "-o" else [])
            done = subprocess.run([sys.executable, "-c", AS_NOBODY, *args[4:]], capture_output=True, text=True,
                                  timeout=120, cwd=ROOT, env=env())
            assert done.returncode == 2, (flag, path, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"policytag: {path}: ") and says in lines[0], lines
            assert not (free / "x.jsonl").exists()  # no other output left behind
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)])
        subprocess.run(["rm", "-rf", str(base)])


@pytest.mark.parametrize("target", ["-", "/dev/stdout", "/dev/null"])
def test_stdout_and_devices_are_outputs_without_resume_or_lock(folder, target):
    done = subprocess.run(cli(folder / "a.txt", "-o", target, "-q", "--summary", "/dev/null"), capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env())
    assert done.returncode == 0 and done.stderr == "", done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == (0 if target == "/dev/null" else 2)


def test_resume_needs_an_output_file(folder, capsys):
    code, _, err = run(["tag", str(folder), "-o", "-", "--resume"], capsys)
    assert code == 2 and "--resume needs -o FILE" in err


# 13. impossible numbers are usage errors naming the option

@pytest.mark.parametrize("argv, says", [
    (["tag", "a.txt", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["tag", "a.txt", "--chunk", "0"], "argument --chunk: must be at least 1, got 0"),
    (["tag", "a.txt", "--max-bytes", "-5"], "argument --max-bytes: must be at least 1, got -5"),
    (["tag", "a.txt", "--engine", "ray", "--actors", "0"], "argument --actors: must be at least 1, got 0"),
    (["tag", "a.txt", "--gpus-per-actor", "-1"], "argument --gpus-per-actor: must be at least 0, got -1"),
    (["tag", "a.txt", "--chunk", "many"], "argument --chunk: expected a whole number, got 'many'"),
    (["suggest", "--pool", "p.jsonl", "-n", "0"], "argument -n: must be at least 1, got 0"),
    (["evaluate", "--folds", "1"], "argument --folds: must be at least 2, got 1"),
    (["evaluate", "--ci", "1.5"], "argument --ci: must be above 0 and at most 1, got 1.5"),
    (["evaluate", "--sizes", "100", "-3"], "argument --sizes: must be at least 1, got -3"),
    (["evaluate", "--bootstrap", "0"], "argument --bootstrap: must be at least 1, got 0"),
    (["train", "--out", "m", "--finetune-pairs", "0"], "argument --finetune-pairs: must be at least 1, got 0"),
])
def test_impossible_numbers_are_usage_errors(argv, says, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(says), err


# r1: a size past any disk was an OverflowError traceback once a JSONL line or stdin was read with it
@pytest.mark.parametrize("size", ["99999999999999999999999G", "9" * 400])
def test_a_size_too_large_for_any_disk_is_a_usage_error(size, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["tag", "-", "--input-format", "jsonl", "--max-bytes", size])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith("too large a size (at most 1000000T)")
    assert "argument --max-bytes: " in err, err
    assert "Traceback" not in err


# r1: stdout under another name is the same output as -o - (case 10): the page was written into the records
def test_stdout_under_another_name_is_one_file_for_two_outputs(folder, tmp_path):
    piped = subprocess.run(cli(folder / "a.txt", "-o", "-", "--html", "/dev/stdout"), capture_output=True,
                           text=True, timeout=300, cwd=ROOT, env=env())
    assert piped.returncode == 2 and piped.stdout == "", piped.stderr
    assert piped.stderr == "policytag: /dev/stdout: given as both -o and --html; give each output its own file\n"
    page = tmp_path / "page.html"
    with open(page, "w") as shell_redirect:  # policytag tag ... -o - --html page.html > page.html
        done = subprocess.run(cli(folder / "a.txt", "-o", "-", "--html", page), stdout=shell_redirect,
                              stderr=subprocess.PIPE, text=True, timeout=300, cwd=ROOT, env=env())
    assert done.returncode == 2, done.stderr
    assert "given as both -o and --html" in done.stderr and page.read_text() == ""


# r1: a named pipe as an output, with nobody reading it, hung the run at open (case 1 on the output side)
@pytest.mark.parametrize("flag", ["-o", "--summary", "--html"])
def test_an_output_pipe_nobody_reads_is_a_usage_error_not_a_hang(folder, tmp_path, flag):
    pipe = tmp_path / "out.fifo"
    os.mkfifo(pipe)
    extra = [] if flag == "-o" else ["-o", tmp_path / "o.jsonl"]
    done = subprocess.run(cli(folder / "a.txt", *extra, flag, pipe), capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=env())
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"policytag: {pipe}: a pipe that nothing reads; start its reader first or choose a file\n"


def test_an_output_pipe_with_a_reader_is_written(folder, tmp_path):
    pipe = tmp_path / "out.fifo"
    os.mkfifo(pipe)
    reader = subprocess.Popen(["cat", str(pipe)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # cat opens the pipe for reading first, as `policytag tag ... -o >(gzip > o.gz)` would
    done = subprocess.run(cli(folder / "a.txt", "-o", pipe, "-q"), capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env())
    out, _ = reader.communicate(timeout=60)
    assert done.returncode == 0, done.stderr
    assert len([json.loads(line) for line in out.splitlines()]) == 2


# r1: train --out naming a file was a FileExistsError traceback (exit 1) after the whole training (case 12)
@pytest.mark.parametrize("extra", [[], ["--zero-shot"]])
def test_train_out_that_is_a_file_is_a_usage_error_before_any_work(tmp_path, capsys, extra):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    code, _, err = run(["train", "--data", str(ROOT / "tests" / "data" / "mini.csv"), "--label-column", "label",
                        "--single-label", "--out", str(taken), "--force", *extra], capsys)
    assert code == 2 and taken.read_text() == "mine"
    assert err == f"policytag: {taken}: is a file, not a model folder; choose another --out\n"


# r1: -o /dev/null --resume ran a whole run that resumed nothing; -o - --resume was refused (case 12)
def test_resume_into_a_device_is_refused_like_stdout(folder, capsys):
    code, _, err = run(["tag", str(folder), "-o", os.devnull, "--resume"], capsys)
    assert code == 2 and err == "policytag: --resume needs -o FILE\n", err
