"""Shipping a model to Ray workers: the folder as bytes through the object store, loaded once per actor.

Ray is imported only when used (``pip install 'policytag[ray]'``).
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.errors import PolicytagError


def require_ray() -> Any:
    """The ``ray`` module, or an actionable error when the optional extra is not installed."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data ships with ray[data])
    except ImportError:
        raise PolicytagError("the Ray engine needs Ray: pip install 'policytag[ray]'") from None
    return ray


@dataclass(frozen=True)
class ModelFiles:
    """A model folder as bytes: it reaches every node through Ray's object store, so workers need no shared
    filesystem, and each node loads (and checks) it as the driver does."""

    name: str
    files: dict[str, bytes]

    @classmethod
    def read(cls, directory: str | Path | None = None) -> ModelFiles:
        from classifier import DEFAULT_MODEL_DIR
        from classifier.persist import read_manifest

        root = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
        read_manifest(root)  # a clear error here beats one from every actor
        files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        return cls(str(root), files)

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()[:16]

    def materialize(self) -> Path:
        """The folder on this node (written once per node, atomically, under the temp folder)."""
        target = Path(tempfile.gettempdir()) / "policytag-models" / self.digest
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.digest}-", dir=target.parent))
        for name, data in self.files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        try:
            staging.rename(target)
        except OSError:  # another actor on this node was first
            import shutil
            shutil.rmtree(staging, ignore_errors=True)
        return target


@dataclass(frozen=True)
class SharedModel:
    """A model put in the object store once; wrapped so that Ray passes each actor constructor the reference, not
    the bytes, however many actors start (or restart)."""

    ref: Any

    def get(self) -> ModelFiles:
        import ray
        return ray.get(self.ref)


def model_files(model: ModelFiles | SharedModel | str | Path | None) -> ModelFiles:
    """The model's bytes, from a folder (None: the shipped model), the files themselves or an object-store ref."""
    if isinstance(model, SharedModel):
        return model.get()
    return model if isinstance(model, ModelFiles) else ModelFiles.read(model)


def load_shipped(model: ModelFiles | SharedModel | str | Path | None, cache: Any = True, batch_size: int = 64,
                 backend: str = "torch", device: str | None = None, decision: Any = None) -> Any:
    """The model on this worker, loaded as ``policytag tag`` loads it (scoring only), so the records match;
    ``decision`` (a DecisionRule: --min-score, --top-k, --threshold) is applied as the driver's model applies it."""
    from classifier.encoding.backends import check_backend
    from classifier.scorer import load_scorer

    scorer = load_scorer(model_files(model).materialize(), cache=cache, batch_size=batch_size,
                         backend=check_backend(backend))
    scorer.encoder_.device = device
    if decision is not None:
        scorer.decision_rule = decision.check(scorer.classes_)
    return scorer
