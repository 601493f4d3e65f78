"""The linear head over embeddings: fitting, out-of-fold model selection and per-label thresholds."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.heads import EMBEDDING_HEADS, SENTENCE_LABELS
from classifier.heads.base import SATURATED, real_numbers
from classifier.heads.mlp import MLPHead
from classifier.scoring import f1_from_counts, macro_f1, one_hot


@dataclass
class LinearHead:
    """Logistic regression weights: one-vs-rest sigmoid rows (multi-label) or one softmax (single-label).

    A :class:`~classifier.heads.base.Head`: ``LinearHead(multi_label=..., C=..., class_weight=...).fit(X, Y)``
    learns ``coef`` and ``intercept`` (one row per theme, ``n_classes`` rows for a single-label head, so a class
    absent from training keeps its column); a loaded head is ``LinearHead(coef, intercept, multi_label)``."""

    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None
    multi_label: bool = True
    C: float = 1.0
    class_weight: str | None = None
    random_state: int = 0
    n_classes: int | None = None

    ARRAYS = ("coef", "intercept")  # what get_state saves, in this order
    KIND = "linear"  # its name in EMBEDDING_HEADS (a model's embedding_head)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> LinearHead:
        fitted = fit_head(X, Y, self.multi_label, self.C, self.class_weight, self.random_state, self.n_classes)
        self.coef, self.intercept = fitted.coef, fitted.intercept
        return self

    def logits(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef.T + self.intercept

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.proba_from_logits(self.logits(X))

    def proba_from_logits(self, z: np.ndarray) -> np.ndarray:
        if self.multi_label:
            return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The weights as plain arrays (saved in the model's ``head.npz``, never pickled) and the label mode."""
        return {"coef": self.coef, "intercept": self.intercept}, {"multi_label": self.multi_label}

    @staticmethod
    def check_arrays(arrays: Mapping[str, np.ndarray], k: int, width: int | None, prefix: str = "") -> None:
        """Refuse saved weights that cannot score ``k`` themes over ``width`` features (any width when None):
        missing, not finite numbers, or the wrong shape; a ValueError naming the arrays as saved (``prefix``)."""
        coef, intercept = arrays.get(f"{prefix}coef"), arrays.get(f"{prefix}intercept")
        if coef is None or intercept is None:
            raise ValueError(f"{prefix}coef and {prefix}intercept are required")
        if not real_numbers(coef, intercept):
            raise ValueError(f"{prefix}coef and {prefix}intercept must be finite numbers (float or integer)")
        if coef.ndim != 2 or coef.shape[0] != k or intercept.shape != (k,):
            raise ValueError(f"{prefix}coef is {coef.shape} and {prefix}intercept {intercept.shape}, "
                             f"expected ({k}, n) and ({k},) for {k} themes")
        if width is not None and coef.shape[1] != width:
            raise ValueError(f"{prefix}coef has {coef.shape[1]} columns, the encoder gives {width}")

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> LinearHead:
        return cls(np.asarray(arrays["coef"], dtype=np.float64), np.asarray(arrays["intercept"], dtype=np.float64),
                   bool(settings["multi_label"]))


def _logistic(C: float, class_weight: str | None, random_state: int, binary: bool = True):
    """liblinear for the one-vs-rest rows (several times faster than lbfgs here, same model), lbfgs for softmax."""
    from sklearn.linear_model import LogisticRegression
    solver = "liblinear" if binary else "lbfgs"
    return LogisticRegression(C=C, class_weight=class_weight, solver=solver, max_iter=2000, tol=1e-4,
                              random_state=random_state)


def fit_head(X: np.ndarray, Y: np.ndarray, multi_label: bool, C: float, class_weight: str | None,
             random_state: int = 0, n_classes: int | None = None) -> LinearHead:
    """Fit the head; Y is an (n, k) 0/1 matrix (multi-label) or (n,) class indices into ``n_classes`` classes
    (a class absent from this training set still gets its row, so scores keep one column per theme)."""
    k = Y.shape[1] if multi_label else (n_classes or int(Y.max(initial=0)) + 1)
    if multi_label:
        return _fit_multi(X, Y, C, class_weight, random_state)
    return _fit_single(X, Y, k, C, class_weight, random_state)


def _fit_multi(X, Y, C, class_weight, random_state) -> LinearHead:
    k = Y.shape[1]
    coef = np.zeros((k, X.shape[1]), dtype=np.float64)
    intercept = np.zeros(k, dtype=np.float64)
    Y = np.asarray(Y)
    for j in range(k):
        pos = int(Y[:, j].sum())
        if pos in (0, len(Y)):
            intercept[j] = SATURATED if pos else -SATURATED
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr = _logistic(C, class_weight, random_state).fit(X, Y[:, j])
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return LinearHead(coef, intercept, True)


