"""One tagging run over many inputs: read, tag (local or Ray engine), write records, summary and HTML view.

``tag_files`` holds the run's rules (resume by id and content hash, counting, what is written where and when);
it never prints: problems and per-document notes go to the ``on_message`` callback, progress to
``on_document``, and the counts come back as a :class:`RunReport` for the caller to show.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from classifier.engines import DEFAULT_CHUNK

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What a run did, per document."""

    tagged: int = 0
    skipped: int = 0
    failed: int = 0
    resumed: int = 0
    paragraphs: int = 0
    write_error: str | None = None  # an output could not be written: the run stopped there

    def line(self, resume: bool = False) -> str:
        """The final count line the CLI prints."""
        docs = f"{self.tagged} document{'s' * (self.tagged != 1)}"
        paras = f"{self.paragraphs} paragraph{'s' * (self.paragraphs != 1)}"
        extra = f", {self.resumed} already done" if resume else ""
        return f"tagged {docs} ({paras}), skipped {self.skipped}, failed {self.failed}{extra}"


@dataclass
class EngineOptions:
    """Where chunks are tagged: ``local`` (this process) or ``ray`` (actors; the rest are RaySession options)."""

    engine: str = "local"
    model_path: str | None = None
    chunk: int = DEFAULT_CHUNK
    ray: dict[str, Any] = field(default_factory=dict)


def tag_files(model: Any, inputs: list[str], read_options: Any, output: str | None = None, fmt: str = "jsonl",
              summary: str | None = None, html: str | None = None, force: bool = False, resume: bool = False,
              summary_by: tuple[str, ...] = (),
              engine: EngineOptions | None = None, on_message: Callable[[str], None] = lambda msg: None,
              on_document: Callable[[RunReport], None] = lambda report: None, notes: bool = True,
              outputs: Any = None) -> RunReport:
    """Tag every document of ``inputs`` and write its records; one broken input never stops the run.
    ``summary_by`` (``outlet``, ``month``) writes the summary per group of documents instead of per document.

    ``outputs`` are the run's files already claimed with :func:`classifier.io.writers.claim_outputs` (the CLI
    claims them before loading the model, so a bad path costs nothing); without it they are claimed here from
    ``output``, ``summary`` and ``html``. The outputs are never read as inputs. A failed write (disk full) stops
    the run with the output cut back to whole documents: ``report.write_error`` says so.
    """
    from classifier.io.writers import claim_outputs

    if outputs is not None:
        return _tag_into(model, inputs, read_options, outputs, fmt, resume, summary_by, engine or EngineOptions(),
                         on_message, on_document, notes)
    with claim_outputs(output, fmt, summary, html, force, resume) as claimed:
        return _tag_into(model, inputs, read_options, claimed, fmt, resume, summary_by, engine or EngineOptions(),
                         on_message, on_document, notes)


def _tag_into(model: Any, inputs: list[str], read_options: Any, outputs: Any, fmt: str, resume: bool,
              summary_by: tuple[str, ...], engine: EngineOptions, on_message: Callable[[str], None],
              on_document: Callable[[RunReport], None], notes: bool) -> RunReport:
    from classifier.engines.local import summarize, tag_stream
    from classifier.io.readers import read_inputs
    from classifier.io.views import DocView, model_view, source_of
    from classifier.io.writers import OutputWriteError, completed_documents, legend, read_records, serialize

    report = RunReport()
    themes = list(model.classes_)
    regular = outputs.records.fd is not None  # resume applies to a regular file, not stdout or /dev/null
    done = completed_documents(outputs.records.path, fmt) if resume and regular else set()
    earlier = read_records(outputs.records.path, fmt, themes) if resume and regular and outputs.html else []
    sources: dict[tuple[str, str], str] = {}

    def already(doc: Any) -> bool:
        if (doc.id, doc.sha) in done:
            report.resumed += 1
            sources[(doc.id, doc.sha)] = source_of(doc.source)
            return True
        return False

    items, skip = read_inputs(inputs, read_options, exclude=outputs.exclude), (already if done else None)
    if engine.engine == "ray":  # same reading, planning, writing and counting; chunks are tagged by Ray actors
        from classifier.engines.ray_run import tag_stream_ray
        stream = tag_stream_ray(items, engine.model_path, engine.chunk, skip, **engine.ray)
    else:
        stream = tag_stream(model, items, chunk=engine.chunk, skip=skip)
    views = []
    try:
        head = legend(themes, model.thresholds_, model.codebook_.multi_label,
                      getattr(model, "decision_rule", None)) if fmt == "pretty" else ""
        outputs.start(fmt, themes, resume, head, [k for k, _ in read_options.meta_fields], summary_by)
        for res in stream:
            if res.error is not None:
                if res.error.skipped:
                    report.skipped += 1
                else:
                    report.failed += 1
                on_message(str(res.error))
            else:
                if res.doc.note and notes:
                    on_message(f"{res.doc.source}: {res.doc.note}")
                outputs.write_document(serialize(res.records, fmt, themes),
                                       summarize(res, themes) if outputs.summary else None)
                report.tagged += 1
                report.paragraphs += len(res.records)
                log.debug("%s: %d paragraphs", res.doc.source, len(res.records))
                if outputs.html:
                    views.append(DocView(res.doc.id, res.records, source_of(res.doc.source)))
            on_document(report)
        if outputs.html:
            old = _views_of(earlier, sources, source_of)
            outputs.write_page(model_view(model, old + views))
            log.info("wrote %s", outputs.html.path)
        outputs.finish()
    except OutputWriteError as exc:
        report.write_error = str(exc)
        on_message(str(exc))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return report


def _views_of(records: list[dict[str, Any]], sources: dict[tuple[str, str], str],
              source_of: Callable[[str], str]) -> list[Any]:
    """Page entries for the documents an earlier run wrote, in file order, so a resumed run's page shows them all;
    a document read again in this run keeps its source, the others are grouped by their id."""
    from classifier.io.views import DocView

    docs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        docs.setdefault((str(rec["doc"]), str(rec["doc_sha"])), []).append(rec)
    return [DocView(doc, recs, sources.get((doc, sha), source_of(doc))) for (doc, sha), recs in docs.items()]
