"""Loading labeled data for training and evaluation: project corpora or any CSV/JSONL/Parquet table."""
from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.codebook import Codebook, load_codebook, resolve_codebook
from classifier.encoding.features import Unit
from classifier.errors import CorpusError, TrainingDataError, printable
from classifier.io.formats import TABLES

CORPUS_FILE = "paragraphs.jsonl"
UNION_FILE = "union.json"


@dataclass
class LabeledData:
    """Units with labels (lists for multi-label, strings for single-label), groups and a codebook if known."""

    units: list[Unit]
    labels: list[Any]
    groups: list[str] | None
    ids: list[str]
    codebook: Codebook | None
    source: str
    skipped: list[str] = field(default_factory=list)  # "path:line: reason" for rows left out (no text / no label)

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
    split: str | None = None  # one split's name, or several joined by commas ("train,dev"): see split_names


def split_names(split: str | None) -> frozenset[str] | None:
    """The split names a split option lists: one ("train") or several joined by commas ("train,dev": a final model
    may train on every row the test split does not hold); None for every row. An empty name ("train,") is refused:
    it would select the rows whose split is blank."""
    if split is None:
        return None
    names = [name.strip() for name in str(split).split(",")]
    if not all(names):
        raise TrainingDataError(f"split {split!r}: a name is empty; name splits joined by commas, e.g. train,dev")
    return frozenset(names)


def split_rows(values: Sequence[Any], split: str | None, where: str, error: type[Exception]) -> list[int]:
    """Indices of the rows (their split ``values``) that ``split`` selects. Every name it lists must be a split the
    data has, so a misspelt one ("train,dve") is refused instead of quietly training on fewer rows."""
    names = split_names(split)
    if names is None:
        return list(range(len(values)))
    present = {str(v) for v in values if v is not None and str(v).strip()}
    missing = sorted(names - present)
    if missing:
        raise error(f"{where}: no rows in split {', '.join(map(repr, missing))} "
                    f"(splits here: {', '.join(sorted(present)) or 'none'})")
    return [i for i, v in enumerate(values) if str(v) in names]


def corpus_file(path: str | Path) -> Path | None:
    """The corpus JSONL if ``path`` is a corpus folder or its paragraphs file, the union file if ``path`` is a
    union of corpora (see :func:`corpus_members`), else None."""
    path = Path(path)
    if path.is_dir():
        for name in (CORPUS_FILE, UNION_FILE):
            if (path / name).exists():
                return path / name
        return None
    return path if path.name in (CORPUS_FILE, UNION_FILE) else None


