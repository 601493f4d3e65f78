"""Ray Data: a ``ray.data.Dataset`` of documents or paragraphs in, a Dataset of ``policytag tag`` records out.

:func:`tag_documents` / :func:`tag_paragraphs` take whatever Ray Data reads (Parquet, JSONL, folders of text files
through :func:`read_files`) and return a Dataset of records, to be written with ``write_parquet`` /
``write_json``. Documents are split row-wise (``flat_map``) into paragraph rows that carry their article context;
``map_batches`` then streams chunks of paragraph rows through a pool of :class:`Tagger` actors (CPUs or GPUs per
actor), which score them with the local engine's own function (:func:`classifier.engines.local.score_groups`).
A document that cannot be tagged becomes one row with an ``error`` message.

Install with ``pip install 'policytag[ray]'``. Ray is imported only here, and only when used.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.encoding.features import Unit, article_units
from classifier.engines.local import DEFAULT_CHUNK, ENCODE_FAILED, paragraphs_of, score_groups
from classifier.engines.ray_ship import ModelFiles, SharedModel, load_shipped, model_files, require_ray
from classifier.errors import InputError, PolicytagError
from classifier.io.formats import TEXT_SUFFIXES, input_kind
from classifier.io.meta import merge_meta, text_meta
from classifier.io.readers import Document, Item, ReadOptions, _document, _record, decode, text_sha
from classifier.io.segment import Paragraph
from classifier.records import record_schema, to_row

if TYPE_CHECKING:  # heavy imports stay lazy
    import pyarrow as pa
    from ray.data import Dataset

log = logging.getLogger(__name__)


class Tagger:
    """Tags paragraph rows; in Ray, an actor that loads the model once and then serves chunk after chunk.

    A paragraph row holds ``doc``, ``doc_sha``, ``paragraph``, ``section``, ``text``, ``context`` (the strings the
    model reads around it), ``meta`` (the document's metadata as JSON text, passed through) and ``error`` (set
    for a document that failed upstream; passed through). All rows of a call are encoded together; when that
    fails, each document is retried alone and the one that still fails becomes an error row, as in the local
    engine. Columns named in ``keep`` are copied to the output. ``batch_size`` is the encoder's batch.
    """

    def __init__(self, model: ModelFiles | SharedModel | str | Path | None = None, cache: Any = True,
                 batch_size: int = 64, backend: str = "torch", device: str | None = None, keep: Sequence[str] = (),
                 decision: Any = None):
        self.model = load_shipped(model, cache, batch_size, backend, device, decision)
        self.keep = tuple(keep)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa
        extra = [batch.schema.field(k) for k in self.keep]
        schema = record_schema(list(self.model.classes_), extra)
        rows = self.tag_rows(batch.to_pylist())
        return pa.Table.from_pylist(rows, schema=schema)

    def tag_rows(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Output rows in input order: one record per paragraph, one error row per failed document."""
        todo = [r for r in rows if r.get("error") is None]
        scored = iter(self._score(todo))
        out, failed = [], set()
        for row in rows:
            kept = {k: row.get(k) for k in self.keep}
            if row.get("error") is not None:
                out.append(self._error_row(row, row["error"], kept))
                continue
            record = next(scored)
            if record is not None:
                out.append({"doc": row["doc"], "doc_sha": row["doc_sha"], **to_row(record), "meta": row.get("meta"),
                            "error": None, **kept})
            elif _doc_key(row) not in failed:
                failed.add(_doc_key(row))
                out.append(self._error_row(row, f"{row['doc']}: {ENCODE_FAILED}", kept))
        return out

    def _score(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """One record per row, ``None`` for the rows of a document that cannot be encoded."""
        groups = _groups(rows)
        units = [[Unit(r["text"], tuple(r.get("context") or ())) for r in group] for group in groups]
        out: list[dict[str, Any] | None] = []
        for group, got in zip(groups, score_groups(self.model, units, [str(g[0]["doc"]) for g in groups])):
            if got is None:
                out += [None] * len(group)
            else:
                out += self.model.records([Paragraph(r["paragraph"], r["text"], r.get("section")) for r in group],
                                          *got)
        return out

    @staticmethod
    def _error_row(row: dict[str, Any], message: str, kept: dict[str, Any]) -> dict[str, Any]:
        return {"doc": row.get("doc"), "doc_sha": row.get("doc_sha"), "paragraph": None, "section": None,
                "text": None, "themes": None, "scores": None, "evidence": None, "meta": None, "error": message,
                **kept}


def _doc_key(row: dict[str, Any]) -> tuple[Any, Any]:
    return row.get("doc"), row.get("doc_sha")


def _groups(rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive rows of the same document."""
    groups: list[list[dict[str, Any]]] = []
    for row in rows:
        if groups and _doc_key(groups[-1][-1]) == _doc_key(row):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


# -- documents and paragraphs into paragraph rows ---------------------------------------------------------
def paragraph_rows(doc: Document, paragraphs: Sequence[Paragraph], **extra: Any) -> list[dict[str, Any]]:
    """A document's paragraphs as Tagger rows, each with the article context the local engine gives it."""
    meta = to_row({"meta": doc.meta})["meta"]
    return [{"doc": doc.id, "doc_sha": doc.sha, "paragraph": p.index, "section": p.section, "text": p.text,
             "context": list(u.context), "meta": meta, "error": None, **extra}
            for p, u in zip(paragraphs, article_units(paragraphs))]


def _error_rows(error: InputError, doc: Document | None, **extra: Any) -> list[dict[str, Any]]:
    return [{"doc": doc.id if doc else error.location, "doc_sha": doc.sha if doc else None, "paragraph": None,
             "section": None, "text": None, "context": [], "error": str(error), **extra}]


def row_document(row: dict[str, Any], opts: ReadOptions, fmt: str | None = None) -> Item:
    """A Dataset row as a document, read as ``policytag tag`` reads it: a file row from :func:`read_files`
    (``bytes`` and ``path``) like a file, any other row like a JSONL record (``text_field`` and ``id_field``;
    a row without an id is named by its content hash)."""
    if "bytes" in row and "path" in row and opts.text_field not in row:
        path = str(row["path"])
        try:
            text, note = decode(bytes(row["bytes"]), path)
        except InputError as exc:
            return exc
        item = _document(path, text, input_kind(path), path, note,
                         opts.meta_fields)
    else:
        ident = row.get(opts.id_field)
        location = str(ident) if ident not in (None, "") else "<row>"
        item = _record(dict(row), location, opts, "")
    if isinstance(item, Document):
        if not item.id:
            item = replace(item, id=item.sha)
        if fmt and fmt != item.fmt:
            keys = [k for k, _ in opts.meta_fields]
            item = replace(item, fmt=fmt, meta=merge_meta(item.meta, text_meta(item.text, fmt, keys)))
    return item


def segment_document(row: dict[str, Any], opts: ReadOptions, fmt: str | None = None,
                     keep: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The row-wise step: one document row -> its paragraph rows (or one error row)."""
    kept = {k: row.get(k) for k in keep}
    item = row_document(row, opts, fmt)
    if isinstance(item, InputError):
        return _error_rows(item, None, **kept)
    paragraphs = paragraphs_of(item)
    if isinstance(paragraphs, InputError):
        return _error_rows(paragraphs, item, **kept)
    return paragraph_rows(item, paragraphs, **kept)


def read_files(paths: str | Sequence[str], **kwargs: Any) -> Dataset:
    """A folder (or files) of .txt/.md/.html articles as a Dataset of file rows for :func:`tag_documents`;
    any path Ray Data reads (local, s3://, gs://, ...). Keyword arguments go to ``ray.data.read_binary_files``."""
    require_ray()
    import ray.data
    kwargs.setdefault("file_extensions", sorted(s.lstrip(".") for s in TEXT_SUFFIXES))
    return ray.data.read_binary_files(paths, include_paths=True, **kwargs)


# -- Ray Data ---------------------------------------------------------------------------------------------
def _compute(concurrency: int | tuple[int, int]) -> Any:
    from ray.data import ActorPoolStrategy
    if isinstance(concurrency, tuple):
        return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    return ActorPoolStrategy(size=concurrency)


def _tag(rows: Dataset, model: Any, keep: Sequence[str], concurrency: int | tuple[int, int], chunk: int,
         num_cpus: float, num_gpus: float, cache: Any, batch_size: int, backend: str) -> Dataset:
    """Paragraph rows -> records: ``chunk`` rows per Tagger call (Ray Data's ``batch_size``), ``batch_size`` texts
    per encoder batch inside it."""
    import ray
    check_resources(ray, concurrency, num_cpus, num_gpus)
    files = SharedModel(ray.put(model_files(model)))
    return rows.map_batches(
        Tagger, batch_format="pyarrow", batch_size=chunk, compute=_compute(concurrency),
        num_cpus=num_cpus, num_gpus=num_gpus,
        fn_constructor_kwargs={"model": files, "cache": cache, "batch_size": batch_size, "backend": backend,
                               "device": "cuda" if num_gpus else None, "keep": tuple(keep)})


def check_resources(ray: Any, concurrency: int | tuple[int, int], num_cpus: float, num_gpus: float) -> None:
    """Refuse, before anything is submitted, actors the running cluster cannot place: Ray Data would wait for
    them forever (e.g. ``num_gpus=1`` on a machine without a GPU). Actors that hold every CPU leave none for
    the read and split tasks, which also stalls unless the cluster grows: a warning."""
    if not ray.is_initialized():
        return
    least = concurrency[0] if isinstance(concurrency, tuple) else concurrency
    total = ray.cluster_resources()
    for key, each in (("GPU", num_gpus), ("CPU", num_cpus)):
        need, have = least * each, total.get(key, 0)
        if need > have:
            raise PolicytagError(f"{least} Tagger actor(s) x {each:g} {key}s ask for {need:g} {key}s, the Ray "
                                 f"cluster has {have:g}: lower concurrency or num_{key.lower()}s (Ray Data would "
                                 "wait for them forever)")
    have = total.get("CPU", 0)
    if least * num_cpus >= have:
        log.warning("%s Tagger actors x %g CPUs take all %g CPUs of the Ray cluster, leaving none to read and "
                    "split documents: unless the cluster grows, the job will not progress (lower concurrency or "
                    "num_cpus)", least, num_cpus, have)


def tag_documents(ds: Dataset, model: ModelFiles | str | Path | None = None, *, text_column: str = "text",
                  id_column: str = "id", fmt: str | None = None, keep: Sequence[str] = (),
                  concurrency: int | tuple[int, int] = 1, chunk: int = DEFAULT_CHUNK, num_cpus: float = 1,
                  num_gpus: float = 0, cache: Any = True, batch_size: int = 64,
                  backend: str = "torch") -> Dataset:
    """A Dataset of documents -> a Dataset of records (one row per paragraph), lazily, as Ray Data does.

    Rows are documents: ``text_column`` (and ``id_column``) as in ``policytag tag`` on JSONL, or file rows from
    :func:`read_files`. ``fmt`` forces text, markdown or html (default: HTML when the text looks like it, else
    text; a file's format follows its extension). Each row is split into paragraphs (a row-wise ``flat_map``),
    then ``chunk`` paragraphs at a time go to one of ``concurrency`` Tagger actors (an int, or ``(min,
    max)`` to autoscale), each with ``num_cpus`` CPUs and ``num_gpus`` GPUs, encoding ``batch_size`` texts at a
    time (the encoder's batch, as ``--batch-size``; ``chunk`` is ``--chunk``). ``cache`` is the embedding cache
    on each node (True: its default folder). Output columns: see :func:`record_schema`; rows with ``error``
    set are documents that could not be tagged. Output order is Ray Data's (sort by ``doc``, ``paragraph``).
    """
    require_ray()
    from functools import partial
    opts = ReadOptions(text_field=text_column, id_field=id_column)
    rows = ds.flat_map(partial(segment_document, opts=opts, fmt=fmt, keep=tuple(keep)))
    return _tag(rows, model, keep, concurrency, chunk, num_cpus, num_gpus, cache, batch_size, backend)


def tag_paragraphs(ds: Dataset, model: ModelFiles | str | Path | None = None, *, text_column: str = "text",
                   article_column: str | None = "article_id", paragraph_column: str = "paragraph",
                   section_column: str = "section", context_column: str | None = None, keep: Sequence[str] = (),
                   concurrency: int | tuple[int, int] = 1, chunk: int = DEFAULT_CHUNK, num_cpus: float = 1,
                   num_gpus: float = 0, cache: Any = True, batch_size: int = 64,
                   backend: str = "torch") -> Dataset:
    """A Dataset of paragraphs (a corpus-style table) -> records, without splitting.

    Context as in :meth:`ThemeClassifier.tag_dataset`: a ``context_column`` wins; else, when the table has
    ``article_column``, each paragraph is read with its section and neighbours (ordered by
    ``paragraph_column``; this groups the Dataset by article, a shuffle); else rows are read alone. ``doc`` is
    the article id (or empty), ``doc_sha`` the paragraph's own hash.
    ``chunk``, ``batch_size`` and the actor options are :func:`tag_documents`'s.
    """
    require_ray()
    columns = ds.columns()
    if text_column not in columns:
        raise PolicytagError(f"dataset has no column {text_column!r} (columns: {', '.join(columns)})")
    art = article_column if context_column is None and article_column in columns else None
    spec = _ParagraphSpec(text_column, art, paragraph_column if paragraph_column in columns else None,
                          section_column if section_column in columns else None, context_column, tuple(keep))

    def to_rows(batch: pa.Table) -> pa.Table:  # Ray Data wants a function here, not a callable object
        return spec(batch)

    if art is None:
        rows = ds.map_batches(to_rows, batch_format="pyarrow")
    else:
        rows = ds.groupby(art).map_groups(to_rows, batch_format="pyarrow")
    return _tag(rows, model, keep, concurrency, chunk, num_cpus, num_gpus, cache, batch_size, backend)


@dataclass(frozen=True)
class _ParagraphSpec:
    """Paragraph-table rows -> Tagger rows (one article per call when grouped by article)."""

    text: str
    article: str | None
    paragraph: str | None
    section: str | None
    context: str | None
    keep: tuple[str, ...]

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        from classifier.integrations import build_units

        cols = batch.to_pydict()
        texts = cols[self.text]
        n = len(texts)
        index = cols[self.paragraph] if self.paragraph else [0] * n
        sections = cols[self.section] if self.section else [None] * n
        try:
            units = build_units(texts, cols[self.context] if self.context else None,
                                cols[self.article] if self.article else None, index, sections)
            problem = None
        except PolicytagError as exc:
            units, problem = [Unit("")] * n, str(exc)
        rows = []
        for i, u in enumerate(units):
            text = texts[i]
            bad = problem or (None if isinstance(text, str) and text.strip() else "empty text, nothing to tag")
            doc = str(cols[self.article][i]) if self.article else ""
            rows.append({"doc": doc, "doc_sha": text_sha(str(text)), "paragraph": int(index[i] or 0),
                         "section": sections[i] if isinstance(sections[i], str) else None,
                         "text": text if isinstance(text, str) else None, "context": list(u.context),
                         "error": f"{doc or '<row>'}: {bad}" if bad else None,
                         **{k: cols[k][i] for k in self.keep}})
        return pa.Table.from_pylist(rows)
