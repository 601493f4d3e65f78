"""Bad input never sinks a batch: one clear line per bad input, every good result written, exit codes documented."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ARTICLE_TXT, run
from helpers import read_jsonl as jsonl

from classifier.cli import main

GOOD = ("Ministers agreed that the Netherlands will pay a third of the new radar chain while Denmark funds the crews, "
        "a split that settles a quarrel over who carries the cost of protecting the northern flank.")


@pytest.fixture()
def batch(tmp_path):
    """A folder with good files among every kind of broken one."""
    d = tmp_path / "batch"
    d.mkdir()
    (d / "good.txt").write_text(GOOD)
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.txt").write_text("  \n\t\n  ")
    (d / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (d / "cp1252.txt").write_bytes("Le ministre a d\xe9clar\xe9 que l\u2019alliance paiera \xe0 parts \xe9gales."
                                   .encode("cp1252"))
    (d / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    (d / "nopar.html").write_text("<html><head><script>var a = 1;</script></head><body><nav>menu</nav></body></html>")
    (d / "control.txt").write_text("The envoy\x00 arrived\x07 in\x1b Geneva for talks on a ceasefire line today.")
    (d / "rtl_cjk.txt").write_text("وزراء الدفاع اتفقوا على تقاسم تكاليف الدفاع الجوي.\n\n"
                                   "各国同意分担防空系统的费用。\n\n"
                                   "ASEAN 회원국들은 남중국해 상황을 주시하고 있다.")
    (d / "short.txt").write_text("Yes.\n\nNo.")
    (d / "long.txt").write_text(" ".join([GOOD] * 60))
    os.symlink(d / "missing-target.txt", d / "broken.txt")
    os.symlink(d / "loop2.txt", d / "loop1.txt")
    os.symlink(d / "loop1.txt", d / "loop2.txt")
    (d / "docs.jsonl").write_text("\n".join([
        json.dumps({"id": "j1", "text": GOOD}),
        "{not json",
        json.dumps({"id": "j3", "body": GOOD}),
        json.dumps({"id": "j4", "text": 42}),
        json.dumps([1, 2]),
        json.dumps({"id": "j6", "text": ARTICLE_TXT}),
    ]) + "\n")
    (d / "table.csv").write_text("id,body\n1,hello\n")
    return d


def test_a_batch_with_every_kind_of_bad_input(batch, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    code, _, err = run(["tag", str(batch), "-o", str(out)], capsys)
    assert code == 1
    lines = err.splitlines()
    expect = {
        "empty.txt: empty file": True, "blank.txt: contains only whitespace": True, "binary.txt: binary file": True,
        "nopar.html: no paragraphs": True, "broken.txt: broken symbolic link": True,
        "docs.jsonl:2: malformed JSON": True, "docs.jsonl:3: no 'text' field": True,
        "docs.jsonl:4: field 'text' is int, not a string": True, "docs.jsonl:5: expected a JSON object": True,
        "table.csv:1: no column 'text'": True, "cp1252.txt: not valid UTF-8": True,
    }
    for needle in expect:
        assert any(needle in line for line in lines), f"no stderr line with {needle!r}:\n{err}"
    assert any("loop1.txt: symbolic link loop" in line or "loop2.txt: symbolic link loop" in line for line in lines)
    records = jsonl(out)
    docs = {Path(r["doc"]).name if "/" in r["doc"] else r["doc"] for r in records}
    assert docs == {"good.txt", "cp1252.txt", "bom.txt", "control.txt", "rtl_cjk.txt", "short.txt", "long.txt",
                    "j1", "j6"}
    bom = [r for r in records if r["doc"].endswith("bom.txt")][0]
    assert not bom["text"].startswith("\ufeff")
    assert [r["text"] for r in records if r["doc"].endswith("cp1252.txt")][0].startswith("Le ministre a déclaré")
    assert "\x00" not in [r for r in records if r["doc"].endswith("control.txt")][0]["text"]
    assert len([r for r in records if r["doc"].endswith("rtl_cjk.txt")]) == 3
    long = [r for r in records if r["doc"].endswith("long.txt")]
    assert len(long) == 1 and long[0]["text"].count("Ministers agreed") == 60
    summary = lines[-1]
    assert "tagged 9 documents" in summary and "skipped 3" in summary and "failed 9" in summary


def test_one_50_megabyte_line_is_refused_clearly_and_the_rest_goes_on(tmp_path, capsys):
    big = tmp_path / "big.txt"
    with big.open("w") as fh:
        fh.write("word " * 10_000_000)
    (tmp_path / "ok.txt").write_text(GOOD)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["tag", str(big), str(tmp_path / "ok.txt"), "-o", str(out)], capsys)
    assert code == 1
    assert f"{big}: file is 50,000,000 bytes, over the 20,000,000-byte limit (raise it with --max-bytes)" in err
    assert len(jsonl(out)) == 1


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text(GOOD)
    real = Path.read_bytes

    def deny(self):
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    code, _, err = run(["tag", str(path), "-o", str(tmp_path / "o.jsonl")], capsys)
    assert code == 1 and f"{path}: permission denied" in err


def test_directory_without_taggable_files_and_missing_paths(tmp_path, capsys):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "empty_dir" / "x.png").write_bytes(b"\x89PNG")
    code, _, err = run(["tag", str(tmp_path / "empty_dir"), str(tmp_path / "nope.txt"), "-q"], capsys)
    assert code == 1
    assert "empty_dir: directory has no .txt, .md, .html, .jsonl or .csv files to tag" in err
    assert "nope.txt: no such file or directory" in err


def test_usage_errors_exit_2_and_never_overwrite(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    out.write_text('{"doc": "precious"}\n')
    (tmp_path / "a.txt").write_text(GOOD)
    code, _, err = run(["tag", str(tmp_path / "a.txt"), "-o", str(out)], capsys)
    assert code == 2 and "output file exists" in err and "--force" in err
    assert out.read_text() == '{"doc": "precious"}\n'
    with pytest.raises(SystemExit) as exc:
        main(["tag"])
    assert exc.value.code == 2
    assert main(["tag", str(tmp_path / "a.txt"), "-o", str(out), "--force", "-q"]) == 0
    assert jsonl(out)[0]["doc"].endswith("a.txt")
    assert run(["tag", str(tmp_path / "a.txt"), "--model", str(tmp_path / "no-model")], capsys)[0] == 2


def test_sigkill_then_resume_completes_without_loss_or_duplicates(tmp_path):
    src = tmp_path / "many.jsonl"
    docs = [{"id": f"d{i:03d}", "text": f"Report {i}.\n\n{GOOD}\n\nEnvoys met again on day {i} to discuss a truce."}
            for i in range(160)]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "classifier.cli", "tag", str(src), "-o", str(out), "--chunk", "6", "--no-cache", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.stat().st_size > 2000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = jsonl(out)  # whole records only: every line parses
    done_before = {r["doc"] for r in partial}
    assert 0 < len(done_before) < len(docs)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = subprocess.run(cmd[:-4] + ["-q", "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    records = jsonl(out)
    keys = [(r["doc"], r["paragraph"]) for r in records]
    assert len(keys) == len(set(keys)) == 3 * len(docs)
    assert {r["doc"] for r in records} == {d["id"] for d in docs}


def test_resume_retags_a_document_whose_content_changed(tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text(GOOD)
    out = tmp_path / "o.jsonl"
    assert main(["tag", str(src), "-o", str(out), "-q"]) == 0
    assert main(["tag", str(src), "-o", str(out), "--resume", "-q"]) == 0
    assert len(jsonl(out)) == 1
    src.write_text(GOOD + "\n\nA second paragraph about envoys meeting again in Geneva for talks.")
    assert main(["tag", str(src), "-o", str(out), "--resume", "-q"]) == 0
    assert len(jsonl(out)) == 3


def test_torn_last_line_is_cut_before_resuming(tmp_path):
    from classifier.io.writers import completed_documents
    out = tmp_path / "o.jsonl"
    out.write_text('{"doc": "a", "doc_sha": "1", "paragraph": 0}\n{"doc": "b", "doc_sh')
    assert completed_documents(str(out), "jsonl") == {("a", "1")}
    assert out.read_text().endswith("}\n")
