"""Byte-for-byte pins: the shipped model's records for fixed inputs, and safety of model folders.

The pin guards refactors (same inputs, same model file, same bytes out). When the shipped model is retrained
on purpose, regenerate the pin with the command in ``PIN_COMMAND`` and say so in the commit.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "data" / "pinned" / "records.jsonl"
INPUTS = ["examples/article.md", "tests/data/news_page.html"]
PIN_COMMAND = f"policytag tag {' '.join(INPUTS)} -o {PINNED.relative_to(ROOT)} --force"


def test_shipped_model_records_are_pinned_byte_for_byte(tmp_path):
    out = tmp_path / "records.jsonl"
    run = subprocess.run([sys.executable, "-m", "classifier.cli", "tag", *INPUTS, "-o", str(out)], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == PINNED.read_bytes(), (
        f"records changed; if the model was retrained on purpose: {PIN_COMMAND}")


def test_a_crafted_model_folder_cannot_run_code_on_load(mini_model, tmp_path):
    """A pickle smuggled into head.npz (with its checksum and the folder's fingerprint updated in the manifest)
    is refused, not executed."""
    import pickle

    from classifier import ModelError, load_model
    from classifier.hashing import file_sha256 as _sha256
    from classifier.persist import manifest_fingerprint

    mini_model.save(tmp_path / "m")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    head = tmp_path / "m" / "head.npz"
    np.savez(head, coef=np.array([Evil()], dtype=object), intercept=np.zeros(1))
    manifest_path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["head.npz"] = _sha256(head)
    manifest["fingerprint"] = manifest_fingerprint(manifest)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="head file"):
        load_model(tmp_path / "m")
    assert not marker.exists()
    (tmp_path / "m" / "head.joblib").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelError, match="retrain it with 'policytag train"):
        load_model(tmp_path / "m")
    assert not marker.exists()


def test_shipped_model_folder_holds_no_pickle():
    from classifier import DEFAULT_MODEL_DIR
    files = sorted(p.name for p in Path(DEFAULT_MODEL_DIR).iterdir())
    assert "head.npz" in files and not any(f.endswith((".joblib", ".pkl", ".pickle")) for f in files)
    with np.load(Path(DEFAULT_MODEL_DIR) / "head.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
