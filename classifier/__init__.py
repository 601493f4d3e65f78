"""policytag: tag the paragraphs of policy articles with the themes of a codebook.

    from classifier import ThemeClassifier, Codebook, load_model, load_corpus
    model = load_model()                        # the shipped default model
    model.tag_article(open("article.txt").read())
"""
from __future__ import annotations

from pathlib import Path

from classifier.errors import (
    CodebookError,
    CorpusError,
    EncoderError,
    InputError,
    ModelError,
    PolicytagError,
    TrainingDataError,
)
from classifier.shipped import shipped_path

__version__ = "0.1.0"
DEFAULT_MODEL_DIR = shipped_path("models", "geopolitics")

__all__ = ["ThemeClassifier", "Codebook", "Theme", "Unit", "load_codebook", "load_model", "load_corpus",
           "PolicytagError", "CodebookError", "CorpusError", "EncoderError", "InputError", "ModelError",
           "TrainingDataError", "DEFAULT_MODEL_DIR", "suggest", "read_pool", "read_annotations", "export_paragraphs",
           "DocView", "model_view"]
_LAZY = {"Codebook": "codebook", "Theme": "codebook", "load_codebook": "codebook", "ThemeClassifier": "model",
         "Unit": "encoding.features", "suggest": "annotate.active", "read_pool": "annotate.roundtrip",
         "read_annotations": "annotate.roundtrip", "export_paragraphs": "annotate.roundtrip", "DocView": "io.views",
         "model_view": "io.views"}


def load_model(path: str | Path | None = None, **kwargs):
    """Load a saved model folder (default: the shipped geopolitics model); see :func:`classifier.model.load_model`."""
    from classifier.model import load_model as _load
    return _load(path if path is not None else DEFAULT_MODEL_DIR, **kwargs)


def load_corpus(path: str | Path):
    """A corpus folder as a Hugging Face ``DatasetDict`` with its splits (train/dev/test)."""
    from classifier.io.corpus import load_corpus as _load
    return _load(path)


def __getattr__(name: str):
    if name in _LAZY:  # lazy: importing the package must not import scikit-learn or torch
        from importlib import import_module
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
