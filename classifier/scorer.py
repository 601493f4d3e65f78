"""ThemeScorer: a fitted theme model's scoring half, built from a saved folder without scikit-learn.

Everything that turns paragraphs into theme scores, themes and evidence lives here, once; the estimator
(:class:`classifier.model.ThemeClassifier`) adds fitting and scikit-learn's conventions on top. Tagging from the
shell loads a ThemeScorer, so a run whose paragraphs are all cached imports neither torch nor scikit-learn.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.codebook import Codebook
from classifier.encoding.encoder import Encoder, make_encoder
from classifier.encoding.features import Unit, as_units, design, embed
from classifier.errors import EncoderError, ModelError
from classifier.heads.blend import BlendHead, BlendInput
from classifier.persist import TRAINING_KEYS, read_folder
from classifier.tagger import TaggerMixin


class ThemeScorer(TaggerMixin):
    """The fitted state of a theme model (heads, thresholds, codebook, encoder) and how it scores.

    ``training_keys_``: sorted keys of the paragraphs it trained on (None for a folder saved before models kept
    them), so an evaluation can say how many scored rows the model has already seen."""

    codebook: Codebook | str | None = None

    def set_state(self, manifest: dict[str, Any], arrays: dict[str, np.ndarray], encoder: Encoder) -> ThemeScorer:
        """Become the fitted model a folder describes (its manifest and head arrays), with ``encoder`` built."""
        codebook = self.codebook if isinstance(self.codebook, Codebook) else Codebook.from_dict(manifest["codebook"])
        multi = bool(manifest.get("multi_label", codebook.multi_label))
        sel = manifest["selected"]
        self.encoder_ = encoder
        self.head_ = BlendHead.from_state(arrays, {"multi_label": multi, "lexical": sel.get("lexical", 0.0),
                                                   "sentence_weight": sel.get("sentence_weight")})
        self.codebook_ = codebook
        self.classes_ = np.array(codebook.ids)
        self.thresholds_ = np.array([float(manifest["thresholds"][t]) for t in codebook.ids])
        self.use_context_, self.C_, self.class_weight_ = bool(sel["context"]), sel["C"], sel["class_weight"]
        self.selection_ = manifest.get("selection", [])
        self.encoder_identity_ = manifest["encoder"]
        self.training_hash_ = manifest["training"]["hash"]
        self.training_keys_ = arrays.get(TRAINING_KEYS)  # None in a folder saved before models kept them
        self.n_train_ = manifest["training"]["n"]
        self.manifest_ = manifest
        return self

    # -- prediction ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        from classifier.tagger import check_fitted
        check_fitted(self, "head_")

    def _proba(self, units: Sequence[Unit]) -> np.ndarray:
        return self.score_units(units)[0]

    def score_units(self, units: Sequence[Unit]) -> tuple[np.ndarray, list[list[str]] | None]:
        """(n, k) probabilities and, in sentence mode, per unit the sentence that scores highest for each theme
        (the evidence records carry); ``None`` for a model that reads whole paragraphs."""
        self._check_fitted()
        k = len(self.classes_)
        if not units:
            return np.zeros((0, k)), None
        sentences = self.head_.sentence_weight is not None
        emb = embed(self.encoder_, units, use_context=self.use_context_, sentences=sentences)
        paragraphs = design(emb.units, emb.context, self.use_context_) if sentences else None
        X = BlendInput(paragraphs, design(emb.windows, emb.context[emb.owner], self.use_context_), emb.owner,
                       [u.text for u in units])
        P, piece_scores = self.head_.scores(X)
        evidence = _evidence(piece_scores, emb.owner, emb.pieces, len(units)) if sentences else None
        return P, evidence

    # the blend weights model selection chose (the head holds them; read here as scikit-learn-style attributes)
    @property
    def lexical_(self) -> float | list[float]:
        return self.head_.lexical_weight

    @property
    def sentence_weight_(self) -> float | list[float] | None:
        return self.head_.sentence_weight

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        """(n, k) probabilities; a paragraph split into windows takes each theme's best window."""
        self._check_fitted()  # before reading X: an unfitted model says so, whatever it is given
        return self._proba(as_units(X))

    def decision_function(self, X: Iterable[Any]) -> np.ndarray:
        """(n, k) margins: log-odds above each theme's threshold (multi-label; overrides and ``min_score`` of a
        kept decision rule included, ``top_k`` not), so positive exactly where ``predict`` assigns the theme
        without a ``top_k``; log-probabilities for single-label codebooks."""
        from classifier.decision import effective_thresholds
        self._check_fitted()
        P = np.clip(self._proba(as_units(X)), 1e-12, 1 - 1e-12)
        if not self.head_.multi_label:
            return np.log(P)
        t = np.clip(effective_thresholds(self.classes_, self.thresholds_, self.resolve_rule()), 1e-6, 1 - 1e-6)
        return np.log(P / (1 - P)) - np.log(t / (1 - t))



