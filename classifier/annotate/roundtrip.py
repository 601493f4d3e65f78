"""The annotation round trip: paragraphs out to Label Studio or doccano (optionally pre-labeled with the
model's themes and scores), annotations back in as corpus rows.

Label Studio: tasks JSON for import (``data`` + ``predictions``), and its JSON / JSON-MIN exports of a
multi-choice text classification project (``<Choices name="themes" choice="multiple">``).
doccano: JSONL with ``text`` and ``label`` (a list of theme ids) plus metadata columns, both ways.
Corpus fields (id, article_id, paragraph, section, title, genre, region, split) travel in the task data,
so an exported paragraph comes back as the same corpus row with its labels filled in.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import numpy as np

from classifier.codebook import Codebook
from classifier.errors import InputError, PolicytagError, printable
from classifier.io.formats import ANNOTATION_TOOLS, POOL_TABLE_SUFFIXES, annotation_tool

if TYPE_CHECKING:
    from classifier.model import ThemeClassifier

log = logging.getLogger(__name__)

FORMATS = ANNOTATION_TOOLS
FROM_NAME = "themes"
TO_NAME = "text"
SCORES_FIELD = "policytag_scores"
INTERNAL_PREFIX = "policytag_"
GOLD_FIELDS = ("labels", "label", SCORES_FIELD)  # never sent to annotators: the point is a fresh judgement
DEFINITIONS_STYLE = ('    <View style="flex: 2; max-height: 80vh; overflow-y: auto; padding: 0 1em; '
                     'border-left: 1px solid #ddd">')
DEFINITION_STYLE = 'style="font-weight: normal; margin-top: 0"'  # Header sizes run 1-5 in Label Studio


class AnnotationError(PolicytagError):
    """An annotation file cannot be read as a whole (not JSON, wrong tool, wrong task type)."""


@dataclass
class Imported:
    """Corpus rows read from an annotation export, the problems met, and how many tasks had no annotation."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unlabeled: int = 0


# -- the pool: paragraphs to annotate ---------------------------------------------------------------
PARAGRAPH_COLUMNS = ("article_id", "paragraph", "labels", "label")  # a table with one of these holds paragraphs


