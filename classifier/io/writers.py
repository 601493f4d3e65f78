"""Writing records: JSONL or CSV, appended whole documents at a time so an interrupted run stays valid.

A run's outputs (-o, --summary, --html) are claimed together before any work (:func:`claim_outputs`): checked,
opened and locked, so a bad path, a file given twice or a second run on the same file is a usage error up front,
and the readers can keep the outputs out of the inputs by device and inode."""
from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from classifier.errors import PolicytagError
from classifier.io.formats import summary_format


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
    from classifier.decision import DecisionRule, cutoffs
    rule = rule or DecisionRule()
    cut = cutoffs(classes, learned, multi_label, rule)
    if cut is None:
        return "thresholds: none (a single-label model gives each paragraph its highest-scoring theme)\n"
    head = ("a theme is assigned when its score reaches its threshold" if multi_label else
            "each paragraph gets its highest-scoring theme, if it reaches the score shown")
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


class OutputError(PolicytagError):
    """An output (-o, --summary, --html) that cannot be used: said before any work, a usage error."""


class OutputFolderError(OutputError):
    """The output's folder does not exist: said before any work, not after the whole run."""


class OutputExistsError(OutputError):
    """The output file exists and neither --force nor --resume was given."""


class OutputInUseError(OutputError):
    """Another run holds the output's lock: two runs appending to one file would lose records."""


class OutputWriteError(PolicytagError):
    """A write failed part way (disk full, file too large): the output was cut back to its last whole document."""


@dataclass
class Target:
    """One output of a run, claimed before any work: a regular file (opened, locked, ``fd``), or a stream
    (stdout for ``-``, or a device such as /dev/null) that is written as it comes, without resume or lock."""

    path: str
    role: str
    fd: int | None = None
    stream: IO[str] | None = None
    created: bool = False  # made by this run: removed again if the run stops before writing to it

    @property
    def key(self) -> tuple[int, int] | None:
        """(device, inode) of a regular file: what the readers compare to keep outputs out of the inputs."""
        if self.fd is None:
            return None
        st = os.fstat(self.fd)
        return st.st_dev, st.st_ino

    def size(self) -> int:
        return os.fstat(self.fd).st_size if self.fd is not None else 0

    def emit(self, text: str) -> None:
        """Append ``text``; raises OSError (EFBIG, ENOSPC, ...) for the caller to undo the document."""
        if self.fd is None:
            stream = self.stream or sys.stdout
            stream.write(text)
            stream.flush()
            return
        data = text.encode("utf-8", "surrogatepass")
        while data:
            data = data[os.write(self.fd, data):]


def _identity(path: str | None) -> object:
    """What makes two outputs the same: stdout (``-``, or ``/dev/stdout`` and any other name of what stdout is
    writing to), the same regular file (also through links), or the same path. /dev/null may be shared."""
    out = _stdout_stat()
    if path is None or path == "-":
        return (out.st_dev, out.st_ino) if out is not None and stat.S_ISREG(out.st_mode) else "<stdout>"
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    if stat.S_ISREG(st.st_mode):
        return st.st_dev, st.st_ino
    if out is not None and os.path.samestat(st, out) and not os.path.samestat(st, os.stat(os.devnull)):
        return "<stdout>"
    return None


def _stdout_stat() -> os.stat_result | None:
    """What ``-o -`` writes to (a terminal, a pipe, or a file the shell redirected it to), if it can be told."""
    try:
        return os.fstat(sys.stdout.fileno())
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


def _open_error(path: str, exc: OSError) -> OutputError:
    if isinstance(exc, IsADirectoryError):
        return OutputError(f"{path}: is a directory; give a file name")
    if isinstance(exc, PermissionError):
        return OutputError(f"{path}: cannot write here (permission denied); choose another path")
    return OutputError(f"{path}: cannot write here ({exc.strerror or exc}); choose another path")


def check_output_path(path: str) -> None:
    """Why ``path`` cannot be an output, as far as can be told without opening it: a directory, or a folder that
    does not exist. Every command checks its outputs here before any work."""
    if path == "-":
        return
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory; give a file name")
    folder = Path(path).parent
    if not folder.is_dir():
        raise OutputFolderError(f"{path}: the folder {folder} does not exist; create it or choose another path")


