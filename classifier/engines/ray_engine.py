"""Tagging at cluster scale with Ray: the records of ``policytag tag``, from actors that each load the model once.

Two ways in, one worker (:class:`Tagger`):

* :func:`tag_documents` / :func:`tag_paragraphs` take a ``ray.data.Dataset`` (whatever Ray Data reads: Parquet,
  JSONL, folders of text files through :func:`read_files`) and return a Dataset of records, to be written with
  ``write_parquet`` / ``write_json``. Documents are split row-wise (``flat_map``) into paragraph rows that carry
  their article context; ``map_batches`` then streams batches of paragraph rows through a pool of Tagger actors
  (CPUs or GPUs per actor). A document that cannot be tagged becomes one row with an ``error`` message.
* :func:`tag_stream_ray` is ``policytag tag --engine ray``: the driver reads and plans exactly as the local engine
  does (``pipeline.tag_stream`` decides chunks, skips and errors), every chunk is tagged by a Tagger actor, and the
  results come back in input order, so the same writer, ``--resume`` and exit codes apply. On CPUs the records are
  identical to the local engine's: each chunk reaches the encoder as the same batch.

Install with ``pip install 'policytag[ray]'``. Ray is imported only here, and only when used.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.encoding.features import Unit, article_units
from classifier.engines.local import DEFAULT_CHUNK, Result, score, tag_stream
from classifier.errors import InputError, PolicytagError
from classifier.io.meta import merge_meta, text_meta
from classifier.io.readers import TEXT_SUFFIXES, Document, Item, ReadOptions, _document, _record, decode
from classifier.io.segment import Paragraph, split
from classifier.records import from_row, record_schema, to_row

if TYPE_CHECKING:  # heavy imports stay lazy
    import pyarrow as pa
    from ray.data import Dataset

log = logging.getLogger(__name__)
ENCODE_FAILED = "could not be encoded (see --verbose for details)"


def require_ray() -> Any:
    """The ``ray`` module, or an actionable error when the optional extra is not installed."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data ships with ray[data])
    except ImportError:
        raise PolicytagError("the Ray engine needs Ray: pip install 'policytag[ray]'") from None
    return ray


# -- the model, as it travels -----------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFiles:
    """A model folder as bytes: it reaches every node through Ray's object store, so workers need no shared
    filesystem, and each node loads (and checks) it with :func:`classifier.load_model` as the driver does."""

    name: str
    files: dict[str, bytes]

    @classmethod
    def read(cls, directory: str | Path | None = None) -> ModelFiles:
        from classifier import DEFAULT_MODEL_DIR
        from classifier.persist import read_manifest

        root = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
        read_manifest(root)  # a clear error here beats one from every actor
        files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        return cls(str(root), files)

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()[:16]

    def materialize(self) -> Path:
        """The folder on this node (written once per node, atomically, under the temp folder)."""
        target = Path(tempfile.gettempdir()) / "policytag-models" / self.digest
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.digest}-", dir=target.parent))
        for name, data in self.files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        try:
            staging.rename(target)
        except OSError:  # another actor on this node was first
            import shutil
            shutil.rmtree(staging, ignore_errors=True)
        return target


@dataclass(frozen=True)
class _Shared:
    """A model put in the object store once; wrapped so that Ray passes each actor constructor the reference, not
    the bytes, however many actors start (or restart)."""

    ref: Any

    def get(self) -> ModelFiles:
        import ray
        return ray.get(self.ref)


def _model_files(model: ModelFiles | _Shared | str | Path | None) -> ModelFiles:
    if isinstance(model, _Shared):
        return model.get()
    return model if isinstance(model, ModelFiles) else ModelFiles.read(model)


