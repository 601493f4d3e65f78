"""Few-shot fine-tuning of the sentence encoder (SetFit-style), before the linear head is fitted.

SetFit (Tunstall et al., 2022) first tunes a sentence encoder contrastively on pairs of labeled
examples, so that texts sharing a label move together and the others apart, then fits a plain
classifier on the tuned embeddings. It is single-label; our codebooks are multi-label, so a pair
has to say *how* alike two label sets are, and "same class / other class" cannot.

Targets, and why. A pair's target is the **Jaccard overlap of the two label sets** (|A∩B| / |A∪B|),
fitted as in sentence-transformers' ``CosineSimilarityLoss`` (squared error between the pair's cosine
and the target). Binary targets contradict each other on multi-label data (a pair that shares
*deterrence* but differs on *burden_sharing* is neither positive nor negative); the Jaccard target is
consistent for every pair, grades partial overlap, and is SetFit's 1/0 for a single-label codebook.
Two paragraphs that both carry no theme are not a pair: "no theme" is the absence of a topic, not a
topic they share.

Pairs, and why in batches. SetFit feeds explicit (a, b) pairs, which costs two encoder passes per
pair; on two CPU cores a pass over one paragraph forward and backward costs ~0.1-0.2 s, so a few
thousand explicit pairs would take a quarter of an hour. :class:`LabelOverlapLoss` scores every pair
*inside* a batch instead (32 paragraphs -> 496 pairs for 32 passes): the same objective at ~15x more
pairs per second. Which paragraphs meet in a batch is where the sampling goes: each draw picks a theme
uniformly, then a paragraph carrying it (and, at their share of the data, paragraphs with no theme), so
rare themes get as many positive and negative pairs as frequent ones; uniform draws would spend the
budget on the common themes and on "nothing in common" pairs.

Cost and determinism. Training runs with sentence-transformers' ``SentenceTransformerTrainer`` (AdamW,
learning rate 2e-5 as in SetFit: 6e-5 did worse on the dev split), one linear-decay schedule over
``ceil(pairs / pairs-per-batch)`` steps; the word-embedding matrix stays frozen (words absent from a few
hundred paragraphs keep their pretrained meaning, and half of MiniLM's weights need no optimizer state).
``budget`` (seconds) stops training early when spent. A run that stops on its budget has done as many steps as \
the clock allowed, so only runs
that finish their pairs are reproducible bit for bit. Those are: python, numpy and torch are seeded,
torch runs with deterministic algorithms, data loading is single-process, and the draws come from a
seeded numpy generator. The tuned encoder is written to a folder (a temporary one until the model is
saved, then ``MODEL_DIR/encoder``) and identified, like any encoder, by the fingerprint of its weights.

Caveat: the head is then fitted (and its thresholds tuned out of fold) on embeddings of the very
paragraphs the encoder was tuned on, which look more separable than new text will. Whether the trade
pays off is measured by ``evaluation/ablation.py``, not assumed.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.encoding.encoder import _LOADED, Encoder
from classifier.errors import EncoderError, TrainingDataError
from classifier.scoring import as_matrix

log = logging.getLogger(__name__)

DEFAULT_PAIRS = 16000  # ~32 batches of 32 paragraphs: about one pass over 1000 paragraphs
BATCH_SIZE = 32
LEARNING_RATE = 2e-5
WARMUP = 0.1
ENCODER_DIR = "encoder"
MARKER = "policytag_finetune.json"  # written beside the weights: how the encoder was tuned, from what


@dataclass
class FinetuneInfo:
    """What one fine-tuning run did; stored in the model manifest under ``encoder.finetune``."""

    base: dict[str, Any]
    pairs: int
    planned_steps: int
    steps: int
    seconds: float
    stopped_by_budget: bool
    seed: int
    loss: str = "LabelOverlapLoss: cosine vs Jaccard of label sets, all pairs in a batch"
    batch_size: int = BATCH_SIZE
    learning_rate: float = LEARNING_RATE
    budget: float | None = None
    themes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- pairs -------------------------------------------------------------------------------------------
def jaccard(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Row-wise |A∩B| / |A∪B| of two boolean matrices (0 where both rows are empty)."""
    inter = (A & B).sum(1)
    union = (A | B).sum(1)
    return np.divide(inter, union, out=np.zeros(len(A)), where=union > 0)


