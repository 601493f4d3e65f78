"""ONNX backends: the encoder exported once to an ONNX graph and run with onnxruntime.

The graph is the whole sentence encoder (transformer, mean or CLS pooling, L2 normalization), exported
locally from the model's own weights with ``torch.onnx.export``, never downloaded, then given
onnxruntime's transformer fusions (attention, layer norm, GELU) where they apply. It is kept under the
cache folder, keyed by the weights fingerprint, with a checksum beside it: a damaged graph is rebuilt,
never run. ``onnx-int8`` is the same graph with dynamically quantized int8 weights (one scale per output
channel), about twice as fast as torch on CPUs with int8 instructions.

Once a graph exists, encoding with it needs neither torch nor sentence-transformers: only onnxruntime,
``tokenizers`` and numpy. Install with ``pip install 'policytag[onnx]'``.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import EncoderError
from classifier.hashing import file_sha256

BACKENDS = ("torch", "onnx", "onnx-int8")
INSTALL_HINT = "install the ONNX extra: pip install 'policytag[onnx]'"
GRAPH_VERSION = "2"  # bump when the export or quantization recipe changes: old graphs are then not reused
_OPSET = 17
_EXPORT_TOLERANCE = 1e-4
_INT8_MIN_COSINE = 0.95
_PROBE = ["Allies agreed to share the cost of the new air-defence belt.",
          "Talks resumed in Geneva on Wednesday, with mediators carrying drafts between delegations that "
          "would not sit in the same room, as the discussion turned to how a ceasefire would be monitored.",
          "Sanctions."]
_SESSIONS: dict[str, OnnxRunner] = {}


def check_backend(backend: str) -> str:
    """The backend name, or an EncoderError that lists the choices."""
    if backend not in BACKENDS:
        raise EncoderError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return backend


def graph_files(cache_dir: Path, fingerprint: str, backend: str) -> Path:
    """Where the graph of one encoder and backend lives (its checksum sits beside it, ``.sha256``)."""
    name = "model.onnx" if backend == "onnx" else "model-int8.onnx"
    return Path(cache_dir) / "onnx" / f"{fingerprint}-v{GRAPH_VERSION}" / name


def _intact(path: Path) -> bool:
    check = path.with_name(path.name + ".sha256")
    try:
        return path.exists() and check.read_text().strip() == file_sha256(path)
    except OSError:
        return False


def _publish(tmp: Path, path: Path) -> None:
    """Move a finished graph into place with its checksum; readers never see a half-written file."""
    check = path.with_name(path.name + ".sha256")
    check_tmp = check.with_name(f"{check.name}.{os.getpid()}.tmp")
    check_tmp.write_text(file_sha256(tmp) + "\n")
    os.replace(tmp, path)
    os.replace(check_tmp, check)


def _require_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise EncoderError(f"the ONNX backends need onnxruntime: {INSTALL_HINT}") from None
    return onnxruntime


def _pooling_mode(st_model: Any) -> str:
    for module in st_model:
        mode = getattr(module, "pooling_mode", None)
        if isinstance(mode, str):
            return mode
        if hasattr(module, "pooling_mode_mean_tokens"):
            if module.pooling_mode_mean_tokens:
                return "mean"
            if module.pooling_mode_cls_token:
                return "cls"
            return "other"
    return "mean"


def export_graph(st_model: Any, path: Path) -> None:
    """Export transformer + pooling + normalization of a loaded SentenceTransformer to ``path``."""
    import torch

    mode = _pooling_mode(st_model)
    if mode not in ("mean", "cls"):
        raise EncoderError(f"the ONNX backends support mean or CLS pooling, this encoder uses {mode!r}; "
                           "use --backend torch")
    transformer = st_model[0].auto_model

    class Sentence(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 102, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()  # a padded example, so the traced graph keeps the attention mask
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_name(f"{path.name}.{os.getpid()}.raw.tmp")
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        transformer = copy.deepcopy(transformer)  # the loaded model is shared: change the copy only
        if hasattr(transformer, "set_attn_implementation"):
            transformer.set_attn_implementation("eager")  # the pattern onnxruntime fuses into one Attention op
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Sentence().eval(), (ids, mask), str(raw), input_names=["input_ids", "attention_mask"],
                              output_names=["embedding"], opset_version=_OPSET, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})
        _fuse(raw, tmp, transformer.config)
        _publish(tmp, path)
    except EncoderError:
        raise
    except Exception as exc:  # the exporter raises many kinds; all mean "this model cannot be exported"
        raise EncoderError(f"cannot export the encoder to ONNX ({type(exc).__name__}: {exc}); use --backend torch") \
            from None
    finally:
        raw.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def _fuse(raw: Path, out: Path, config: Any) -> None:
    """onnxruntime's transformer fusions; a model they do not fit keeps its plain exported graph."""
    try:
        from onnxruntime.transformers import optimizer
        logging.disable(logging.WARNING)
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=int(config.num_attention_heads),
                                         hidden_size=int(config.hidden_size))
        fused.save_model_to_file(str(out))
    except Exception:  # optional speed-up: any failure leaves the exact, unfused graph
        os.replace(raw, out)
    finally:
        logging.disable(logging.NOTSET)


