"""Systems under comparison: named recipes that build an estimator, fit it and score a test set.

A system is written ``[NAME=]KIND[,param=value...]``: KIND is a built-in (``model``, ``theme``,
``prior``, ``tfidf``, ``zeroshot``, ``knn``, ``logreg``) or an import path ``pkg.module:Class`` of any
scikit-learn classifier. Values are read as YAML scalars (``C=2``, ``context=false``, ``k=5``).

How an imported estimator is fed: policytag-style estimators (with a ``codebook`` parameter) get Units
and labels as ThemeClassifier does; estimators whose tags say they read strings (e.g. a Pipeline that
starts with a TfidfVectorizer) get the paragraph texts; all others get the frozen paragraph
embeddings, as in MTEB. Multi-label targets go to a ``OneVsRestClassifier`` around estimators that do
not handle several outputs.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.codebook import Codebook
from classifier.encoding.features import embed
from classifier.errors import PolicytagError
from classifier.harness.baselines import (
    EmbeddingLogistic,
    KNNClassifier,
    PooledThemeClassifier,
    PriorClassifier,
    TfidfClassifier,
)
from classifier.harness.datasets import EvalSet
from classifier.harness.embeddings import EncoderPool
from classifier.zeroshot import ZeroShotClassifier

BUILTINS: dict[str, type] = {
    "theme": PooledThemeClassifier,
    "prior": PriorClassifier,
    "tfidf": TfidfClassifier,
    "zeroshot": ZeroShotClassifier,
    "knn": KNNClassifier,
    "logreg": EmbeddingLogistic,
}
BASELINES = ("prior", "tfidf", "zeroshot", "knn", "logreg")
DESCRIPTIONS = {
    "model": "the saved model as it is; inside CV and learning curves, refit with the hyperparameters it "
    "selected (context, C, class weight, ...) and thresholds re-tuned on each training set",
    "theme": "ThemeClassifier trained on the training data (encoder + context + tuned logistic head)",
    "prior": "label prior: always the most frequent theme(s)",
    "tfidf": "TF-IDF word/bigram features + logistic regression, thresholds tuned out of fold",
    "zeroshot": "cosine similarity to each theme's codebook description, thresholds tuned on train",
    "knn": "10 nearest training paragraphs by embedding similarity",
    "logreg": "MTEB protocol: logistic regression on frozen embeddings",
}


class SystemSpecError(PolicytagError):
    """A system specification cannot be turned into an estimator."""


@dataclass
class System:
    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.kind, f"imported estimator {self.kind}")


def parse_system(text: str) -> System:
    """``[NAME=]KIND[,param=value...]`` -> System."""
    import yaml

    head, *rest = [p.strip() for p in text.split(",") if p.strip()] or [""]
    name, _, kind = head.rpartition("=") if "=" in head else ("", "", head)
    if not kind:
        raise SystemSpecError(
            f"{text!r}: empty system; use a built-in ({', '.join(['model', *BUILTINS])}) or pkg.module:Class"
        )
    if kind not in BUILTINS and kind != "model" and ":" not in kind:
        raise SystemSpecError(
            f"{text!r}: unknown system {kind!r}; use a built-in ({', '.join(['model', *BUILTINS])}) "
            "or an import path pkg.module:Class"
        )
    params = {}
    for piece in rest:
        key, sep, value = piece.partition("=")
        if not sep:
            raise SystemSpecError(f"{text!r}: parameter {piece!r} must be key=value")
        params[key.strip()] = yaml.safe_load(value)
    return System(name or (kind if not params else f"{kind}({','.join(rest)})"), kind, params)


def import_class(path: str) -> type:
    module, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SystemSpecError(f"cannot import {path!r}: {exc}") from None
    if not isinstance(obj, type):
        raise SystemSpecError(f"{path!r} is not a class")
    return obj


@dataclass
class Prediction:
    """Scores and decisions of one system on one test set, both (n, k) in codebook order."""

    P: np.ndarray
    pred: np.ndarray
    scores: str = "probability"  # or "decision function": calibration metrics then mean little


@dataclass
class Context:
    """What every fit in a run shares: the label scheme, the encoder pool, the saved model."""

    codebook: Codebook
    pool: EncoderPool
    model: Any = None

    @property
    def multi_label(self) -> bool:
        return self.codebook.multi_label

    @property
    def ids(self) -> list[str]:
        return self.codebook.ids


def refit_params(model: Any) -> dict[str, Any]:
    """The hyperparameters a saved model selected, fixed for refits: re-running its whole selection grid
    in every fold and seed would cost minutes per fit for no change in what is being measured."""
    selected = getattr(model, "manifest_", {}).get("selected") or {}
    params = model.get_params()
    # per-theme blend weights are refitted as their mean (fixed), with the per-theme refinement off
    out = {k: (sum(v) / len(v) if isinstance(v, list) else v) for k, v in selected.items() if k in params}
    if "per_theme" in params:
        out["per_theme"] = False
    return out


def _accepts(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def build(system: System, ctx: Context, seed: int) -> Any:
    """A fresh, unfitted estimator for ``system``."""
    params: dict[str, Any] = {}
    if system.kind == "model":
        if ctx.model is None:
            raise SystemSpecError("system 'model' needs --model")
        cls = PooledThemeClassifier
        params = {k: v for k, v in ctx.model.get_params().items() if k not in ("codebook", "cache", "batch_size")}
        params.update(refit_params(ctx.model))
    else:
        cls = BUILTINS[system.kind] if system.kind in BUILTINS else import_class(system.kind)
    for key, value in (("codebook", ctx.codebook), ("cache", ctx.pool), ("random_state", seed)):
        if _accepts(cls, key):
            params[key] = value
    params.update(system.params)
    try:
        return cls(**params)
    except TypeError as exc:
        raise SystemSpecError(f"system {system.name!r}: {exc}") from None


def _feeds_units(est: Any) -> bool:
    """policytag-style estimators (a ``codebook`` parameter) read Units and ThemeClassifier labels."""
    return hasattr(est, "get_params") and "codebook" in est.get_params()


def _reads_strings(est: Any) -> bool:
    try:
        tags = est.__sklearn_tags__().input_tags
    except AttributeError:
        return False
    return bool(tags.string) and not tags.two_d_array


def _multi_output(est: Any) -> bool:
    try:
        return bool(est.__sklearn_tags__().target_tags.multi_output)
    except AttributeError:
        return False


class Fitted:
    """An estimator fitted for one training set, with the input adapter it needs."""

    def __init__(self, estimator: Any, ctx: Context, mode: str):
        self.estimator, self.ctx, self.mode = estimator, ctx, mode

    def inputs(self, data: EvalSet) -> Any:
        if self.mode == "units":
            return data.units
        if self.mode == "text":
            return data.texts
        encoder = self.ctx.pool.encoder_for(None)
        return embed(encoder, data.units, use_context=False).units

    def predict(self, data: EvalSet) -> Prediction:
        est, k = self.estimator, len(self.ctx.ids)
        X = self.inputs(data)
        scores = "probability"
        if hasattr(est, "predict_proba"):
            P = _align(est.predict_proba(X), est, self.ctx)
        elif hasattr(est, "decision_function"):
            P = _squash(_align(est.decision_function(X), est, self.ctx), self.ctx.multi_label)
            scores = "decision function"
        else:
            P = None
        raw = est.decide(P) if hasattr(est, "decide") and P is not None else est.predict(X)
        pred = _as_matrix(raw, self.ctx)
        if P is None:
            P, scores = pred.astype(float), "decisions only"
        return Prediction(np.asarray(P, float).reshape(len(data), k), pred, scores)


def fit(system: System, train: EvalSet, ctx: Context, seed: int) -> Fitted:
    est = build(system, ctx, seed)
    if _feeds_units(est):
        mode = "units"
    elif _reads_strings(est):
        mode = "text"
    else:
        mode = "embeddings"
    y = train.targets(ctx.codebook) if mode == "units" else train.plain_targets(ctx.codebook)
    if mode != "units" and ctx.multi_label and not _multi_output(est):
        from sklearn.multiclass import OneVsRestClassifier

        est = OneVsRestClassifier(est)
    fitted = Fitted(est, ctx, mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "units":
            est.fit(train.units, y, groups=list(train.groups))
        else:
            est.fit(fitted.inputs(train), y)
    return fitted


def use_model(ctx: Context) -> Fitted:
    """The saved model as it is, for held-out and cross-corpus tests."""
    return Fitted(ctx.model, ctx, "units")


def _align(S: Any, est: Any, ctx: Context) -> np.ndarray:
    """Score columns in codebook order; classes the estimator never saw score 0."""
    k = len(ctx.ids)
    if isinstance(S, list):  # native multi-output estimators: one (n, classes) array per label
        classes = getattr(est, "classes_", None) or [np.array([0, 1])] * len(S)
        S = np.column_stack([s[:, -1] if s.shape[1] > 1 else np.full(len(s), float(c[0])) for s, c in zip(S, classes)])
    S = np.asarray(S, float)
    if S.ndim == 1:
        S = S[:, None]
    if ctx.multi_label or S.shape[1] == k and _classes(est) is None:
        return S
    classes = _classes(est)
    out = np.zeros((len(S), k))
    index = {c: j for j, c in enumerate(ctx.ids)}
    if classes is not None and S.shape[1] == len(classes):
        for col, c in enumerate(classes):
            if str(c) in index:
                out[:, index[str(c)]] = S[:, col]
        return out
    out[:, : S.shape[1]] = S
    return out


def _classes(est: Any) -> list[str] | None:
    classes = getattr(est, "classes_", None)
    return [str(c) for c in classes] if classes is not None else None


def _squash(S: np.ndarray, multi_label: bool) -> np.ndarray:
    if multi_label:
        return 1.0 / (1.0 + np.exp(-np.clip(S, -50, 50)))
    E = np.exp(S - S.max(1, keepdims=True))
    return E / E.sum(1, keepdims=True)


def _as_matrix(raw: Any, ctx: Context) -> np.ndarray:
    if hasattr(raw, "toarray"):  # sparse multi-label output
        raw = raw.toarray()
    raw = np.asarray(raw)
    k = len(ctx.ids)
    if raw.ndim == 2:
        return raw.astype(bool)
    index = {c: j for j, c in enumerate(ctx.ids)}
    out = np.zeros((len(raw), k), dtype=bool)
    for i, label in enumerate(raw):
        if str(label) in index:
            out[i, index[str(label)]] = True
    return out
