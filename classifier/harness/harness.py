"""One evaluation run: load the data, build the systems, run the protocols, score everything.

``run(Config(...))`` returns one JSON-ready dict (see ``evaluation/README.md`` for its layout). The
primary system's held-out scores sit at the top level (``macro_f1``, ``per_label``, ...), so a caller
that only wants "how good is this model" reads those and ignores the rest.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.codebook import Codebook, load_codebook
from classifier.errors import CorpusError, PolicytagError
from classifier.harness.bootstrap import (
    DEFAULT_RESAMPLES,
    confidence_intervals,
    group_stats,
    paired_test,
    resample_weights,
)
from classifier.harness.datasets import EvalSet, file_sha256, infer_codebook, load_label_map, read, to_evalset
from classifier.harness.embeddings import EncoderPool
from classifier.harness.metrics import confusion, evaluate, pr_curve, reliability
from classifier.harness.protocols import EvaluationError
from classifier.harness.systems import BASELINES, Context, Prediction, parse_system
from classifier.hashing import seen
from classifier.io.tables import Columns, corpus_file, split_names

from . import protocols as proto

FORMAT = 1
PROTOCOLS = ("heldout", "cross-corpus", "cv", "curve")


@dataclass
class Config:
    """What to evaluate and how. ``split=None`` means: the test split for corpora, all rows for tables."""

    data: str
    columns: Columns = Columns()
    split: str | None = None
    train: str | None = None
    train_split: str | None = None
    codebook: str | None = None
    label_map: str | None = None
    model: str | None = None
    systems: Sequence[str] = ("model",)
    protocols: Sequence[str] = ("heldout",)
    folds: int = 5
    seeds: Sequence[int] = (0, 1, 2)
    sizes: Sequence[int | str] = proto.DEFAULT_SIZES
    resamples: int = DEFAULT_RESAMPLES
    level: float = 0.95
    errors: int = 5
    cache: Any = True
    backend: str = "torch"
    progress: Callable[[str], None] = field(default=lambda _: None)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from classifier.persist import library_versions as base

    out = base()
    for name in ("scipy", "pandas", "datasets", "transformers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    out["platform"] = platform.platform(terse=True)
    return out


def _load_model(path: str | None, cache: Any):
    from classifier import load_model

    return load_model(path, cache=cache if cache is not None else None)


def model_identity(model: Any, path: str | None) -> dict[str, Any]:
    from classifier import DEFAULT_MODEL_DIR

    folder = Path(path) if path else DEFAULT_MODEL_DIR
    manifest = getattr(model, "manifest_", {})
    return {
        "path": str(folder),
        "manifest_sha256": file_sha256(folder / "manifest.json"),
        "head_sha256": manifest.get("files", {}).get("head.npz") or manifest.get("head", {}).get("sha256"),
        "fingerprint": manifest.get("fingerprint"),  # the whole folder's (model format 3)
        "training_hash": manifest.get("training", {}).get("hash"),
        "n_train": manifest.get("training", {}).get("n"),
        "selected": manifest.get("selected"),
        "encoder": manifest.get("encoder"),
        "libraries": manifest.get("libraries"),
    }


@dataclass
class Sets:
    test: EvalSet | None = None
    train: EvalSet | None = None
    cv: EvalSet | None = None
    train_note: str = ""


class Run:
    """The state of one evaluation: context, data sets and the systems under test."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        unknown = [p for p in cfg.protocols if p not in PROTOCOLS]
        if unknown:
            raise EvaluationError(f"unknown protocol(s) {', '.join(unknown)}; choose from {', '.join(PROTOCOLS)}")
        self.systems = [parse_system(s) for s in cfg.systems]
        names = [s.name for s in self.systems]
        if len(set(names)) != len(names):
            raise EvaluationError(f"two systems share a name in {names}; name them NAME=KIND")
        self.label_map = load_label_map(cfg.label_map) if cfg.label_map else None
        self.pool = EncoderPool(cfg.cache, cfg.backend)
        needs_model = any(s.kind == "model" for s in self.systems)
        self.model = _load_model(cfg.model, cfg.cache) if needs_model else None
        if self.model is not None:
            self.pool.adopt(self.model)
        self.is_corpus = corpus_file(cfg.data) is not None

    # -- data ----------------------------------------------------------------------------------
    def _train_source(self) -> tuple[str, str | None] | None:
        cfg = self.cfg
        if cfg.train:
            split = cfg.train_split or ("train" if corpus_file(cfg.train) else None)
            return cfg.train, split
        if self.is_corpus:
            return cfg.data, cfg.train_split or "train"
        return None

    def load(self) -> tuple[Codebook, Sets]:
        """The test, training and cross-validation sets the protocols need, labels in codebook order."""
        cfg, cols = self.cfg, self.cfg.columns
        wants_test = any(p in cfg.protocols for p in ("heldout", "cross-corpus", "curve"))
        trains = any(s.kind != "model" for s in self.systems) or "curve" in cfg.protocols
        if "cross-corpus" in cfg.protocols and not cfg.train:
            raise EvaluationError(
                "cross-corpus testing needs --train (the corpus to train on) and usually "
                "--label-map (how the test corpus's labels map to the codebook)"
            )
        raw: dict[str, tuple[Any, str | None]] = {}
        if wants_test:
            split = cfg.split or ("test" if self.is_corpus else None)
            raw["test"] = (read(cfg.data, cols, split), split)
            src = self._train_source()
            if trains and src is not None:
                _refuse_overlap(cfg.data, split, src)
                raw["train"] = (read(src[0], cols, src[1]), src[1])
        if "cv" in cfg.protocols:
            raw["cv"] = (read(cfg.data, cols, cfg.split), cfg.split)
        for data, _ in raw.values():
            if data.skipped:
                cfg.progress(f"{data.source}: left out {len(data.skipped)} rows without text or label "
                             f"(first: {data.skipped[0]})")
        ours = [raw["train"][0]] if self.label_map and cfg.train and "train" in raw else None
        codebook = self._codebook([data for data, _ in raw.values()], ours)
        sets = Sets()
        for key, (data, split) in raw.items():
            setattr(sets, key, to_evalset(data, codebook, self.label_map, split))
        if wants_test and trains and sets.train is None:
            sets.train, sets.test = proto.holdout_split(sets.test, seed=cfg.seeds[0] if cfg.seeds else 0)
            sets.train_note = "grouped stratified 80/20 split of the data (no training split or --train given)"
            sets.train.split, sets.test.split = "80% (stratified)", "20% (stratified)"
        return codebook, sets

    def _codebook(self, datasets: list[Any], ours: list[Any] | None = None) -> Codebook:
        """The model's codebook, else --codebook, else the corpus's own, else one inferred from the labels
        (of the training corpus only when a label map says how the other corpus's labels translate)."""
        cfg = self.cfg
        if self.model is not None:
            codebook = self.model.codebook_
            for data in datasets:
                if (
                    data.codebook is not None
                    and data.codebook.fingerprint != codebook.fingerprint
                    and not self.label_map
                ):
                    raise CorpusError(
                        f"{data.source}: its codebook ({', '.join(data.codebook.ids)}) does not match "
                        f"the model's ({', '.join(codebook.ids)}); map the labels with --label-map or "
                        "train a model on this codebook"
                    )
            return codebook
        if cfg.codebook:
            codebook = load_codebook(cfg.codebook)
        else:
            own = [d.codebook for d in datasets if d.codebook is not None]
            codebook = (
                own[0]
                if own
                else infer_codebook(ours or datasets, not cfg.columns.single_label, None if ours else self.label_map)
            )
        return codebook.single_label_if(cfg.columns.single_label)