def quantize_graph(source: Path, path: Path) -> None:
    """int8 weights, one scale per output channel (one per tensor loses too much accuracy)."""
    _require_onnxruntime()
    try:
        from onnx import TensorProto
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise EncoderError(f"int8 quantization needs the onnx package: {INSTALL_HINT}") from None
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    logging.disable(logging.WARNING)  # onnxruntime's quantizer advises on the root logger; the library is quiet
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})  # types of fused ops' outputs
        _publish(tmp, path)
    finally:
        logging.disable(logging.NOTSET)
        tmp.unlink(missing_ok=True)


class OnnxRunner:
    """Tokenize with the model's own tokenizer, batch by length, run the graph: normalized float32 rows."""

    def __init__(self, graph: Path, tokenizer_file: Path, max_seq_length: int, lower_case: bool = False):
        ort = _require_onnxruntime()
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
            raise EncoderError(f"{graph}: cannot load the ONNX graph ({exc})") from None
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()  # the shipped tokenizer.json pads to 128; batches are padded here instead
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.lower_case = lower_case
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Rows in the order of ``texts``; batches are formed from texts of similar length to cut padding."""
        prepared = [t.lower() for t in texts] if self.lower_case else list(texts)
        encodings = self.tokenizer.encode_batch(prepared)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, :lengths[i]] = encodings[i].ids
                mask[r, :lengths[i]] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            vectors = self.session.run(None, feed)[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def _tokenizer_settings(folder: Path) -> tuple[Path, int, bool]:
    tokenizer = folder / "tokenizer.json"
    if not tokenizer.exists():
        raise EncoderError(f"{folder}: no tokenizer.json, which the ONNX backends need; use --backend torch")
    config = folder / "sentence_bert_config.json"
    settings = json.loads(config.read_text()) if config.exists() else {}
    return tokenizer, int(settings.get("max_seq_length") or 256), bool(settings.get("do_lower_case"))


def _verify(runner: OnnxRunner, st_model: Any, backend: str, graph: Path) -> None:
    """Compare the fresh graph with the torch model on a few texts of different lengths."""
    mine = runner.encode(_PROBE)
    ref = st_model.encode(_PROBE, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    if backend == "onnx":
        gap = float(np.abs(mine - ref).max())
        ok, what = gap <= _EXPORT_TOLERANCE, f"differs from the torch model by up to {gap:.2g}"
    else:
        cosine = float((mine * ref).sum(axis=1).min())
        ok, what = cosine >= _INT8_MIN_COSINE, f"has cosine {cosine:.3f} to the torch model"
    if not ok:
        graph.unlink(missing_ok=True)
        raise EncoderError(f"the exported {backend} graph {what}; use --backend torch")


def runner_for(encoder: Any, backend: str, cache_dir: Path) -> OnnxRunner:
    """The onnxruntime session for an Encoder, exporting (and quantizing) the graph on first use.

    Sessions are shared per graph file, like loaded torch models, so cloned estimators do not reload.
    Only a missing or damaged graph costs the torch model; an intact one is used as it is.
    """
    if encoder.path is None:
        raise EncoderError(f"the ONNX backends need a local model folder, not the hub name {encoder.name!r}; "
                           "train on a local copy ('policytag train --encoder FOLDER'), or use --backend torch")
    graph = graph_files(cache_dir, encoder.fingerprint, backend)
    key = str(graph)
    if key in _SESSIONS:
        return _SESSIONS[key]
    _require_onnxruntime()
    tokenizer, max_len, lower = _tokenizer_settings(encoder.path)
    fresh = not _intact(graph)
    if fresh:
        fp32 = graph_files(cache_dir, encoder.fingerprint, "onnx")
        if not _intact(fp32):
            export_graph(encoder.st_model, fp32)
        if backend == "onnx-int8":
            quantize_graph(fp32, graph)
    runner = OnnxRunner(graph, tokenizer, max_len, lower)
    if fresh:
        _verify(runner, encoder.st_model, backend, graph)
    _SESSIONS[key] = runner
    return runner