# -- the worker ---------------------------------------------------------------------------------------
class Tagger:
    """Tags paragraph rows; in Ray, an actor that loads the model once and then serves batch after batch.

    A paragraph row holds ``doc``, ``doc_sha``, ``paragraph``, ``section``, ``text``, ``context`` (the strings the
    model reads around it), ``meta`` (the document's metadata as JSON text, passed through) and ``error`` (set
    for a document that failed upstream; passed through). All rows of a call are encoded together; when that
    fails, each document is retried alone and the one that still fails becomes an error row, as in the local
    engine. Columns named in ``keep`` are copied to the output.
    """

    def __init__(self, model: ModelFiles | _Shared | str | Path | None = None, cache: Any = True,
                 batch_size: int = 64, backend: str = "torch", device: str | None = None, keep: Sequence[str] = (),
                 decision: Any = None):
        from classifier.encoding.backends import check_backend
        from classifier.model import load_model

        self.model = load_model(_model_files(model).materialize(), cache=cache, batch_size=batch_size)
        if decision is not None:  # a DecisionRule: --min-score, --top-k, --threshold
            self.model.decision_rule = decision.check(self.model.classes_)
        self.model.encoder_.backend = check_backend(backend)
        self.model.encoder_.device = device
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
        if not rows:
            return []
        units = [Unit(r["text"], tuple(r.get("context") or ())) for r in rows]
        try:
            P, evidence = score(self.model, units)
        except PolicytagError:
            raise
        except Exception:
            docs = _groups(rows)
            if len(docs) > 1:  # isolate the document that breaks the batch
                return [rec for group in docs for rec in self._score(group)]
            log.debug("%s: could not be encoded", rows[0]["doc"], exc_info=True)
            return [None] * len(rows)
        paragraphs = [Paragraph(r["paragraph"], r["text"], r.get("section")) for r in rows]
        return self.model.records(paragraphs, P, evidence)

    @staticmethod
    def _error_row(row: dict[str, Any], message: str, kept: dict[str, Any]) -> dict[str, Any]:
        return {"doc": row.get("doc"), "doc_sha": row.get("doc_sha"), "paragraph": None, "section": None,
                "text": None, "themes": None, "scores": None, "evidence": None, "meta": None, "error": message, **kept}


