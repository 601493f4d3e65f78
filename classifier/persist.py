"""Saving and loading models: a folder with manifest.json and a checksummed head.joblib."""
from __future__ import annotations

import copy
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .codebook import Codebook
from .errors import EncoderError, ModelError

FORMAT_VERSION = 1
HEAD_FILE = "head.joblib"
MANIFEST = "manifest.json"
ENCODER_DIR = "encoder"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def save_model(model: Any, directory: str | Path, metrics: dict[str, Any] | None = None) -> Path:
    """Write the model folder; the encoder is referenced by name and fingerprint, not copied
    (a fine-tuned encoder already lives in ``directory/encoder``)."""
    import joblib

    model._check_fitted()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    head_path = directory / HEAD_FILE
    lexical = getattr(model, "lexical_head_", None)
    vectorizer = None
    if lexical is not None:  # sklearn stores id(stop_words), a memory address: drop it so equal models save equal bytes
        vectorizer = copy.copy(lexical.vectorizer)
        vectorizer.__dict__.pop("_stop_words_id", None)
    joblib.dump({"coef": model.head_.coef, "intercept": model.head_.intercept,
                 "multi_label": model.head_.multi_label,
                 "lexical": None if lexical is None else {"vectorizer": vectorizer, "coef": lexical.head.coef,
                                                          "intercept": lexical.head.intercept}}, head_path)
    encoder = dict(model.encoder_identity_)
    if model.encoder_.path is not None and directory.resolve() in model.encoder_.path.parents:
        encoder["path"] = str(model.encoder_.path.relative_to(directory.resolve()))
    params = {k: v for k, v in model.get_params().items() if k not in ("codebook", "cache", "encoder", "backend")}
    manifest = {
        "format_version": FORMAT_VERSION,
        "codebook": model.codebook_.to_dict(),
        "encoder": encoder,
        "params": params,
        "selected": {"context": model.use_context_, "C": model.C_, "class_weight": model.class_weight_,
                     "lexical": model.lexical_},
        "thresholds": {t: float(v) for t, v in zip(model.classes_, model.thresholds_)},
        "selection": model.selection_,
        "training": {"hash": model.training_hash_, "n": model.n_train_},
        "libraries": library_versions(),
        "head": {"file": HEAD_FILE, "sha256": _sha256(head_path)},
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
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format {manifest.get('format_version')!r}, this policytag reads "
                         f"format {FORMAT_VERSION}; retrain it with 'policytag train'")
    return manifest


def load_model(directory: str | Path, cache: bool | str | None = True, encoder: str | None = None,
               batch_size: int = 64) -> Any:
    """Load a saved ThemeClassifier, refusing one whose head, encoder or libraries do not match.

    A model folder holds a pickle: load only models you trust. ``encoder`` overrides where the encoder is
    found (its fingerprint must still match the one the model was trained with).
    """
    import joblib
    from .model import ThemeClassifier
    from .head import LinearHead
    from .lexical import LexicalHead

    directory = Path(directory)
    manifest = read_manifest(directory)
    head_path = directory / manifest["head"]["file"]
    if not head_path.exists():
        raise ModelError(f"{directory}: {manifest['head']['file']} is missing; the model folder is incomplete")
    if _sha256(head_path) != manifest["head"]["sha256"]:
        raise ModelError(f"{head_path}: checksum mismatch, the file was modified or corrupted after saving; "
                         "refusing to load it (retrain, or restore the original file)")
    _check_libraries(manifest, directory)
    ident = manifest["encoder"]
    source = encoder or (str(directory / ident["path"]) if ident.get("path") else ident["name"])
    params = {k: v for k, v in manifest["params"].items() if k != "batch_size"}
    model = ThemeClassifier(encoder=source, codebook=Codebook.from_dict(manifest["codebook"]), cache=cache,
                            batch_size=batch_size, **params)
    try:
        model.encoder_ = model.make_encoder()
        found = model.encoder_.fingerprint
    except EncoderError as exc:
        raise ModelError(f"{directory}: the model's encoder {ident['name']!r} is not available: {exc}") from None
    if found != ident["fingerprint"]:
        raise ModelError(f"{directory}: trained with encoder {ident['name']!r} (weights {ident['fingerprint']}), but "
                         f"{source!r} has weights {found}; install the encoder it was trained with or retrain")
    if ident.get("finetune") and encoder is None:  # a refit (clone, CV) tunes the base encoder afresh, on its own data
        model.encoder = ident["finetune"]["base"]["name"]
    head = joblib.load(head_path)
    model.head_ = LinearHead(np.asarray(head["coef"]), np.asarray(head["intercept"]), bool(head["multi_label"]))
    lex = head.get("lexical")
    model.lexical_head_ = None if lex is None else LexicalHead(
        lex["vectorizer"], LinearHead(np.asarray(lex["coef"]), np.asarray(lex["intercept"]), model.head_.multi_label))
    model.codebook_ = model.codebook
    model.classes_ = np.array(model.codebook_.ids)
    model.thresholds_ = np.array([manifest["thresholds"][t] for t in model.codebook_.ids])
    sel = manifest["selected"]
    model.use_context_, model.C_, model.class_weight_ = bool(sel["context"]), sel["C"], sel["class_weight"]
    model.lexical_ = float(sel.get("lexical", 0.0))
    model.selection_ = manifest.get("selection", [])
    model.encoder_identity_ = ident
    model.training_hash_ = manifest["training"]["hash"]
    model.n_train_ = manifest["training"]["n"]
    model.manifest_ = manifest
    return model


def _check_libraries(manifest: dict[str, Any], directory: Path) -> None:
    saved = manifest.get("libraries", {})
    here = library_versions()
    for name in ("scikit-learn", "numpy"):
        want, have = saved.get(name), here.get(name)
        if want and have and _minor(want) != _minor(have) and not (name == "numpy" and want[0] == have[0]):
            raise ModelError(f"{directory}: saved with {name} {want}, this environment has {have}; "
                             f"install {name}=={want} or retrain the model with 'policytag train'")
