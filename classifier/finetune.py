"""Few-shot fine-tuning of the sentence encoder (SetFit-style), before the linear head is fitted.

SetFit (Tunstall et al., 2022) first tunes a sentence encoder contrastively on pairs of labeled
examples, so that texts sharing a label move together and the others apart, then fits a plain
classifier on the tuned embeddings. It is single-label; our codebooks are multi-label, so a pair
has to say *how* alike two label sets are, and "same class / other class" does not.

Pairs, and why. Each pair's target is the **Jaccard overlap of the two label sets** (|A∩B| / |A∪B|),
fitted with sentence-transformers' ``CosineSimilarityLoss`` (MSE between the pair's cosine and the
target). Binary targets are contradictory for multi-label data (a pair that shares *deterrence* but
differs on *burden_sharing* is neither positive nor negative); the Jaccard target is consistent for
every pair, grades partial overlap, and reduces to SetFit's 1/0 for single-label codebooks. *Which*
pairs are drawn is a separate choice: for every theme we draw as many pairs in which both paragraphs
carry it as pairs in which only one does, so rare themes get as many training signals as frequent
ones (uniform pair sampling would spend most of the budget on the common themes and on
"nothing in common" pairs). Two paragraphs without any theme are never paired: "no theme" is the
absence of a topic, not a topic they share.

Cost and determinism. Training runs on the CPU (or the encoder's device) with the trainer of
sentence-transformers (``SentenceTransformerTrainer``), one epoch over ``pairs`` pairs in batches of
16: a few thousand pairs take minutes on two cores. ``budget`` (seconds) stops training early when it
is spent; a run that stops on its budget has done as many steps as the clock allowed, so only runs
that finish their pairs are reproducible bit for bit. Those are: python, numpy and torch are seeded,
torch runs with deterministic algorithms, data loading is single-process, and the pair sample comes
from a seeded numpy generator. The tuned encoder is written to a folder (a temporary one until the
model is saved, then ``MODEL_DIR/encoder``) and identified, like any encoder, by the fingerprint of
its weight files.

Caveat: the head is then fitted (and its thresholds tuned out of fold) on embeddings of the very
paragraphs the encoder was tuned on, which look more separable than new text will. Whether the
trade pays off is measured by ``evaluation/ablation.py``, not assumed.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .encoder import _LOADED, Encoder
from .errors import EncoderError, TrainingDataError

log = logging.getLogger(__name__)

DEFAULT_PAIRS = 3000
BATCH_SIZE = 16
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
    loss: str = "CosineSimilarityLoss(target=Jaccard of label sets)"
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


def as_matrix(Y: np.ndarray, k: int | None = None) -> np.ndarray:
    """A 0/1 label matrix from a matrix or from single-label class indices."""
    Y = np.asarray(Y)
    if Y.ndim == 2:
        return Y.astype(bool)
    k = int(Y.max(initial=0)) + 1 if k is None else k
    return np.eye(k, dtype=bool)[Y.astype(int)]


def sample_pairs(Y: np.ndarray, n_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left rows, right rows, Jaccard targets): per theme, equally many pairs that both carry it and pairs
    where only the left one does; shuffled. Deterministic given ``seed``."""
    Y = as_matrix(Y)
    n = len(Y)
    rng = np.random.default_rng(seed)
    kinds = []  # (theme, positive?) slots that can be filled
    for j in range(Y.shape[1]):
        pos = int(Y[:, j].sum())
        if pos >= 2:
            kinds.append((j, True))
        if 1 <= pos < n:
            kinds.append((j, False))
    if not kinds or n_pairs < 1:
        raise TrainingDataError("fine-tuning needs a theme with at least two positive paragraphs, or one with "
                                "positive and negative paragraphs; label more data or train without --finetune")
    counts = np.full(len(kinds), n_pairs // len(kinds))
    counts[rng.permutation(len(kinds))[:n_pairs % len(kinds)]] += 1
    left, right = [], []
    for (j, positive), m in zip(kinds, counts):
        if not m:
            continue
        pos = np.flatnonzero(Y[:, j])
        a = rng.integers(len(pos), size=m)
        if positive:  # a different paragraph carrying the same theme
            b = pos[(a + rng.integers(1, len(pos), size=m)) % len(pos)]
        else:
            neg = np.flatnonzero(~Y[:, j])
            b = neg[rng.integers(len(neg), size=m)]
        left.append(pos[a])
        right.append(b)
    L, R = np.concatenate(left), np.concatenate(right)
    order = rng.permutation(len(L))
    L, R = L[order], R[order]
    return L, R, jaccard(Y[L], Y[R])


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
    """Tune a copy of ``base`` on label-overlap pairs of ``texts`` and save it (sentence-transformers format)
    into ``out_dir``; returns what was done. ``budget`` is in seconds of training."""
    missing = _trainer_missing()
    if missing:
        raise TrainingDataError(missing)
    if budget is not None and budget <= 0:
        raise TrainingDataError(f"fine-tuning budget must be positive seconds, got {budget}")
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    Y = as_matrix(Y)
    L, R, target = sample_pairs(Y, pairs, seed)
    data = Dataset.from_dict({"sentence1": [texts[i] for i in L], "sentence2": [texts[i] for i in R],
                              "score": target.astype(np.float32).tolist()})
    out_dir = Path(out_dir)
    start = time.monotonic()
    with deterministic(seed), tempfile.TemporaryDirectory(prefix="policytag-trainer-") as scratch:
        model = _load_trainable(base)
        steps = math.ceil(len(data) / batch_size)
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=1, per_device_train_batch_size=batch_size,
            learning_rate=learning_rate, warmup_steps=max(1, int(WARMUP * steps)), seed=seed, data_seed=seed,
            dataloader_num_workers=0, save_strategy="no", eval_strategy="no", logging_strategy="no",
            report_to="none", disable_tqdm=True, use_cpu=(base.device or "cpu") == "cpu")
        budget_cb = _budget_callback(budget)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                             loss=CosineSimilarityLoss(model), callbacks=[budget_cb])
        state = trainer.train()
        done = int(trainer.state.global_step)
        model.save(str(out_dir), create_model_card=False)
        del trainer, model, state
    info = FinetuneInfo(base={"name": base.name, "fingerprint": base.fingerprint}, pairs=len(data),
                        planned_steps=steps, steps=done, seconds=round(time.monotonic() - start, 1),
                        stopped_by_budget=bool(budget_cb.stopped), seed=seed, batch_size=batch_size,
                        learning_rate=learning_rate, budget=budget,
                        themes=[int(c) for c in Y.sum(0)])
    (out_dir / MARKER).write_text(json.dumps(info.as_dict(), indent=2) + "\n", encoding="utf-8")
    log.info("fine-tuned %s on %d pairs: %d/%d steps in %.0f s%s", base.name, len(data), done, steps,
             info.seconds, " (stopped by the time budget)" if info.stopped_by_budget else "")
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
                 budget: float | None = None, seed: int = 0) -> tuple[Encoder, dict[str, Any]]:
    """What ``ThemeClassifier.fit(finetune=True)`` calls: tune into a temporary folder, return an Encoder on
    it and the encoder identity to record (``name`` says it is tuned, ``finetune`` says how)."""
    folder = Path(tempfile.mkdtemp(prefix="policytag-encoder-"))
    try:
        info = finetune_encoder(base, texts, Y, folder, pairs=pairs, budget=budget, seed=seed)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    enc = tuned_encoder(folder, base, temporary=True)
    identity = enc.identity()
    identity["name"] = f"{base.name} (fine-tuned)"
    identity["finetune"] = info.as_dict()
    return enc, identity


def is_tuned(identity: dict[str, Any] | None) -> bool:
    return bool(identity and identity.get("finetune"))


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


__all__ = ["FinetuneInfo", "sample_pairs", "jaccard", "finetune_encoder", "tune_for_fit", "place_encoder",
           "tuned_encoder", "is_tuned", "deterministic", "DEFAULT_PAIRS"]