def check_distinct(named: Sequence[tuple[str | None, str]]) -> None:
    """(path, option) pairs of one command's outputs: one file given for two of them is a usage error (``None``
    and ``-`` are stdout; /dev/null may be shared)."""
    seen: dict[object, str] = {}
    for path, role in named:
        ident = _identity(path)
        if ident is not None and ident in seen:
            raise OutputError(f"{path or '-'}: given as both {seen[ident]} and {role}; give each output its own file")
        if ident is not None:
            seen[ident] = role


def _open_device(path: str) -> IO[str]:
    """A device or pipe opened for writing without waiting: a named pipe that nothing reads would block the open
    for ever, so it is refused in one line instead (a reader started first, as with ``-o >(gzip > o.gz)``, is
    fine)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"{path}: a pipe that nothing reads; start its reader first or choose a file") from None
        raise _open_error(path, exc) from None
    os.set_blocking(fd, True)
    return open(fd, "w", encoding="utf-8")


def is_stream(path: str | None) -> bool:
    """Whether an output is written as a stream, not a regular file: stdout (``-``), /dev/null, /dev/stdout on a
    terminal or pipe. Nothing there can be read back, so it is neither locked nor continued with --resume."""
    if path is None or path == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def claim(path: str, role: str, force: bool, resume: bool) -> Target:
    """Check, open and lock one output before any work: every reason it cannot be written is a usage error now,
    not a traceback after the run. Nothing existing is truncated here; :meth:`RunOutputs.start` does that."""
    if path == "-":
        return Target(path, role)
    check_output_path(path)
    if is_stream(path):
        return Target(path, role, stream=_open_device(path))
    try:
        st: os.stat_result | None = os.stat(path)
    except OSError:
        st = None
    if st is not None and st.st_size > 0 and not (force or resume):
        raise OutputExistsError(f"{path}: output file exists; pass --force to overwrite it or --resume to complete it")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputInUseError(f"{path}: in use by another policytag run") from None
    except OSError:  # a file system without locks: go on unlocked rather than refuse
        pass
    return Target(path, role, fd=fd, created=st is None)


class RunOutputs:
    """The outputs of one ``tag`` run, claimed together before any work and written a whole document at a time.

    A document's records and its summary row are one unit: if either write fails (disk full), both files are cut
    back to where they were before it, so the output holds whole documents only and ``--resume`` completes it.
    """

    def __init__(self, records: Target, summary: Target | None = None, html: Target | None = None):
        self.records = records
        self.summary = summary
        self.html = html
        self._summary_kind = summary_format(summary.path) if summary is not None else ""
        self._meta_keys: list[str] = []
        self._theme_ids: list[str] = []
        self._groups: GroupedSummary | None = None

    @property
    def targets(self) -> list[Target]:
        return [t for t in (self.records, self.summary, self.html) if t is not None]

    @property
    def exclude(self) -> frozenset[tuple[int, int]]:
        """The outputs' (device, inode) pairs: never read as inputs, even inside an input folder."""
        return frozenset(t.key for t in self.targets if t.key is not None)

    def start(self, fmt: str, theme_ids: Sequence[str], resume: bool, head: str = "", meta_keys: Sequence[str] = (),
              summary_by: Sequence[str] = ()) -> None:
        """Empty the files (or, resuming, cut a torn last line) and write the headers where a file has none.
        ``head``: the pretty report's legend; ``meta_keys``: the metadata columns of a per-document summary;
        ``summary_by``: count the summary by group instead, written once at the end (:meth:`finish`)."""
        ids = self._theme_ids = list(theme_ids)
        self._meta_keys = list(meta_keys)
        check_summary_by(self.summary.path if self.summary else None, summary_by, resume)
        heads = [(self.records, serialize_header(ids) if fmt == "csv" else head if fmt == "pretty" else "")]
        if self.summary is not None and summary_by:
            self._groups = GroupedSummary(self._summary_kind, ids, summary_by)
        elif self.summary is not None:
            heads.append((self.summary, summary_header(self._summary_kind, ids, self._meta_keys)))
        for target, header in heads:
            if target.fd is not None:
                if resume:
                    _cut_torn_tail(target.fd)
                else:
                    os.ftruncate(target.fd, 0)
                if target.size() > 0:
                    continue
            if header:
                self._write([(target, header)])

    def write_document(self, records_text: str, summary_row: dict[str, Any] | None) -> None:
        """One document's records and summary row, both or neither (columns: the themes given to :meth:`start`)."""
        parts = [(self.records, records_text)]
        if self._groups is not None and summary_row is not None:
            self._groups.add(summary_row)
        elif self.summary is not None and summary_row is not None:
            row = summary_line(self._summary_kind, summary_row, self._theme_ids, self._meta_keys)
            parts.append((self.summary, row))
        self._write(parts)

    def _write(self, parts: list[tuple[Target, str]]) -> None:
        marks = [(t, t.size()) for t, _ in parts if t.fd is not None]
        for target, text in parts:
            try:
                if text:
                    target.emit(text)
            except BrokenPipeError:
                raise
            except OSError as exc:
                for t, size in marks:
                    with contextlib.suppress(OSError):
                        os.ftruncate(t.fd, size)
                kept = ("; the output ends with the last whole document: make room and run again with --resume to "
                        "complete it") if target.fd is not None else ""
                raise OutputWriteError(f"{target.path}: could not write ({exc.strerror or exc}){kept}") from None

    def write_page(self, text: str) -> None:
        """The HTML view, written once at the end (a failed write leaves no half page)."""
        if self.html is not None:
            self._write_whole(self.html, text, "the page")

    def _write_whole(self, target: Target, text: str, what: str, hint: str = "run again with --resume to build it"
                     ) -> None:
        try:
            if target.fd is not None:
                os.ftruncate(target.fd, 0)
            target.emit(text)
        except OSError as exc:
            if target.fd is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(target.fd, 0)
            raise OutputWriteError(f"{target.path}: could not write {what} ({exc.strerror or exc}); the records "
                                   f"are complete: make room and {hint}") from None

    def finish(self) -> None:
        """Write a grouped summary, then push the files to disk: a late 'no space' surfaces here, as a write
        error, not as silent loss."""
        if self._groups is not None and self.summary is not None:
            self._write_whole(self.summary, self._groups.text(), "the grouped summary",
                              "tag again (the cache makes it fast)")
        for target in self.targets:
            if target.fd is not None:
                try:
                    os.fsync(target.fd)
                except OSError as exc:
                    raise OutputWriteError(f"{target.path}: could not be saved to disk ({exc.strerror or exc}); "
                                           "make room and run again with --resume to check and complete it") from None

    def close(self, failed: bool = False) -> None:
        _release(self.targets, failed)

    def __enter__(self) -> RunOutputs:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)


