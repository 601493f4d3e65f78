"""The batch-tagging flow: plan chunks (documents -> paragraphs, cut into chunks) -> score a chunk (one encoder
call across its documents, the failing document isolated) -> records. The local engine maps :func:`score_chunk`
over the chunks here; Ray actors call the same function (:mod:`classifier.engines.ray_run`)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from classifier.encoding.features import article_units
from classifier.engines import DEFAULT_CHUNK
from classifier.errors import InputError, PolicytagError
from classifier.io.readers import Document, Item
from classifier.io.segment import Paragraph, sentence_estimate, split
from classifier.io.writers import theme_shares

log = logging.getLogger(__name__)


@dataclass
class Result:
    """The outcome for one input: its records, or the error that kept it from being tagged."""

    doc: Document | None
    records: list[dict[str, Any]] = field(default_factory=list)
    error: InputError | None = None


Entry = tuple[Document, list[Paragraph]] | Result  # a document to score, or an input already settled (an error)
Chunk = list[Entry]  # entries in input order; its documents' paragraphs reach the encoder in one call
ENCODE_FAILED = "could not be encoded (see --verbose for details)"


def _records(model: Any, doc: Document, paragraphs: list[Paragraph], P, evidence=None) -> list[dict[str, Any]]:
    meta = {"meta": doc.meta} if doc.meta else {}  # last, and only when something is known
    return [{"doc": doc.id, "doc_sha": doc.sha, **rec, **meta} for rec in model.records(paragraphs, P, evidence)]


def score(model: Any, units: list) -> tuple[Any, list | None]:
    """Probabilities and (for models that read sentences) each unit's evidence sentences."""
    if hasattr(model, "score_units"):
        return model.score_units(units)
    return model.predict_proba(units), None


def score_groups(model: Any, groups: Sequence[Sequence[Any]],
                 names: Sequence[str] = ()) -> list[tuple[Any, Any] | None]:
    """Score several documents' units in one encoder call; ``(P, evidence)`` per group, or ``None`` for a group
    that cannot be encoded.

    When the joint call fails, each group is scored alone, so one document that breaks the encoder costs only
    itself; the local engine and every Ray actor go through here, which is why their records and errors agree.
    ``names`` (per group) only label the debug log. A :class:`PolicytagError` is not a document's fault
    (a broken model or cache): it stops the run.
    """
    if not groups:
        return []
    units = [u for group in groups for u in group]
    try:
        P, evidence = score(model, units)
    except PolicytagError:
        raise
    except Exception:
        if len(groups) > 1:  # isolate the document that breaks the joint call
            return [out for i, group in enumerate(groups) for out in score_groups(model, [group], names[i:i + 1])]
        log.debug("encoding failed for %s", ", ".join(names) or "a document", exc_info=True)
        return [None]
    out, start = [], 0
    for group in groups:
        stop = start + len(group)
        out.append((P[start:stop], None if evidence is None else evidence[start:stop]))
        start = stop
    return out


def paragraphs_of(doc: Document) -> list[Paragraph] | InputError:
    """A document's paragraphs, or why it has none to tag: the one rule both the local engine's chunks and Ray
    Data's row-wise split (:func:`classifier.engines.ray_data.segment_document`) follow."""
    try:
        paragraphs = split(doc.text, doc.fmt)
    except Exception as exc:  # a segmenter bug must cost one document, not the run
        return InputError(doc.source, f"cannot split into paragraphs ({exc})")
    return paragraphs or InputError(doc.source, "no paragraphs to tag", skipped=True)


def plan_chunks(items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
                skip: Callable[[Document], bool] | None = None) -> Iterator[Chunk]:
    """Read lazily and cut the stream into chunks of about ``chunk`` sentences (or ``chunk`` entries), so
    memory stays bounded whatever the number of documents. Counted in sentences, not paragraphs, because a
    chunk's memory (embeddings, head inputs, scores) grows with the pieces the model reads, and a model that
    reads sentences reads about three per paragraph. Unreadable, unsplittable or empty inputs become error
    Results in their place; ``skip`` (resume) drops documents without a trace. Encoding is left to the engine."""
    pending: Chunk = []
    size = 0
    for item in items:
        if isinstance(item, InputError):
            pending.append(Result(None, error=item))
        elif skip is not None and skip(item):
            continue
        else:
            paragraphs = paragraphs_of(item)
            if isinstance(paragraphs, InputError):
                pending.append(Result(item, error=paragraphs))
            else:
                pending.append((item, paragraphs))
                size += sum(sentence_estimate(p.text) for p in paragraphs)
        if size >= chunk or len(pending) >= chunk:
            yield pending
            pending, size = [], 0
    if pending:
        yield pending


def score_chunk(model: Any, chunk: Chunk) -> list[Result]:
    """A chunk's Results in input order: its documents encoded in one call (the encoder sorts the texts by
    length before batching, which cuts padding), a document that breaks the call failing alone."""
    docs = [entry for entry in chunk if not isinstance(entry, Result)]
    scored = iter(score_groups(model, [article_units(pars) for _, pars in docs], [d.source for d, _ in docs]))
    results = []
    for entry in chunk:
        if isinstance(entry, Result):
            results.append(entry)
            continue
        doc, pars = entry
        got = next(scored)
        if got is None:
            results.append(Result(doc, error=InputError(doc.source, ENCODE_FAILED)))
        else:
            results.append(Result(doc, _records(model, doc, pars, *got)))
    return results


def tag_stream(model: Any, items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
               skip: Callable[[Document], bool] | None = None) -> Iterator[Result]:
    """The local engine: plan chunks, score each in this process. Results come back in input order; a bad or
    empty document is reported as an error Result in its place, without cutting its chunk short, and never
    stops the stream."""
    for planned in plan_chunks(items, chunk, skip):
        yield from score_chunk(model, planned)


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
            "shares": theme_shares(counts, n), **({"meta": meta} if meta else {})}
