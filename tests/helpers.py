"""Shared test data and helpers (imported by test modules; fixtures live in conftest.py)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED_ARTICLE = ROOT.parent / "shared" / "seeds" / "000_c3eb88e36b70f7ff.txt"
CORPUS = ROOT / "corpora" / "geopolitics"


ARTICLE_TXT = """Allies Haggle Over the Bill for Eastern Air Defence

Defence ministers meeting in Brussels agreed that Germany will pay for forty percent of the new air-defence
belt, with the Netherlands and Norway splitting the rest and Poland providing the sites and crews.

Officials in Jakarta and Manila are watching closely: much as the Baltic states lean on a larger neighbour's
protection, Southeast Asian governments weigh how far to rely on Washington without losing ASEAN's own voice.
"""

ARTICLE_MD = """# Talks in Geneva

## Where things stand

The envoys met for a third round on **Tuesday**, trading drafts of a ceasefire map that would freeze the
front and open a corridor for prisoner exchanges. [Read more](https://example.org/x)

- A second paragraph in a list, about the navy escorting grain ships through the strait past mines.
"""

ARTICLE_HTML = """<html><head><title>Page</title><script>var x = "do not tag me";</script></head>
<body><nav>Home | World | Opinion</nav>
<h1>Coast guards clash at the shoal</h1>
<p>Two coast-guard cutters fired water cannon at a resupply boat near the reef on Sunday, the latest
incident in a long dispute over the shoal and the sea lanes around it.</p>
<p>Fishermen from nearby villages say the patrols have pushed them out of waters they have worked for generations.</p>
<footer>Copyright</footer></body></html>
"""


def write_articles(folder: Path) -> Path:
    """The three sample articles as a.txt, sub/b.md and c.html under ``folder`` (created)."""
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(ARTICLE_TXT)
    (folder / "sub" / "b.md").write_text(ARTICLE_MD)
    (folder / "c.html").write_text(ARTICLE_HTML)
    return folder


def run(args: list[Any], capsys: Any) -> tuple[int, str, str]:
    """The CLI run in-process: its exit code, stdout and stderr."""
    from classifier.cli import main
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def multi_label_table(tmp_path: Path) -> Path:
    """``mini.csv`` as a multi-label table: every second row also carries economic_dimension (``tags``, ';')."""
    src = tmp_path / "multi.csv"
    rows = list(csv.DictReader((DATA / "mini.csv").open()))
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "tags", "doc"])
        for i, r in enumerate(rows):
            w.writerow([r["text"], r["label"] + (";economic_dimension" if i % 2 else ""), r["doc"]])
    return src


def build_wheel(source: Path, out: Path, what: str) -> Path:
    """The wheel pip builds from ``source`` (no dependencies), or the test fails with pip's error."""
    import pytest
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{what}:\n{proc.stderr[-3000:]}")
    (wheel,) = out.glob("policytag-*.whl")
    return wheel
