"""ThemeClassifier: a scikit-learn estimator from raw paragraphs to codebook themes."""
from __future__ import annotations

import hashlib
import json
import logging
import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from classifier.codebook import Codebook
from classifier.encoding.encoder import Encoder, make_encoder
from classifier.encoding.features import Unit, as_units, design, embed
from classifier.errors import ModelError, TrainingDataError
from classifier.hashing import text_keys
from classifier.heads import EMBEDDING_HEAD_BEFORE, EMBEDDING_HEADS, SENTENCE_LABELS
from classifier.heads.blend import BlendHead, BlendInput
from classifier.heads.calibration import PlattCalibration, TemperatureCalibration
from classifier.heads.lexical import LexicalHead
from classifier.heads.linear import (
    Config,
    global_blend,
    make_folds,
    new_head,
    per_theme_blend,
    select,
    sentence_head_oof,
)
from classifier.heads.select import ThresholdObjective, choose_thresholds
from classifier.labels import encode_labels
from classifier.persist import TRAINING_KEYS, write_folder
from classifier.scorer import ThemeScorer, encoder_source, open_folder

C_GRID = (1.0, 4.0, 16.0)
CLASS_WEIGHT_GRID = (None, "balanced")
LEXICAL_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # 1.0: the TF-IDF head alone, when CV finds it best
SENTENCE_GRID = (0.0, 0.25, 0.5)  # weight of the best sentence's score next to the whole paragraph's
THEME_SENTENCE_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # per-theme refinement (per_theme=True)
log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], Any]  # (stage, done, total): what a slow fit is doing, for progress displays


