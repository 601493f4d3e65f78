"""Labels in every form the estimators accept, encoded against a codebook: one place for that rule.

``y`` may be a 0/1 matrix, a list of label lists (multi-label) or a list of labels (single-label). The codebook
is given (object or YAML path) or inferred from the labels themselves.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from classifier.codebook import Codebook, resolve_codebook
from classifier.errors import TrainingDataError


def encode_labels(codebook: Codebook | str | Path | None, y: Any, n: int) -> tuple[Codebook, np.ndarray]:
    """(codebook, targets): an (n, k) bool matrix for multi-label codebooks, class indices for single-label."""
    codebook = resolve_codebook(codebook)
    if len(y) != n:
        raise TrainingDataError(f"{n} texts but {len(y)} label rows")
    arr = np.asarray(y, dtype=object) if not hasattr(y, "shape") else np.asarray(y)
    if arr.ndim == 2 and arr.dtype != object and np.isin(arr, (0, 1)).all():
        if codebook is None:
            codebook = Codebook.from_labels([f"label_{j}" for j in range(arr.shape[1])])
        if arr.shape[1] != len(codebook):
            raise TrainingDataError(f"label matrix has {arr.shape[1]} columns, codebook has {len(codebook)} themes")
        return codebook, arr.astype(bool)
    rows = list(y)
    multi = any(isinstance(r, (list, tuple, set, np.ndarray)) for r in rows)
    if codebook is None:
        flat = [lab for r in rows for lab in (r if multi else [r])]
        codebook = Codebook.from_labels(map(str, flat), multi_label=multi)
    unknown = codebook.unknown(str(lab) for r in rows for lab in (r if multi else [r]))
    if unknown:
        raise TrainingDataError(f"labels not in codebook {codebook.name!r}: {', '.join(unknown[:10])}")
    index = {t: j for j, t in enumerate(codebook.ids)}
    if not codebook.multi_label:
        if multi:
            raise TrainingDataError("single-label codebook but rows carry lists of labels")
        return codebook, np.array([index[str(r)] for r in rows])
    Y = np.zeros((n, len(codebook)), dtype=bool)
    for i, r in enumerate(rows):
        for lab in (r if multi else [r]):
            Y[i, index[str(lab)]] = True
    return codebook, Y