def _evidence(scores: np.ndarray, owner: np.ndarray, pieces: list[str], n: int) -> list[list[str]]:
    """Per unit and theme, the piece (sentence) with the highest score; first piece on ties.

    Vectorised (per-unit maxima with ``reduceat``, then each maximum's first piece), since a tagging run calls it
    for every paragraph; a unit without pieces keeps empty strings."""
    k = scores.shape[1]
    out: list[list[str]] = [[""] * k for _ in range(n)]
    if len(owner) == 0:
        return out
    order = np.argsort(owner, kind="stable")  # pieces grouped by unit, each unit's in their own order
    owner, scores = owner[order], scores[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    top = np.maximum.reduceat(scores, starts, axis=0)
    segment = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(owner)]))
    at = np.where(scores == top[segment], np.arange(len(owner))[:, None], len(owner))
    first = np.minimum.reduceat(at, starts, axis=0)
    for s, u in enumerate(owner[starts].tolist()):
        row = out[u]
        for j, i in enumerate(first[s].tolist()):
            if i < len(order):  # no piece is the maximum only when the scores are not numbers (NaN)
                row[j] = pieces[order[i]]
    return out


def encoder_source(directory: str | Path, ident: dict[str, Any], override: str | None = None) -> str:
    """Where a model's encoder is found: ``override``, else the copy saved inside the folder, else its name."""
    return override or (str(Path(directory) / ident["path"]) if ident.get("path") else ident["name"])


def open_folder(directory: str | Path, cache: bool | str | None = True, encoder: str | None = None,
                batch_size: int = 64,
                backend: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray], Encoder]:
    """A model folder's manifest, head arrays and its encoder, built and checked against the fingerprint the
    model was trained with; ``encoder`` overrides where it is found, ``backend`` how it runs."""
    directory = Path(directory)
    manifest, arrays = read_folder(directory)
    ident = manifest["encoder"]
    source = encoder_source(directory, ident, encoder)
    try:
        built = make_encoder(source, batch_size, cache, backend or manifest["params"].get("backend", "torch"))
        found = built.fingerprint
    except EncoderError as exc:
        raise ModelError(f"{directory}: the model's encoder {ident['name']!r} is not available: {exc}") from None
    if found != ident["fingerprint"]:
        raise ModelError(f"{directory}: trained with encoder {ident['name']!r} (weights {ident['fingerprint']}), but "
                         f"{source!r} has weights {found}; install the encoder it was trained with or retrain")
    return manifest, arrays, built


def load_scorer(directory: str | Path, cache: bool | str | None = True, encoder: str | None = None,
                batch_size: int = 64, backend: str | None = None) -> ThemeScorer:
    """A saved model, for scoring only (no refitting, no scikit-learn): what ``policytag tag`` uses."""
    return ThemeScorer().set_state(*open_folder(directory, cache, encoder, batch_size, backend))