def _no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: nothing to show."""


class ThemeClassifier(ThemeScorer, ClassifierMixin, BaseEstimator):
    """Tag paragraphs with the themes of a codebook.

    Each paragraph is embedded with a sentence encoder; a head over embeddings (``embedding_head``: ``"mlp"``,
    three one-hidden-layer networks averaged, the default; or ``"linear"``, logistic regression whose ``C`` and
    ``class_weight`` model selection chooses) reads the paragraph embedding and, when context helps, the embedding
    of its neighbours, with per-label F1-optimal thresholds for multi-label codebooks and a softmax for
    single-label ones. ``C`` and ``class_weight`` are for the linear head only: set with the MLP head, they are
    refused rather than ignored (see :mod:`classifier.heads.mlp`). A TF-IDF
    head over the paragraph's words is blended in with weight ``lexical`` when it helps. With
    ``finetune=True`` the encoder is first tuned on the training labels (SetFit-style, at most
    ``finetune_pairs`` pairs and ``finetune_budget`` seconds; see :mod:`classifier.encoding.finetune`) and
    ``save`` writes the tuned encoder into the model folder.

    Sentence evidence (``sentence_weight``, a number or ``"auto"``): every paragraph is read as sentences; its
    vector is their mean, and a theme's score is ``(1 - w)`` x the paragraph's score plus ``w`` x its best
    sentence's, so a point made in one clause of a long paragraph counts, and every assigned theme can name the
    sentence that carries it (``evidence`` in records). ``None`` reads whole paragraphs (no evidence).
    ``sentence_labels`` says how the sentence head learns from paragraph labels: ``"all"`` (default) from every
    sentence carrying its paragraph's labels, ``"mil"`` from the best sentence of each paragraph with the theme
    against every sentence of those without it (see :func:`classifier.heads.linear.fit_sentence_head`).
    The sentence and TF-IDF weights are one pair for every theme, chosen on out-of-fold scores; ``per_theme=True``
    refines them theme by theme where out-of-fold F1 clearly gains, which fits the training writers' style
    (measured: ``evaluation/experiments/blend_weights.py``).

    ``threshold_objective`` says what the multi-label thresholds are tuned for on out-of-fold scores: ``"f1"``
    (default), ``"precision@0.8"`` (the lowest threshold reaching that precision) or ``"recall@0.9"`` (the highest
    reaching that recall); a theme that cannot reach its target keeps its F1-best threshold, listed in
    ``threshold_notes_`` (see :mod:`classifier.heads.select`). ``"robust-f1"`` takes the threshold with the best
    mean F1 when the theme's and the no-theme paragraphs' shares differ from the training data's.

    ``calibrate`` (multi-label, thresholds tuned): each theme's blended score is mapped by a monotone Platt
    calibration fitted on the out-of-fold blended scores, so a score reads as a frequency; the thresholds are
    tuned as without it and mapped through the same calibration, so the themes the learned thresholds assign do
    not change (see :mod:`classifier.heads.calibration` and :func:`classifier.heads.select.choose_thresholds`); a
    decision rule's threshold overrides, ``min_score`` and ``top_k`` read the calibrated scores, as records show
    them, so ``top_k`` may keep other themes than on raw scores (each theme's map differs). A single-label
    model's scores are one distribution per paragraph: one temperature, fitted on the out-of-fold scores, sharpens
    or flattens it, and each paragraph keeps its best-scoring theme.
    ``oof_scores_`` keeps the uncalibrated out-of-fold scores (None without cross-validation), so other
    thresholds or calibrations can be studied without refitting; it is set by :meth:`fit` only (a model folder
    does not store it, so a loaded model has none).

    ``"auto"`` parameters are chosen inside ``fit`` by (grouped) cross-validation on the training data.
    ``X`` is a list of strings, ``Unit`` objects or dicts ``{"text": ..., "context": [...]}``; ``y`` is a
    0/1 matrix, or a list of label lists (multi-label), or a list of labels (single-label).
    """

    def __init__(self, encoder: str | None = None, codebook: Codebook | str | None = None,
                 context: bool | str = "auto", C: float | str = "auto", class_weight: str | None = "auto",
                 threshold: float | str = "tune", cv: int = 3, random_state: int = 0, batch_size: int = 64,
                 cache: bool | str | None = True, min_positives: int = 3, lexical: float | str = "auto",
                 finetune: bool | str = False, finetune_pairs: int = 16000, finetune_budget: float | None = None,
                 backend: str = "torch", sentence_weight: float | str | None = "auto", per_theme: bool = False,
                 threshold_objective: str = "f1", calibrate: bool = True, sentence_labels: str = "all",
                 embedding_head: str = "mlp"):
        self.encoder = encoder
        self.embedding_head = embedding_head
        self.sentence_labels = sentence_labels
        self.calibrate = calibrate
        self.threshold_objective = threshold_objective
        self.per_theme = per_theme
        self.sentence_weight = sentence_weight
        self.backend = backend
        self.lexical = lexical
        self.finetune = finetune
        self.finetune_pairs = finetune_pairs
        self.finetune_budget = finetune_budget
        self.codebook = codebook
        self.context = context
        self.C = C
        self.class_weight = class_weight
        self.threshold = threshold
        self.cv = cv
        self.random_state = random_state
        self.batch_size = batch_size
        self.cache = cache
        self.min_positives = min_positives

    # -- fitting -------------------------------------------------------------------------------
    def make_encoder(self) -> Encoder:
        """The encoder this estimator's parameters name, with the embedding cache and backend they ask for."""
        return make_encoder(self.encoder, self.batch_size, self.cache, self.backend)

    def fit(self, X: Iterable[Any], y: Any, groups: Sequence | None = None,
            progress: Progress | None = None) -> ThemeClassifier:
        """Fit on paragraphs ``X`` and labels ``y`` (``groups``: document ids, kept together in CV folds).

        ``progress(stage, done, total)``, when given, is called as the fit moves through its slow stages
        (``"encoding"``, ``"lexical head"`` folds, ``"model selection"`` heads, ``"final fit"``): a fit with
        model selection takes minutes, and the library never prints, so a caller shows it as it likes."""
        step = progress if progress is not None else _no_progress
        objective = ThresholdObjective.parse(self.threshold_objective)  # refused before any slow work
        if isinstance(self.cv, bool) or not isinstance(self.cv, numbers.Integral) or self.cv < 2:
            raise TrainingDataError(f"cv={self.cv!r}: cross-validation needs a whole number of at least 2 folds "
                                    "(thresholds and 'auto' settings are chosen on out-of-fold scores)")
        if self.sentence_labels not in SENTENCE_LABELS:
            raise TrainingDataError(f"sentence_labels={self.sentence_labels!r}: expected one of "
                                    f"{', '.join(SENTENCE_LABELS)}")
        if self.embedding_head not in EMBEDDING_HEADS:
            raise TrainingDataError(f"embedding_head={self.embedding_head!r}: expected one of "
                                    f"{', '.join(EMBEDDING_HEADS)}")
        if self.embedding_head == "mlp" and self.sentence_labels == "mil":
            raise TrainingDataError("sentence_labels='mil' refits one linear row per theme: it needs "
                                    "embedding_head='linear'")
        if self.embedding_head == "linear" and not (self.C == "auto" or _positive(self.C)):  # before any encoding
            raise TrainingDataError(f"C={self.C!r}: the linear head takes C='auto' or a positive number")
        if self.embedding_head == "mlp" and (self.C not in ("auto", None) or self.class_weight not in ("auto", None)):
            raise TrainingDataError(f"C={self.C!r}, class_weight={self.class_weight!r}: these tune the linear head; "
                                    "set embedding_head='linear' to use them (the MLP head's penalty is fixed)")
        units = as_units(X)
        codebook, Y = self._targets(y, len(units))
        empty = [i for i, u in enumerate(units) if not u.text.strip()]
        if empty:
            raise TrainingDataError(f"{len(empty)} training texts are empty (first at row {empty[0] + 1}); "
                                    "drop them before training")
        _check_classes(codebook, Y)
        _check_groups(groups)
        self._warn_rare(codebook, Y)
        self.encoder_ = self.make_encoder()
        tuned = None
        if self.finetune:  # tune the encoder on these labels first (see classifier.encoding.finetune)
            from classifier.encoding.finetune import tune_for_fit
            tuning = "labels" if self.finetune == "labels" else "pairs"
            step("fine-tuning the encoder", 0, 1)
            self.encoder_, tuned = tune_for_fit(self.encoder_, [u.text for u in units], Y, self.finetune_pairs,
                                                self.finetune_budget, self.random_state, tuning, groups)
        contexts = [False, True] if self.context == "auto" else [bool(self.context)]
        if not any(u.context for u in units):
            contexts = [False]
        log.info("fit: encoding %d training texts%s", len(units), " with context" if True in contexts else "")
        sentence_mode = self.sentence_weight is not None
        step("encoding", 0, len(units))
        emb = embed(self.encoder_, units, use_context=True in contexts, sentences=sentence_mode)
        step("encoding", len(units), len(units))
        designs = {c: design(emb.units, emb.context, c) for c in contexts}
        pieces = {c: design(emb.windows, emb.context[emb.owner], c) for c in contexts} if sentence_mode else None
        weights = ((SENTENCE_GRID if self.sentence_weight == "auto" else (float(self.sentence_weight),))
                   if sentence_mode else (0.0,))
        linear = self.embedding_head == "linear"  # an MLP head has no C or class weight to choose
        grid = [Config(c, C, cw, lex, w, self.embedding_head) for c in contexts
                for C in ((C_GRID if self.C == "auto" else (float(self.C),)) if linear else (None,))
                for cw in ((CLASS_WEIGHT_GRID if self.class_weight == "auto" else (self.class_weight,))
                           if linear else (None,))
                for lex in (LEXICAL_GRID if self.lexical == "auto" else (float(self.lexical),))
                for w in weights]
        folds = make_folds(len(units), groups, self.cv, self.random_state)
        tune = self.threshold == "tune" and codebook.multi_label
        if objective.kind != "f1" and not tune:
            warnings.warn(f"threshold_objective {objective} has no effect here: "
                          + ("a single-label model assigns each paragraph its best-scoring theme"
                             if not codebook.multi_label else f"the threshold is fixed at {self.threshold}"),
                          UserWarning, stacklevel=2)
        texts = [u.text for u in units]
        if folds and (len(grid) > 1 or tune):
            lexical_oof = self._lexical_oof(texts, Y, folds, codebook.multi_label, len(codebook), grid, step)
            step("model selection", 0, 1)
            selection = select(designs, Y, folds, codebook.multi_label, grid, self.random_state, lexical_oof,
                               len(codebook), pieces=pieces, owner=emb.owner,
                               on_step=lambda done, total: step("model selection", done, total))
            best, oof, self.selection_ = selection.best, selection.oof, selection.table
            log.info("fit: %d configurations by %d-fold CV; best %s (macro-F1 %.3f)", len(grid), len(folds), best,
                     max(row["macro_f1"] for row in selection.table))
        else:
            best, oof, self.selection_, selection = grid[0], None, [], None
        k = len(codebook)
        sentence_w, lexical_w = np.full(k, best.sentences), np.full(k, best.lexical)
        start = (best.sentences, best.lexical)
        sentence_oof = None
        own_sentence_head = selection is not None and sentence_mode and codebook.multi_label
        sentence_grid = THEME_SENTENCE_GRID if self.sentence_weight == "auto" else (best.sentences,)
        lexical_grid = LEXICAL_GRID if self.lexical == "auto" else (best.lexical,)
        if own_sentence_head:
            # a head of its own for sentences, each taking its paragraph's labels: it learns what a theme's
            # sentence says (a comparison's wording, not the region it names); best sentence per paragraph
            sentence_oof = sentence_head_oof(pieces[best.context], Y, emb.owner, folds, best, self.random_state, k,
                                             self.sentence_labels)
            # selection compared blends of the paragraph head scoring sentences; the blend that ships reads this
            # sentence head, so its weights are chosen again on its own out-of-fold scores
            start = global_blend(selection.paragraph_oof, sentence_oof, lexical_oof, Y, sentence_grid, lexical_grid)
            log.info("fit: weights with the sentence head: sentence %s, lexical %s", *start)
        per_theme = (self.per_theme and selection is not None and codebook.multi_label
                     and (self.sentence_weight == "auto" or self.lexical == "auto"))
        if per_theme or own_sentence_head:  # fixed weights: still the out-of-fold scores of the head that ships
            sentence_w, lexical_w, oof = per_theme_blend(
                selection.paragraph_oof, sentence_oof, lexical_oof, Y,
                sentence_grid if per_theme else (start[0],), lexical_grid if per_theme else (start[1],),
                start, self.min_positives)
            if per_theme:
                log.info("fit: per-theme weights: sentence %s, lexical %s", sentence_w.tolist(), lexical_w.tolist())
        step("final fit", 0, 1)
        self.head_ = BlendHead(
            new_head(best, codebook.multi_label, self.random_state, k),
            new_head(best, True, self.random_state, k) if own_sentence_head else None,
            LexicalHead(multi_label=codebook.multi_label, random_state=self.random_state, n_classes=k)
            if lexical_w.any() else None,
            _compact(sentence_w) if sentence_mode else None, _compact(lexical_w),
            sentence_labels=self.sentence_labels,
        ).fit(BlendInput(designs[best.context], pieces[best.context] if pieces else None, emb.owner, texts), Y)
        self.threshold_notes_ = []
        self.oof_scores_ = oof
        if tune and oof is not None:
            if self.calibrate:
                self.head_.calibration = PlattCalibration(min_positives=self.min_positives).fit(oof, Y)
            self.thresholds_, self.threshold_notes_ = choose_thresholds(oof, Y, objective, self.min_positives,
                                                                        codebook.ids, self.head_.calibration)
            for note in self.threshold_notes_:
                log.info("fit: %s", note)
        else:
            fixed = 0.5 if self.threshold == "tune" else float(self.threshold)
            self.thresholds_ = np.full(k, fixed)
            if self.calibrate and oof is not None and not codebook.multi_label:  # the argmax, so predictions, stay
                self.head_.calibration = TemperatureCalibration().fit(oof, Y)
                log.info("fit: single-label temperature %.3f", float(self.head_.calibration.temperature[0]))
        self.codebook_ = codebook
        self.classes_ = np.array(codebook.ids)
        self.use_context_ = best.context
        self.C_ = best.C
        self.class_weight_ = best.class_weight
        self.encoder_identity_ = tuned or self.encoder_.identity()
        self.training_hash_ = _training_hash(units, Y)
        self.training_keys_ = text_keys(u.text for u in units)
        self.n_train_ = len(units)
        step("final fit", 1, 1)
        return self

    def _lexical_oof(self, texts: list[str], Y: np.ndarray, folds, multi_label: bool, k: int,
                     grid: Sequence[Config], step: Progress = _no_progress) -> np.ndarray | None:
        """Out-of-fold probabilities of the lexical head, once, shared by every configuration that blends it."""
        if not any(c.lexical for c in grid):
            return None
        P = np.zeros((len(texts), k))
        for n, (train, test) in enumerate(folds, 1):
            head = LexicalHead(multi_label=multi_label, random_state=self.random_state, n_classes=k)
            head.fit([texts[i] for i in train], Y[train])
            p = head.predict_proba([texts[i] for i in test])
            P[test, :p.shape[1]] = p
            step("lexical head", n, len(folds))
        return P

    def _targets(self, y: Any, n: int, codebook: Codebook | None = None) -> tuple[Codebook, np.ndarray]:
        return encode_labels(codebook if codebook is not None else self.codebook, y, n)

    def _warn_rare(self, codebook: Codebook, Y: np.ndarray) -> None:
        counts = Y.sum(0) if Y.ndim == 2 else np.bincount(Y, minlength=len(codebook))
        rare = [f"{t} ({c})" for t, c in zip(codebook.ids, counts) if c < self.min_positives]
        if rare:
            warnings.warn(f"themes with fewer than {self.min_positives} positive examples will be poorly "
                          f"learned: {', '.join(rare)}", UserWarning, stacklevel=3)

    # -- state (the only place fitted attributes are set, besides fit) ----------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state as JSON-able metadata and plain arrays: what a model folder stores."""
        self._check_fitted()
        arrays, head = self.head_.get_state()
        params = {k: v for k, v in self.get_params().items() if k not in ("codebook", "cache", "encoder", "backend")}
        state = {"codebook": self.codebook_.to_dict(), "encoder_identity": self.encoder_identity_,
                 "params": params,
                 "selected": {"context": self.use_context_, "C": self.C_, "class_weight": self.class_weight_,
                              "lexical": head["lexical"], "sentence_weight": head["sentence_weight"]},
                 "multi_label": head["multi_label"],
                 "thresholds": {t: float(v) for t, v in zip(self.classes_, self.thresholds_)},
                 "selection": self.selection_,
                 "training": {"hash": self.training_hash_, "n": self.n_train_}}
        if self.training_keys_ is not None:  # which rows it trained on, as keys (classifier.hashing.text_keys)
            arrays = {**arrays, TRAINING_KEYS: self.training_keys_}
        return state, arrays

    # -- articles ------------------------------------------------------------------------------
    # -- tables --------------------------------------------------------------------------------
    def tag_dataset(self, dataset: Any, text_column: str = "text", context_column: str | None = None,
                    article_column: str | None = "article_id", chunk: int = 256, prefix: str = "",
                    num_proc: int | None = None, load_from_cache_file: bool | None = None,
                    remove_columns: str | list[str] | None = None) -> Any:
        """A Hugging Face ``Dataset``/``DatasetDict`` with ``themes`` and ``score_<theme>`` columns added
        through ``Dataset.map(batched=True)``, ``chunk`` rows per call (``num_proc``, ``load_from_cache_file``
        and ``remove_columns`` passed through); see :func:`classifier.integrations.tag_dataset`."""
        from classifier.integrations import tag_dataset
        return tag_dataset(self, dataset, text_column, context_column, article_column, chunk, prefix,
                           num_proc, load_from_cache_file, remove_columns)

    def tag_dataframe(self, frame: Any, text_column: str = "text", context_column: str | None = None,
                      article_column: str | None = "article_id", prefix: str = "") -> Any:
        """A copy of a pandas DataFrame with ``themes`` and ``score_<theme>`` columns added;
        see :func:`classifier.integrations.tag_dataframe`."""
        from classifier.integrations import tag_dataframe
        return tag_dataframe(self, frame, text_column, context_column, article_column, prefix)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, directory: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write ``manifest.json`` and ``head.npz`` (see :func:`load_model`); a fine-tuned encoder is copied
        into ``directory/encoder`` first, so the folder is complete on its own."""
        self._check_fitted()
        encoder = self.encoder_
        if (self.encoder_identity_ or {}).get("finetune"):
            from classifier.encoding.finetune import place_encoder
            Path(directory).mkdir(parents=True, exist_ok=True)
            encoder = place_encoder(self.encoder_, directory)  # the manifest points at the copy
        state, arrays = self.get_state()
        state["encoder"] = dict(state.pop("encoder_identity"))
        root = Path(directory).resolve()
        if encoder.path is not None and root in encoder.path.parents:
            state["encoder"]["path"] = str(encoder.path.relative_to(root))
        return write_folder(directory, state, arrays, metrics)

    def save_pretrained(self, folder: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Save in the Hugging Face Hub layout: the model folder of :meth:`save` (``head.npz``, ``manifest.json``;
        no pickle) plus a generated model card ``README.md`` (front matter, themes, ``metrics``), so the folder
        can be pushed with the hub's own client and read back with :meth:`from_pretrained`."""
        from classifier.persist import write_model_card
        path = self.save(folder, metrics)
        write_model_card(path)
        return path

    @classmethod
    def from_pretrained(cls, folder: str | Path, **kwargs: Any) -> ThemeClassifier:
        """Load a folder written by :meth:`save_pretrained` (or :meth:`save`, or ``policytag train``), with every
        check of :func:`load_model`; ``kwargs`` as there. A hub repository is downloaded first: this never
        reaches the network."""
        return load_model(folder, **kwargs)


def _check_classes(codebook: Codebook, Y: np.ndarray) -> None:
    """A single-label model learns to choose between labels: one label alone would tag everything with it."""
    if codebook.multi_label or len(Y) == 0:
        return
    present = np.unique(Y)
    if len(present) < 2:
        raise TrainingDataError(f"single-label training needs at least two different labels, but every row is "
                                f"labeled {codebook.ids[int(present[0])]!r}; add rows with other labels, or train a "
                                "multi-label model, which learns each theme's presence on its own")


def _check_groups(groups: Sequence | None) -> None:
    """Refuse groups that leave cross-validation nothing to hold out: every choice ``fit`` makes (settings,
    thresholds, calibration) is made on out-of-fold scores, and one group gives no folds."""
    if groups is not None and len(groups) and len(set(groups)) < 2:
        raise TrainingDataError(f"all {len(groups)} training rows are in one group ({groups[0]!r}): cross-validation "
                                "needs rows from at least 2 groups (documents, or the values rows are grouped by)")


def _compact(weights: np.ndarray) -> float | list[float]:
    """One number when every theme has the same weight, else the per-theme list (as the manifest stores it)."""
    values = [float(w) for w in weights]
    return values[0] if len(set(values)) == 1 else values


def _positive(value: Any) -> bool:
    """A positive finite real number (not a bool, not text): what the linear head's C must be, unless 'auto'."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value < float("inf")


def _training_hash(units: Sequence[Unit], Y: np.ndarray) -> str:
    digest = hashlib.sha256()
    for u in units:
        digest.update(json.dumps([u.text, list(u.context)]).encode())
    digest.update(np.ascontiguousarray(Y).astype(np.int8).tobytes())
    return digest.hexdigest()[:16]


# parameters whose default is not what a folder saved before they existed was trained with: such a folder loads
# with these values, so its get_params (and a refit: clone, 'policytag evaluate --model') is the recipe it holds
SAVED_BEFORE: dict[str, Any] = {"calibrate": False, "embedding_head": EMBEDDING_HEAD_BEFORE}


def load_model(directory: str | Path, cache: bool | str | None = True, encoder: str | None = None,
               batch_size: int = 64, backend: str | None = None) -> ThemeClassifier:
    """Load a saved model folder as a fitted estimator, refusing one whose head, encoder or libraries do not
    match (see :func:`classifier.scorer.open_folder`)."""
    manifest, arrays, built = open_folder(directory, cache, encoder, batch_size, backend)
    ident = manifest["encoder"]
    params = {**SAVED_BEFORE, **{k: v for k, v in manifest["params"].items() if k != "batch_size"}}
    unknown = sorted(set(params) - set(ThemeClassifier._get_param_names()))
    if unknown:  # the manifest passed its checks, so it was saved so (by another version) or forged
        raise ModelError(f"{directory}: manifest.json: 'params' names {', '.join(unknown)}, which this policytag's "
                         "ThemeClassifier does not take; retrain the model with 'policytag train'")
    if backend is not None:
        params["backend"] = backend
    source = encoder_source(directory, ident, encoder)
    model = ThemeClassifier(encoder=source, codebook=Codebook.from_dict(manifest["codebook"]), cache=cache,
                            batch_size=batch_size, **params)
    if ident.get("finetune") and encoder is None:  # a refit (clone, CV) tunes the base encoder afresh, on its own data
        model.encoder = ident["finetune"]["base"]["name"]
    return model.set_state(manifest, arrays, built)
