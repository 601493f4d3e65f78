"""The container recipe (Dockerfile at the repository root), checked without docker: every COPY source exists, and
the paths it copies, alone, build a wheel that carries the shipped model and codebook and runs `policytag tag`."""
from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import build_wheel

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def copy_sources() -> list[str]:
    """The build-context paths of every COPY instruction (flags such as --chown left out, the target dropped)."""
    sources = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY":
            paths = [w for w in words[1:] if not w.startswith("--")]
            assert len(paths) >= 2, line
            sources += paths[:-1]
    return sources


def test_every_copy_source_is_in_the_repository():
    sources = copy_sources()
    assert {"pyproject.toml", "classifier", "models/geopolitics"} <= set(sources)
    missing = [s for s in sources if not (ROOT / s).exists()]
    assert not missing, f"COPY sources not in the checkout: {missing}"


@pytest.fixture(scope="module")
def context_wheel(tmp_path_factory) -> Path:
    """A wheel built, as `pip install .` in the image does, from a folder holding only the COPY'd paths."""
    context = tmp_path_factory.mktemp("context")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for source in copy_sources():
        src, dst = ROOT / source, context / source
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=ignore)
        else:
            shutil.copy2(src, dst)
    return build_wheel(context, tmp_path_factory.mktemp("wheel"), "the Dockerfile's files do not build a wheel")


def test_the_copied_files_build_a_wheel_with_the_shipped_model_and_the_command(context_wheel):
    with zipfile.ZipFile(context_wheel) as zf:
        names = set(zf.namelist())
        for shipped in ("models/geopolitics/manifest.json", "models/geopolitics/head.npz",
                        "corpora/geopolitics/codebook.yaml"):
            assert zf.read(f"classifier/_shipped/{shipped}") == (ROOT / shipped).read_bytes(), shipped
        (entry,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        points = configparser.ConfigParser()
        points.read_string(zf.read(entry).decode())
    assert points["console_scripts"]["policytag"] == "classifier.cli:main"  # the image's ENTRYPOINT


def test_the_installed_files_tag_an_article_away_from_the_checkout(context_wheel, tmp_path):
    """What `docker run ... policytag tag` does: the installed package alone, run from another folder."""
    site, data = tmp_path / "site", tmp_path / "data"
    data.mkdir()
    with zipfile.ZipFile(context_wheel) as zf:
        zf.extractall(site)
    shutil.copy2(ROOT / "examples" / "article.md", data / "article.md")
    env = {**os.environ, "PYTHONPATH": str(site), "POLICYTAG_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "classifier.cli", "tag", "article.md", "-o", "tags.jsonl"],
                          cwd=data, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (data / "tags.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records and any(r["themes"] for r in records)
    imported = subprocess.run([sys.executable, "-c", "import classifier; print(classifier.__file__)"], cwd=data,
                              env=env, capture_output=True, text=True)
    assert imported.stdout.startswith(str(site))  # the wheel's copy, not the checkout's