def _fit_single(X, y, k, C, class_weight, random_state) -> LinearHead:
    coef = np.zeros((k, X.shape[1]), dtype=np.float64)
    intercept = np.full(k, -SATURATED, dtype=np.float64)
    present = np.unique(y)
    if len(present) == 1:
        intercept[present[0]] = SATURATED
        return LinearHead(coef, intercept, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = _logistic(C, class_weight, random_state, binary=len(present) == 2).fit(X, y)
    if len(present) == 2:  # sklearn stores one row for a binary problem
        coef[present[1]], intercept[present[1]] = lr.coef_[0], lr.intercept_[0]
        intercept[present[0]] = 0.0
    else:
        coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    return LinearHead(coef, intercept, False)


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def tune_thresholds(P: np.ndarray, Y: np.ndarray, min_positives: int = 3) -> np.ndarray:
    """Per label, the grid threshold with the best F1 on out-of-fold scores; 0.5 for labels too rare to tune.

    Ties go to the threshold closest to 0.5, so the choice is deterministic and not pushed to extremes.
    """
    out = np.full(P.shape[1], 0.5)
    for j in range(P.shape[1]):
        y = Y[:, j].astype(bool)
        if y.sum() < min_positives:
            continue
        pred = P[:, j][None, :] >= THRESHOLD_GRID[:, None]
        tp = (pred & y).sum(1)
        f1 = f1_from_counts(tp, (pred & ~y).sum(1), (~pred & y).sum(1))
        best = np.flatnonzero(np.isclose(f1, f1.max()))
        out[j] = THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]]
    return out


@dataclass(frozen=True)
class Config:
    context: bool
    C: float | None  # the linear head's; None for an MLP head (its regularization is fixed)
    class_weight: str | None
    lexical: float = 0.0
    sentences: float = 0.0
    head: str = "linear"  # the head over embeddings: one of EMBEDDING_HEADS


def new_head(config: Config, multi_label: bool, random_state: int, n_classes: int | None = None):
    """An unfitted head over embeddings of the kind ``config.head`` names, with ``config``'s settings."""
    if config.head == "mlp":
        return MLPHead(multi_label=multi_label, random_state=random_state, n_classes=n_classes)
    if config.head != "linear":
        raise ValueError(f"embedding head {config.head!r}: expected one of {', '.join(EMBEDDING_HEADS)}")
    return LinearHead(multi_label=multi_label, C=config.C, class_weight=config.class_weight,
                      random_state=random_state, n_classes=n_classes)


@dataclass
class Selection:
    best: Config
    oof: np.ndarray
    table: list[dict] = field(default_factory=list)
    paragraph_oof: np.ndarray | None = None  # the best head's out-of-fold scores, before any blend
    sentence_oof: np.ndarray | None = None   # ... and of each row's best sentence


def out_of_fold(X: np.ndarray, Y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], multi_label: bool,
                config: Config, random_state: int, n_classes: int | None = None, pieces: np.ndarray | None = None,
                owner: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Probabilities for each row from a head that never saw it, and (with ``pieces``, the rows' sentence
    designs, and ``owner``, the row of each) each row's best-sentence probabilities from the same heads."""
    k = Y.shape[1] if multi_label else (n_classes or int(Y.max(initial=0)) + 1)
    P = np.zeros((len(X), k))
    B = np.zeros((len(X), k)) if pieces is not None else None
    for train, test in folds:
        head = new_head(config, multi_label, random_state, k).fit(X[train], Y[train])
        P[test] = head.predict_proba(X[test])
        if B is not None:
            rows = np.flatnonzero(np.isin(owner, test))
            np.maximum.at(B, owner[rows], head.predict_proba(pieces[rows]))
    return P, B


def score(P: np.ndarray, Y: np.ndarray, multi_label: bool) -> float:
    """Selection criterion: macro-F1 after per-label threshold tuning (multi) or of the argmax (single)."""
    if multi_label:
        return macro_f1(Y, P >= tune_thresholds(P, Y))
    k = P.shape[1]
    return macro_f1(one_hot(Y, k), one_hot(P.argmax(1), k))


