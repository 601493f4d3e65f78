"""Where the shipped model and codebook live, in a source checkout and in an installed wheel.

A checkout (or an editable install, as the README sets up) reads them from the repository's ``models/`` and
``corpora/`` folders, so retraining there takes effect at once. A regular ``pip install`` of the wheel carries a
copy of the same files as package data under ``classifier/_shipped``.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def shipped_path(*parts: str) -> Path:
    """``models/...`` or ``corpora/...`` of the repository when present, else the copy inside the package."""
    repo = _REPO.joinpath(*parts)
    if repo.exists():
        return repo
    packaged = _PACKAGE.joinpath("_shipped", *parts)
    return packaged if packaged.exists() else repo