# -- scoring ---------------------------------------------------------------------------------------
def _errors(test: EvalSet, p: Prediction, ids: list[str], limit: int) -> dict[str, Any]:
    """Per theme, the most confident false positives and the most confidently missed positives."""
    Y, pred = test.Y, p.pred
    out = {}

    def row(i: int, j: int) -> dict[str, Any]:
        return {
            "id": test.ids[i],
            "group": str(test.groups[i]),
            "score": round(float(p.P[i, j]), 4),
            "gold": test.labels_of(i),
            "predicted": [t for t, on in zip(ids, pred[i]) if on],
            "text": test.units[i].text,
        }

    for j, t in enumerate(ids):
        fp = np.flatnonzero(pred[:, j] & ~Y[:, j])
        fn = np.flatnonzero(~pred[:, j] & Y[:, j])
        out[t] = {
            "false_positives_total": int(len(fp)),
            "false_negatives_total": int(len(fn)),
            "false_positives": [row(i, j) for i in fp[np.argsort(-p.P[fp, j], kind="stable")][:limit]],
            "false_negatives": [row(i, j) for i in fn[np.argsort(p.P[fn, j], kind="stable")][:limit]],
        }
    return out


def score_block(
    preds: dict[str, Prediction], test: EvalSet, ctx: Context, primary: str, cfg: Config, errors: bool = True
) -> dict[str, Any]:
    """Metrics, confidence intervals, paired tests and plot data for systems scored on one test set."""
    ids, multi = ctx.ids, ctx.multi_label
    seed = cfg.seeds[0] if cfg.seeds else 0
    stats = {name: group_stats(test.Y, p.P, p.pred, test.groups, multi) for name, p in preds.items()}
    n_groups = next(iter(stats.values())).rows.shape[0] if stats else 0
    W = resample_weights(n_groups, cfg.resamples, seed) if n_groups else None
    systems = {}
    for name, p in preds.items():
        m = evaluate(test.Y, p.P, p.pred, ids, multi)
        m["ci"] = confidence_intervals(stats[name], ids, cfg.resamples, cfg.level, seed, W) if W is not None else {}
        m["scores"] = p.scores
        systems[name] = m
    comparisons = [
        {
            "a": primary,
            "b": name,
            **paired_test(stats[primary], stats[name], len(ids), "macro_f1", cfg.resamples, cfg.level, seed),
        }
        for name in preds
        if name != primary and primary in preds and n_groups
    ]
    block: dict[str, Any] = {
        "test": test.describe(),
        "systems": systems,
        "comparisons": comparisons,
        "primary": primary,
    }
    block["curves"] = {
        "pr": {name: pr_curve(p.P, test.Y) for name, p in preds.items()},
        "pr_per_label": {t: {name: pr_curve(p.P, test.Y, j) for name, p in preds.items()} for j, t in enumerate(ids)},
        "reliability": {name: reliability(p.P, test.Y, multi) for name, p in preds.items()},
    }
    if primary in preds:
        block["confusion"] = {
            "system": primary,
            "labels": [*ids, "none"],
            "matrix": confusion(test.Y, preds[primary].pred, multi).tolist(),
            "gold_counts": [*map(int, test.Y.sum(0)), int((~test.Y.any(1)).sum())],
        }
        if errors:
            block["errors"] = {"system": primary, "per_label": _errors(test, preds[primary], ids, cfg.errors)}
    return block


