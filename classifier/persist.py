"""Saving and loading models: a folder with manifest.json (JSON) and head.npz (arrays), nothing pickled.

Loading reads arrays with ``allow_pickle=False`` and JSON, so a model folder, even a crafted one, cannot run
code. The estimator rebuilds itself from that state (:meth:`ThemeClassifier.from_state`).
"""
from __future__ import annotations

import io
import json
import platform
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import ModelError
from classifier.hashing import file_sha256

FORMAT_VERSION = 2
HEAD_FILE = "head.npz"
LEGACY_HEAD_FILE = "head.joblib"
MANIFEST = "manifest.json"
ENCODER_DIR = "encoder"

def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": platform.python_version()}
    for name in ("policytag", "scikit-learn", "numpy", "sentence-transformers", "torch", "joblib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def _minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` that ``np.load(allow_pickle=False)`` reads, byte-identical for equal arrays (numpy's own
    ``savez`` stamps the current time into the zip, which would break same-data-same-file)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a head file; object arrays (which would need pickle) are refused."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"{path}: not a readable head file ({exc}); retrain the model with 'policytag train'") \
            from None


def write_folder(directory: str | Path, state: dict[str, Any], arrays: dict[str, np.ndarray],
                 metrics: dict[str, Any] | None = None) -> Path:
    """Write a model folder from an estimator's state (``ThemeClassifier.get_state``): arrays to ``head.npz``,
    everything else to ``manifest.json`` with the head's checksum and the library versions."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    head_path = directory / HEAD_FILE
    write_arrays(head_path, arrays)
    legacy = directory / LEGACY_HEAD_FILE
    if legacy.exists():  # an older save in the same folder: its pickle must not linger beside the new head
        legacy.unlink()
    state = dict(state)
    manifest = {
        "format_version": FORMAT_VERSION,
        "codebook": state.pop("codebook"),
        "encoder": state.pop("encoder"),
        **state,
        "libraries": library_versions(),
        "head": {"file": HEAD_FILE, "sha256": file_sha256(head_path), "arrays": sorted(arrays)},
        "metrics": metrics or {},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return directory


def read_manifest(directory: str | Path) -> dict[str, Any]:
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model folder (train one with 'policytag train')")
    if not path.exists():
        raise ModelError(f"{directory}: not a policytag model (manifest.json is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: manifest is not valid JSON ({exc}); re-save or retrain the model") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version == 1 or (directory / LEGACY_HEAD_FILE).exists():
        raise ModelError(f"{directory}: an older policytag model with a pickled head ({LEGACY_HEAD_FILE}), which "
                         "this version never loads because unpickling can run code; retrain it with "
                         f"'policytag train --data YOUR_DATA --out {directory} --force'")
    if version != FORMAT_VERSION:
        raise ModelError(f"{path}: model format {version!r}, this policytag reads "
                         f"format {FORMAT_VERSION}; retrain it with 'policytag train'")
    return manifest


def read_folder(directory: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, head arrays) of a model folder, refusing a folder that is incomplete, modified after saving,
    pickled (an older format) or saved with incompatible libraries."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    head_path = directory / manifest["head"]["file"]
    if not head_path.exists():
        raise ModelError(f"{directory}: {manifest['head']['file']} is missing; the model folder is incomplete")
    if file_sha256(head_path) != manifest["head"]["sha256"]:
        raise ModelError(f"{head_path}: checksum mismatch, the file was modified or corrupted after saving; "
                         "refusing to load it (retrain, or restore the original file)")
    _check_libraries(manifest, directory)
    return manifest, read_arrays(head_path)


def _check_libraries(manifest: dict[str, Any], directory: Path) -> None:
    saved = manifest.get("libraries", {})
    here = library_versions()
    for name in ("scikit-learn", "numpy"):
        want, have = saved.get(name), here.get(name)
        if want and have and _minor(want) != _minor(have) and not (name == "numpy" and want[0] == have[0]):
            raise ModelError(f"{directory}: saved with {name} {want}, this environment has {have}; "
                             f"install {name}=={want} or retrain the model with 'policytag train'")
