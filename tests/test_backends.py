"""ONNX backends: a graph exported locally from the packaged model, same embeddings, cached, rebuilt if damaged."""
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the ONNX backends are an optional extra: pip install 'policytag[onnx]'")

from helpers import DATA, ROOT  # noqa: E402

from classifier.cli import main  # noqa: E402
from classifier.encoding import backends  # noqa: E402
from classifier.encoding.encoder import Encoder  # noqa: E402
from classifier.errors import EncoderError  # noqa: E402

LONG = " ".join(["The alliance weighed how far its members would go to defend the eastern flank,"] * 30)
TEXTS = ["Sanctions.", "Germany will cover forty percent of the new air-defence shield.",
         "Talks resumed in Geneva on Wednesday, with mediators carrying drafts between delegations that would "
         "not sit in the same room, as the discussion turned to how a ceasefire would be monitored.", LONG]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """One folder of graphs for the module: the export and quantization are paid once."""
    folder = tmp_path_factory.mktemp("graphs")
    for name in ("onnx", "onnx-int8"):
        backends.runner_for(Encoder(backend=name), name, folder)
    return folder


@pytest.fixture(scope="module")
def reference():
    return Encoder(cache=None).encode(TEXTS)


def _encode(backend, folder, texts=TEXTS):
    return backends.runner_for(Encoder(backend=backend), backend, folder).encode(texts, batch_size=2)


def test_onnx_graph_gives_the_torch_embeddings(graphs, reference):
    out = _encode("onnx", graphs)  # batches of 2 mix a one-word text with long ones: padding must not leak
    assert out.dtype == np.float32 and out.shape == reference.shape
    np.testing.assert_allclose(out, reference, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_int8_graph_stays_close(graphs, reference):
    out = _encode("onnx-int8", graphs)
    cosine = (out * reference).sum(axis=1)
    assert cosine.min() > 0.97
    assert not np.allclose(out, reference, atol=1e-4)  # it is the quantized graph, not the fp32 one


def test_graphs_are_cached_with_checksums(graphs):
    for name in ("onnx", "onnx-int8"):
        path = backends.graph_files(graphs, Encoder().fingerprint, name)
        assert path.exists() and path.with_name(path.name + ".sha256").exists()
    assert not list(graphs.rglob("*.tmp"))


def test_a_cached_graph_runs_without_torch(graphs, reference):
    """Once built, an ONNX run imports neither torch nor sentence-transformers."""
    code = ("import sys, json; from classifier.encoding.encoder import Encoder; "
            f"v = Encoder(backend='onnx', cache=None).encode({TEXTS!r}); "
            "print(json.dumps([v.tolist(), 'torch' in sys.modules, 'sentence_transformers' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**__import__("os").environ, "POLICYTAG_CACHE_DIR": str(graphs)})
    vectors, torch_loaded, st_loaded = json.loads(done.stdout.splitlines()[-1])
    assert (torch_loaded, st_loaded) == (False, False)
    np.testing.assert_allclose(np.array(vectors), reference, atol=1e-4)


def test_a_damaged_graph_is_rebuilt_not_run(graphs, tmp_path, reference):
    folder = tmp_path / "graphs"
    path = backends.graph_files(folder, Encoder().fingerprint, "onnx")
    path.parent.mkdir(parents=True)
    source = backends.graph_files(graphs, Encoder().fingerprint, "onnx")
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped bit in the weights still loads, and would run wrong
    path.write_bytes(bytes(data))
    path.with_name(path.name + ".sha256").write_text(source.with_name(source.name + ".sha256").read_text())
    np.testing.assert_allclose(_encode("onnx", folder), reference, atol=1e-4)
    assert path.read_bytes() != bytes(data)


def test_embedding_cache_keeps_backends_apart(graphs, tmp_path, monkeypatch):
    from classifier.encoding.cache import EmbeddingCache
    monkeypatch.setenv("POLICYTAG_CACHE_DIR", str(graphs))
    store = EmbeddingCache(graphs)
    a = Encoder(backend="onnx-int8", cache=store).encode(TEXTS[:2])
    b = Encoder(backend="torch", cache=store).encode(TEXTS[:2])
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(Encoder(backend="onnx-int8", cache=store).encode(TEXTS[:2]), a)
    assert {fp for fp, _ in store.encoders()} >= {Encoder(backend="onnx-int8").cache_key, Encoder().fingerprint}
    store.close()


def test_backend_errors_are_clear(tmp_path):
    with pytest.raises(EncoderError, match="onnx-int8"):
        Encoder(backend="tensorrt")
    with pytest.raises(EncoderError, match="local model folder"):
        backends.runner_for(Encoder("someone/some-hub-model", backend="onnx"), "onnx", tmp_path)


def test_cli_backends_train_tag_and_evaluate(graphs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POLICYTAG_CACHE_DIR", str(graphs))
    out_model = tmp_path / "model"
    data = ["--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label", "--group-column", "doc"]
    assert main(["train", *data, "--out", str(out_model), "--backend", "onnx-int8", "--embedding-head", "linear",
                 "--C", "16",
                 "--class-weight", "none"]) == 0
    manifest = json.loads((out_model / "manifest.json").read_text())
    assert manifest["encoder"]["fingerprint"] == Encoder().fingerprint  # same weights, whatever the backend
    article = tmp_path / "a.txt"
    article.write_text("Allies argued over who pays for the brigade.\n\nTokyo offered to pay more of the base costs.\n")
    for backend in ("onnx", "onnx-int8"):
        out = tmp_path / f"{backend}.jsonl"
        assert main(["tag", str(article), "--model", str(out_model), "-o", str(out), "--backend", backend, "-q"]) == 0
        assert len(out.read_text().splitlines()) == 2
    assert main(["evaluate", "--model", str(out_model), *data, "--backend", "onnx"]) == 0
    assert "macro" in capsys.readouterr().out.lower()
