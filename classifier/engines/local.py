"""The batch-tagging flow: documents -> paragraphs -> batched encoding across documents -> records."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from classifier.encoding.features import article_units
from classifier.errors import InputError, PolicytagError
from classifier.io.readers import Document, Item
from classifier.io.segment import Paragraph, split

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 1024


@dataclass
class Result:
    """The outcome for one input: its records, or the error that kept it from being tagged."""

    doc: Document | None
    records: list[dict[str, Any]] = field(default_factory=list)
    error: InputError | None = None


def _records(model: Any, doc: Document, paragraphs: list[Paragraph], P, evidence=None) -> list[dict[str, Any]]:
    meta = {"meta": doc.meta} if doc.meta else {}  # last, and only when something is known
    return [{"doc": doc.id, "doc_sha": doc.sha, **rec, **meta} for rec in model.records(paragraphs, P, evidence)]


def score(model: Any, units: list) -> tuple[Any, list | None]:
    """Probabilities and (for models that read sentences) each unit's evidence sentences."""
    if hasattr(model, "score_units"):
        return model.score_units(units)
    return model.predict_proba(units), None


def tag_stream(model: Any, items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
               skip: Callable[[Document], bool] | None = None) -> Iterator[Result]:
    """Tag documents in windows of about ``chunk`` paragraphs, read lazily, so memory stays bounded
    whatever the number of documents.

    One window is one encoder call: its batches span documents, and the encoder sorts the window's texts
    by length before batching, which cuts padding. Results come back in input order; a bad or empty
    document is reported as an error Result in its place, without cutting the window short, and never
    stops the stream.
    """
    pending: list[tuple[Document, list[Paragraph]] | Result] = []
    size = 0
    for item in items:
        if isinstance(item, InputError):
            pending.append(Result(None, error=item))
        elif skip is not None and skip(item):
            continue
        else:
            try:
                paragraphs = split(item.text, item.fmt)
            except Exception as exc:  # a segmenter bug must cost one document, not the batch
                pending.append(Result(item, error=InputError(item.source, f"cannot split into paragraphs ({exc})")))
            else:
                if paragraphs:
                    pending.append((item, paragraphs))
                    size += len(paragraphs)
                else:
                    pending.append(Result(item, error=InputError(item.source, "no paragraphs to tag", skipped=True)))
        if size >= chunk or len(pending) >= chunk:
            yield from _flush(model, pending)
            pending, size = [], 0
    yield from _flush(model, pending)


def _flush(model: Any, pending: list[tuple[Document, list[Paragraph]] | Result]) -> Iterator[Result]:
    """Encode the window's documents in one call, then hand out results (and errors) in input order."""
    docs = [entry for entry in pending if not isinstance(entry, Result)]
    if not docs:
        yield from pending
        return
    units = [u for _, pars in docs for u in article_units(pars)]
    try:
        P, evidence = score(model, units)
    except PolicytagError:
        raise
    except Exception:
        log.debug("encoding failed for %s", ", ".join(d.source for d, _ in docs), exc_info=True)
        if len(docs) > 1:  # isolate the document that breaks the batch
            for entry in pending:
                yield from _flush(model, [entry])
            return
        doc = docs[0][0]
        for entry in pending:
            yield entry if isinstance(entry, Result) else Result(doc, error=InputError(
                doc.source, "could not be encoded (see --verbose for details)"))
        return
    start = 0
    for entry in pending:
        if isinstance(entry, Result):
            yield entry
            continue
        doc, pars = entry
        ev = None if evidence is None else evidence[start:start + len(pars)]
        yield Result(doc, _records(model, doc, pars, P[start:start + len(pars)], ev))
        start += len(pars)


def summarize(result: Result, theme_ids: list[str]) -> dict[str, Any]:
    """Share of a document's paragraphs that carry each theme: its theme profile, with the paragraph counts
    (``counts``, what profiles of groups of documents add up) and the document's ``meta`` when it has some."""
    n = len(result.records)
    counts = {t: 0 for t in theme_ids}
    for rec in result.records:
        for t in rec["themes"]:
            counts[t] += 1
    meta = result.doc.meta if result.doc else None
    return {"doc": result.doc.id if result.doc else None, "paragraphs": n, "counts": counts,
            "shares": {t: round(c / n, 4) if n else 0.0 for t, c in counts.items()}, **({"meta": meta} if meta else {})}