def claim_outputs(output: str | None, fmt: str = "jsonl", summary: str | None = None, html: str | None = None,
                  force: bool = False, resume: bool = False) -> RunOutputs:
    """Check every output of a run before any work (exit 2 with one line for each way it can fail): two
    outputs that are one file, a pretty report to continue, a missing or read-only folder, a directory, a file
    that exists unasked, or one another run is writing. Claimed files stay locked until closed."""
    if resume and fmt == "pretty":
        raise OutputError("--resume needs --format jsonl or csv: a pretty report cannot be continued")
    named = [(p, role) for p, role in ((output, "-o"), (summary, "--summary"), (html, "--html"))
             if p is not None or role == "-o"]
    check_distinct(named)
    claimed: list[Target] = []
    try:
        for path, role in named:
            claimed.append(claim(path or "-", role, force, resume))
    except BaseException:
        _release(claimed, failed=True)
        raise
    targets = dict(zip((role for _, role in named), claimed))
    return RunOutputs(targets["-o"], targets.get("--summary"), targets.get("--html"))


def _release(targets: Sequence[Target], failed: bool) -> None:
    """Close the files (releasing their locks); after a failure, remove the ones this run made and left empty."""
    for target in targets:
        if target.fd is not None:
            if failed and target.created and target.size() == 0:
                with contextlib.suppress(OSError):
                    os.unlink(target.path)
            os.close(target.fd)
            target.fd = None
        elif target.stream is not None:
            with contextlib.suppress(OSError):
                target.stream.close()
            target.stream = None


