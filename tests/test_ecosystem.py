"""Ecosystem habits (issue #15, item 6): ``import policytag``, the Hugging Face Hub folder layout, Dataset.map
options passed through, and tag results that Jupyter shows as a table."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from ecosystem_data import FAST, multi_label_data

import classifier
from classifier import load_codebook

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["Who pays for the new fighter jets is still disputed among partners.",
         "The destroyer sailed through the contested strait with two escorts."]


@pytest.fixture(scope="module")
def model():
    texts, labels, groups = multi_label_data()
    with pytest.warns(UserWarning):  # themes of the codebook that mini.csv lacks
        return classifier.ThemeClassifier(codebook=load_codebook(), **FAST).fit(texts, labels, groups=groups)


# -- import policytag ---------------------------------------------------------------------------------------
def test_import_policytag_is_the_public_api_of_classifier():
    import policytag
    assert policytag.ThemeClassifier is classifier.ThemeClassifier
    assert policytag.load_model is classifier.load_model and policytag.ModelError is classifier.ModelError
    assert policytag.__version__ == classifier.__version__
    assert set(classifier.__all__) <= set(dir(policytag)) and set(classifier.__all__) <= set(policytag.__all__)
    from policytag import Codebook, DocView
    assert Codebook is classifier.Codebook and DocView is classifier.DocView
    with pytest.raises(AttributeError):
        policytag.no_such_name  # noqa: B018


def test_import_policytag_stays_light():
    """As ``import classifier``: scikit-learn, torch and numpy load only when a name that needs them is used."""
    code = ("import sys, policytag\n"
            "print(sorted(m for m in ('numpy', 'sklearn', 'torch') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_pyproject_installs_the_policytag_package():
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "policytag" in config["tool"]["setuptools"]["packages"]


# -- save_pretrained / from_pretrained ----------------------------------------------------------------------
def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_save_pretrained_writes_the_hub_layout_with_a_model_card(model, tmp_path):
    folder = model.save_pretrained(tmp_path / "hub", metrics={"macro_f1": 0.7123, "n_test": 40})
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "head.npz", "manifest.json"]
    with np.load(folder / "head.npz", allow_pickle=False) as data:  # no pickle anywhere
        assert all(data[k].dtype != object for k in data.files)
    card = (folder / "README.md").read_text(encoding="utf-8")
    meta = front_matter(card)
    assert meta["library_name"] == "policytag" and "policytag" in meta["tags"]
    assert "multi-label-classification" in meta["tags"] and meta["metrics"] == ["macro_f1", "n_test"]
    for theme in load_codebook().themes:  # every theme, its definition and its threshold
        row = next(line for line in card.splitlines() if line.startswith(f"| `{theme.id}` |"))
        assert theme.description.split()[0] in row
        assert f"| {model.thresholds_[list(model.classes_).index(theme.id)]:.2f} |" in row
    assert "| macro_f1 | 0.7123 |" in card and "| n_test | 40 |" in card


def test_the_model_card_is_read_by_the_hub_client(model, tmp_path):
    hub = pytest.importorskip("huggingface_hub")
    folder = model.save_pretrained(tmp_path / "hub")
    card = hub.ModelCard.load(folder / "README.md")
    assert card.data.library_name == "policytag" and "text-classification" in card.data.tags
    assert "No evaluation metrics were saved" in card.text


def test_from_pretrained_gives_back_the_same_model(model, tmp_path):
    import policytag
    folder = model.save_pretrained(tmp_path / "hub")
    loaded = policytag.ThemeClassifier.from_pretrained(folder)
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))
    (folder / "README.md").write_text("---\nlibrary_name: policytag\n---\n# edited by hand\n")
    policytag.ThemeClassifier.from_pretrained(folder)  # the card is not part of the fingerprint
    assert json.loads((folder / "manifest.json").read_text())["fingerprint"]


def test_from_pretrained_reads_folders_saved_before_and_refuses_missing_ones(model, tmp_path):
    import policytag
    from classifier import DEFAULT_MODEL_DIR
    assert list(policytag.ThemeClassifier.from_pretrained(DEFAULT_MODEL_DIR).classes_) == load_codebook().ids
    with pytest.raises(policytag.ModelError, match="no such model folder"):
        policytag.ThemeClassifier.from_pretrained(tmp_path / "someone" / "model")


# -- tag_dataset: Dataset.map options -----------------------------------------------------------------------
@pytest.fixture()
def dataset(tmp_path):
    from datasets import Dataset, load_from_disk
    texts, _, _ = multi_label_data()
    Dataset.from_dict({"text": texts[:12], "row": list(range(12))}).save_to_disk(tmp_path / "ds")
    return load_from_disk(tmp_path / "ds")  # backed by a cache file, as map's cache needs


def test_tag_dataset_passes_remove_columns_to_map(model, dataset):
    out = model.tag_dataset(dataset, remove_columns=["text"])
    assert out.column_names == ["row", "themes", *[f"score_{t}" for t in model.classes_]]
    full = model.tag_dataset(dataset)  # another column set: not served from the cache of the first
    assert "text" in full.column_names and full["themes"] == out["themes"]
    with pytest.raises(classifier.PolicytagError, match="no column"):
        model.tag_dataset(dataset, remove_columns="nope")


def test_tag_dataset_passes_load_from_cache_file_to_map(model, dataset, monkeypatch):
    calls = []
    score = type(model).predict_proba

    def counted(self, X):
        calls.append(1)
        return score(self, X)

    monkeypatch.setattr(type(model), "predict_proba", counted)
    first = model.tag_dataset(dataset)
    assert calls
    calls.clear()
    assert model.tag_dataset(dataset)["themes"] == first["themes"] and not calls  # map's cache file reused
    assert model.tag_dataset(dataset, load_from_cache_file=False)["themes"] == first["themes"] and calls


def test_tag_dataset_passes_num_proc_to_map(model, dataset, monkeypatch, tmp_path):
    one = model.tag_dataset(dataset, load_from_cache_file=False)
    pids = tmp_path / "pids"
    pids.mkdir()
    score = type(model).predict_proba

    def noted(self, X):
        import os
        (pids / str(os.getpid())).touch()
        return score(self, X)

    monkeypatch.setattr(type(model), "predict_proba", noted)
    two = model.tag_dataset(dataset, num_proc=2, load_from_cache_file=False)
    assert two["themes"] == one["themes"]
    assert two[f"score_{model.classes_[0]}"] == one[f"score_{model.classes_[0]}"]
    import os
    workers = {p.name for p in pids.iterdir()}
    assert workers and str(os.getpid()) not in workers  # map ran in worker processes (its pool picks which)


# -- _repr_html_ for Jupyter --------------------------------------------------------------------------------
def test_tag_results_show_as_an_escaped_html_table(model):
    article = "# Talks\n\nEnvoys met in <Vienna> & agreed a ceasefire map.\n\nThe navy escorted grain ships.\n"
    records = model.tag_article(article, fmt="markdown")
    page = records._repr_html_()
    assert page.startswith("<table") and page.count("<tr>") == 1 + len(records)
    assert "&lt;Vienna&gt; &amp; agreed" in page and "<Vienna>" not in page
    for rec in records:
        for theme in rec["themes"]:
            assert f"{theme} ({rec['scores'][theme]:.2f})" in page
    assert json.loads(json.dumps(records)) == list(records)  # still a plain list of records
