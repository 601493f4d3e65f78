"""Did the new annotations help? The same estimator trained without and with added rows, scored on the same
test paragraphs, and the change in macro-F1 with its document-level paired bootstrap interval.

This closes the annotation loop (``annotate import`` -> ``train --add new.jsonl --compare``): both models see
the same base training rows and are scored on the same test split (or, for data without one, on the same
grouped cross-validation folds of the base rows, the added rows joining every training fold), so the
difference is the added rows' doing. The interval comes from :func:`classifier.harness.bootstrap.paired_test`,
the harness's own paired bootstrap over documents.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.errors import TrainingDataError

if TYPE_CHECKING:
    from classifier.model import Progress


@dataclass
class AddedComparison:
    """Macro-F1 before and after adding rows, the paired bootstrap of the difference, and what was compared."""

    before: float
    after: float
    paired: dict[str, Any]  # paired_test(after, before): difference, ci, p_value, resamples, seed
    n_base: int
    n_added: int
    n_left_out: int  # added rows whose text is also in the scored paragraphs: never trained on
    n_scored: int
    n_documents: int
    protocol: str
    model: Any  # the estimator fitted on every base and added row: the one to save

    def line(self) -> str:
        """One line for a terminal: before -> after, the difference and its interval, on what."""
        lo, hi = self.paired["ci"]
        interval = f"[{lo:+.3f}, {hi:+.3f}]" if lo is not None else "[n/a]"
        return (f"macro-F1 {self.before:.3f} -> {self.after:.3f} with {self.n_added} added rows "
                f"({self.paired['difference']:+.3f}, 95% interval {interval}, p={self.paired['p_value']:.3f}; "
                f"paired bootstrap over {self.n_documents} documents) on {self.protocol}")

    def to_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, **{k: self.paired[k] for k in ("difference", "ci",
                "p_value", "resamples", "seed")}, "base_rows": self.n_base, "added_rows": self.n_added,
                "added_left_out": self.n_left_out, "scored": self.n_scored, "documents": self.n_documents,
                "protocol": self.protocol}


def compare_added(estimator: Any, base: Any, added: Any, test: Any | None = None, cv: int = 3,
                  resamples: int = 1000, level: float = 0.95, seed: int = 0,
                  progress: Progress | None = None) -> AddedComparison:
    """Fit ``estimator`` (unfitted, a ThemeClassifier) on ``base`` and on ``base`` + ``added`` (each a
    :class:`classifier.io.tables.LabeledData`) and score both on ``test``, or, when there is none, out of fold
    on ``cv`` grouped folds of ``base``. Added rows whose text is among the scored paragraphs are left out."""
    from sklearn.base import clone

    from classifier.hashing import in_keys, key_set
    from classifier.heads.linear import make_folds
    from classifier.labels import encode_labels
    from classifier.scoring import as_matrix

    scored = test if test is not None else base
    codebook, _ = encode_labels(estimator.codebook, [*base.labels, *added.labels, *scored.labels],
                                len(base) + len(added) + len(scored))
    est = clone(estimator).set_params(codebook=codebook)
    seen = key_set(scored.texts)  # the rule a model's training keys use: same text as the model reads it
    keep = [i for i, u in enumerate(added.units) if not in_keys(u.text, seen)]
    if not keep:
        raise TrainingDataError(f"{added.source}: every added row is already among the scored paragraphs; "
                                "nothing to compare")
    grouped = base.groups is not None
    extra_groups = [added.groups[i] if added.groups is not None else f"added:{added.ids[i]}" for i in keep]
    if test is not None:
        rounds = [(np.arange(len(base)), test, "the test split")]
    else:
        folds = make_folds(len(base), base.groups, cv, seed)
        if not folds:
            raise TrainingDataError(f"{base.source}: too few documents for {cv}-fold cross-validation and no test "
                                    "split; give rows a 'split' column with test rows")
        rounds = [(train, _subset(base, held), f"{cv}-fold {'grouped ' if grouped else ''}CV")
                  for train, held in folds]
    step = progress or (lambda *_: None)
    parts: dict[str, list[np.ndarray]] = {"Y": [], "Pb": [], "pb": [], "Pa": [], "pa": []}
    groups: list[str] = []
    after_model = None
    for r, (train, held, _) in enumerate(rounds, 1):
        where = f" (fold {r}/{len(rounds)})" if len(rounds) > 1 else ""
        units = [base.units[i] for i in train]
        labels = [base.labels[i] for i in train]
        train_groups = [base.groups[i] for i in train] if grouped else None
        before = clone(est).fit(units, labels, groups=train_groups,
                                progress=lambda s, d, t, w=where: step(f"without the added rows{w}: {s}", d, t))
        after = clone(est).fit(units + [added.units[i] for i in keep], labels + [added.labels[i] for i in keep],
                               groups=train_groups + extra_groups if grouped else None,
                               progress=lambda s, d, t, w=where: step(f"with the added rows{w}: {s}", d, t))
        after_model = after
        Y = as_matrix(encode_labels(codebook, held.labels, len(held))[1], len(codebook))
        for key, model in (("b", before), ("a", after)):
            P = model.predict_proba(held.units)
            parts[f"P{key}"].append(P)
            parts[f"p{key}"].append(model.assigned(P))  # the themes predict gives, as a matrix
        parts["Y"].append(Y)
        groups += [str(g) for g in held.groups] if held.groups is not None else [f"{r}:{i}" for i in held.ids]
    if test is None:  # the out-of-fold models each missed a fold: the model to keep sees every row
        after_model = clone(est).fit([*base.units, *(added.units[i] for i in keep)],
                                     [*base.labels, *(added.labels[i] for i in keep)],
                                     groups=[*base.groups, *extra_groups] if grouped else None,
                                     progress=lambda s, d, t: step(f"final model: {s}", d, t))
    return _score(parts, groups, codebook, resamples, level, seed, after_model, rounds[0][2], len(base), len(keep),
                  len(added) - len(keep))


def _score(parts: dict[str, list[np.ndarray]], groups: list[str], codebook: Any, resamples: int, level: float,
           seed: int, model: Any, protocol: str, n_base: int, n_added: int, n_left_out: int) -> AddedComparison:
    from classifier.harness.bootstrap import group_stats, paired_test
    from classifier.harness.metrics import evaluate

    Y = np.vstack(parts["Y"]).astype(bool)
    multi = codebook.multi_label
    Pb, pb, Pa, pa = (np.vstack(parts[k]) for k in ("Pb", "pb", "Pa", "pa"))
    before = evaluate(Y, Pb, pb, codebook.ids, multi)["macro_f1"]
    after = evaluate(Y, Pa, pa, codebook.ids, multi)["macro_f1"]
    paired = paired_test(group_stats(Y, Pa, pa, groups, multi), group_stats(Y, Pb, pb, groups, multi),
                         len(codebook), "macro_f1", resamples, level, seed)
    n_docs = len(set(groups))
    where = f"{protocol} ({len(Y)} paragraphs)"
    return AddedComparison(float(before), float(after), paired, n_base, n_added, n_left_out, len(Y), n_docs, where,
                           model)


def _subset(data: Any, idx: Sequence[int]) -> Any:
    from dataclasses import replace

    return replace(data, units=[data.units[i] for i in idx], labels=[data.labels[i] for i in idx],
                   groups=[data.groups[i] for i in idx] if data.groups is not None else None,
                   ids=[data.ids[i] for i in idx], skipped=[])