def corpus_members(cfile: Path) -> list[Path]:
    """The paragraphs files a corpus file stands for: itself, or for a union folder (``union.json``,
    ``{"corpora": ["../a", "../b"]}``, paths relative to the folder) each member's. Article ids must be unique
    across members; each member keeps its own article-level splits."""
    if cfile.name != UNION_FILE:
        return [cfile]
    try:
        spec = json.loads(cfile.read_text(encoding="utf-8"))
        members = [str(m) for m in spec["corpora"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{cfile}: not a union of corpora ({exc}); expected {{\"corpora\": [folders]}}") from None
    out = [(cfile.parent / m / CORPUS_FILE).resolve() for m in members]
    for m in out:
        if not m.exists():
            raise CorpusError(f"{cfile}: member {m.parent} has no {CORPUS_FILE}")
    return out


def corpus_table(cfile: Path) -> list[dict[str, Any]]:
    """Rows of a corpus file, a union's members one after another."""
    return [row for member in corpus_members(cfile) for row in read_table(member)]


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV, JSONL or Parquet file as dicts; errors name the file and line."""
    return [row for _, row in numbered_rows(path)]


def numbered_rows(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line in the file, row) for a CSV (header is line 1), JSONL (blank lines skipped) or Parquet (row number)."""
    path = Path(path)
    kind = TABLES.get(path.suffix.lower(), path.suffix.lower())
    name = printable(str(path))
    if not path.exists():
        raise TrainingDataError(f"{name}: no such file")
    if kind in TABLES.values() and not path.is_file():  # a pipe with no writer would block here for ever
        raise TrainingDataError(f"{name}: not a regular file (a pipe, device or socket); save the table to a file "
                                "and name that")
    try:
        return _numbered_rows(path, kind, name)
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{name}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None


def _numbered_rows(path: Path, kind: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a table of ``kind`` (see :data:`classifier.io.formats.TABLES`; else the unknown suffix)."""
    if kind == "jsonl":
        rows = []
        with path.open(encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append((n, json.loads(line)))
                    except json.JSONDecodeError as exc:
                        raise TrainingDataError(f"{name}:{n}: malformed JSON ({exc.msg})") from None
                    except RecursionError:
                        raise TrainingDataError(f"{name}:{n}: JSON nested too deeply to read") from None
                    if not isinstance(rows[-1][1], dict):
                        raise TrainingDataError(f"{name}:{n}: expected a JSON object per line")
        return rows
    import pandas as pd
    if kind == "csv":
        from classifier.io.readers import csv_quote_problem
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        found = csv_quote_problem(path.read_text(encoding="utf-8", errors="replace"))
        if found is not None:
            raise TrainingDataError(f"{name}:{found[0]}: {found[1]}")
        try:
            frame = pd.read_csv(path, keep_default_na=False, dtype=str)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            reason = " ".join(str(exc).split())  # e.g. "EOF inside string starting at row 1": a quote left open
            raise TrainingDataError(f"{name}: malformed CSV ({reason})") from None
        first = 2
    elif kind == "parquet":
        frame = pd.read_parquet(path)
        first = 1
    else:
        raise TrainingDataError(f"{name}: unknown data format {kind!r} (use .csv, .jsonl or .parquet)")
    return list(enumerate(frame.to_dict("records"), first))


def _missing(value: Any) -> bool:
    """None, NaN (Parquet/pandas nulls) or a blank string."""
    return value is None or (isinstance(value, float) and value != value) or (isinstance(value, str)
                                                                             and not value.strip())


def _labels_of(value: Any, cols: Columns, where: str) -> Any:
    if cols.single_label:
        return _label_text(value)
    if _missing(value):
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
        return [_label_text(v) for v in value]
    return [_label_text(value)]


def _label_text(value: Any) -> str:
    """A label as text; integer codes that pandas turned into floats (a column with nulls) read as integers."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def corpus_groups(rows: Sequence[dict[str, Any]], key: str | None, cfile: Path) -> list[str]:
    """What keeps a corpus's rows together in cross-validation folds: their article (``article_id``), or a field
    every row carries, such as ``writer``: folds that hold out whole writers score each configuration on writing
    its writer never showed the model, as new text will be."""
    key = key or "article_id"
    groups = [_group(r, key) for r in rows]
    if None in groups:
        missing = rows[groups.index(None)]
        raise CorpusError(f"{printable(str(cfile))}: row {missing.get('id')!r} has no {key!r} field to group by; "
                          f"every row needs one (its fields: {', '.join(sorted(missing))})")
    return groups


def _group(row: dict[str, Any], key: str) -> str | None:
    """A row's group (its value of ``key`` as text), or None when it has none: one rule for tables and corpora."""
    value = row.get(key)
    return None if _missing(value) else _label_text(value)


def read_labeled(path: str | Path, cols: Columns = Columns(), codebook: Codebook | str | None = None) -> LabeledData:
    """Labeled units from a project corpus (article context and groups built in) or any table."""
    cfile = corpus_file(path)
    codebook = resolve_codebook(codebook)
    if cfile is not None:
        rows = corpus_table(cfile)
        if codebook is None and (cfile.parent / "codebook.yaml").exists():
            codebook = load_codebook(cfile.parent / "codebook.yaml")
        contexts = article_context(rows)
        keep = split_rows([r.get("split") for r in rows], cols.split, str(cfile), CorpusError)
        return LabeledData([Unit(rows[i]["text"], contexts[i]) for i in keep], [list(rows[i]["labels"]) for i in keep],
                           corpus_groups([rows[i] for i in keep], cols.group, cfile),
                           [str(rows[i]["id"]) for i in keep], codebook, str(cfile))
    rows = numbered_rows(path)
    if not rows:
        raise TrainingDataError(f"{path}: no rows")
    needed = [cols.text, cols.label, *cols.context] + ([cols.group] if cols.group else [])
    missing = [c for c in needed if c not in rows[0][1]]
    if missing:
        raise TrainingDataError(f"{path}: missing column(s) {', '.join(missing)} (columns: "
                                f"{', '.join(map(str, rows[0][1]))}); "
                                "choose them with --text-column/--label-column/--context-columns/--group-column")
    if cols.split is not None:
        if "split" not in rows[0][1]:
            raise TrainingDataError(f"{path}: no 'split' column, cannot select split {cols.split!r}")
        keep = split_rows([r.get("split") for _, r in rows], cols.split, str(path), TrainingDataError)
        rows = [rows[i] for i in keep]
    data = LabeledData([], [], [] if cols.group else None, [], codebook, str(path))
    for n, r in rows:
        got = _table_row(r, cols, f"{path}:{n}")
        if isinstance(got, str):
            data.skipped.append(f"{path}:{n}: {got}")
            continue
        data.units.append(got[0])
        data.labels.append(got[1])
        if data.groups is not None:
            group = _group(r, cols.group)
            if group is None:
                raise TrainingDataError(f"{path}:{n}: no {cols.group!r} value to group by; every row needs one")
            data.groups.append(group)
        data.ids.append(str(r.get("id", n)))
    if not data.units:
        raise TrainingDataError(f"{path}: no usable rows ({len(data.skipped)} without text or label; first: "
                                f"{data.skipped[0] if data.skipped else 'none'})")
    return data


def _table_row(r: dict[str, Any], cols: Columns, where: str) -> tuple[Unit, Any] | str:
    """(unit, labels) of one table row, or why the row cannot be used (it is left out and counted, not fatal)."""
    text = r.get(cols.text)
    if _missing(text):
        return "no text"
    if not isinstance(text, str):
        raise TrainingDataError(f"{where}: text column {cols.text!r} holds {type(text).__name__}, not text")
    if cols.single_label and _missing(r.get(cols.label)):
        return "no label (single-label data)"
    context = tuple(str(r[c]) for c in cols.context if isinstance(r.get(c), str) and r[c].strip())
    return Unit(text, context), _labels_of(r.get(cols.label), cols, where)
