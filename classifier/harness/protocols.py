"""The ways of testing: held-out, grouped stratified K-fold cross-validation, and learning curves.

All systems of a run see exactly the same training rows, test rows and seeds. Cross-corpus testing is
held-out testing where the training and test sets come from different corpora (labels mapped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.errors import PolicytagError
from classifier.harness.datasets import EvalSet
from classifier.harness.metrics import evaluate
from classifier.harness.stratify import stratified_folds, stratified_subsample
from classifier.harness.systems import Context, Prediction, System, fit, use_model

DEFAULT_SIZES: tuple[int | str, ...] = (50, 100, 250, 500, 1000, "all")
Progress = Callable[[str], None]


class EvaluationError(PolicytagError):
    """The requested evaluation cannot run on the data given (e.g. too few documents for the folds)."""


def _folds(data: EvalSet, n_splits: int, seed: int):
    try:
        return stratified_folds(data.Y, n_splits, data.groups, seed)
    except ValueError as exc:
        raise EvaluationError(f"{data.source}: {exc}") from None


def _quiet(_: str) -> None:
    pass


def predict(
    system: System, train: EvalSet | None, test: EvalSet, ctx: Context, seed: int, refit_model: bool = False
) -> Prediction:
    """Fit ``system`` on ``train`` and score ``test``; the saved model is used as it is unless refit."""
    if system.kind == "model" and not refit_model:
        return use_model(ctx).predict(test)
    if train is None:
        raise ValueError(f"system {system.name!r} needs training data")
    return fit(system, train, ctx, seed).predict(test)


def heldout(
    systems: Sequence[System],
    train: EvalSet | None,
    test: EvalSet,
    ctx: Context,
    seed: int = 0,
    progress: Progress = _quiet,
) -> dict[str, Prediction]:
    out = {}
    for system in systems:
        progress(f"held-out: {system.name}")
        out[system.name] = predict(system, train, test, ctx, seed)
    return out


def holdout_split(data: EvalSet, seed: int = 0, test_share: float = 0.2) -> tuple[EvalSet, EvalSet]:
    """A grouped, stratified train/test split, for a table with no split of its own."""
    n_groups = len(np.unique(data.groups))
    if n_groups < 2:
        raise EvaluationError(
            f"{data.source}: cannot split {n_groups} document(s) into training and test sets; give --train"
        )
    n_splits = min(n_groups, max(2, int(round(1 / test_share))))
    train, test = _folds(data, n_splits, seed)[0]
    return data.subset(train), data.subset(test)


@dataclass
class CVResult:
    """Out-of-fold predictions per seed and system, with the fold of each row."""

    seeds: list[int]
    folds: int
    assignments: dict[int, np.ndarray] = field(default_factory=dict)
    oof: dict[int, dict[str, Prediction]] = field(default_factory=dict)


def cross_validate(
    systems: Sequence[System],
    data: EvalSet,
    ctx: Context,
    folds: int = 5,
    seeds: Sequence[int] = (0,),
    progress: Progress = _quiet,
) -> CVResult:
    """Grouped, iteratively stratified K-fold CV, repeated once per seed; every row is scored once per seed."""
    result = CVResult(list(seeds), folds)
    k = len(ctx.ids)
    for seed in seeds:
        splits = _folds(data, folds, seed)
        fold_of = np.zeros(len(data), dtype=int)
        for f, (_, test) in enumerate(splits):
            fold_of[test] = f
        result.assignments[seed] = fold_of
        result.oof[seed] = {}
        for system in systems:
            P, pred = np.zeros((len(data), k)), np.zeros((len(data), k), dtype=bool)
            scores = "probability"
            for f, (train, test) in enumerate(splits):
                progress(f"cv seed {seed} fold {f + 1}/{folds}: {system.name}")
                p = predict(system, data.subset(train), data.subset(test), ctx, seed, refit_model=True)
                P[test], pred[test], scores = p.P, p.pred, p.scores
            result.oof[seed][system.name] = Prediction(P, pred, scores)
    return result


def fold_scores(cv: CVResult, data: EvalSet, name: str, multi_label: bool) -> list[dict[str, Any]]:
    """Headline metrics of one system on each fold of each seed."""
    out = []
    for seed in cv.seeds:
        p = cv.oof[seed][name]
        for f in range(cv.folds):
            rows = cv.assignments[seed] == f
            m = evaluate(data.Y[rows], p.P[rows], p.pred[rows], data.codebook.ids, multi_label)
            out.append(
                {
                    "seed": seed,
                    "fold": f,
                    "n": int(rows.sum()),
                    "macro_f1": m["macro_f1"],
                    "micro_f1": m["micro_f1"],
                    **({"accuracy": m["accuracy"]} if "accuracy" in m else {}),
                }
            )
    return out


def curve_sizes(requested: Sequence[int | str], n_train: int) -> list[int]:
    """Requested training sizes below the training-set size, plus the full size for 'all'."""
    sizes = sorted({int(s) for s in requested if s != "all" and 0 < int(s) < n_train})
    if "all" in requested or not sizes:
        sizes.append(n_train)
    return sizes


def learning_curve(
    systems: Sequence[System],
    train: EvalSet,
    test: EvalSet,
    ctx: Context,
    sizes: Sequence[int | str] = DEFAULT_SIZES,
    seeds: Sequence[int] = (0, 1, 2),
    progress: Progress = _quiet,
) -> list[dict[str, Any]]:
    """Macro-F1 on the fixed test set for models trained on random subsets of the training set.

    Each subset holds one positive of every theme when its size allows (see ``stratified_subsample``);
    the full training set is fitted once per seed as well, since seeds change model selection folds.
    """
    points = []
    for size in curve_sizes(sizes, len(train)):
        for seed in seeds:
            subset = train.subset(stratified_subsample(train.Y, size, seed))
            for system in systems:
                progress(f"learning curve n={size} seed {seed}: {system.name}")
                p = predict(system, subset, test, ctx, seed, refit_model=True)
                m = evaluate(test.Y, p.P, p.pred, ctx.ids, ctx.multi_label)
                points.append(
                    {
                        "system": system.name,
                        "size": size,
                        "seed": seed,
                        "macro_f1": m["macro_f1"],
                        "micro_f1": m["micro_f1"],
                    }
                )
    return points


def summarize_curve(points: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Mean, standard deviation, min and max of macro-F1 per system and training size."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in dict.fromkeys(p["system"] for p in points):
        rows = []
        for size in sorted({p["size"] for p in points if p["system"] == name}):
            vals = np.array([p["macro_f1"] for p in points if p["system"] == name and p["size"] == size])
            rows.append(
                {
                    "size": size,
                    "mean": float(vals.mean()),
                    "sd": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                    "min": float(vals.min()),
                    "max": float(vals.max()),
                    "runs": int(len(vals)),
                }
            )
        out[name] = rows
    return out
