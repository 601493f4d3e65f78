"""Loading labeled data for training and evaluation: project corpora or any CSV/JSONL/Parquet table."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .codebook import Codebook, load_codebook
from .errors import CorpusError, TrainingDataError
from .features import Unit

CORPUS_FILE = "paragraphs.jsonl"


@dataclass
class LabeledData:
    """Units with labels (lists for multi-label, strings for single-label), groups and a codebook if known."""

    units: list[Unit]
    labels: list[Any]
    groups: list[str] | None
    ids: list[str]
    codebook: Codebook | None
    source: str

    def __len__(self) -> int:
        return len(self.units)

    @property
    def texts(self) -> list[str]:
        return [u.text for u in self.units]


@dataclass(frozen=True)
class Columns:
    """How to read a table: which columns hold text, labels, groups and context."""

    text: str = "text"
    label: str = "labels"
    label_sep: str | None = None
    single_label: bool = False
    group: str | None = None
    context: tuple[str, ...] = ()
    split: str | None = None


def corpus_file(path: str | Path) -> Path | None:
    """The corpus JSONL if ``path`` is a corpus folder or its paragraphs file, else None."""
    path = Path(path)
    if path.is_dir():
        return path / CORPUS_FILE if (path / CORPUS_FILE).exists() else None
    return path if path.name == CORPUS_FILE else None


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV, JSONL or Parquet file as dicts; errors name the file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file")
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows = []
        with path.open(encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise TrainingDataError(f"{path}:{n}: malformed JSON ({exc.msg})") from None
        return rows
    import pandas as pd
    if suffix == ".csv":
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        raise TrainingDataError(f"{path}: unknown data format {suffix!r} (use .csv, .jsonl or .parquet)")
    return frame.to_dict("records")


def _labels_of(value: Any, cols: Columns, where: str) -> Any:
    if cols.single_label:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise TrainingDataError(f"{where}: empty label in single-label data")
        return str(value).strip()
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return [str(v) for v in json.loads(text)]
            except json.JSONDecodeError:
                raise TrainingDataError(f"{where}: label column looks like a list but is not valid JSON") from None
        if cols.label_sep:
            return [p.strip() for p in text.split(cols.label_sep) if p.strip()]
        return [text] if text else []
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def article_context(rows: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Context for corpus rows: section heading and previous/next paragraph of the same article."""
    order = {}
    for i, r in enumerate(rows):
        order.setdefault(r["article_id"], []).append(i)
    ctx: list[tuple[str, ...]] = [()] * len(rows)
    for idxs in order.values():
        idxs.sort(key=lambda i: rows[i]["paragraph"])
        for pos, i in enumerate(idxs):
            parts = [rows[i]["section"]] if rows[i].get("section") else []
            if pos > 0:
                parts.append(rows[idxs[pos - 1]]["text"])
            if pos + 1 < len(idxs):
                parts.append(rows[idxs[pos + 1]]["text"])
            ctx[i] = tuple(parts)
    return ctx


def read_labeled(path: str | Path, cols: Columns = Columns(), codebook: Codebook | str | None = None) -> LabeledData:
    """Labeled units from a project corpus (article context and groups built in) or any table."""
    cfile = corpus_file(path)
    if isinstance(codebook, (str, Path)):
        codebook = load_codebook(codebook)
    if cfile is not None:
        rows = read_table(cfile)
        if codebook is None and (cfile.parent / "codebook.yaml").exists():
            codebook = load_codebook(cfile.parent / "codebook.yaml")
        contexts = article_context(rows)
        keep = [i for i, r in enumerate(rows) if cols.split is None or r.get("split") == cols.split]
        if not keep:
            raise CorpusError(f"{cfile}: no rows in split {cols.split!r}")
        return LabeledData([Unit(rows[i]["text"], contexts[i]) for i in keep], [list(rows[i]["labels"]) for i in keep],
                           [str(rows[i]["article_id"]) for i in keep], [str(rows[i]["id"]) for i in keep],
                           codebook, str(cfile))
    rows = read_table(path)
    if not rows:
        raise TrainingDataError(f"{path}: no rows")
    needed = [cols.text, cols.label, *cols.context] + ([cols.group] if cols.group else [])
    missing = [c for c in needed if c not in rows[0]]
    if missing:
        raise TrainingDataError(f"{path}: missing column(s) {', '.join(missing)} (columns: {', '.join(map(str, rows[0]))}); "
                                "choose them with --text-column/--label-column/--context-columns/--group-column")
    if cols.split is not None:
        if "split" not in rows[0]:
            raise TrainingDataError(f"{path}: no 'split' column, cannot select split {cols.split!r}")
        rows = [r for r in rows if r.get("split") == cols.split]
    units, labels, groups, ids = [], [], [], []
    for n, r in enumerate(rows, 2 if Path(path).suffix.lower() == ".csv" else 1):
        text = r.get(cols.text)
        if not isinstance(text, str):
            raise TrainingDataError(f"{path}:{n}: text column {cols.text!r} is not a string")
        ctx = tuple(str(r[c]) for c in cols.context if isinstance(r.get(c), str) and r[c].strip())
        units.append(Unit(text, ctx))
        labels.append(_labels_of(r.get(cols.label), cols, f"{path}:{n}"))
        groups.append(str(r[cols.group]) if cols.group else None)
        ids.append(str(r.get("id", n)))
    return LabeledData(units, labels, groups if cols.group else None, ids, codebook, str(path))