def _doc_key(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row.get("doc"), row.get("doc_sha"), row.get("seq")


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
        item = _document(path, text, TEXT_SUFFIXES.get(Path(path).suffix.lower(), "text"), path, note,
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
    try:
        paragraphs = split(item.text, item.fmt)
    except Exception as exc:  # a segmenter bug must cost one document, not the job
        return _error_rows(InputError(item.source, f"cannot split into paragraphs ({exc})"), item, **kept)
    if not paragraphs:
        return _error_rows(InputError(item.source, "no paragraphs to tag", skipped=True), item, **kept)
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


def _tag(rows: Dataset, model: Any, keep: Sequence[str], concurrency: int | tuple[int, int], batch_size: int,
         num_cpus: float, num_gpus: float, cache: Any, encoder_batch_size: int, backend: str) -> Dataset:
    import ray
    check_resources(ray, concurrency, num_cpus, num_gpus)
    files = _Shared(ray.put(_model_files(model)))
    return rows.map_batches(
        Tagger, batch_format="pyarrow", batch_size=batch_size, compute=_compute(concurrency),
        num_cpus=num_cpus, num_gpus=num_gpus,
        fn_constructor_kwargs={"model": files, "cache": cache, "batch_size": encoder_batch_size, "backend": backend,
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
                  concurrency: int | tuple[int, int] = 1, batch_size: int = DEFAULT_CHUNK, num_cpus: float = 1,
                  num_gpus: float = 0, cache: Any = True, encoder_batch_size: int = 64,
                  backend: str = "torch") -> Dataset:
    """A Dataset of documents -> a Dataset of records (one row per paragraph), lazily, as Ray Data does.

    Rows are documents: ``text_column`` (and ``id_column``) as in ``policytag tag`` on JSONL, or file rows from
    :func:`read_files`. ``fmt`` forces text, markdown or html (default: HTML when the text looks like it, else
    text; a file's format follows its extension). Each row is split into paragraphs (a row-wise ``flat_map``),
    then ``batch_size`` paragraphs at a time go to one of ``concurrency`` Tagger actors (an int, or ``(min,
    max)`` to autoscale), each with ``num_cpus`` CPUs and ``num_gpus`` GPUs. ``cache`` is the embedding cache
    on each node (True: its default folder). Output columns: see :func:`record_schema`; rows with ``error``
    set are documents that could not be tagged. Output order is Ray Data's (sort by ``doc``, ``paragraph``).
    """
    require_ray()
    from functools import partial
    opts = ReadOptions(text_field=text_column, id_field=id_column)
    rows = ds.flat_map(partial(segment_document, opts=opts, fmt=fmt, keep=tuple(keep)))
    return _tag(rows, model, keep, concurrency, batch_size, num_cpus, num_gpus, cache, encoder_batch_size, backend)


def tag_paragraphs(ds: Dataset, model: ModelFiles | str | Path | None = None, *, text_column: str = "text",
                   article_column: str | None = "article_id", paragraph_column: str = "paragraph",
                   section_column: str = "section", context_column: str | None = None, keep: Sequence[str] = (),
                   concurrency: int | tuple[int, int] = 1, batch_size: int = DEFAULT_CHUNK, num_cpus: float = 1,
                   num_gpus: float = 0, cache: Any = True, encoder_batch_size: int = 64,
                   backend: str = "torch") -> Dataset:
    """A Dataset of paragraphs (a corpus-style table) -> records, without splitting.

    Context as in :meth:`ThemeClassifier.tag_dataset`: a ``context_column`` wins; else, when the table has
    ``article_column``, each paragraph is read with its section and neighbours (ordered by
    ``paragraph_column``; this groups the Dataset by article, a shuffle); else rows are read alone. ``doc`` is
    the article id (or empty), ``doc_sha`` the paragraph's own hash.
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
    return _tag(rows, model, keep, concurrency, batch_size, num_cpus, num_gpus, cache, encoder_batch_size, backend)


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
            rows.append({"doc": doc, "doc_sha": hashlib.sha256(str(text).encode("utf-8", "surrogatepass"))
                         .hexdigest()[:16], "paragraph": int(index[i] or 0),
                         "section": sections[i] if isinstance(sections[i], str) else None,
                         "text": text if isinstance(text, str) else None, "context": list(u.context),
                         "error": f"{doc or '<row>'}: {bad}" if bad else None,
                         **{k: cols[k][i] for k in self.keep}})
        return pa.Table.from_pylist(rows)


# -- the engine behind `policytag tag --engine ray` --------------------------------------------------------
class _Planner:
    """Stands in for the model inside ``pipeline.tag_stream``, so the local engine's own code decides what a
    chunk is and which inputs are errors or skipped; each Result then carries its chunk number and paragraphs
    instead of records."""

    def __init__(self) -> None:
        self.step = 0

    def predict_proba(self, units: Sequence[Unit]) -> Any:
        import numpy as np
        self.step += 1
        return np.zeros((len(units), 0))

    def records(self, paragraphs: Sequence[Paragraph], P: Any, evidence: Any = None) -> list[dict[str, Any]]:
        return [{"step": self.step, "paragraphs": list(paragraphs)}]


Window = list  # of entries: an error Result, or a document and its paragraphs, in input order


def plan(items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
         skip: Callable[[Document], bool] | None = None) -> Iterator[Window]:
    """The local engine's stream with encoding left out: windows of entries in input order, each window's
    documents exactly those that ``tag_stream`` encodes in one call, its errors where ``tag_stream`` reports them."""
    window: Window = []
    step = None
    for res in tag_stream(_Planner(), items, chunk, skip):
        if res.error is not None:
            window.append(res)
            continue
        (mark,) = res.records
        if step is not None and mark["step"] != step:
            yield window
            window = []
        step = mark["step"]
        window.append((res.doc, mark["paragraphs"]))
    if window:
        yield window


def window_rows(window: Window) -> list[dict[str, Any]]:
    """Tagger rows for a window's documents; ``seq`` numbers the documents."""
    docs = [e for e in window if not isinstance(e, Result)]
    return [r for seq, (doc, pars) in enumerate(docs) for r in paragraph_rows(doc, pars, seq=seq)]


def window_results(window: Window, rows: Sequence[dict[str, Any]]) -> Iterator[Result]:
    """A window's Results in input order, from the rows a Tagger returned for its documents."""
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_seq.setdefault(row["seq"], []).append(row)
    seq = 0
    for entry in window:
        if isinstance(entry, Result):
            yield entry
            continue
        doc, mine = entry[0], by_seq.get(seq, [])
        seq += 1
        if any(r["error"] is not None for r in mine):
            yield Result(doc, error=InputError(doc.source, ENCODE_FAILED))
        else:
            yield Result(doc, [from_row(r) for r in mine])


class RaySession:
    """Ray for one run: the cluster at ``address`` (or, with none, the current session, the cluster that
    ``ray start`` made on this machine, or a local one started now) and ``actors`` Tagger actors."""

    def __init__(self, model: ModelFiles | str | Path | None = None, *, address: str | None = None,
                 actors: int | None = None, cpus_per_actor: float = 1, gpus_per_actor: float = 0,
                 cache: Any = True, batch_size: int = 64, backend: str = "torch", decision: Any = None):
        self.model = model
        self.decision = decision  # a DecisionRule the actors apply, as the local engine's model does
        self.address = address
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.gpus_per_actor = gpus_per_actor
        self.cache = cache
        self.batch_size = batch_size
        self.backend = backend
        self._owned = False
        self._pool: list[Any] = []

    def start(self) -> RaySession:
        ray = require_ray()
        if not ray.is_initialized():
            problem = _unreachable(self.address) if self.address else None
            if problem:  # Ray itself would retry for minutes
                raise PolicytagError(f"cannot reach a Ray cluster at {self.address}: {problem}")
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)  # the command's stderr is for its own lines
            except Exception as exc:  # ConnectionError, ValueError, RuntimeError ... all mean "no cluster"
                where = f"at {self.address}" if self.address else "on this machine"
                raise PolicytagError(f"cannot start or reach a Ray cluster {where}: {exc}") from None
            self._owned = True
        n = self.actors if self.actors is not None else self._fitting_actors(ray)
        if n < 1:
            raise PolicytagError(f"--actors must be at least 1, not {n}")
        self._check_room(ray, n)
        files = ray.put(_model_files(self.model))
        actor = ray.remote(Tagger).options(num_cpus=self.cpus_per_actor, num_gpus=self.gpus_per_actor)
        device = "cuda" if self.gpus_per_actor else None
        self._pool = [actor.remote(files, self.cache, self.batch_size, self.backend, device, keep=("seq",),
                                   decision=self.decision)
                      for _ in range(n)]
        log.info("ray: %d Tagger actors (%s CPU, %s GPU each)", n, self.cpus_per_actor, self.gpus_per_actor)
        return self

    def wait_ready(self) -> None:
        """Block until every actor has loaded the model and encoded a probe paragraph (for timing steady work)."""
        import ray
        probe = Document("probe", "A probe paragraph to load the encoder.", source="probe")
        rows = paragraph_rows(probe, split(probe.text), seq=0)
        ray.get([actor.tag_rows.remote(rows) for actor in self._pool])

    def _fitting_actors(self, ray: Any) -> int:
        total = ray.cluster_resources()
        if self.gpus_per_actor:
            return max(1, int(total.get("GPU", 0) // self.gpus_per_actor))
        return max(1, int(total.get("CPU", 1) // self.cpus_per_actor))

    def _check_room(self, ray: Any, n: int) -> None:
        """Actors that can never be placed would wait forever; a cluster that can grow (autoscaling) may
        place them later, so only a cluster started here, which cannot, is refused."""
        total = ray.cluster_resources()
        for key, each in (("CPU", self.cpus_per_actor), ("GPU", self.gpus_per_actor)):
            need, have = n * each, total.get(key, 0)
            if need > have:
                msg = f"{n} actors need {need:g} {key}s, the Ray cluster has {have:g}"
                if self._owned and not self.address:
                    raise PolicytagError(f"{msg}; lower --actors")
                log.warning("%s; they wait for the cluster to grow", msg)

    def stop(self) -> None:
        if not self._pool and not self._owned:
            return
        import ray
        for actor in self._pool:
            ray.kill(actor)
        self._pool = []
        if self._owned:
            ray.shutdown()
            self._owned = False

    def tag_stream(self, items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
                   skip: Callable[[Document], bool] | None = None, inflight: int = 2) -> Iterator[Result]:
        """``pipeline.tag_stream`` on the cluster: same Results, same order; at most ``inflight`` windows per actor
        are out at a time, so memory stays bounded however long the input."""
        queue: deque[tuple[Window, Any]] = deque()
        out = n = 0
        try:
            for window in plan(items, chunk, skip):
                rows = window_rows(window)
                ref = self._pool[n % len(self._pool)].tag_rows.remote(rows) if rows else None
                queue.append((window, ref))
                if ref is not None:
                    n += 1
                    out += 1
                while queue and (queue[0][1] is None or out >= inflight * len(self._pool)):
                    if queue[0][1] is not None:
                        out -= 1
                    yield from self._drain_one(queue)
            while queue:
                yield from self._drain_one(queue)
        finally:
            self.stop()

    def _drain_one(self, queue: deque) -> Iterator[Result]:
        """The oldest window's Results, once its actor has returned them."""
        import ray
        window, ref = queue.popleft()
        try:
            rows = ray.get(ref) if ref is not None else []
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, PolicytagError):
                raise cause from None
            raise PolicytagError(f"a Ray Tagger failed: {cause or exc}") from None
        except ray.exceptions.RayActorError as exc:
            raise PolicytagError(f"a Ray Tagger actor died: {exc}") from None
        yield from window_results(window, rows)


def _unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why an explicit ``HOST:PORT`` (or ``ray://HOST:PORT``) address does not answer; None when it does, or
    when the address is one Ray resolves itself (``auto``, ``local``)."""
    import socket
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return None
    try:
        socket.create_connection((host, int(port)), timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def tag_stream_ray(items: Iterable[Item], model: ModelFiles | str | Path | None = None, chunk: int = DEFAULT_CHUNK,
                   skip: Callable[[Document], bool] | None = None, **session: Any) -> Iterator[Result]:
    """Connect (or start a local cluster) and place the actors now, then stream Results lazily; the session
    ends with the stream. ``session`` takes :class:`RaySession`'s options."""
    return RaySession(model, **session).start().tag_stream(items, chunk, skip)


__all__ = ["ModelFiles", "RaySession", "Tagger", "plan", "read_files", "record_schema", "require_ray",
           "segment_document", "tag_documents", "tag_paragraphs", "tag_stream_ray", "window_results", "window_rows"]
