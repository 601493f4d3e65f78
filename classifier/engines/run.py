"""One tagging run over many inputs: read, tag (local or Ray engine), write records, summary and HTML view.

``tag_files`` holds the run's rules (resume by id and content hash, counting, what is written where and when);
it never prints: problems and per-document notes go to the ``on_message`` callback, progress to
``on_document``, and the counts come back as a :class:`RunReport` for the caller to show.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What a run did, per document."""

    tagged: int = 0
    skipped: int = 0
    failed: int = 0
    resumed: int = 0
    paragraphs: int = 0

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
    chunk: int = 1024
    ray: dict[str, Any] = field(default_factory=dict)


def tag_files(model: Any, inputs: list[str], read_options: Any, output: str | None = None, fmt: str = "jsonl",
              summary: str | None = None, html: str | None = None, force: bool = False, resume: bool = False,
              summary_by: tuple[str, ...] = (),
              engine: EngineOptions | None = None, on_message: Callable[[str], None] = lambda msg: None,
              on_document: Callable[[RunReport], None] = lambda report: None, notes: bool = True) -> RunReport:
    """Tag every document of ``inputs`` and write its records; one broken input never stops the run.
    ``summary_by`` (``outlet``, ``month``) writes the summary per group of documents instead of per document."""
    from classifier.engines.local import summarize, tag_stream
    from classifier.io.readers import read_inputs
    from classifier.io.views import DocView, model_view, source_of
    from classifier.io.writers import (
        GroupedSummaryWriter,
        RecordWriter,
        SummaryWriter,
        check_summary_by,
        completed_documents,
        legend,
    )

    check_summary_by(summary, summary_by, resume)
    engine = engine or EngineOptions()
    report = RunReport()
    done = completed_documents(output, fmt) if resume else set()

    def already(doc: Any) -> bool:
        if (doc.id, doc.sha) in done:
            report.resumed += 1
            return True
        return False

    items, skip = read_inputs(inputs, read_options), (already if done else None)
    if engine.engine == "ray":  # same reading, planning, writing and counting; chunks are tagged by Ray actors
        from classifier.engines.ray_run import tag_stream_ray
        stream = tag_stream_ray(items, engine.model_path, engine.chunk, skip, **engine.ray)
    else:
        stream = tag_stream(model, items, chunk=engine.chunk, skip=skip)
    themes = list(model.classes_)
    views = []
    head = legend(themes, model.thresholds_, model.codebook_.multi_label,
                  getattr(model, "decision_rule", None)) if fmt == "pretty" else None
    if summary and summary_by:
        profiles: Any = GroupedSummaryWriter(summary, themes, summary_by)
    elif summary:
        profiles = SummaryWriter(summary, themes, resume, [k for k, _ in read_options.meta_fields])
    else:
        profiles = nullcontext()
    with RecordWriter(output, fmt, themes, force=force, resume=resume, head=head) as out, profiles as profile:
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
                out.write(res.records)
                report.tagged += 1
                report.paragraphs += len(res.records)
                log.debug("%s: %d paragraphs", res.doc.source, len(res.records))
                if html:
                    views.append(DocView(res.doc.id, res.records, source_of(res.doc.source)))
                if profile is not None:
                    profile.write(summarize(res, themes))
            on_document(report)
    if html:
        Path(html).write_text(model_view(model, views), encoding="utf-8")
        log.info("wrote %s", html)
    return report
