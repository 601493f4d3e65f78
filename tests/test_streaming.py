"""Streaming: input is read lazily, encoder batches span documents in bounded windows, nothing is encoded twice,
memory does not grow with the number of documents, and start-up never imports torch."""
import copy
import itertools
import subprocess
import sys
import tracemalloc

import pytest
from helpers import ROOT

from classifier.encoding.encoder import Encoder
from classifier.engines.local import tag_stream
from classifier.errors import InputError
from classifier.io.readers import Document

PARAGRAPHS = ["Germany will cover forty percent of the new air-defence shield, with Norway paying the rest.",
              "Tokyo offered to shoulder more of the host-nation costs for American bases on its soil.",
              "Allies argued late into the night over who should pay for the expanded eastern brigade.",
              "The envoys met for a third round, trading drafts of a ceasefire map that would freeze the front.",
              "Coast-guard cutters fired water cannon at a resupply boat near the reef on Sunday."]


def documents(n, width=3, prefix="d", seen=None):
    """n documents of ``width`` paragraphs, made lazily; ``seen`` counts how many were taken."""
    for i in range(n):
        if seen is not None:
            seen.append(i)
        text = "\n\n".join(PARAGRAPHS[(i + j) % len(PARAGRAPHS)] for j in range(width))
        yield Document(f"{prefix}{i}", text, "text", f"{prefix}{i}.txt")


class Calls:
    """Records every batch of texts the encoder model is asked to embed."""

    def __init__(self, monkeypatch):
        self.batches: list[list[str]] = []
        real = Encoder._compute

        def compute(enc, texts):
            self.batches.append(list(texts))
            return real(enc, texts)

        monkeypatch.setattr(Encoder, "_compute", compute)


@pytest.fixture()
def model(mini_model):
    """A copy of the small trained model with no disk cache and an empty memory, so every call is visible."""
    clone = copy.copy(mini_model)
    clone.encoder_ = Encoder(mini_model.encoder_.model, cache=None)
    return clone


def test_input_is_read_lazily_and_results_come_in_order(model):
    seen = []
    stream = tag_stream(model, documents(1000, seen=seen), chunk=12)
    first = [next(stream) for _ in range(4)]
    assert len(seen) <= 4 + 4  # a chunk of 12 paragraphs is 4 documents: nothing read far ahead
    assert [r.doc.id for r in first] == ["d0", "d1", "d2", "d3"]
    assert [r.doc.id for r in itertools.islice(stream, 3)] == ["d4", "d5", "d6"]


def test_batches_span_documents_in_bounded_windows(model, monkeypatch):
    calls = Calls(monkeypatch)
    texts = [f"Paragraph {i} of a long run: the ministers agreed on item {i} of the defence plan." for i in range(120)]
    docs = (Document(f"d{i}", f"{texts[2 * i]}\n\n{texts[2 * i + 1]}", "text", f"d{i}") for i in range(60))
    results = list(tag_stream(model, docs, chunk=32))
    assert len(results) == 60 and all(len(r.records) == 2 for r in results)
    assert len(calls.batches) == 4  # 120 paragraphs in windows of 32: each encoder call spans 16 documents
    assert max(len(b) for b in calls.batches) <= 32
    assert sorted(t for b in calls.batches for t in b) == sorted(texts)


def test_bad_documents_keep_their_place_without_cutting_windows(model, monkeypatch):
    calls = Calls(monkeypatch)
    texts = [f"Item {i}: the ministers agreed to share the cost of the brigade with their allies." for i in range(120)]
    items = []
    for i in range(60):
        items.append(Document(f"d{i}", f"{texts[2 * i]}\n\n{texts[2 * i + 1]}", "text", f"d{i}"))
        if i % 3 == 0:
            items.append(InputError(f"bad{i}.txt", "cannot read"))
            items.append(Document(f"empty{i}", "<p></p>", "html", f"empty{i}.html"))
    results = list(tag_stream(model, iter(items), chunk=32))
    assert [r.doc.id if r.doc else r.error.location for r in results] == \
        [x.id if isinstance(x, Document) else x.location for x in items]
    assert [r.error.skipped for r in results if r.error] == [False, True] * 20
    assert len(calls.batches) == 4  # the errors did not split the windows


def test_identical_paragraphs_are_encoded_once_per_run(model, monkeypatch):
    calls = Calls(monkeypatch)
    list(tag_stream(model, documents(200), chunk=9))  # 600 paragraphs, 5 distinct, across many windows
    encoded = [t for b in calls.batches for t in b]
    assert sorted(encoded) == sorted(PARAGRAPHS)


def test_memory_does_not_grow_with_the_number_of_documents(model):
    list(tag_stream(model, documents(20), chunk=64))  # warm: the embeddings are remembered after this

    def peak(n):
        tracemalloc.start()
        for _ in tag_stream(model, documents(n, prefix=f"n{n}-"), chunk=64):
            pass
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    small, large = peak(100), peak(1000)
    assert large < small * 1.3, (small, large)


def _fresh_python(code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return done.stdout.split(), done.stderr


@pytest.mark.parametrize("argv, code", [(["--help"], 0), (["tag", "--help"], 0), (["tag"], 2),
                                        (["tag", "x.txt", "--backend", "tensorrt"], 2), (["nonsense"], 2)])
def test_help_and_argument_errors_never_import_torch(argv, code):
    out, err = _fresh_python(f"import sys\nfrom classifier.cli import main\ntry:\n    main({argv!r})\n"
                             "except SystemExit as e:\n    print(e.code)\n"
                             "print(any(m in sys.modules for m in ('torch', 'sentence_transformers', "
                             "'sklearn', 'onnxruntime')))")
    assert out[-2:] == [str(code), "False"], err[-2000:]


def test_windows_are_counted_in_sentences_not_paragraphs():
    """A window's memory grows with the pieces the model reads, which are sentences: three-sentence paragraphs
    must make windows of a third as many paragraphs, or a long run's full windows outgrow a short run's."""
    from classifier.engines.local import plan_chunks
    from classifier.io.segment import sentences

    paragraph = ("The allies agreed to split the cost of the new brigade. Germany will pay forty percent of it. "
                 "Norway and the Netherlands will cover the rest between them.")
    assert len(sentences(paragraph)) == 3
    docs = [Document(f"d{i}", "\n\n".join([paragraph] * 4), "text", f"d{i}.txt") for i in range(30)]
    chunks = list(plan_chunks(iter(docs), chunk=24))
    held = [sum(len(sentences(p.text)) for _, pars in chunk for p in pars) for chunk in chunks]
    assert held == [24] * 15  # two documents of twelve sentences per window; by paragraphs it was six (72)
    assert [doc.id for chunk in chunks for doc, _ in chunk] == [d.id for d in docs]
