"""A regular (non-editable) install carries the shipped model and codebook: `load_model()` works away from the
repository."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import build_wheel

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["classifier/_shipped/models/geopolitics/manifest.json",
           "classifier/_shipped/models/geopolitics/head.npz",
           "classifier/_shipped/corpora/geopolitics/codebook.yaml"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("wheel"), "building the wheel failed")


def test_wheel_carries_the_shipped_model_byte_for_byte(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert set(SHIPPED) <= names
        for name in SHIPPED:
            repo_file = ROOT / name.removeprefix("classifier/_shipped/")
            assert zf.read(name) == repo_file.read_bytes(), name


def test_installed_wheel_loads_the_shipped_model_outside_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    code = ("import classifier, sys\n"
            "from classifier import load_model\n"
            "assert classifier.__file__.startswith(sys.argv[1]), classifier.__file__\n"
            "model = load_model()\n"
            "print(model.codebook_.name, model.predict(['Allies quarrelled over how to split the bill for the "
            "new air-defence shield.']).tolist())\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("geopolitics [[")


def test_wheel_installs_no_top_level_evaluation_module(wheel):
    """The repository's evaluation studies are not installed; the harness ships as classifier.harness."""
    with zipfile.ZipFile(wheel) as zf:
        tops = {name.split("/")[0] for name in zf.namelist()}
    assert "evaluation" not in tops and "classifier" in tops and "policytag" in tops  # import policytag
    assert any(n.startswith("classifier/harness/") for n in zipfile.ZipFile(wheel).namelist())