def read_pool(paths: Sequence[str | Path], text_column: str = "text",
              skipped: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Paragraph rows from inputs read the way ``policytag tag`` reads them, plus one problem line per bad input.

    Articles (.txt/.md/.html files or folders) are split into paragraphs. A table (JSONL/CSV/Parquet) whose rows
    carry a paragraph column (``article_id``, ``paragraph``, ``labels`` or ``label``: a corpus or labeled table)
    holds paragraphs already: each row is one, kept whole. Any other table is a feed of articles, one a row
    (``id`` and ``text_column``, as ``tag`` reads JSONL/CSV): each row is split into its paragraphs, which keep
    the row's other columns (title, url, ...) for the annotators. With a ``skipped`` list, an input with nothing
    to read (an empty file, as ``tag`` skips it) goes there instead of among the problems."""
    from classifier.io.readers import ReadOptions, read_inputs
    from classifier.io.tables import numbered_rows

    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    articles: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() not in POOL_TABLE_SUFFIXES or path.is_dir():
            articles.append(str(raw))
            continue
        try:
            table = numbered_rows(path)
        except PolicytagError as exc:
            problems.append(str(exc))
            continue
        whole = any(column in row for _, row in table for column in PARAGRAPH_COLUMNS)
        for n, row in table:
            text = row.get(text_column)
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{path}:{n}: no text in column {text_column!r}")
            elif whole:
                rows.append(_paragraph_row(row, text, f"{path.stem}:{n}"))
            else:
                rows.extend(_feed_rows(row, text_column, f"{path}:{n}", problems))
    for item in read_inputs(articles, ReadOptions()) if articles else ():
        if isinstance(item, InputError):
            (skipped if item.skipped and skipped is not None else problems).append(str(item))
            continue
        rows.extend(_article_rows(item, {}))
    return rows, problems


def _paragraph_row(row: dict[str, Any], text: str, fallback_id: str) -> dict[str, Any]:
    """A table row that is one paragraph, as it is (JSON-ready, its paragraph number an int)."""
    row = {k: _plain(v) for k, v in row.items()}
    row["text"] = text
    if isinstance(row.get("paragraph"), str) and row["paragraph"].strip().isdigit():  # CSV cells are text
        row["paragraph"] = int(row["paragraph"])
    row.setdefault("id", fallback_id)
    return row


def _feed_rows(row: dict[str, Any], text_column: str, location: str, problems: list[str]) -> list[dict[str, Any]]:
    """A feed row (one article) as its paragraphs: the row read by ``tag``'s reader (id, format) and split by
    its segmenter, so a paragraph here is the paragraph ``tag`` scores."""
    from classifier.io.readers import ReadOptions, _record

    doc = _record(row, location, ReadOptions(text_field=text_column), location)
    if isinstance(doc, InputError):
        problems.append(str(doc))
        return []
    return _article_rows(doc, {k: _plain(v) for k, v in row.items() if k not in (text_column, "id")})


def _article_rows(doc: Any, extra: dict[str, Any]) -> list[dict[str, Any]]:
    from classifier.io.segment import split

    return [{**extra, "id": f"{doc.id}#{par.index}", "article_id": doc.id, "paragraph": par.index,
             "section": par.section, "text": par.text} for par in split(doc.text, doc.fmt)]


def _plain(value: Any) -> Any:
    """JSON-ready values (numpy scalars and arrays from pandas, NaN as None)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value


def pool_units(rows: Sequence[dict[str, Any]]) -> list[Any]:
    """Units for pool rows: with article context when the rows carry ``article_id``."""
    from classifier.integrations import build_units

    texts = [r["text"] for r in rows]
    if rows and all(r.get("article_id") is not None for r in rows):
        return build_units(texts, None, [r["article_id"] for r in rows],
                           [r.get("paragraph", i) for i, r in enumerate(rows)], [r.get("section") for r in rows])
    return build_units(texts)


# -- pre-annotations ---------------------------------------------------------------------------------
@dataclass
class Prelabels:
    """The model's view of each row: probabilities, themes and a confidence used to sort tasks."""

    P: np.ndarray
    themes: list[list[str]]
    confidence: np.ndarray
    theme_ids: list[str]
    model_version: str

    def subset(self, indices: Sequence[int]) -> Prelabels:
        return Prelabels(self.P[list(indices)], [self.themes[i] for i in indices], self.confidence[list(indices)],
                         self.theme_ids, self.model_version)


def prelabel(model: ThemeClassifier, rows: Sequence[dict[str, Any]], chunk: int = 256,
             progress: Callable[[int], Any] | None = None) -> Prelabels:
    """Score pool rows with a fitted model (article context included when the rows have it), ``chunk``
    rows at a time; ``progress`` is called with the number of rows after each chunk."""
    from classifier.annotate.active import uncertainty

    units = pool_units(rows)
    parts = [np.zeros((0, len(model.classes_)))]
    for start in range(0, len(units), chunk):
        parts.append(model.predict_proba(units[start:start + chunk]))
        if progress is not None:
            progress(len(parts[-1]))
    P = np.vstack(parts)
    u = uncertainty(P, model.thresholds_, model.head_.multi_label)
    version = f"policytag-{str(getattr(model, 'training_hash_', 'model'))[:8]}"
    return Prelabels(P, model.themes_of(P), 1.0 - u, [str(c) for c in model.classes_], version)


def _score_map(pre: Prelabels, i: int) -> dict[str, float]:
    order = np.argsort(-pre.P[i], kind="stable")
    return {pre.theme_ids[j]: round(float(pre.P[i, j]), 4) for j in order}


def _task_data(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row.items() if k not in GOLD_FIELDS}


# -- export ------------------------------------------------------------------------------------------
def label_studio_config(codebook: Codebook, with_scores: bool = False) -> str:
    """The labeling interface: the paragraph and one choice per theme on the left, the codebook's definitions
    on the right. Label Studio shows a Choice's ``hint`` only behind a feature flag, so each definition is also
    a Header in a side column, which every Label Studio renders without one (and scrolls on its own)."""
    choice = "multiple" if codebook.multi_label else "single"
    lines = ["<View>", '  <View style="display: flex; gap: 2em; align-items: flex-start">',
             '    <View style="flex: 3; min-width: 0">',
             f'      <Text name="{TO_NAME}" value="$text"/>',
             f'      <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="{choice}" showInLine="false">']
    for theme in codebook.themes:
        lines.append(f"        <Choice value={quoteattr(theme.id)} "
                     f"hint={quoteattr(theme.name + ': ' + theme.description)}/>")
    lines.append("      </Choices>")
    if with_scores:
        lines.append(f'      <Text name="scores" value="${SCORES_FIELD}"/>')
    lines += ["    </View>", DEFINITIONS_STYLE,
              f"      <Header value={quoteattr(f'Codebook {codebook.name} {codebook.version}'.strip())} size=\"4\"/>"]
    for theme in codebook.themes:
        lines.append(f"      <Header value={quoteattr(f'{theme.id}: {theme.name}')} size=\"5\"/>")
        lines.append(f"      <Header value={quoteattr(theme.description)} size=\"5\" {DEFINITION_STYLE}/>")
    lines += ["    </View>", "  </View>", "</View>"]
    return "\n".join(lines) + "\n"


def to_label_studio(rows: Sequence[dict[str, Any]], pre: Prelabels | None = None) -> list[dict[str, Any]]:
    """Label Studio tasks; with ``pre``, the model's themes as a prediction whose score is its confidence."""
    tasks = []
    for i, row in enumerate(rows):
        task: dict[str, Any] = {"data": _task_data(row)}
        if pre is not None:
            top = [f"{t} {s:.2f}" for t, s in _score_map(pre, i).items() if s >= 0.01][:6]
            task["data"][SCORES_FIELD] = ", ".join(top) or "all themes below 0.01"
            result = [{"id": f"r{i}", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                       "value": {"choices": pre.themes[i]}}] if pre.themes[i] else []
            task["predictions"] = [{"model_version": pre.model_version, "score": round(float(pre.confidence[i]), 4),
                                    "result": result}]
        tasks.append(task)
    return tasks


def to_doccano(rows: Sequence[dict[str, Any]], pre: Prelabels | None = None) -> list[dict[str, Any]]:
    """doccano JSONL records: ``text``, ``label`` (the model's themes when pre-labeled) and metadata."""
    out = []
    for i, row in enumerate(rows):
        rec = {"text": row["text"], **{k: v for k, v in _task_data(row).items() if k != "text"}}
        if pre is not None:
            rec["label"] = pre.themes[i]
            rec[SCORES_FIELD] = _score_map(pre, i)
        out.append(rec)
    return out


def write_tasks(tasks: Sequence[dict[str, Any]], path: str | Path, fmt: str) -> None:
    """Label Studio takes one JSON array; doccano one JSON object per line."""
    path = Path(path)
    if fmt == "label-studio":
        path.write_text(json.dumps(list(tasks), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    elif fmt == "doccano":
        path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")
    else:
        raise _unknown_tool(fmt)


def export_paragraphs(rows: Sequence[dict[str, Any]], path: str | Path, fmt: str,
                      model: ThemeClassifier | None = None) -> Prelabels | None:
    """Write rows for annotation, pre-labeled by ``model`` when one is given."""
    pre = prelabel(model, rows) if model is not None and rows else None
    tasks = to_label_studio(rows, pre) if fmt == "label-studio" else to_doccano(rows, pre)
    write_tasks(tasks, path, fmt)
    log.info("wrote %d %s tasks to %s%s", len(tasks), fmt, path, " with pre-annotations" if pre else "")
    return pre


def _unknown_tool(fmt: str) -> AnnotationError:
    return AnnotationError(f"unknown annotation format {fmt!r} (use {' or '.join(FORMATS)})")


def guess_format(path: str | Path) -> str:
    """label-studio for .json, doccano for .jsonl/.ndjson."""
    tool = annotation_tool(path)
    if tool is not None:
        return tool
    raise AnnotationError(f"{path}: cannot tell the annotation tool from the extension (.json: Label Studio, "
                          f".jsonl: doccano); name it with {' or '.join('--from ' + f for f in FORMATS)}")


# -- import ------------------------------------------------------------------------------------------
def read_annotations(path: str | Path, codebook: Codebook, fmt: str | None = None, split: str = "train",
                     text_key: str = "text", from_name: str | None = None) -> Imported:
    """Corpus rows from a Label Studio or doccano export; a bad task costs one problem line, not the file."""
    fmt = fmt or guess_format(path)
    if fmt == "label-studio":
        return read_label_studio(path, codebook, split, text_key, from_name)
    if fmt == "doccano":
        return read_doccano(path, codebook, split)
    raise _unknown_tool(fmt)


def _export_text(path: Path) -> str:
    """An export's text: the tools write UTF-8, so anything else is one line about the file, not a traceback."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AnnotationError(f"{printable(str(path))}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{printable(str(path))}: not UTF-8 (byte {exc.start}); annotation tools export "
                              "UTF-8, so export it again") from None


def _load_json(path: Path) -> Any:
    text = _export_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{printable(str(path))}:{exc.lineno}: not valid JSON ({exc.msg}); export the project "
                              "as JSON (or JSON-MIN) from Label Studio") from None
    except RecursionError:
        raise AnnotationError(f"{printable(str(path))}: JSON nested too deeply to be an export") from None


def read_label_studio(path: str | Path, codebook: Codebook, split: str = "train", text_key: str = "text",
                      from_name: str | None = None) -> Imported:
    """Label Studio JSON (full) or JSON-MIN export of a text classification project.

    Per task the ground-truth annotation wins, else the most recently updated one that was not cancelled.
    A submitted annotation with no choice means "no theme"; a task with no annotation is not imported.
    """
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise AnnotationError(f"{printable(str(path))}: expected a JSON array of tasks")
    out = Imported()
    for n, task in enumerate(data, 1):
        where = printable(f"{path}:task {task.get('id', n) if isinstance(task, dict) else n}")
        if not isinstance(task, dict):
            out.problems.append(f"{where}: not a JSON object")
            continue
        if isinstance(task.get("data"), dict):
            fields, labels = task["data"], _ls_full_labels(task, from_name, where)
        else:
            fields, labels = task, _ls_min_labels(task, from_name or FROM_NAME)
        if isinstance(labels, str):
            out.problems.append(labels)
            continue
        if labels is None:
            out.unlabeled += 1
            continue
        _add_row(out, fields, labels, codebook, split, where, text_key, task.get("id", n))
    return out


def _ls_full_labels(task: dict[str, Any], from_name: str | None, where: str) -> list[str] | str | None:
    anns = [a for a in _list(task.get("annotations")) if isinstance(a, dict) and not a.get("was_cancelled")]
    if not anns:
        return None
    truth = [a for a in anns if a.get("ground_truth")]
    ann = max(truth or anns, key=_recency)
    labels: list[str] = []
    for res in _list(ann.get("result")):
        if not isinstance(res, dict):
            continue
        if res.get("type") not in (None, "choices") or (from_name and res.get("from_name") != from_name):
            if res.get("type") in ("labels", "span", "hypertextlabels"):
                return f"{where}: span annotation ({res.get('type')}); expected a Choices text classification"
            continue
        value = res.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list):
            return f"{where}: a choices result without a list of choices"
        labels.extend(str(c) for c in choices)
    return labels


def _list(value: Any) -> list[Any]:
    """A field that should hold a list, as one (anything else holds nothing usable)."""
    return value if isinstance(value, list) else []


def _recency(ann: dict[str, Any]) -> tuple[str, int, int, str]:
    """Order of annotations of one task: last updated, then by id; ids may be numbers or strings in one export
    (numbers first, in numeric order), which must not make the comparison fail."""
    stamp = str(ann.get("updated_at") or ann.get("created_at") or "")
    ident = ann.get("id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        return stamp, 0, ident, ""
    return stamp, 1, 0, str(ident if ident is not None else "")


def _ls_min_labels(task: dict[str, Any], key: str) -> list[str] | None:
    if "annotation_id" not in task and key not in task:
        return None
    value = task.get(key)
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("choices", [])
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def read_doccano(path: str | Path, codebook: Codebook, split: str = "train") -> Imported:
    """doccano JSONL export of a text classification project (``label``, or ``labels``, a list of names).

    Every record counts as annotated (an empty list means "no theme"): export only approved examples.
    """
    path = Path(path)
    out = Imported()
    lines = _export_text(path).splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{printable(str(path))}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            out.problems.append(f"{where}: malformed JSON ({exc.msg})")
            continue
        except RecursionError:
            out.problems.append(f"{where}: JSON nested too deeply to read")
            continue
        if not isinstance(rec, dict):
            out.problems.append(f"{where}: not a JSON object")
            continue
        key = "label" if "label" in rec else "labels" if "labels" in rec else None
        if key is None:
            out.unlabeled += 1
            continue
        value = rec[key]
        value = [] if value is None else value if isinstance(value, list) else [value]
        if any(isinstance(v, (list, dict)) for v in value):
            out.problems.append(f"{where}: span labels ([start, end, label]); expected a text classification "
                                "project (a list of label names)")
            continue
        fields = {k: v for k, v in rec.items() if k not in ("label", "labels")}
        _add_row(out, fields, [str(v) for v in value], codebook, split, where, "text", n)
    return out


def _add_row(out: Imported, fields: dict[str, Any], labels: list[str], codebook: Codebook, split: str,
             where: str, text_key: str, fallback_id: Any) -> None:
    text = fields.get(text_key)
    if not isinstance(text, str) or not text.strip():
        out.problems.append(f"{where}: no text in field {text_key!r}")
        return
    unknown = codebook.unknown(labels)
    if unknown:
        out.problems.append(f"{where}: label(s) not in codebook {codebook.name!r}: {', '.join(unknown)}")
        return
    labels = list(dict.fromkeys(labels))
    if not codebook.multi_label and len(labels) != 1:
        out.problems.append(f"{where}: single-label codebook but {len(labels)} labels")
        return
    out.rows.append(corpus_row(fields, text, labels, split, fallback_id, text_key))


def corpus_row(fields: dict[str, Any], text: str, labels: list[str], split: str, fallback_id: Any,
               text_key: str = "text") -> dict[str, Any]:
    """A row in the corpus schema: known fields kept, missing ones given neutral defaults."""
    row_id = str(fields.get("id") if fields.get("id") not in (None, "") else f"task-{fallback_id}")
    paragraph = fields.get("paragraph")
    if isinstance(paragraph, str) and paragraph.strip().isdigit():
        paragraph = int(paragraph)
    row: dict[str, Any] = {
        "id": row_id,
        "article_id": str(fields.get("article_id") or row_id),
        "paragraph": paragraph if isinstance(paragraph, int) and not isinstance(paragraph, bool) else 0,
        "section": fields.get("section") if isinstance(fields.get("section"), str) else None,
        "title": fields.get("title") if isinstance(fields.get("title"), str) else None,
        "text": text,
        "labels": labels,
        "genre": str(fields.get("genre") or "unknown"),
        "region": str(fields.get("region") or "unknown"),
        "split": fields.get("split") if fields.get("split") in ("train", "dev", "test") else split,
    }
    skip = {*row, text_key, "annotation_id", "annotator", "created_at", "updated_at", "lead_time", FROM_NAME}
    row.update({k: v for k, v in fields.items() if k not in skip and not str(k).startswith(INTERNAL_PREFIX)})
    return row


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Corpus rows as JSONL (the ``paragraphs.jsonl`` format); returns how many were written."""
    rows = list(rows)
    Path(path).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)
