"""Hugging Face datasets and pandas: tag_dataset / tag_dataframe add theme and score columns."""
import numpy as np
import pandas as pd
import pytest
from datasets import Dataset, DatasetDict
from ecosystem_data import FAST, mini_corpus, multi_label_data
from sklearn.exceptions import NotFittedError

from classifier import PolicytagError, ThemeClassifier, Unit, load_codebook, load_corpus
from classifier.io.tables import article_context

SCORE_COLUMNS = [f"score_{t}" for t in load_codebook().ids]


@pytest.fixture(scope="module")
def model():
    texts, labels, groups = multi_label_data()
    with pytest.warns(UserWarning):
        return ThemeClassifier(codebook=load_codebook(), **FAST).fit(texts, labels, groups=groups)


@pytest.fixture(scope="module")
def context_model():
    """A model that reads context, so article neighbours change its scores."""
    texts, labels, groups = multi_label_data()
    units = [Unit(t, ("Envoys met again for talks.",)) for t in texts]
    with pytest.warns(UserWarning):
        return ThemeClassifier(codebook=load_codebook(), embedding_head="linear", C=4.0, class_weight=None,
                               context=True).fit(units, labels)


@pytest.fixture(scope="module")
def frame():
    texts, labels, groups = multi_label_data()
    return pd.DataFrame({"text": texts[:30], "gold": labels[:30]}, index=[f"r{i}" for i in range(30)])


def test_tag_dataframe_adds_columns_and_keeps_the_input(model, frame):
    before = frame.copy()
    out = model.tag_dataframe(frame)
    assert list(out.columns) == ["text", "gold", "themes", *SCORE_COLUMNS]
    assert list(out.index) == list(frame.index)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is untouched
    P = model.predict_proba(frame["text"].tolist())
    np.testing.assert_allclose(out[SCORE_COLUMNS].to_numpy(), P.round(4))
    assert out["themes"].tolist() == model.themes_of(P)
    hits = sum(set(g) & set(t) != set() for g, t in zip(out["gold"], out["themes"]))
    assert hits >= 25  # the model finds a gold theme on most rows it was trained on


def test_tag_dataset_goes_through_batched_map(model, frame):
    ds = Dataset.from_pandas(frame, preserve_index=False)
    out = model.tag_dataset(ds, chunk=7)  # several batches
    assert isinstance(out, Dataset) and len(out) == len(ds)
    assert out.column_names == ["text", "gold", "themes", *SCORE_COLUMNS]
    assert out.features["themes"].feature.dtype == "string"
    expected = model.tag_dataframe(frame)
    assert out["themes"] == expected["themes"].tolist()
    np.testing.assert_allclose(np.array([out[c] for c in SCORE_COLUMNS]).T, expected[SCORE_COLUMNS].to_numpy())


def test_a_first_batch_without_themes_keeps_the_column_a_list_of_strings(model):
    ds = Dataset.from_dict({"text": ["Rain is expected in the north tomorrow."] * 3
                            + ["The navy will double its patrols through the strait."]})
    out = model.tag_dataset(ds, chunk=1)
    assert out.features["themes"].feature.dtype == "string"
    assert out["themes"][-1] == ["maritime_security"]


def test_load_corpus_dataset_dict_is_tagged_split_by_split_with_article_context(context_model, tmp_path):
    corpus = load_corpus(mini_corpus(tmp_path / "corpus"))
    assert isinstance(corpus, DatasetDict) and set(corpus) == {"train", "test"}
    out = context_model.tag_dataset(corpus, chunk=4)
    assert isinstance(out, DatasetDict)
    for split, ds in out.items():
        rows = corpus[split].to_list()
        units = [Unit(r["text"], c) for r, c in zip(rows, article_context(rows))]  # neighbours within an article
        P = context_model.predict_proba(units)
        np.testing.assert_allclose(np.array([ds[c] for c in SCORE_COLUMNS]).T, P.round(4))
    alone = context_model.tag_dataset(corpus["train"], article_column=None)
    assert alone["score_maritime_security"] != out["train"]["score_maritime_security"]  # context matters


def test_tag_dataframe_reads_a_context_column(context_model):
    frame = pd.DataFrame({"text": ["Coast guards shadowed the ship."] * 2,
                          "ctx": [["Envoys met in Geneva for ceasefire talks."], "Allies argued over who pays."]})
    out = context_model.tag_dataframe(frame, context_column="ctx")
    expected = context_model.predict_proba([Unit(frame.text[0], ("Envoys met in Geneva for ceasefire talks.",)),
                                            Unit(frame.text[1], ("Allies argued over who pays.",))])
    np.testing.assert_allclose(out[SCORE_COLUMNS].to_numpy(), expected.round(4))


def test_prefix_avoids_clobbering_gold_columns(model):
    frame = pd.DataFrame({"text": ["Envoys met for ceasefire talks."], "themes": [["gold"]]})
    out = model.tag_dataframe(frame, prefix="pred_")
    assert out["themes"].tolist() == [["gold"]] and "pred_themes" in out and "pred_score_deterrence" in out


def test_missing_columns_and_bad_text_are_clear_errors(model):
    with pytest.raises(PolicytagError, match="no column.*'body'.*columns: text"):
        model.tag_dataframe(pd.DataFrame({"text": ["x"]}), text_column="body")
    with pytest.raises(PolicytagError, match="no column.*'body'"):
        model.tag_dataset(Dataset.from_dict({"text": ["x"]}), text_column="body")
    with pytest.raises(PolicytagError, match="row 1: text is float"):
        model.tag_dataframe(pd.DataFrame({"text": ["fine", None]}))
    with pytest.raises(NotFittedError):
        ThemeClassifier().tag_dataframe(pd.DataFrame({"text": ["x"]}))