def pairs_per_batch(batch_size: int) -> int:
    return batch_size * (batch_size - 1) // 2


def sample_rows(Y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` row indices drawn theme-balanced: a theme uniformly, then a paragraph carrying it; paragraphs
    with no theme are drawn at their share of the data. Deterministic given ``seed``."""
    Y = as_matrix(Y)
    themes = [np.flatnonzero(Y[:, j]) for j in range(Y.shape[1]) if Y[:, j].any()]
    if len(np.unique(Y, axis=0)) < 2:
        raise TrainingDataError("fine-tuning needs paragraphs whose label sets differ (at least one theme that "
                                "some paragraphs carry and others do not); train without --finetune")
    empty = np.flatnonzero(~Y.any(1))
    rng = np.random.default_rng(seed)
    none = rng.random(n) < len(empty) / len(Y)
    which = rng.integers(len(themes), size=n)
    pick = rng.random(n)
    out = np.empty(n, dtype=int)
    for i in range(n):
        pool = empty if none[i] else themes[which[i]]
        out[i] = pool[int(pick[i] * len(pool))]
    return out


def overlap_targets(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Jaccard matrix, mask of the pairs that count) for the rows of one batch."""
    Y = as_matrix(Y)
    inter = Y.astype(float) @ Y.T.astype(float)
    size = Y.sum(1).astype(float)
    union = size[:, None] + size[None, :] - inter
    J = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return J, np.triu(union > 0, k=1)


def make_loss(model: Any) -> Any:
    """:class:`LabelOverlapLoss` for ``model`` (a sentence-transformers loss module, built lazily: torch)."""
    import torch
    from torch import nn

    class LabelOverlapLoss(nn.Module):
        """``CosineSimilarityLoss`` over every pair in the batch: mean squared error between the cosine of
        two paragraphs and the Jaccard overlap of their label sets (rows of the ``label`` 0/1 matrix);
        pairs of two paragraphs without any label are left out."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, sentence_features: Any, labels: torch.Tensor) -> torch.Tensor:
            emb = self.model(sentence_features[0])["sentence_embedding"]
            emb = torch.nn.functional.normalize(emb, dim=1)
            L = labels.float()
            inter = L @ L.T
            size = L.sum(1)
            union = size[:, None] + size[None, :] - inter
            target = torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))
            mask = torch.triu(union > 0, diagonal=1)
            if not bool(mask.any()):
                return (emb * 0).sum()
            return ((emb @ emb.T - target)[mask] ** 2).mean()

        def get_config_dict(self) -> dict[str, Any]:
            return {"target": "Jaccard overlap of label sets", "pairs": "all pairs in the batch"}

    return LabelOverlapLoss(model)


def make_label_loss(model: Any, k: int) -> Any:
    """:class:`LabelHeadLoss`: a linear multi-label head on the sentence embedding, binary cross-entropy."""
    import torch
    from torch import nn

    class LabelHeadLoss(nn.Module):
        """Supervised fine-tuning: the encoder and a k-way linear head are trained together on the themes; the
        head is thrown away afterwards (policytag's own heads are refitted on the tuned embeddings)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model
            self.head = nn.Linear(
                (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)(), k)

        def forward(self, sentence_features: Any, labels: torch.Tensor) -> torch.Tensor:
            emb = self.model(sentence_features[0])["sentence_embedding"]
            return nn.functional.binary_cross_entropy_with_logits(self.head(emb), labels.float())

        def get_config_dict(self) -> dict[str, Any]:
            return {"target": "theme labels", "loss": "binary cross-entropy", "themes": k}

    return LabelHeadLoss(model)


# -- determinism -------------------------------------------------------------------------------------
@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed python, numpy and torch, and run torch with deterministic algorithms; restore the flag after."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


def _budget_callback(seconds: float | None) -> Any:
    """A trainer callback that stops training once ``seconds`` have passed (checked after each step)."""
    from transformers import TrainerCallback

    class Budget(TrainerCallback):
        def __init__(self) -> None:
            self.start = time.monotonic()
            self.stopped = False

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            if seconds is not None and time.monotonic() - self.start >= seconds:
                control.should_training_stop = True
                self.stopped = state.global_step < state.max_steps
            return control

    return Budget()


# -- training ----------------------------------------------------------------------------------------
def _quiet_trainer(base: type) -> type:
    """The trainer without a model card (the folder is internal to a policytag model) and without printing
    its logs on stdout (the library never prints)."""
    from transformers.trainer_callback import PrinterCallback

    class QuietTrainer(base):
        def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:
            pass

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.remove_callback(PrinterCallback)

    return QuietTrainer


def _load_trainable(base: Encoder) -> Any:
    """A private copy of the base encoder (the shared, loaded one must never be modified)."""
    from sentence_transformers import SentenceTransformer

    target = str(base.path) if base.path is not None else base.name
    try:
        return SentenceTransformer(target, device=base.device or "cpu", local_files_only=True)
    except Exception as exc:  # many kinds; all mean "cannot load"
        raise EncoderError(f"cannot load encoder {base.name!r} for fine-tuning: {exc}") from None


def _trainer_missing() -> str | None:
    try:
        import accelerate  # noqa: F401  (the transformers Trainer needs it)
        import datasets  # noqa: F401
    except ImportError as exc:
        return f"fine-tuning needs {exc.name}: pip install 'accelerate>=1.0' datasets"
    return None


def finetune_encoder(base: Encoder, texts: Sequence[str], Y: np.ndarray, out_dir: str | Path,
                     pairs: int = DEFAULT_PAIRS, budget: float | None = None, seed: int = 0,
                     batch_size: int = BATCH_SIZE, learning_rate: float = LEARNING_RATE) -> FinetuneInfo:
    """Tune a copy of ``base`` on the label overlap of ``texts`` and save it (sentence-transformers format)
    into ``out_dir``; returns what was done. ``pairs`` is the number of paragraph pairs scored (in batches
    of ``batch_size`` paragraphs, or one smaller batch when that holds them all), ``budget`` the most seconds
    of training."""
    missing = _trainer_missing()
    if missing:
        raise TrainingDataError(missing)
    if budget is not None and budget <= 0:
        raise TrainingDataError(f"fine-tuning budget must be positive seconds, got {budget}")
    if pairs < 1 or batch_size < 2:
        raise TrainingDataError(f"fine-tuning needs at least one pair and batches of two (got {pairs}, {batch_size})")
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    Y = as_matrix(Y)
    while batch_size > 2 and pairs_per_batch(batch_size - 1) >= pairs:  # fewer pairs than one batch holds:
        batch_size -= 1                                                  # one smaller batch
    steps = max(1, math.ceil(pairs / pairs_per_batch(batch_size)))
    rows = sample_rows(Y, steps * batch_size, seed)
    data = Dataset.from_dict({"text": [texts[i] for i in rows], "label": Y[rows].astype(np.float32).tolist()})
    out_dir = Path(out_dir)
    start = time.monotonic()
    with deterministic(seed), tempfile.TemporaryDirectory(prefix="policytag-trainer-") as scratch:
        model = _load_trainable(base)
        for name, param in model.named_parameters():  # the vocabulary stays as pretrained: words absent from
            if "word_embeddings" in name:              # a few hundred paragraphs keep their meaning, and the
                param.requires_grad_(False)            # optimizer skips half of MiniLM's weights
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=1, per_device_train_batch_size=batch_size,
            learning_rate=learning_rate, warmup_steps=int(WARMUP * steps), seed=seed, data_seed=seed,
            dataloader_num_workers=0, save_strategy="no", eval_strategy="no", logging_strategy="no",
            report_to="none", disable_tqdm=True, use_cpu=(base.device or "cpu") == "cpu")
        budget_cb = _budget_callback(budget)
        trainer = _quiet_trainer(SentenceTransformerTrainer)(model=model, args=args, train_dataset=data,
                                                             loss=make_loss(model), callbacks=[budget_cb])
        trainer.train()
        done = int(trainer.state.global_step)
        model.save(str(out_dir), create_model_card=False)
        del trainer, model
    info = FinetuneInfo(base={"name": base.name, "fingerprint": base.fingerprint},
                        pairs=done * pairs_per_batch(batch_size),
                        planned_steps=steps, steps=done, seconds=round(time.monotonic() - start, 1),
                        stopped_by_budget=bool(budget_cb.stopped), seed=seed, batch_size=batch_size,
                        learning_rate=learning_rate, budget=budget, themes=[int(c) for c in Y.sum(0)])
    (out_dir / MARKER).write_text(json.dumps(info.as_dict(), indent=2) + "\n", encoding="utf-8")
    log.info("fine-tuned %s: %d/%d steps of %d paragraphs in %.0f s%s", base.name, done, steps, batch_size,
             info.seconds, " (stopped by the time budget)" if info.stopped_by_budget else "")
    return info


def finetune_on_labels(base: Encoder, texts: Sequence[str], Y: np.ndarray, out_dir: str | Path,
                       groups: Sequence | None = None, epochs: int = 3, budget: float | None = None, seed: int = 0,
                       batch_size: int = 16, learning_rate: float = 3e-5, max_tokens: int = 128) -> FinetuneInfo:
    """Supervised fine-tuning: encoder and a linear multi-label head trained end to end with binary
    cross-entropy, up to ``epochs`` passes, keeping the epoch with the lowest loss on a held-out tenth of the
    articles (``groups``) and stopping when it stops improving. Sequences are cut at ``max_tokens`` for training
    only (speed on a CPU); the saved encoder keeps its own window."""
    missing = _trainer_missing()
    if missing:
        raise TrainingDataError(missing)
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import EarlyStoppingCallback
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    Y = as_matrix(Y)
    keys = np.asarray(groups if groups is not None else np.arange(len(texts))).astype(str)
    rng = np.random.default_rng(seed)
    unique = np.unique(keys)
    dev_keys = set(rng.choice(unique, size=max(1, len(unique) // 10), replace=False).tolist())
    dev = np.array([k in dev_keys for k in keys])
    make = lambda rows: Dataset.from_dict({"text": [texts[i] for i in rows],  # noqa: E731
                                           "label": Y[rows].astype(np.float32).tolist()})
    train_rows, dev_rows = np.flatnonzero(~dev), np.flatnonzero(dev)
    out_dir = Path(out_dir)
    start = time.monotonic()
    with deterministic(seed), tempfile.TemporaryDirectory(prefix="policytag-trainer-") as scratch:
        model = _load_trainable(base)
        window = model.max_seq_length
        model.max_seq_length = min(window, max_tokens)
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=epochs, per_device_train_batch_size=batch_size,
            per_device_eval_batch_size=64, learning_rate=learning_rate,
            warmup_steps=int(WARMUP * epochs * len(train_rows) / batch_size), seed=seed, data_seed=seed,
            dataloader_num_workers=0, eval_strategy="epoch", save_strategy="epoch", save_total_limit=1,
            load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
            logging_strategy="no", report_to="none", disable_tqdm=True, use_cpu=(base.device or "cpu") == "cpu")
        budget_cb = _budget_callback(budget)
        trainer = _quiet_trainer(SentenceTransformerTrainer)(
            model=model, args=args, train_dataset=make(train_rows), eval_dataset=make(dev_rows),
            loss=make_label_loss(model, Y.shape[1]),
            callbacks=[budget_cb, EarlyStoppingCallback(early_stopping_patience=1)])
        trainer.train()
        done = int(trainer.state.global_step)
        planned = int(trainer.state.max_steps)
        model.max_seq_length = window
        model.save(str(out_dir), create_model_card=False)
        del trainer, model
    info = FinetuneInfo(base={"name": base.name, "fingerprint": base.fingerprint}, pairs=0, planned_steps=planned,
                        steps=done, seconds=round(time.monotonic() - start, 1),
                        stopped_by_budget=bool(budget_cb.stopped), seed=seed,
                        loss=f"LabelHeadLoss: binary cross-entropy, {epochs} epochs at most, early stopping on "
                             f"{len(dev_rows)} held-out paragraphs", batch_size=batch_size,
                        learning_rate=learning_rate, budget=budget, themes=[int(c) for c in Y.sum(0)])
    (out_dir / MARKER).write_text(json.dumps(info.as_dict(), indent=2) + "\n", encoding="utf-8")
    log.info("fine-tuned %s on labels: %d/%d steps in %.0f s", base.name, done, planned, info.seconds)
    return info


def _forget(folder: str, remove: bool) -> None:
    """Drop a tuned encoder from the shared model registry and, for a temporary folder, from disk."""
    for key in [k for k in _LOADED if k[1] == folder]:
        del _LOADED[key]
    if remove:
        shutil.rmtree(folder, ignore_errors=True)


def tuned_encoder(folder: str | Path, like: Encoder, temporary: bool = False) -> Encoder:
    """An Encoder over a tuned folder with the batch size, device, cache and backend of ``like``.

    A temporary folder is deleted (and the model unloaded) when the Encoder is garbage-collected."""
    enc = Encoder(str(folder), batch_size=like.batch_size, device=like.device, cache=like.cache,
                  backend=like.backend)
    weakref.finalize(enc, _forget, str(enc.path), temporary)
    return enc


def tune_for_fit(base: Encoder, texts: Sequence[str], Y: np.ndarray, pairs: int = DEFAULT_PAIRS,
                 budget: float | None = None, seed: int = 0, objective: str = "pairs",
                 groups: Sequence | None = None) -> tuple[Encoder, dict[str, Any]]:
    """What ``ThemeClassifier.fit(finetune=True)`` calls: tune into a temporary folder, return an Encoder on
    it and the encoder identity to record (``name`` says it is tuned, ``finetune`` says how). The folder lives
    as long as the returned Encoder (and so its estimator); ``ThemeClassifier.save`` keeps a copy."""
    folder = Path(tempfile.mkdtemp(prefix="policytag-encoder-"))
    try:
        if objective == "labels":
            info = finetune_on_labels(base, texts, Y, folder, groups=groups, budget=budget, seed=seed)
        else:
            info = finetune_encoder(base, texts, Y, folder, pairs=pairs, budget=budget, seed=seed)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    enc = tuned_encoder(folder, base, temporary=True)
    identity = enc.identity()
    identity["name"] = f"{base.name} (fine-tuned)"
    identity["finetune"] = info.as_dict()
    return enc, identity


def place_encoder(encoder: Encoder, directory: str | Path) -> Encoder:
    """Copy a tuned encoder into ``directory/encoder`` (replacing what is there) and return an Encoder on the
    copy; one already there is returned as it is. The copy must have the same weight fingerprint."""
    target = (Path(directory) / ENCODER_DIR).resolve()
    if encoder.path is None:
        raise EncoderError(f"{encoder.name}: a fine-tuned encoder must live in a folder to be saved")
    if encoder.path.resolve() == target:
        return encoder
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(encoder.path, target)
    placed = tuned_encoder(target, encoder)
    if placed.fingerprint != encoder.fingerprint:
        raise EncoderError(f"{target}: copy of the fine-tuned encoder has different weights; disk full?")
    return placed


__all__ = ["FinetuneInfo", "sample_rows", "overlap_targets", "make_loss", "jaccard", "finetune_encoder", "tune_for_fit",
           "place_encoder", "tuned_encoder", "deterministic", "DEFAULT_PAIRS"]
