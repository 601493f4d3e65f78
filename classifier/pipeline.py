"""The batch-tagging flow: documents -> paragraphs -> batched encoding across documents -> records."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .errors import InputError, PolicytagError
from .features import article_units
from .readers import Document, Item
from .segment import Paragraph, split

DEFAULT_CHUNK = 256


@dataclass
class Result:
    """The outcome for one input: its records, or the error that kept it from being tagged."""

    doc: Document | None
    records: list[dict[str, Any]] = field(default_factory=list)
    error: InputError | None = None


def _records(model: Any, doc: Document, paragraphs: list[Paragraph], P) -> list[dict[str, Any]]:
    return [{"doc": doc.id, "doc_sha": doc.sha, **rec} for rec in model.records(paragraphs, P)]


def tag_stream(model: Any, items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
               skip: Callable[[Document], bool] | None = None) -> Iterator[Result]:
    """Tag documents in chunks of about ``chunk`` paragraphs, so the encoder sees full batches that span
    documents while memory stays bounded. Results come back in input order; a bad document is reported
    as an error Result and never stops the stream."""
    pending: list[tuple[Document, list[Paragraph]]] = []
    size = 0
    for item in items:
        if isinstance(item, InputError):
            yield from _flush(model, pending)
            pending, size = [], 0
            yield Result(None, error=item)
            continue
        if skip is not None and skip(item):
            continue
        try:
            paragraphs = split(item.text, item.fmt)
        except Exception as exc:  # a segmenter bug must cost one document, not the batch
            yield from _flush(model, pending)
            pending, size = [], 0
            yield Result(item, error=InputError(item.source, f"cannot split into paragraphs ({exc})"))
            continue
        if not paragraphs:
            yield from _flush(model, pending)
            pending, size = [], 0
            yield Result(item, error=InputError(item.source, "no paragraphs to tag", skipped=True))
            continue
        pending.append((item, paragraphs))
        size += len(paragraphs)
        if size >= chunk:
            yield from _flush(model, pending)
            pending, size = [], 0
    yield from _flush(model, pending)


def _flush(model: Any, pending: list[tuple[Document, list[Paragraph]]]) -> Iterator[Result]:
    if not pending:
        return
    units = [u for _, pars in pending for u in article_units(pars)]
    try:
        P = model.predict_proba(units)
    except PolicytagError:
        raise
    except Exception:
        if len(pending) > 1:  # isolate the document that breaks the batch
            for one in pending:
                yield from _flush(model, [one])
            return
        doc = pending[0][0]
        yield Result(doc, error=InputError(doc.source, "could not be encoded (see --verbose for details)"))
        return
    start = 0
    for doc, pars in pending:
        yield Result(doc, _records(model, doc, pars, P[start:start + len(pars)]))
        start += len(pars)


def summarize(result: Result, theme_ids: list[str]) -> dict[str, Any]:
    """Share of a document's paragraphs that carry each theme: its theme profile."""
    n = len(result.records)
    counts = {t: 0 for t in theme_ids}
    for rec in result.records:
        for t in rec["themes"]:
            counts[t] += 1
    return {"doc": result.doc.id if result.doc else None, "paragraphs": n,
            "shares": {t: round(c / n, 4) if n else 0.0 for t, c in counts.items()}}