def _fold_summary(folds: list[dict[str, Any]]) -> dict[str, float]:
    vals = np.array([f["macro_f1"] for f in folds])
    return {
        "mean": float(vals.mean()),
        "sd": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
        "min": float(vals.min()),
        "max": float(vals.max()),
        "runs": int(len(vals)),
    }


# -- the run ---------------------------------------------------------------------------------------

def _refuse_overlap(data: str, split: str | None, train: tuple[str, str | None]) -> None:
    """Systems trained on rows they are scored on measure nothing: refuse training splits of the test file that
    include the scored one (``--split dev --train-split train,dev``)."""
    if Path(train[0]).resolve() != Path(data).resolve():
        return
    scored, trained = split_names(split), split_names(train[1])
    if scored is None or trained is None or scored & trained:
        raise EvaluationError(f"{data}: the systems would train on the rows they are scored on (test split "
                              f"{split!r}, training split {train[1]!r}); choose a --train-split without "
                              f"{', '.join(sorted(scored & trained)) if scored and trained else 'them'}")


def run(cfg: Config) -> dict[str, Any]:
    """Run every requested protocol for every system; see the module docstring for the result."""
    r = Run(cfg)
    codebook, sets = r.load()
    ctx = Context(codebook, r.pool, r.model)
    primary = r.systems[0].name
    seed = cfg.seeds[0] if cfg.seeds else 0
    out: dict[str, Any] = {"protocols": {}}
    cross = "cross-corpus" in cfg.protocols or bool(cfg.label_map and cfg.train)
    if "heldout" in cfg.protocols or "cross-corpus" in cfg.protocols:
        preds = proto.heldout(r.systems, sets.train, sets.test, ctx, seed, cfg.progress)
        block = score_block(preds, sets.test, ctx, primary, cfg)
        block["train"] = sets.train.describe() if sets.train is not None else None
        if sets.train_note:
            block["train_note"] = sets.train_note
        if r.model is not None:  # a saved model is scored as it is: rows it trained on inflate its figures
            block["seen_in_training"] = seen(getattr(r.model, "training_keys_", None), sets.test.texts)
        out["protocols"]["cross_corpus" if cross else "heldout"] = block
    if "cv" in cfg.protocols:
        out["protocols"]["cv"] = _cv_block(r, sets.cv, ctx, primary)
    if "curve" in cfg.protocols:
        points = proto.learning_curve(r.systems, sets.train, sets.test, ctx, cfg.sizes, cfg.seeds, cfg.progress)
        out["protocols"]["learning_curve"] = {
            "train": sets.train.describe(),
            "test": sets.test.describe(),
            "seeds": list(cfg.seeds),
            "points": points,
            "summary": proto.summarize_curve(points),
        }
    headline = next((out["protocols"][k] for k in ("heldout", "cross_corpus", "cv") if k in out["protocols"]), None)
    if headline is not None and primary in headline["systems"]:
        top = dict(headline["systems"][primary])
        out = {**top, "system": primary, **out}
    out["meta"] = _meta(r, cfg, codebook, sets)
    return out


