"""Few-shot fine-tuning: pair targets, determinism, the tuned encoder saved inside the model, reload."""
from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from helpers import CORPUS

from classifier import load_model
from classifier.cli import main
from classifier.encoding.encoder import Encoder, fingerprint_folder
from classifier.encoding.finetune import finetune_encoder, overlap_targets, sample_rows
from classifier.io.tables import Columns, read_labeled
from classifier.model import ThemeClassifier

N = 40


@pytest.fixture(scope="module")
def small():
    """The first 40 training paragraphs of the corpus (three articles), labels as a 0/1 matrix."""
    data = read_labeled(CORPUS, Columns(split="train"))
    units, labels, groups = data.units[:N], data.labels[:N], data.groups[:N]
    _, Y = ThemeClassifier(codebook=data.codebook)._targets(labels, N)
    return {"units": units, "texts": [u.text for u in units], "labels": labels, "Y": Y, "groups": groups,
            "codebook": data.codebook}


@pytest.fixture(scope="module")
def tuned(small):
    """A model fitted with fine-tuning on the small set (28 pairs: one batch of 8 paragraphs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ThemeClassifier(codebook=small["codebook"], finetune=True, finetune_pairs=28,
                                embedding_head="linear", C=4.0,
                                class_weight=None, lexical=0.0)
        return model.fit(small["units"], small["labels"], groups=small["groups"])


def test_overlap_targets_are_jaccard_and_skip_pairs_without_themes():
    Y = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 1]], dtype=bool)
    J, mask = overlap_targets(Y)
    assert J[0, 1] == pytest.approx(0.5) and J[0, 4] == pytest.approx(1 / 3) and J[1, 4] == 0.0
    assert not mask[2, 3]                       # two paragraphs without themes are not a pair
    assert mask[0, 2] and J[0, 2] == 0.0        # a themed one against an empty one: target 0
    assert not mask.diagonal().any() and not np.tril(mask).any()


def test_draws_are_seeded_and_theme_balanced(small):
    Y = small["Y"]
    a, b = sample_rows(Y, 600, seed=3), sample_rows(Y, 600, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, sample_rows(Y, 600, seed=4))
    present = Y.any(0)
    drawn = Y[a][:, present].sum(0)
    natural = Y[:, present].sum(0) / len(Y) * 600
    rarest = np.argmin(Y[:, present].sum(0))
    assert drawn[rarest] > 2 * natural[rarest]   # rare themes are drawn far above their share


def test_same_seed_same_encoder_bit_for_bit(small, tmp_path):
    base = Encoder(None)
    before = base.encode(small["texts"][:8])
    infos, vectors = [], []
    for run in ("a", "b"):
        infos.append(finetune_encoder(base, small["texts"], small["Y"], tmp_path / run, pairs=15, seed=7))
        vectors.append(Encoder(str(tmp_path / run), cache=None).encode(small["texts"][:8]))
    assert np.array_equal(vectors[0], vectors[1])
    assert fingerprint_folder(tmp_path / "a") == fingerprint_folder(tmp_path / "b") != base.fingerprint
    assert not np.allclose(vectors[0], before, atol=1e-4)            # training moved the encoder
    assert np.array_equal(base.encode(small["texts"][:8]), before)  # and left the shared base model alone
    assert infos[0].steps == infos[0].planned_steps == 1 and infos[0].batch_size == 6  # 15 pairs: one batch of 6
    assert not infos[0].stopped_by_budget


def test_time_budget_stops_training(small, tmp_path):
    info = finetune_encoder(Encoder(None), small["texts"], small["Y"], tmp_path / "enc", pairs=18, batch_size=4,
                            budget=1e-6)
    assert info.planned_steps == 3 and info.steps == 1 and info.stopped_by_budget
    assert json.loads((tmp_path / "enc" / "policytag_finetune.json").read_text())["steps"] == 1


def test_tuned_encoder_is_saved_inside_the_model_and_reloads_identically(tuned, small, tmp_path):
    folder = tmp_path / "model"
    tuned.save(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    enc = manifest["encoder"]
    assert enc["path"] == "encoder" and (folder / "encoder" / "model.safetensors").exists()
    assert enc["fingerprint"] == fingerprint_folder(folder / "encoder") != Encoder(None).fingerprint
    assert enc["finetune"]["steps"] == 1 and enc["finetune"]["batch_size"] == 8
    assert enc["finetune"]["base"]["name"] == "all-MiniLM-L6-v2"
    moved = tmp_path / "elsewhere"
    shutil.copytree(folder, moved)  # the folder is complete on its own: no path outside it is recorded
    shutil.rmtree(folder)
    loaded = load_model(moved, cache=None)
    assert loaded.encoder_.path == (moved / "encoder").resolve() and tuned.encoder_.path != loaded.encoder_.path
    np.testing.assert_array_equal(loaded.predict_proba(small["units"]), tuned.predict_proba(small["units"]))
    np.testing.assert_array_equal(loaded.predict(small["units"]), tuned.predict(small["units"]))
    params = loaded.get_params()  # a refit of the loaded model (clone, CV) tunes the base encoder afresh
    assert params["encoder"] == "all-MiniLM-L6-v2" and params["finetune"] is True


def test_cli_trains_with_finetuning(small, tmp_path):
    rows = [{"id": f"r{i}", "article_id": g, "text": t, "labels": lab}
            for i, (t, lab, g) in enumerate(zip(small["texts"], small["labels"], small["groups"]))]
    data = tmp_path / "small.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "m"
    code = main(["train", "--data", str(data), "--out", str(out), "--group-column", "article_id",
                 "--codebook",
                 str(CORPUS / "codebook.yaml"), "--embedding-head", "linear", "--C", "4", "--class-weight", "none",
                 "--finetune",
                 "--finetune-pairs", "1", "--seed", "3"])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["params"]["finetune"] is True and manifest["encoder"]["finetune"]["seed"] == 3
    assert manifest["encoder"]["finetune"]["batch_size"] == 2  # one pair asked for: one batch of two
    assert load_model(out, cache=None).predict(small["units"][:5]).shape == (5, len(small["codebook"]))
