"""Writing records: JSONL or CSV, appended whole documents at a time so an interrupted run stays valid."""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from classifier.errors import PolicytagError

FORMATS = ("jsonl", "csv", "pretty")


class OutputFolderError(PolicytagError):
    """The output's folder does not exist: said before any work, not after the whole run."""


class OutputExistsError(PolicytagError):
    """The output file exists and neither --force nor --resume was given."""


def format_for(path: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "csv" if path and path.lower().endswith(".csv") else "jsonl"


def csv_columns(theme_ids: Sequence[str]) -> list[str]:
    return ["doc", "doc_sha", "paragraph", "section", "text", "themes", *[f"score_{t}" for t in theme_ids]]


def paragraph_label(record: dict[str, Any]) -> str:
    """How a paragraph is numbered wherever a person reads it (``--format pretty``, the HTML view): its record's
    ``paragraph`` as stored (0-based), so the number seen matches the JSONL/CSV row it came from."""
    return f"¶{record.get('paragraph', '')}"


def pretty(records: Iterable[dict[str, Any]], width: int = 100) -> str:
    """A readable report: each paragraph's opening words under its themes, strongest first."""
    import textwrap
    out, doc = [], None
    for r in records:
        if r["doc"] != doc:
            doc = r["doc"]
            out.append(f"== {doc}")
        ranked = sorted(r["themes"], key=lambda t: -r["scores"][t])
        themes = ", ".join(f"{t} {r['scores'][t]:.2f}" for t in ranked) or "(no theme)"
        snippet = textwrap.shorten(r["text"], width=width - 6, placeholder=" ...")
        where = f" [{r['section']}]" if r.get("section") else ""
        out.append(f"  {paragraph_label(r)}{where}: {themes}\n      {snippet}")
    return "\n".join(out) + "\n" if out else ""


def legend(classes: Sequence[Any], learned: Sequence[float], multi_label: bool, rule: Any = None,
           width: int = 100) -> str:
    """The head of a pretty report: the score at which each theme is assigned (learned thresholds with a
    decision rule's overrides and minimum), so a reader can tell a near miss from a clear no."""
    from classifier.decision import DecisionRule, effective_thresholds
    rule = rule or DecisionRule()
    if multi_label:
        cut = effective_thresholds(classes, list(learned), rule)
        head = "a theme is assigned when its score reaches its threshold"
    elif rule.min_score is None and not rule.thresholds:
        return "thresholds: none (a single-label model gives each paragraph its highest-scoring theme)\n"
    else:
        cut = [max(float(rule.thresholds.get(str(c), 0.0)), float(rule.min_score or 0.0)) for c in classes]
        head = "each paragraph gets its highest-scoring theme, if it reaches the score shown"
    cap = f"; at most {rule.top_k} per paragraph" if rule.top_k and multi_label else ""
    lines, line = [], f"thresholds ({head}{cap}):"
    for c, t in zip(classes, cut):  # wrapped between themes, never inside "theme 0.42"
        item = f" {c} {t:.2f},"
        if len(line) + len(item) > width:
            lines.append(line)
            line = " "
        line += item
    return "\n".join([*lines, line.rstrip(",")]) + "\n"


def serialize(records: Iterable[dict[str, Any]], fmt: str, theme_ids: Sequence[str]) -> str:
    if fmt == "pretty":
        return pretty(records)
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for r in records:
        writer.writerow([r["doc"], r["doc_sha"], r["paragraph"], r["section"] or "", r["text"], ";".join(r["themes"]),
                         *[r["scores"][t] for t in theme_ids]])
    return buf.getvalue()


def check_output(path: str | None, force: bool, resume: bool) -> bool:
    """Whether a non-empty output exists; refuses to go on when it would be overwritten unasked."""
    if path is None or path == "-":
        return False
    folder = Path(path).parent
    if not folder.is_dir():
        raise OutputFolderError(f"{path}: the folder {folder} does not exist; create it or choose another path")
    exists = Path(path).exists() and Path(path).stat().st_size > 0
    if exists and not (force or resume):
        raise OutputExistsError(f"{path}: output file exists; pass --force to overwrite it or --resume to complete it")
    return exists


class RecordWriter:
    """Appends serialized documents with one write() and a flush each, so a kill leaves whole records only."""

    def __init__(self, path: str | None, fmt: str, theme_ids: Sequence[str], force: bool = False,
                 resume: bool = False, stream: IO[str] | None = None, head: str | None = None):
        """``head``: the pretty report's legend, written once at the top (not when a resume appends)."""
        self.path = path
        self.fmt = fmt
        self.theme_ids = list(theme_ids)
        self._stream = stream
        self._fd: int | None = None
        if path is None or path == "-":
            self._stream = stream or sys.stdout
            if fmt == "csv":
                self._emit(serialize_header(self.theme_ids))
            elif fmt == "pretty" and head:
                self._emit(head)
            return
        exists = check_output(path, force, resume)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if resume else os.O_TRUNC)
        self._fd = os.open(path, flags, 0o644)
        if fmt == "csv" and not (resume and exists):
            self._emit(serialize_header(self.theme_ids))
        elif fmt == "pretty" and head and not (resume and exists):
            self._emit(head)

    def _emit(self, text: str) -> None:
        if self._fd is not None:
            data = text.encode("utf-8", "surrogatepass")
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        else:
            self._stream.write(text)
            self._stream.flush()

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        text = serialize(records, self.fmt, self.theme_ids)
        if text:
            self._emit(text)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SummaryWriter:
    """Per-document theme profiles (``--summary``), written as each document finishes: memory stays flat however
    many documents there are. ``.md`` writes a Markdown table, ``.csv`` a CSV, anything else JSONL; the tables
    have a column for each of ``meta_keys`` (the article metadata carried, empty where unknown). With
    ``resume`` an existing summary is continued, like the records of a resumed run."""

    def __init__(self, path: str, theme_ids: Sequence[str], resume: bool = False, meta_keys: Sequence[str] = ()):
        self.theme_ids = list(theme_ids)
        self.meta_keys = list(meta_keys)
        self.kind = Path(path).suffix.lower().lstrip(".")
        exists = Path(path).exists() and Path(path).stat().st_size > 0
        self._fh = open(path, "a" if resume else "w", encoding="utf-8", newline="")
        if resume and exists:
            return
        _table_header(self._fh, self.kind, ["document" if self.kind == "md" else "doc", *self.meta_keys],
                      ["paragraphs"], self.theme_ids)

    def write(self, summary: dict[str, Any]) -> None:
        meta = summary.get("meta") or {}
        if self.kind in ("md", "csv"):
            _table_row(self._fh, self.kind, [summary["doc"], *[meta.get(k, "") for k in self.meta_keys]],
                       [summary["paragraphs"]], [summary["shares"][t] for t in self.theme_ids])
        else:
            self._fh.write(json.dumps(summary, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SUMMARY_GROUPS = ("outlet", "month")
UNKNOWN_GROUP = "(unknown)"


class SummaryGroupError(PolicytagError):
    """A ``--summary-by`` value names no grouping policytag knows."""


def parse_summary_by(spec: str) -> tuple[str, ...]:
    """``outlet``, ``month`` or ``outlet,month`` -> the grouping keys, in the order given."""
    keys = tuple(k.strip().lower() for k in spec.split(",") if k.strip())
    bad = [k for k in keys if k not in SUMMARY_GROUPS]
    if bad or not keys or len(set(keys)) != len(keys):
        raise SummaryGroupError(f"--summary-by: {spec!r} is not one of outlet, month or outlet,month")
    return keys


def check_summary_by(summary: str | None, by: Sequence[str], resume: bool) -> None:
    """A grouped summary needs a summary file, and covers one whole run (a resumed run would count only its
    new documents)."""
    if by and not summary:
        raise SummaryGroupError("--summary-by needs --summary FILE")
    if by and resume:
        raise SummaryGroupError("--summary-by cannot continue a summary with --resume: a grouped profile covers one "
                                "whole run; tag again without --resume (the embedding cache makes it fast)")


def summary_group(meta: dict[str, str] | None, by: Sequence[str]) -> tuple[str, ...]:
    """A document's group: its outlet and/or the month of its date, ``(unknown)`` where it has none."""
    from classifier.io.meta import month_of
    meta = meta or {}
    values = {"outlet": meta.get("outlet"), "month": month_of(meta.get("date"))}
    return tuple(values[k] or UNKNOWN_GROUP for k in by)


class GroupedSummaryWriter:
    """Theme profiles per group of documents (``--summary --summary-by outlet,month``): for each group, the number
    of documents and paragraphs and the share of its paragraphs carrying each theme. Groups are counted as
    documents finish and written, sorted with ``(unknown)`` last, when the run ends: one row per group."""

    def __init__(self, path: str, theme_ids: Sequence[str], by: Sequence[str]):
        self.path = path
        self.theme_ids = list(theme_ids)
        self.by = list(by)
        self.kind = Path(path).suffix.lower().lstrip(".")
        self.groups: dict[tuple[str, ...], dict[str, Any]] = {}

    def write(self, summary: dict[str, Any]) -> None:
        group = self.groups.setdefault(summary_group(summary.get("meta"), self.by),
                                       {"documents": 0, "paragraphs": 0, "counts": dict.fromkeys(self.theme_ids, 0)})
        group["documents"] += 1
        group["paragraphs"] += summary["paragraphs"]
        for t in self.theme_ids:
            group["counts"][t] += summary["counts"][t]

    def rows(self) -> list[dict[str, Any]]:
        """The groups' profiles, in the order they are written."""
        def order(key: tuple[str, ...]) -> tuple:
            return tuple((v == UNKNOWN_GROUP, v) for v in key)
        out = []
        for key in sorted(self.groups, key=order):
            g = self.groups[key]
            n = g["paragraphs"]
            out.append({**dict(zip(self.by, key)), "documents": g["documents"], "paragraphs": n,
                        "shares": {t: round(c / n, 4) if n else 0.0 for t, c in g["counts"].items()}})
        return out

    def close(self) -> None:
        with open(self.path, "w", encoding="utf-8", newline="") as fh:
            if self.kind in ("md", "csv"):
                _table_header(fh, self.kind, self.by, ["documents", "paragraphs"], self.theme_ids)
            for row in self.rows():
                if self.kind in ("md", "csv"):
                    _table_row(fh, self.kind, [row[k] for k in self.by], [row["documents"], row["paragraphs"]],
                               [row["shares"][t] for t in self.theme_ids])
                else:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def __enter__(self) -> GroupedSummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _table_header(fh: IO[str], kind: str, labels: Sequence[str], counts: Sequence[str],
                  theme_ids: Sequence[str]) -> None:
    """The header of a summary table: label columns, count columns, one column per theme."""
    if kind == "md":
        fh.write("| " + " | ".join([*labels, *counts, *theme_ids]) + " |\n"
                 "|" + "---|" * len(labels) + "---:|" * (len(counts) + len(theme_ids)) + "\n")
    elif kind == "csv":
        csv.writer(fh).writerow([*labels, *counts, *theme_ids])


def _table_row(fh: IO[str], kind: str, labels: Sequence[Any], counts: Sequence[int], shares: Sequence[float]) -> None:
    if kind == "md":
        cells = [str(v).replace("|", "\\|") for v in labels] + [str(c) for c in counts] + [f"{v:.2f}" for v in shares]
        fh.write("| " + " | ".join(cells) + " |\n")
    else:
        csv.writer(fh).writerow([*labels, *counts, *shares])


def serialize_header(theme_ids: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(csv_columns(theme_ids))
    return buf.getvalue()


def completed_documents(path: str, fmt: str) -> set[tuple[str, str]]:
    """(doc, doc_sha) pairs already in an output file; a torn last line is cut off so appends stay valid."""
    p = Path(path)
    if not p.exists():
        return set()
    data = p.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(p, "r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    done: set[tuple[str, str]] = set()
    text = data.decode("utf-8", errors="replace")
    if fmt == "jsonl":
        for line in text.splitlines():
            try:
                rec = json.loads(line)
                done.add((str(rec["doc"]), str(rec["doc_sha"])))
            except (ValueError, KeyError, TypeError):
                continue
    else:
        for row in csv.DictReader(io.StringIO(text, newline="")):
            if row.get("doc") is not None:
                done.add((row["doc"], row.get("doc_sha") or ""))
    return done