def _cv_block(r: Run, data: EvalSet, ctx: Context, primary: str) -> dict[str, Any]:
    cfg = r.cfg
    folds = min(cfg.folds, len(np.unique(data.groups)))
    if folds < 2:
        raise EvaluationError(f"{data.source}: cross-validation needs at least 2 documents")
    cv = proto.cross_validate(r.systems, data, ctx, folds, cfg.seeds, cfg.progress)
    first = cv.seeds[0]
    block = score_block(cv.oof[first], data, ctx, primary, cfg)
    block["folds"], block["seeds"] = folds, list(cv.seeds)
    block["pooled_note"] = (
        f"metrics, intervals and tests are on the out-of-fold predictions of seed {first}; "
        "fold_scores hold every fold of every seed"
    )
    for name in block["systems"]:
        scores = proto.fold_scores(cv, data, name, ctx.multi_label)
        block["systems"][name]["fold_scores"] = scores
        block["systems"][name]["fold_summary"] = _fold_summary(scores)
        block["systems"][name]["pooled_macro_f1_by_seed"] = {
            str(s): evaluate(data.Y, cv.oof[s][name].P, cv.oof[s][name].pred, ctx.ids, ctx.multi_label)["macro_f1"]
            for s in cv.seeds
        }
    return block


def _meta(r: Run, cfg: Config, codebook: Codebook, sets: Sets) -> dict[str, Any]:
    cols = cfg.columns
    meta: dict[str, Any] = {
        "format": FORMAT,
        "codebook": {
            "name": codebook.name,
            "version": codebook.version,
            "ids": codebook.ids,
            "multi_label": codebook.multi_label,
            "fingerprint": codebook.fingerprint,
        },
        "systems": [
            {"name": s.name, "kind": s.kind, "params": s.params, "description": s.description} for s in r.systems
        ],
        "settings": {
            "protocols": list(cfg.protocols),
            "folds": cfg.folds,
            "seeds": list(cfg.seeds),
            "sizes": list(cfg.sizes),
            "bootstrap_resamples": cfg.resamples,
            "ci_level": cfg.level,
            "resampling_unit": "group" if any(s is not None and s.grouped for s in (sets.test, sets.cv)) else "row",
            "error_examples": cfg.errors,
        },
        "data": {
            "path": cfg.data,
            "split": cfg.split,
            "train": cfg.train,
            "train_split": cfg.train_split,
            "columns": {
                "text": cols.text,
                "label": cols.label,
                "label_sep": cols.label_sep,
                "single_label": cols.single_label,
                "group": cols.group,
                "context": list(cols.context),
            },
        },
        "encoders": r.pool.identities(),
        "libraries": library_versions(),
    }
    if r.model is not None:
        meta["model"] = model_identity(r.model, cfg.model)
    if r.label_map is not None:
        meta["label_map"] = {"path": cfg.label_map, "sha256": file_sha256(cfg.label_map), "map": r.label_map}
    return meta


def primary_system(cfg: Config, plain: bool) -> str:
    """``model`` when a model is named, or for a plain evaluation (the shipped model, as always); otherwise
    the shipped model only if it fits the data's codebook (or a label map is given), else ``theme``, a
    ThemeClassifier trained here."""
    import json

    from classifier import DEFAULT_MODEL_DIR

    if cfg.model or plain:
        return "model"
    manifest = DEFAULT_MODEL_DIR / "manifest.json"
    try:
        theirs = Codebook.from_dict(json.loads(manifest.read_text(encoding="utf-8"))["codebook"])
    except (OSError, ValueError, KeyError, PolicytagError):
        return "theme"
    if cfg.label_map:
        return "model"
    cfile = corpus_file(cfg.data)
    path = cfg.codebook or (cfile.parent / "codebook.yaml" if cfile is not None else None)
    if path is None or not Path(path).exists():
        return "theme"
    ours = load_codebook(path).single_label_if(cfg.columns.single_label)
    return "model" if ours.fingerprint == theirs.fingerprint else "theme"


def default_systems(primary: str, compare: bool, extra: Sequence[str] = ()) -> list[str]:
    """The primary system, then the baselines when comparing, then any systems added by the user."""
    return [primary, *(BASELINES if compare else ()), *extra]
