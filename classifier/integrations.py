"""Tagging tables where users keep them: Hugging Face datasets and pandas DataFrames.

Both add the same columns: ``themes`` (a list of theme ids) and one ``score_<theme>`` column per theme.
Rows that belong to articles (an ``article_id`` column) are read with their article context, as in
training on a project corpus; other rows are read alone or with a context column the caller names.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.encoding.features import Unit
from classifier.errors import PolicytagError
from classifier.io.tables import article_context

if TYPE_CHECKING:  # heavy imports stay lazy
    import pandas as pd
    from datasets import Dataset, DatasetDict

    from classifier.tagger import TaggerMixin as Tagger  # any fitted tagger: ThemeClassifier, ZeroShotClassifier


log = logging.getLogger(__name__)
ARTICLE_COLUMN = "article_id"


def output_columns(model: Tagger, prefix: str = "") -> list[str]:
    """Names of the columns tagging adds, in order."""
    return [f"{prefix}themes", *[f"{prefix}score_{t}" for t in model.classes_]]


def build_units(texts: Sequence[Any], context: Sequence[Any] | None = None, articles: Sequence[Any] | None = None,
                paragraphs: Sequence[Any] | None = None, sections: Sequence[Any] | None = None,
                where: str = "row") -> list[Unit]:
    """Units from columns: given context wins; else article neighbours (ordered by ``paragraphs``, else by row)."""
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise PolicytagError(f"{where} {bad}: text is {type(texts[bad]).__name__}, not a string")
    if context is not None:
        return [Unit(t, _context_tuple(c)) for t, c in zip(texts, context)]
    if articles is None:
        return [Unit(t) for t in texts]
    rows = [{"article_id": a, "paragraph": paragraphs[i] if paragraphs is not None else i,
             "section": sections[i] if sections is not None and isinstance(sections[i], str) else None, "text": t}
            for i, (a, t) in enumerate(zip(articles, texts))]
    return [Unit(t, c) for t, c in zip(texts, article_context(rows))]


def _context_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    return tuple(v for v in value if isinstance(v, str) and v.strip())


def score_columns(model: Tagger, units: Sequence[Unit], prefix: str = "") -> dict[str, list[Any]]:
    """The added columns for a batch of units: theme lists and per-theme probabilities."""
    P = model.predict_proba(units)
    cols: dict[str, list[Any]] = {f"{prefix}themes": model.themes_of(P)}
    for j, t in enumerate(model.classes_):
        cols[f"{prefix}score_{t}"] = [float(v) for v in np.round(P[:, j], 4)]
    return cols


def _article_column(columns: Sequence[str], article_column: str | None, context_column: str | None) -> str | None:
    if context_column is not None or article_column is None:
        return None
    return article_column if article_column in columns else None


def _check_columns(columns: Sequence[str], needed: Sequence[str | None], what: str) -> None:
    missing = [c for c in needed if c is not None and c not in columns]
    if missing:
        raise PolicytagError(f"{what} has no column(s) {', '.join(map(repr, missing))} "
                             f"(columns: {', '.join(map(str, columns))})")


def tag_dataset(model: Tagger, dataset: Dataset | DatasetDict, text_column: str = "text",
                context_column: str | None = None, article_column: str | None = ARTICLE_COLUMN,
                chunk: int = 256, prefix: str = "", num_proc: int | None = None,
                load_from_cache_file: bool | None = None,
                remove_columns: str | list[str] | None = None) -> Dataset | DatasetDict:
    """A copy of a Hugging Face ``Dataset`` (or each split of a ``DatasetDict``) with theme and score columns.

    Runs through ``Dataset.map(batched=True)``, ``chunk`` rows per call (``batch_size`` stays the encoder's
    batch, as everywhere in policytag). When the dataset has ``article_column`` (default
    ``article_id``, as in ``load_corpus``), each paragraph is read with its section and neighbours in the
    order of the ``paragraph`` column; contexts are computed over the whole dataset first, so batch
    boundaries never cut an article. Pass ``article_column=None`` to read rows alone.

    ``num_proc``, ``load_from_cache_file`` and ``remove_columns`` go to ``Dataset.map`` as they are (its
    defaults when None): tag in several processes, reuse or ignore a cached result, drop input columns
    (the text, say) from the output. The cached result is keyed on the model and these options, so a
    different model or column set is never served from another's cache.
    """
    from datasets import DatasetDict

    model._check_fitted()
    if isinstance(dataset, DatasetDict):
        return DatasetDict({name: tag_dataset(model, split, text_column, context_column, article_column,
                                              chunk, prefix, num_proc, load_from_cache_file, remove_columns)
                            for name, split in dataset.items()})
    names = list(dataset.column_names)
    removed = [remove_columns] if isinstance(remove_columns, str) else list(remove_columns or [])
    _check_columns(names, [text_column, context_column, *removed], "dataset")
    art = _article_column(names, article_column, context_column)
    contexts: list[tuple[str, ...]] | None = None
    if art is not None:
        units = build_units(dataset[text_column], None, dataset[art],
                            dataset["paragraph"] if "paragraph" in names else None,
                            dataset["section"] if "section" in names else None)
        contexts = [u.context for u in units]
    log.debug("tagging a dataset of %d rows (%s)", len(dataset),
              f"article context from {art!r}" if art else f"context from {context_column!r}" if context_column
              else "no context")

    def add(batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        if contexts is not None:
            ctx: Sequence[Any] | None = [contexts[i] for i in indices]
        else:
            ctx = batch[context_column] if context_column else None
        return score_columns(model, build_units(batch[text_column], ctx), prefix)

    fingerprint = _fingerprint(dataset, model, text_column, context_column, art, prefix, removed)
    passed = {k: v for k, v in (("num_proc", num_proc), ("load_from_cache_file", load_from_cache_file))
              if v is not None}
    return dataset.map(add, batched=True, batch_size=chunk, with_indices=True, new_fingerprint=fingerprint,
                       features=_features(dataset, model, prefix, removed), desc="policytag",
                       remove_columns=removed or None, **passed)


def _features(dataset: Dataset, model: Tagger, prefix: str, removed: Sequence[str] = ()) -> Any:
    """Declared output types, so a first batch with no theme at all cannot fix ``themes`` as a list of nulls;
    without the columns the caller removes."""
    from datasets import Features, Value
    try:
        from datasets import List
    except ImportError:  # datasets < 4
        from datasets import Sequence as List

    features = Features({k: v for k, v in dataset.features.items() if k not in removed})
    names = output_columns(model, prefix)
    features[names[0]] = List(Value("string"))
    for name in names[1:]:
        features[name] = Value("float64")
    return features


def _fingerprint(dataset: Dataset, model: Tagger, *options: Any) -> str:
    """A map fingerprint from what decides the output, so datasets need not hash the model by pickling it."""
    import hashlib
    key = repr((dataset._fingerprint, model.training_hash_, model.encoder_identity_.get("fingerprint"),
                [float(t) for t in model.thresholds_], getattr(model, "decision_rule", None), options))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def tag_dataframe(model: Tagger, frame: pd.DataFrame, text_column: str = "text",
                  context_column: str | None = None, article_column: str | None = ARTICLE_COLUMN,
                  prefix: str = "") -> pd.DataFrame:
    """A copy of a pandas DataFrame with ``themes`` and ``score_<theme>`` columns; the index is kept.

    Context works as in :func:`tag_dataset`.
    """
    model._check_fitted()
    names = [str(c) for c in frame.columns]
    _check_columns(names, [text_column, context_column], "DataFrame")
    art = _article_column(names, article_column, context_column)
    texts = frame[text_column].tolist()
    if art is not None:
        units = build_units(texts, None, frame[art].tolist(),
                            frame["paragraph"].tolist() if "paragraph" in names else None,
                            frame["section"].tolist() if "section" in names else None, where="DataFrame row")
    else:
        units = build_units(texts, frame[context_column].tolist() if context_column else None, where="DataFrame row")
    log.debug("tagging a DataFrame of %d rows", len(frame))
    out = frame.copy()
    for name, values in score_columns(model, units, prefix).items():
        out[name] = values
    return out
