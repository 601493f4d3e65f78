"""The first hour with policytag: what a new user runs before anything else works or says why not."""
import subprocess
import sys
from pathlib import Path

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
