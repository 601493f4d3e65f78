"""The README's walk-through runs as pasted: every shell line, in order, in a fresh folder, exits 0.

A line that collided with an earlier one's output (an existing ``-o`` without ``--force``) would exit 2, and a
line that hung would hit the timeout, so this is the "pasted in order from a fresh clone" promise, checked.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from classifier import DEFAULT_MODEL_DIR

SECTION = re.compile(r"<!-- BEGIN WALKTHROUGH.*?-->(.*?)<!-- END WALKTHROUGH -->", re.S)
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def walkthrough_lines() -> list[str]:
    """The commands of the walk-through's bash blocks (continued lines joined, comments kept for bash)."""
    match = SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no walk-through section"
    text = "\n".join(BLOCK.findall(match.group(1))).replace("\\\n", " ")
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture()
def fresh(tmp_path: Path) -> Path:
    """A folder that sees the checkout's data read-only (symlinks) and has a models/ folder of its own."""
    for name in ("tests", "corpora", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "geopolitics").symlink_to(ROOT / "models" / "geopolitics")
    return tmp_path


def test_the_walkthrough_runs_in_order_without_collisions(fresh: Path):
    if not (DEFAULT_MODEL_DIR / "manifest.json").exists():
        pytest.skip("the shipped model is not there")
    lines = walkthrough_lines()
    assert len(lines) >= 5 and all(line.startswith("policytag ") for line in lines)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in lines:
        run = subprocess.run(["bash", "-c", line], cwd=fresh, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{line}\n{run.stderr[-2000:]}"
        assert "Traceback" not in run.stderr, line
    records = [json.loads(x) for x in (fresh / "first.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({r["doc"] for r in records}) == 2  # the resume line added nothing twice
    assert "<html" in (fresh / "first.html").read_text(encoding="utf-8").lower()
    assert (fresh / "models" / "first" / "manifest.json").exists()
    assert (fresh / "first-mine.jsonl").stat().st_size > 0
