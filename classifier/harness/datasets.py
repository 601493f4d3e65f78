"""Labeled test and training sets in the one shape the harness works with, label mapping included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from classifier import hashing
from classifier.codebook import Codebook
from classifier.encoding.features import Unit
from classifier.errors import CorpusError
from classifier.io.tables import Columns, LabeledData, read_labeled


@dataclass
class EvalSet:
    """Units with gold labels as an (n, k) 0/1 matrix in codebook order, and the document of each row."""

    units: list[Unit]
    Y: np.ndarray
    groups: np.ndarray
    ids: list[str]
    codebook: Codebook
    source: str
    split: str | None = None
    sha256: str = ""
    grouped: bool = True
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.units)

    @property
    def texts(self) -> list[str]:
        return [u.text for u in self.units]

    def subset(self, idx: Sequence[int]) -> EvalSet:
        idx = np.asarray(idx, dtype=int)
        return replace(
            self,
            units=[self.units[i] for i in idx],
            Y=self.Y[idx],
            groups=self.groups[idx],
            ids=[self.ids[i] for i in idx],
        )

    def labels_of(self, i: int) -> list[str]:
        return [t for t, on in zip(self.codebook.ids, self.Y[i]) if on]

    def targets(self, codebook: Codebook) -> Any:
        """Labels as policytag estimators take them: the 0/1 matrix, or one theme id per row."""
        if codebook.multi_label:
            return self.Y.astype(int)
        return [codebook.ids[j] for j in self.Y.argmax(1)]

    def plain_targets(self, codebook: Codebook) -> np.ndarray:
        """Labels for any scikit-learn estimator: the 0/1 matrix, or an array of theme ids."""
        return self.Y.astype(int) if codebook.multi_label else np.array(self.targets(codebook))

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "split": self.split,
            "sha256": self.sha256,
            "n": len(self),
            "groups": int(len(np.unique(self.groups))) if self.grouped else None,
            "label_counts": {t: int(c) for t, c in zip(self.codebook.ids, self.Y.sum(0))},
            "dropped_labels": self.dropped,
        }


def file_sha256(path: str | Path) -> str:
    """:func:`classifier.hashing.file_sha256`, or "" for a file that cannot be read: a run's metadata records
    what it can and never fails on it."""
    try:
        return hashing.file_sha256(path)
    except OSError:
        return ""


def load_label_map(path: str | Path) -> dict[str, str | None]:
    """A YAML or JSON mapping {their_label: our_theme_id}; a null value drops that label."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read label map ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path}: invalid YAML/JSON in label map ({exc})") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: a label map must be a mapping {{their_label: our_theme_id}}")
    return {str(k): (None if v in (None, "") else str(v)) for k, v in data.items()}


def read(path: str | Path, cols: Columns, split: str | None) -> LabeledData:
    return read_labeled(path, replace(cols, split=split))


def raw_labels(data: LabeledData) -> list[list[str]]:
    return [[str(x) for x in lab] if isinstance(lab, (list, tuple)) else [str(lab)] for lab in data.labels]


def map_labels(
    labels: list[list[str]], codebook: Codebook, label_map: dict[str, str | None] | None, source: str
) -> tuple[list[list[str]], dict[str, int]]:
    """Labels translated into codebook ids; with a map, labels it does not cover are dropped and counted."""
    known = set(codebook.ids)
    if label_map:
        bad = sorted({v for v in label_map.values() if v is not None and v not in known})
        if bad:
            raise CorpusError(
                f"label map targets not in codebook {codebook.name!r}: {', '.join(bad)} "
                f"(themes: {', '.join(codebook.ids)})"
            )
    dropped: dict[str, int] = {}
    out = []
    for row in labels:
        mapped = []
        for lab in row:
            target = label_map.get(lab, lab if lab in known else None) if label_map else lab
            if target is None or (label_map and target not in known):
                dropped[lab] = dropped.get(lab, 0) + 1
                continue
            mapped.append(target)
        out.append(list(dict.fromkeys(mapped)))
    if not label_map:
        unknown = codebook.unknown(lab for row in out for lab in row)
        if unknown:
            raise CorpusError(
                f"{source}: labels not in codebook {codebook.name!r} ({', '.join(codebook.ids[:12])}"
                f"{', ...' if len(codebook) > 12 else ''}): {', '.join(unknown[:10])}; map them with "
                "--label-map FILE ({their_label: our_id}) or evaluate a model trained on this codebook"
            )
    return out, dropped


def to_evalset(
    data: LabeledData, codebook: Codebook, label_map: dict[str, str | None] | None = None, split: str | None = None
) -> EvalSet:
    labels, dropped = map_labels(raw_labels(data), codebook, label_map, data.source)
    keep = list(range(len(labels)))
    if not codebook.multi_label:
        many = [i for i, row in enumerate(labels) if len(row) > 1]
        if many:
            raise CorpusError(
                f"{data.source}: single-label codebook but row {many[0] + 1} has labels "
                f"{labels[many[0]]}; drop --single-label or fix the data"
            )
        keep = [i for i, row in enumerate(labels) if row]  # rows whose only label was dropped by the map
    index = {t: j for j, t in enumerate(codebook.ids)}
    Y = np.zeros((len(keep), len(codebook)), dtype=bool)
    for r, i in enumerate(keep):
        for lab in labels[i]:
            Y[r, index[lab]] = True
    grouped = data.groups is not None
    groups = np.array([str(data.groups[i]) for i in keep] if grouped else [f"row{i}" for i in keep])
    if len(keep) < len(labels):
        dropped["(rows without a mapped label)"] = len(labels) - len(keep)
    if data.skipped:
        dropped["(rows without text or label)"] = len(data.skipped)
    return EvalSet(
        [data.units[i] for i in keep],
        Y,
        groups,
        [data.ids[i] for i in keep],
        codebook,
        data.source,
        split,
        file_sha256(data.source),
        grouped,
        dropped,
    )


def infer_codebook(
    datasets: Sequence[LabeledData], multi_label: bool, label_map: dict[str, str | None] | None = None
) -> Codebook:
    """A codebook from the labels found, for tables that come without one."""
    seen = []
    for data in datasets:
        for row in raw_labels(data):
            for lab in row:
                target = label_map.get(lab, lab) if label_map else lab
                if target is not None:
                    seen.append(target)
    if not seen:
        raise CorpusError("no labels found in the data")
    return Codebook.from_labels(seen, multi_label=multi_label, name=Path(datasets[0].source).stem)
