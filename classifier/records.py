"""The record schema: one source for what a tagged paragraph is, in JSONL, CSV, Arrow (Ray) and Python."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypedDict


class Record(TypedDict, total=False):
    """One tagged paragraph. ``evidence`` (models that read sentences) maps each assigned theme to the sentence
    that scored highest for it; ``doc``/``doc_sha`` are added by the batch engines. ``meta`` (last, and only when
    something is known) is the article's metadata: any of ``title``, ``date`` (ISO ``YYYY-MM-DD``, or ``YYYY-MM``
    or ``YYYY``), ``outlet``, ``author`` and ``url`` (see :mod:`classifier.io.meta`)."""

    doc: str
    doc_sha: str
    paragraph: int
    section: str | None
    text: str
    themes: list[str]
    scores: dict[str, float]
    evidence: dict[str, str]
    meta: dict[str, str]


class Records(list):
    """The records of one article as library calls return them (``tag_article``, ``tag_paragraphs``): a plain
    list of :class:`Record` dicts that Jupyter shows as a table (paragraph, themes with scores, text)."""

    def _repr_html_(self) -> str:
        from html import escape
        rows = []
        for rec in self:
            scores = rec.get("scores", {})
            themes = ", ".join(f"{escape(str(t))} ({scores.get(t, 0):.2f})" for t in rec.get("themes", [])) or "-"
            rows.append(f"<tr><td>{escape(str(rec.get('paragraph', '')))}</td><td>{themes}</td>"
                        f"<td style=\"text-align:left\">{escape(str(rec.get('text', '')))}</td></tr>")
        count = f"{len(self)} paragraph{'s' * (len(self) != 1)}"
        return ("<table class=\"policytag-records\"><caption>" + count + "</caption><thead><tr><th>#</th>"
                "<th>themes</th><th style=\"text-align:left\">text</th></tr></thead><tbody>" + "".join(rows)
                + "</tbody></table>")


RECORD_FIELDS = ("doc", "doc_sha", "paragraph", "section", "text", "themes", "scores", "evidence", "meta")
OPTIONAL_FIELDS = ("evidence", "meta")  # absent from a record when there is nothing to say; JSON text in Arrow


def record_schema(theme_ids: Sequence[str], extra: Sequence[Any] = ()) -> Any:
    """The Arrow schema of tagged rows (Ray Data): the record fields, ``error``, then kept input columns.
    ``evidence`` and ``meta`` travel as JSON objects in strings (null when there is none): Arrow has no type for
    "a mapping over some of these keys" that keeps an empty one apart from a missing one."""
    import pyarrow as pa

    return pa.schema([("doc", pa.string()), ("doc_sha", pa.string()), ("paragraph", pa.int64()),
                      ("section", pa.string()), ("text", pa.string()), ("themes", pa.list_(pa.string())),
                      ("scores", pa.struct([(t, pa.float64()) for t in theme_ids])),
                      ("evidence", pa.string()), ("meta", pa.string()), ("error", pa.string()),
                      *extra])


def from_row(row: dict[str, Any]) -> Record:
    """A record from a tagged Arrow row, as the local engine writes it: ``evidence`` only for assigned themes,
    and absent for models that name no evidence (their rows carry none); ``meta`` absent when none is known."""
    rec: dict[str, Any] = {k: row[k] for k in RECORD_FIELDS if k not in OPTIONAL_FIELDS}
    for key in OPTIONAL_FIELDS:
        value = row.get(key)
        if value is not None:
            rec[key] = json.loads(value) if isinstance(value, str) else dict(value)
    return rec  # type: ignore[return-value]


def to_row(record: dict[str, Any]) -> dict[str, Any]:
    """A record as an Arrow row of :func:`record_schema`: evidence and meta as JSON text (None when absent)."""
    return {**record, **{k: None if record.get(k) is None else json.dumps(record[k], ensure_ascii=False)
                         for k in OPTIONAL_FIELDS}}
