"""The first hour with policytag: what a new user runs before anything else works or says why not."""
import argparse
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from classifier.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_real_article_check_without_the_team_material_says_so_in_one_line_and_exits_2(tmp_path, monkeypatch,
                                                                                      capsys):
    from evaluation import real_article
    monkeypatch.setattr(real_article, "ARTICLE", tmp_path / "shared" / "seeds" / "article.txt")
    assert real_article.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "shared") in err and "--article" in err


def test_real_article_check_run_as_a_module_has_no_traceback(tmp_path):
    missing = tmp_path / "elsewhere.txt"
    done = subprocess.run([sys.executable, "-m", "evaluation.real_article", "--article", str(missing)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith(f"evaluation.real_article: {missing}: not here") and "Traceback" not in done.stderr


# -- train shows what it is doing on a terminal ------------------------------------------------------
MINI = ROOT / "tests" / "data" / "mini.csv"
TRAIN = ["train", "--data", str(MINI), "--label-column", "label", "--single-label", "--group-column", "doc",
         "--embedding-head", "linear", "--class-weight", "none", "--lexical", "0", "--context", "off"]  # C by CV


def test_fit_reports_its_stages_to_a_progress_callback():
    from ecosystem_data import multi_label_data

    from classifier import ThemeClassifier
    texts, labels, groups = multi_label_data()
    calls = []
    model = ThemeClassifier(embedding_head="linear", C="auto", class_weight=None, context=False, lexical=0.0,
                            sentence_weight=None)
    model.fit(texts, labels, groups=groups, progress=lambda *call: calls.append(call))
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == ["encoding", "model selection", "final fit"]
    assert [c for c in calls if c[0] == "model selection"] == [("model selection", 0, 1)] + [
        ("model selection", n, 3) for n in (1, 2, 3)]  # three values of C, each cross-validated
    assert calls[0] == ("encoding", 0, len(texts)) and calls[-1] == ("final fit", 1, 1)


def _train_on_a_terminal(argv, rows=24, columns=100):
    """Exit code and what a terminal would show of `policytag` run with stderr on a pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))  # a terminal's size
    proc = subprocess.Popen([sys.executable, "-m", "classifier.cli", *argv], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_train_shows_progress_on_a_terminal_and_nothing_in_a_pipe(tmp_path, capsys):
    code, shown = _train_on_a_terminal([*TRAIN, "--out", str(tmp_path / "tty")])
    assert code == 0
    for stage in ("encoding: 24/24", "model selection: 3/3", "final fit: 1/1"):
        assert f"policytag: {stage}" in shown, shown
    assert main([*TRAIN, "--out", str(tmp_path / "pipe")]) == 0  # stderr captured: not a terminal
    err = capsys.readouterr().err
    assert "model selection" not in err and "policytag: trained on 24 units" in err


def test_progress_shows_on_a_terminal_that_reports_no_size(tmp_path):
    """`script -q -c "policytag train ..."` from a job, or a container's fresh tty: a terminal of 0 x 0."""
    code, shown = _train_on_a_terminal([*TRAIN, "--out", str(tmp_path / "tty")], rows=0, columns=0)
    assert code == 0
    for stage in ("encoding: 24/24", "model selection: 3/3", "final fit: 1/1"):
        assert f"policytag: {stage}" in shown, shown


def test_quiet_means_no_progress_even_on_a_terminal(monkeypatch):
    from classifier.cli.options import StageBars, stage_bars
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert isinstance(stage_bars(argparse.Namespace(quiet=False)), StageBars)
    assert stage_bars(argparse.Namespace(quiet=True)) is None