def select(designs: dict[bool, np.ndarray], Y: np.ndarray, folds, multi_label: bool, grid: Sequence[Config],
           random_state: int, lexical_oof: np.ndarray | None = None, n_classes: int | None = None,
           pieces: dict[bool, np.ndarray] | None = None, owner: np.ndarray | None = None,
           on_step: Callable[[int, int], Any] | None = None) -> Selection:
    """Try every configuration on the same folds; the first best wins, so earlier (simpler) ones break ties.

    Configurations differing only in ``lexical`` or ``sentences`` share one embedding-head fit: both blends are
    computed from out-of-fold probabilities, so their weights cost no extra training. ``on_step(done, total)``
    is called after each such head's cross-validation (the slow part), for progress displays.
    """
    best: tuple[float, Config, np.ndarray] | None = None
    table = []
    fitted: dict[tuple, np.ndarray] = {}
    n_heads = len({(c.context, c.C, c.class_weight, c.head) for c in grid})
    for config in grid:
        key = (config.context, config.C, config.class_weight, config.head)
        if key not in fitted:
            fitted[key] = out_of_fold(designs[config.context], Y, folds, multi_label, config, random_state, n_classes,
                                      None if pieces is None else pieces[config.context], owner)
            if on_step is not None:
                on_step(len(fitted), n_heads)
        P, B = fitted[key]
        if config.sentences and B is not None:
            P = (1 - config.sentences) * P + config.sentences * B
            if not multi_label:
                P = P / P.sum(axis=1, keepdims=True)
        if config.lexical and lexical_oof is not None:
            P = (1 - config.lexical) * P + config.lexical * lexical_oof
        value = score(P, Y, multi_label)
        table.append({"context": config.context, "C": config.C, "class_weight": config.class_weight,
                      "lexical": config.lexical, "sentences": config.sentences, "macro_f1": round(value, 4)})
        if best is None or value > best[0] + 1e-9:
            best = (value, config, P, key)
    assert best is not None
    P0, B0 = fitted[best[3]]
    return Selection(best[1], best[2], table, P0, B0)


def theme_f1(p: np.ndarray, y: np.ndarray) -> float:
    """One theme's F1 at its best grid threshold (the threshold ``tune_thresholds`` would pick)."""
    y = y.astype(bool)
    pred = p[None, :] >= THRESHOLD_GRID[:, None]
    tp = (pred & y).sum(1)
    return float(f1_from_counts(tp, (pred & ~y).sum(1), (~pred & y).sum(1)).max())


def mix(P: np.ndarray, B: np.ndarray | None, L: np.ndarray | None, s: float, lex: float) -> np.ndarray:
    """The multi-label blend of out-of-fold scores that weights are chosen on, as :class:`BlendHead` scores:
    ``(1 - lex) x ((1 - s) x paragraph + s x best sentence) + lex x TF-IDF``, a part that is None left out."""
    q = P if B is None else (1 - s) * P + s * B
    return q if L is None else (1 - lex) * q + lex * L


def global_blend(P: np.ndarray, B: np.ndarray | None, L: np.ndarray | None, Y: np.ndarray,
                 sentence_grid: Sequence[float], lexical_grid: Sequence[float]) -> tuple[float, float]:
    """The one (sentence, lexical) weight pair, for every theme, whose blend of out-of-fold scores (paragraph
    ``P``, best sentence ``B``, TF-IDF ``L``; None where a part is absent) has the best macro-F1 (multi-label); the
    first best in grid order wins ties, so smaller weights win them.

    One pair rather than one per theme: weights fitted theme by theme to the training writers' out-of-fold
    scores gained there and lost on writing the model never saw (``evaluation/experiments/blend_weights.py``)."""
    best: tuple[float, float, float] | None = None
    for s in (sentence_grid if B is not None else sentence_grid[:1]):
        for lex in (lexical_grid if L is not None else lexical_grid[:1]):
            value = score(mix(P, B, L, s, lex), Y, True)
            if best is None or value > best[0] + 1e-9:
                best = (value, s, lex)
    assert best is not None
    return float(best[1]), float(best[2])


