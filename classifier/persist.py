"""Saving and loading models: a folder with manifest.json (JSON) and head.npz (arrays), nothing pickled.

Loading reads arrays with ``allow_pickle=False`` and JSON, so a model folder, even a crafted one, cannot run
code. The estimator rebuilds itself from that state (:meth:`ThemeClassifier.set_state`).

What loading checks, in order, each failure a :class:`ModelError` naming the folder and what is wrong:
the manifest against :data:`SCHEMA` (required keys, types, ranges: one schema, also applied before saving);
the folder's fingerprint (every file's sha256 in ``files``, the manifest's own content in ``fingerprint``), so
an edit to any file, an added or a deleted one is refused; the library versions; the head arrays against the
manifest (names, shapes, finite numbers). The fingerprint detects edits and corruption, not forgery: it is a
checksum anyone can recompute, not a signature, so a folder from an untrusted source is only as good as its
source (it still cannot run code). The model card ``README.md`` and hidden entries (``.git``,
``.gitattributes``, a hub client's ``.cache``) are outside the fingerprint: they are never read to score.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import CodebookError, ModelError
from classifier.hashing import file_sha256
from classifier.heads import EMBEDDING_HEAD_BEFORE
from classifier.heads.blend import BlendHead

FORMAT_VERSION = 3
LEGACY_FORMAT = 2  # before fingerprints: still read, with every other check
HEAD_FILE = "head.npz"
LEGACY_HEAD_FILE = "head.joblib"
MANIFEST = "manifest.json"
TRAINING_KEYS = "training_keys"  # head.npz: keys of the paragraphs the model trained on (hashing.text_keys)
MODEL_CARD = "README.md"
ENCODER_DIR = "encoder"
RETRAIN = "retrain it with 'policytag train --data YOUR_DATA --out {folder} --force'"


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


# the most a head file may unpack to: far above any head this version writes (a few MB: an MLP head is 3 x 768 x
# 512 float32 weights), far below what a forged file of compressed zeros (a huge hidden layer) could make us allocate
MAX_HEAD_BYTES = 2**30


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a head file (a zip of .npy files); object arrays (which would need pickle) are refused, and
    so is a file that would unpack to more than :data:`MAX_HEAD_BYTES` (its size as the zip declares it, which
    reading never exceeds) or whose headers claim more memory than there is, before anything is allocated."""
    try:
        with zipfile.ZipFile(path) as zf:  # a plain .npy is not a head file (np.load would return one array)
            size = sum(info.file_size for info in zf.infolist())
        if size > MAX_HEAD_BYTES:
            raise ModelError(f"{path}: unpacked, its arrays would take {size:,} bytes, more than any policytag head "
                             f"({MAX_HEAD_BYTES:,}); {RETRAIN.format(folder=path.parent)}")
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, MemoryError) as exc:
        raise ModelError(f"{path}: not a readable head file ({exc}); retrain the model with 'policytag train'") \
            from None


# -- the manifest schema: one place for what a manifest must hold ------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _open_unit(v: Any) -> bool:
    return _is_number(v) and 0 < v < 1


def _unit(v: Any) -> bool:
    return _is_number(v) and 0 <= v <= 1


def _weight(v: Any) -> bool:
    """A blend weight: one number in [0, 1] for all themes, or a list of them (one per theme)."""
    return _unit(v) or (isinstance(v, list) and bool(v) and all(_unit(x) for x in v))