def _cut_torn_tail(fd: int) -> None:
    """Cut a last line without its newline (a run killed mid-write): appends then start on a line of their own."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    pos = size
    while pos > 0:
        step = min(65536, pos)
        block = os.pread(fd, step, pos - step)
        if pos == size and block.endswith(b"\n"):
            return
        nl = block.rfind(b"\n")
        if nl >= 0:
            os.ftruncate(fd, pos - step + nl + 1)
            return
        pos -= step
    os.ftruncate(fd, 0)


def summary_header(kind: str, theme_ids: Sequence[str], meta_keys: Sequence[str] = ()) -> str:
    """The header of a per-document summary table (none for JSONL): document, its metadata, paragraphs, themes."""
    buf = io.StringIO(newline="")
    _table_header(buf, kind, ["document" if kind == "md" else "doc", *meta_keys], ["paragraphs"], theme_ids)
    return buf.getvalue()


def summary_line(kind: str, summary: dict[str, Any], theme_ids: Sequence[str], meta_keys: Sequence[str] = ()) -> str:
    """One document's theme profile (share of its paragraphs carrying each theme) as a summary row, with the
    article metadata carried (empty where unknown)."""
    if kind not in ("md", "csv"):
        return json.dumps(summary, ensure_ascii=False) + "\n"
    meta = summary.get("meta") or {}
    buf = io.StringIO(newline="")
    _table_row(buf, kind, [summary["doc"], *[meta.get(k, "") for k in meta_keys]], [summary["paragraphs"]],
               [summary["shares"][t] for t in theme_ids])
    return buf.getvalue()


def theme_shares(counts: dict[str, int], paragraphs: int) -> dict[str, float]:
    """Share of ``paragraphs`` carrying each theme, to 4 places: the one rule for a summary row's ``shares``,
    whether the row is a document or a group of documents."""
    return {t: round(c / paragraphs, 4) if paragraphs else 0.0 for t, c in counts.items()}


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


class GroupedSummary:
    """Theme profiles per group of documents (``--summary --summary-by outlet,month``): for each group, the number
    of documents and paragraphs and the share of its paragraphs carrying each theme. Groups are counted as
    documents finish and written, sorted with ``(unknown)`` last, when the run ends: one row per group."""

    def __init__(self, kind: str, theme_ids: Sequence[str], by: Sequence[str]):
        self.kind = kind
        self.theme_ids = list(theme_ids)
        self.by = list(by)
        self.groups: dict[tuple[str, ...], dict[str, Any]] = {}

    def add(self, summary: dict[str, Any]) -> None:
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
                        "shares": theme_shares(g["counts"], n)})
        return out

    def text(self) -> str:
        buf = io.StringIO(newline="")
        if self.kind in ("md", "csv"):
            _table_header(buf, self.kind, self.by, ["documents", "paragraphs"], self.theme_ids)
        for row in self.rows():
            if self.kind in ("md", "csv"):
                _table_row(buf, self.kind, [row[k] for k in self.by], [row["documents"], row["paragraphs"]],
                           [row["shares"][t] for t in self.theme_ids])
            else:
                buf.write(json.dumps(row, ensure_ascii=False) + "\n")
        return buf.getvalue()


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


def _rows(path: str, fmt: str) -> Iterator[dict[str, Any]]:
    """The rows of a records file as written (JSONL objects or CSV rows); unreadable lines are passed over."""
    p = Path(path)
    if not p.is_file():
        return
    text = p.read_bytes().decode("utf-8", errors="replace")
    if fmt == "jsonl":
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                yield rec
    else:
        yield from csv.DictReader(io.StringIO(text, newline=""))


def completed_documents(path: str, fmt: str) -> set[tuple[str, str]]:
    """(doc, doc_sha) pairs already in an output file; a torn last line is cut off so appends stay valid."""
    if not Path(path).is_file():
        return set()
    with open(path, "r+b") as fh:
        _cut_torn_tail(fh.fileno())
    return {(str(row["doc"]), str(row.get("doc_sha") or "")) for row in _rows(path, fmt)
            if row.get("doc") is not None and (fmt != "jsonl" or "doc_sha" in row)}


def read_records(path: str, fmt: str, theme_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The records of an output file, as ``tag`` wrote them (CSV rows turned back into records): what a resumed
    run's HTML page is rebuilt from, so the page shows every document of the output, not only the new ones."""
    if fmt == "jsonl":
        return [r for r in _rows(path, fmt) if {"doc", "doc_sha", "paragraph", "text", "themes", "scores"} <= set(r)]
    out = []
    for row in _rows(path, fmt):
        try:
            out.append({"doc": row["doc"], "doc_sha": row["doc_sha"], "paragraph": int(row["paragraph"]),
                        "section": row["section"] or None, "text": row["text"],
                        "themes": [t for t in row["themes"].split(";") if t],
                        "scores": {t: float(row[f"score_{t}"]) for t in theme_ids}})
        except (KeyError, TypeError, ValueError):
            continue
    return out