def per_theme_blend(P: np.ndarray, B: np.ndarray | None, L: np.ndarray | None, Y: np.ndarray,
                    sentence_grid: Sequence[float], lexical_grid: Sequence[float],
                    start: tuple[float, float], min_positives: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per theme, the sentence and lexical weights with the best out-of-fold F1 (multi-label only).

    Themes differ in where their signal sits: a comparison made in one clause wants its best sentence, a theme
    with telling words wants the TF-IDF head. A weight moves off the globally chosen ``start`` only for a clear
    gain (0.005 F1), and never for a theme too rare to judge, so the choice does not chase noise.
    Returns (sentence weights, lexical weights, blended out-of-fold scores), each theme a column.
    """
    k = P.shape[1]
    ws, wl = np.full(k, start[0]), np.full(k, start[1])
    out = np.zeros_like(P)
    for j in range(k):
        y = Y[:, j]

        def blend(s: float, lex: float, j: int = j) -> np.ndarray:
            return mix(P[:, j], None if B is None else B[:, j], None if L is None else L[:, j], s, lex)

        best = theme_f1(blend(*start), y)
        if y.sum() >= max(min_positives, 10):
            for s in (sentence_grid if B is not None else (start[0],)):
                for lex in (lexical_grid if L is not None else (start[1],)):
                    value = theme_f1(blend(s, lex), y)
                    if value > best + 0.005:
                        best, ws[j], wl[j] = value, s, lex
        out[:, j] = blend(ws[j], wl[j])
    return ws, wl, out


def make_folds(n: int, groups: Sequence | None, n_splits: int,
               random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped folds when groups are given (whole articles stay together), shuffled K folds otherwise."""
    from sklearn.model_selection import GroupKFold, KFold

    idx = np.arange(n)
    if groups is not None:
        groups = np.asarray(groups)
        n_groups = len(np.unique(groups))
        if n_groups < 2:
            return []
        splitter = GroupKFold(n_splits=min(n_splits, n_groups), shuffle=True, random_state=random_state)
        return list(splitter.split(idx, groups=groups))
    if n < 2 * n_splits:
        return []
    return list(KFold(n_splits=n_splits, shuffle=True, random_state=random_state).split(idx))



def fit_sentence_head(pieces: np.ndarray, Y: np.ndarray, owner: np.ndarray, labels: str, head: Any) -> Any:
    """A multi-label head for sentences, learned from their paragraphs' labels ``Y`` (``owner``: each piece's row).

    ``"all"``: every sentence takes its paragraph's labels. A paragraph about Ukraine that ends with one clause
    comparing Manila then teaches that each of its sentences is a comparison, and the head learns the region.
    ``"mil"`` (multiple-instance learning): per theme, the positives are the one sentence of each positive
    paragraph that the ``"all"`` head scores highest (the instance that makes the bag positive), the negatives
    every sentence of the paragraphs without the theme; the positive paragraphs' other sentences are left out.
    ``head`` is the unfitted multi-label head to fit (its settings are used); ``"mil"`` refits one row per theme on
    that theme's own sentences, so it needs a :class:`LinearHead`."""
    if labels not in SENTENCE_LABELS:
        raise ValueError(f"sentence labels {labels!r}: expected one of {', '.join(SENTENCE_LABELS)}")
    if labels == "mil" and not isinstance(head, LinearHead):
        raise ValueError("sentence labels 'mil' fit one linear row per theme: they need the linear head")
    first = head.fit(pieces, Y[owner])
    if labels == "all":
        return first
    C, class_weight, random_state = head.C, head.class_weight, head.random_state
    S = first.predict_proba(pieces)
    coef, intercept = first.coef.copy(), first.intercept.copy()
    for j in range(Y.shape[1]):
        positive = Y[:, j].astype(bool)
        if not positive.any() or positive.all():
            continue  # saturated in the first head already
        best = _best_piece(S[:, j], owner, len(Y))
        rows = np.concatenate([best[positive], np.flatnonzero(~positive[owner])])
        y = np.zeros((len(rows), 1), dtype=bool)
        y[:positive.sum(), 0] = True
        head = fit_head(pieces[rows], y, True, C, class_weight, random_state)
        coef[j], intercept[j] = head.coef[0], head.intercept[0]
    return LinearHead(coef, intercept, True)


def _best_piece(scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """For each of ``n`` paragraphs, the index of its highest-scoring piece (the first on a tie; -1 for none)."""
    order = np.lexsort((np.arange(len(owner)), -scores, owner))  # by paragraph, best score first, then position
    sorted_owner = owner[order]
    head = np.ones(len(order), dtype=bool)  # each paragraph's first piece in that order
    head[1:] = sorted_owner[1:] != sorted_owner[:-1]
    best = np.full(n, -1)
    best[sorted_owner[head]] = order[head]
    return best


def sentence_head_oof(pieces: np.ndarray, Y: np.ndarray, owner: np.ndarray,
                      folds: Sequence[tuple[np.ndarray, np.ndarray]], config: Config, random_state: int,
                      k: int, labels: str = "all") -> np.ndarray:
    """Out of fold, each paragraph's best-sentence probabilities from a sentence head (:func:`fit_sentence_head`
    with ``labels``) trained on the other folds' paragraphs."""
    B = np.zeros((len(Y), k))
    for train, test in folds:
        rows_train = np.flatnonzero(np.isin(owner, train))
        rows_test = np.flatnonzero(np.isin(owner, test))
        remap = np.full(len(Y), -1)
        remap[train] = np.arange(len(train))
        head = fit_sentence_head(pieces[rows_train], Y[train], remap[owner[rows_train]], labels,
                                 new_head(config, True, random_state))
        np.maximum.at(B, owner[rows_test], head.predict_proba(pieces[rows_test]))
    return B