def _sha(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def _relative(v: Any) -> bool:
    """A path inside the model folder: relative, no '..', so a manifest cannot point the loader elsewhere."""
    return isinstance(v, str) and bool(v) and not Path(v).is_absolute() and ".." not in Path(v).parts


_Check = tuple[Callable[[Any], bool], str]
_STR: _Check = (lambda v: isinstance(v, str) and bool(v), "a non-empty string")
_INT_POS: _Check = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a positive integer")
_INT_NONNEG: _Check = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0")
_BOOL: _Check = (lambda v: isinstance(v, bool), "true or false")
_DICT: _Check = (lambda v: isinstance(v, dict), "a mapping")
_LIST: _Check = (lambda v: isinstance(v, list), "a list")

# key -> (required, check, what it must be); nested mappings list their own keys. ``thresholds`` and the
# codebook are checked against each other in :func:`validate_manifest`.
SCHEMA: dict[str, Any] = {
    "format_version": (True, (lambda v: v in (LEGACY_FORMAT, FORMAT_VERSION), "2 or 3")),
    "codebook": (True, _DICT),
    "encoder": (True, {"name": (True, _STR), "fingerprint": (True, _STR), "dimension": (True, _INT_POS),
                       "path": (False, (_relative, "a relative path inside the model folder"))}),
    "params": (True, _DICT),
    "selected": (True, {"context": (True, _BOOL),
                        "C": (True, (lambda v: v is None or (_is_number(v) and v > 0), "a positive number or null")),
                        "class_weight": (True, (lambda v: v is None or isinstance(v, str), "a string or null")),
                        "lexical": (True, (_weight, "a weight in [0, 1] or a list of them")),
                        "sentence_weight": (False, (lambda v: v is None or _weight(v),
                                                    "null, a weight in [0, 1] or a list of them"))}),
    "multi_label": (True, _BOOL),
    "thresholds": (True, _DICT),
    "selection": (True, _LIST),
    "training": (True, {"hash": (True, _STR), "n": (True, _INT_NONNEG)}),
    "libraries": (True, {"scikit-learn": (True, _STR), "numpy": (True, _STR)}),
    "head": (True, {"file": (True, (lambda v: v == HEAD_FILE, repr(HEAD_FILE))),
                    "arrays": (True, (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                                      "a list of array names"))}),
    "metrics": (False, _DICT),
    "files": (True, (lambda v: isinstance(v, dict) and all(_relative(k) and _sha(h) for k, h in v.items()),
                     "a mapping of relative paths to sha256 digests")),
    "fingerprint": (True, (_sha, "a sha256 digest")),
}
_SINCE_3 = {"files", "fingerprint"}  # absent from format 2 folders


def _check_keys(data: dict[str, Any], schema: dict[str, Any], where: str, skip: set[str]) -> None:
    for key, (required, rule) in schema.items():
        if key in skip:
            continue
        name = f"{where}.{key}" if where else key
        if key not in data:
            if required:
                raise ValueError(f"'{name}' is missing")
            continue
        value = data[key]
        if isinstance(rule, dict):
            if not isinstance(value, dict):
                raise ValueError(f"'{name}' must be a mapping, not {type(value).__name__}")
            _check_keys(value, rule, name, set())
        elif not rule[0](value):
            raise ValueError(f"'{name}' must be {rule[1]}, not {json.dumps(value)[:60]}")


def validate_manifest(manifest: Any, where: str | Path) -> None:
    """Refuse a manifest that breaks :data:`SCHEMA` (before saving and on loading): a ModelError naming the
    folder, the key and what it must be. Thresholds must name exactly the codebook's themes, each in (0, 1):
    0 would assign every theme, 1 none."""
    from classifier.codebook import Codebook

    if not isinstance(manifest, dict):
        raise ModelError(f"{where}: manifest.json must hold a JSON object; {RETRAIN.format(folder=where)}")
    skip = _SINCE_3 if manifest.get("format_version") == LEGACY_FORMAT else set()
    try:
        _check_keys(manifest, SCHEMA, "", skip)
        try:
            codebook = Codebook.from_dict(manifest["codebook"], "codebook")
        except CodebookError as exc:
            raise ValueError(str(exc)) from None
        ids = codebook.ids
        if manifest["multi_label"] != codebook.multi_label:
            raise ValueError("'multi_label' must agree with the codebook's 'multi_label'")
        thresholds = manifest["thresholds"]
        if sorted(thresholds) != sorted(ids):
            raise ValueError(f"'thresholds' must name each theme of the codebook once ({', '.join(ids)})")
        bad = next((t for t in ids if not _open_unit(thresholds[t])), None)
        if bad is not None:
            raise ValueError(f"'thresholds.{bad}' must be a number in (0, 1), not {json.dumps(thresholds[bad])}")
        for key in ("lexical", "sentence_weight"):
            value = manifest["selected"].get(key)
            if isinstance(value, list) and len(value) != len(ids):
                raise ValueError(f"'selected.{key}' must have one weight per theme ({len(ids)})")
    except ValueError as exc:
        raise ModelError(f"{where}: manifest.json: {exc}; restore the folder or "
                         f"{RETRAIN.format(folder=where)}") from None


# -- the fingerprint ---------------------------------------------------------------------------------------
def folder_files(directory: Path) -> list[str]:
    """The files the fingerprint covers: every file under the folder but the manifest, the model card and
    hidden entries (a hub clone's ``.git``, ``.gitattributes``), as sorted POSIX paths."""
    out = []
    for root, dirs, files in os.walk(directory):  # hidden folders pruned, not walked (a clone's .git is large)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            rel = (Path(root) / name).relative_to(directory)
            if not name.startswith(".") and rel.as_posix() not in (MANIFEST, MODEL_CARD):
                out.append(rel.as_posix())
    return sorted(out)


def manifest_fingerprint(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's content (canonical JSON, without the fingerprint itself). The manifest lists
    every other file's sha256 under ``files``, so this one digest covers the whole folder."""
    content = {k: v for k, v in manifest.items() if k != "fingerprint"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def check_fingerprint(manifest: dict[str, Any], directory: Path) -> None:
    """Refuse a folder edited after saving: a file changed, added or deleted, or the manifest's content."""
    advice = f"restore the original folder or {RETRAIN.format(folder=directory)}"
    try:
        _compare_files(manifest["files"], directory, advice)
    except OSError as exc:
        raise ModelError(f"{exc.filename or directory}: cannot read this file of the model folder "
                         f"({exc.strerror or exc})") from None
    if manifest_fingerprint(manifest) != manifest["fingerprint"]:
        raise ModelError(f"{directory}: manifest.json was edited after saving (its fingerprint does not match); "
                         f"refusing to load it ({advice})")


def _compare_files(saved: dict[str, str], directory: Path, advice: str) -> None:
    present = folder_files(directory)
    missing = [f for f in saved if f not in present]
    if missing:
        raise ModelError(f"{directory}: {missing[0]} is missing; the model folder is incomplete ({advice})")
    added = [f for f in present if f not in saved]
    if added:
        raise ModelError(f"{directory}: {added[0]} was added after saving; the folder no longer matches its "
                         f"fingerprint (remove it, or {RETRAIN.format(folder=directory)})")
    changed = [f for f in present if file_sha256(directory / f) != saved[f]]
    if changed:
        raise ModelError(f"{directory / changed[0]}: checksum mismatch, the file was modified or corrupted after "
                         f"saving; refusing to load it ({advice})")


# -- writing and reading -----------------------------------------------------------------------------------
def write_folder(directory: str | Path, state: dict[str, Any], arrays: dict[str, np.ndarray],
                 metrics: dict[str, Any] | None = None) -> Path:
    """Write a model folder from an estimator's state (``ThemeClassifier.get_state``): arrays to ``head.npz``,
    everything else to ``manifest.json`` with the library versions, every file's checksum and the folder's
    fingerprint. The manifest is checked against the schema the loader applies, so what saves, loads."""
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
        "head": {"file": HEAD_FILE, "arrays": sorted(arrays)},
        "metrics": metrics or {},
        "files": {f: file_sha256(directory / f) for f in folder_files(directory)},
    }
    manifest["fingerprint"] = manifest_fingerprint(manifest)
    manifest = json.loads(json.dumps(manifest))  # what the loader will see (tuples become lists)
    validate_manifest(manifest, directory)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return directory


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of a model folder, checked against the schema (not yet against the folder's files)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model folder (train one with 'policytag train')")
    if not path.exists():
        raise ModelError(f"{directory}: not a policytag model (manifest.json is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelError(f"{path}: manifest is not valid JSON ({exc}); re-save or retrain the model") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the manifest ({exc.strerror or exc})") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if type(version) is not int:  # true == 1 in Python, but not a format
        version = None if version is None else str(version)
    if version == 1 or (directory / LEGACY_HEAD_FILE).exists():
        raise ModelError(f"{directory}: an older policytag model with a pickled head ({LEGACY_HEAD_FILE}), which "
                         "this version never loads because unpickling can run code; "
                         f"{RETRAIN.format(folder=directory)}")
    if version not in (LEGACY_FORMAT, FORMAT_VERSION):
        raise ModelError(f"{path}: model format {version!r}, this policytag reads "
                         f"formats {LEGACY_FORMAT} and {FORMAT_VERSION}; retrain it with 'policytag train'")
    validate_manifest(manifest, directory)
    return manifest


def read_folder(directory: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, head arrays) of a model folder, refusing a folder that is incomplete, modified after saving,
    pickled (an older format), saved with incompatible libraries or whose arrays do not fit its manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    head_path = directory / HEAD_FILE
    if not head_path.is_file():
        raise ModelError(f"{directory}: {HEAD_FILE} is missing; the model folder is incomplete")
    if manifest["format_version"] == LEGACY_FORMAT:  # before fingerprints: the head's own checksum
        if file_sha256(head_path) != manifest["head"].get("sha256"):
            raise ModelError(f"{head_path}: checksum mismatch, the file was modified or corrupted after saving; "
                             "refusing to load it (retrain, or restore the original file)")
    else:
        check_fingerprint(manifest, directory)
    _check_libraries(manifest, directory)
    arrays = read_arrays(head_path)
    check_arrays(manifest, arrays, head_path)
    return manifest, arrays


def check_arrays(manifest: dict[str, Any], arrays: dict[str, np.ndarray], where: Path) -> None:
    """Refuse head arrays that do not fit the manifest: the names it lists, one row per theme, as many columns
    as the encoder (twice with context) gives, finite numbers; so a bad head fails here, not mid-run."""
    k = len(manifest["thresholds"])
    dim = manifest["encoder"]["dimension"] * (2 if manifest["selected"]["context"] else 1)
    try:
        if sorted(arrays) != sorted(manifest["head"]["arrays"]):
            raise ValueError(f"holds arrays {sorted(arrays)}, the manifest lists {sorted(manifest['head']['arrays'])}")
        _check_training_keys(arrays.get(TRAINING_KEYS), manifest["training"]["n"])
        BlendHead.check_arrays({n: a for n, a in arrays.items() if n != TRAINING_KEYS}, k, dim)
        want = manifest["params"].get("embedding_head", EMBEDDING_HEAD_BEFORE)
        kind = BlendHead.embedding_kind(arrays)
        if kind.KIND != want:  # the loaded model's get_params (and every refit) would describe another head
            raise ValueError(f"the arrays are a {kind.KIND} head, the manifest's params.embedding_head is "
                             f"{json.dumps(want)}")
    except ValueError as exc:
        raise ModelError(f"{where}: the head does not fit the manifest ({exc}); restore the folder or "
                         f"{RETRAIN.format(folder=where.parent)}") from None


def _check_training_keys(keys: np.ndarray | None, n: int) -> None:
    """Training keys, when saved, are at most ``n`` distinct unsigned 64-bit keys in increasing order."""
    if keys is None:
        return
    increasing = keys.ndim == 1 and bool((keys[1:] > keys[:-1]).all())
    if keys.dtype != np.uint64 or not increasing or len(keys) > n:
        raise ValueError(f"{TRAINING_KEYS} must be at most {n} distinct uint64 keys in increasing order")


def _check_libraries(manifest: dict[str, Any], directory: Path) -> None:
    saved = manifest["libraries"]
    here = library_versions()
    for name in ("scikit-learn", "numpy"):
        want, have = saved.get(name), here.get(name)
        if want and have and _minor(want) != _minor(have) and not (name == "numpy" and want[0] == have[0]):
            raise ModelError(f"{directory}: saved with {name} {want}, this environment has {have}; "
                             f"install {name}=={want} or retrain the model with 'policytag train'")


# -- the model card (Hugging Face Hub layout) -------------------------------------------------------------
def _cell(text: Any) -> str:
    """Text for one cell of a Markdown table: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _metric(value: Any) -> str:
    return f"{value:.4f}" if _is_number(value) and not isinstance(value, int) else _cell(json.dumps(value))


def model_card(manifest: dict[str, Any]) -> str:
    """A ``README.md`` for a model folder, as the Hugging Face Hub reads one: YAML front matter (library,
    tags, metrics), then the codebook's themes with their definitions and thresholds, the evaluation
    metrics the manifest holds, and how to load the folder. Everything comes from the manifest, so the card
    cannot disagree with the model; it is outside the fingerprint (edit it freely)."""
    from classifier.codebook import Codebook

    codebook = Codebook.from_dict(manifest["codebook"], "codebook")
    metrics = manifest.get("metrics") or {}
    kind = "multi-label-classification" if manifest["multi_label"] else "single-label-classification"
    front = ["---", "library_name: policytag", "pipeline_tag: text-classification", "tags:",
             *[f"- {t}" for t in ("policytag", "text-classification", kind, "sentence-transformers")]]
    if metrics:
        front += ["metrics:", *[f"- {json.dumps(str(name))}" for name in metrics]]
    front.append("---")
    encoder = manifest["encoder"]
    lines = [*front, "", f"# {codebook.name} themes (policytag model)", "",
             f"Tags paragraphs of policy articles with the {len(codebook)} themes of the codebook "
             f"**{codebook.name}** (version {codebook.version}): a `{encoder['name']}` sentence encoder "
             f"(weights {encoder['fingerprint']}) and scikit-learn heads, trained on {manifest['training']['n']} "
             "paragraphs. "
             + ("A paragraph gets every theme whose score reaches the theme's threshold."
                if manifest["multi_label"] else "A paragraph gets the one theme that scores highest."),
             "", "## Use", "", "```python", "import policytag", "",
             'model = policytag.ThemeClassifier.from_pretrained("path/to/this/folder")',
             'model.tag_article(open("article.md").read(), fmt="markdown")', "```", "",
             "From the shell: `policytag tag article.md --model path/to/this/folder`. A copy from a hub is "
             "downloaded first (for instance with `huggingface_hub.snapshot_download`).", "",
             "## Themes", "", "| theme | name | threshold | definition |", "|---|---|---|---|"]
    for theme in codebook.themes:
        lines.append(f"| `{_cell(theme.id)}` | {_cell(theme.name)} | {manifest['thresholds'][theme.id]:.2f} | "
                     f"{_cell(theme.description) or '-'} |")
    lines += ["", "## Evaluation", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|", *[f"| {_cell(k)} | {_metric(v)} |" for k, v in metrics.items()]]
    else:
        lines.append("No evaluation metrics were saved with this model (`policytag evaluate` measures them).")
    lines += ["", "## Files", "",
              f"`{HEAD_FILE}` holds the heads as plain arrays and `{MANIFEST}` everything else; nothing is pickled. "
              "The manifest's fingerprint covers every file but this card: a model whose files were edited "
              "after saving refuses to load.", ""]
    return "\n".join(lines)


def write_model_card(directory: str | Path) -> Path:
    """Write (or replace) the folder's ``README.md`` from its manifest."""
    directory = Path(directory)
    path = directory / MODEL_CARD
    path.write_text(model_card(read_manifest(directory)), encoding="utf-8")
    return path
