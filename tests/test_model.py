"""ThemeClassifier and persistence: fit, predict, save/load round trip, refusal of tampered or mismatched models."""
import json
import shutil

import numpy as np
import pytest
from helpers import DATA

from classifier import (
    Codebook,
    CodebookError,
    ModelError,
    ThemeClassifier,
    TrainingDataError,
    load_codebook,
    load_model,
)
from classifier.codebook import DEFAULT_CODEBOOK
from classifier.persist import manifest_fingerprint

TEXTS = ["Who pays for the new fighter jets is still disputed among partners.",
         "The destroyer sailed through the contested strait with two escorts.",
         "Envoys met in Vienna to discuss a ceasefire and a prisoner swap."]


def test_default_codebook_has_the_twelve_themes():
    cb = load_codebook()
    assert cb.ids == ["deterrence", "security_guarantees", "burden_sharing", "alliance_cohesion", "strategic_autonomy",
                      "great_power_competition", "territorial_sovereignty", "negotiation_diplomacy",
                      "economic_dimension", "maritime_security", "multilateral_institutions", "asean_analogy"]
    assert cb.multi_label and all(t.description for t in cb.themes)


@pytest.mark.parametrize("body, message", [
    ("name: x\nthemes:\n  - {id: a, description: d}\n  - {id: a, description: e}\n", "defined twice"),
    ("name: x\nthemes:\n  - {id: a, description: ''}\n", "empty description"),
    ("name: x\nthemes: [\n", "invalid YAML"),
    ("name: x\nmulti_label: maybe\nthemes:\n  - {id: a, description: d}\n", "multi_label"),
])
def test_bad_codebooks_are_refused_with_the_file_named(tmp_path, body, message):
    path = tmp_path / "cb.yaml"
    path.write_text(body)
    with pytest.raises(CodebookError, match=message) as err:
        load_codebook(path)
    assert str(path) in str(err.value)


def test_single_label_model_predicts_the_obvious_theme(mini_model):
    assert list(mini_model.predict(TEXTS)) == ["burden_sharing", "maritime_security", "negotiation_diplomacy"]
    P = mini_model.predict_proba(TEXTS)
    assert P.shape == (3, 3) and np.allclose(P.sum(1), 1)


def test_fit_is_deterministic_with_a_seed():
    from classifier.io.tables import Columns, read_labeled
    data = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True, group="doc"))
    a = ThemeClassifier(random_state=3).fit(data.units, data.labels, groups=data.groups)
    b = ThemeClassifier(random_state=3).fit(data.units, data.labels, groups=data.groups)
    assert np.array_equal(a.predict_proba(TEXTS), b.predict_proba(TEXTS))
    assert a.selection_ == b.selection_


def test_multi_label_fit_with_label_lists_and_thresholds():
    texts = [t for t in TEXTS for _ in range(6)]
    labels = [["burden_sharing"], ["maritime_security"], ["negotiation_diplomacy"]] * 6
    texts = [f"{t} (report {i})" for i, t in enumerate(texts)]
    model = ThemeClassifier(codebook=DEFAULT_CODEBOOK, embedding_head="linear", C=16.0, class_weight=None,
                            cv=3).fit(texts, labels)
    assert model.predict(TEXTS).shape == (3, 12)
    assert len(model.thresholds_) == 12
    margins = model.decision_function(TEXTS)
    assert np.array_equal(margins > 0, model.predict(TEXTS).astype(bool))


def test_unknown_labels_fail_before_encoding():
    with pytest.raises(TrainingDataError, match="not in codebook"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK).fit(["a text"], [["no_such_theme"]])
    with pytest.raises(TrainingDataError, match="empty"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK).fit(["a text", "  "], [["deterrence"], []])
    for cv in (0, 1, 2.5, True):
        with pytest.raises(TrainingDataError, match=f"cv={cv!r}: cross-validation needs a whole number"):
            ThemeClassifier(codebook=DEFAULT_CODEBOOK, cv=cv).fit(["a text"], [["deterrence"]])
    with pytest.raises(TrainingDataError, match="sentence_labels='every': expected one of all, mil"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK, sentence_labels="every").fit(["a text"], [["deterrence"]])
    with pytest.raises(TrainingDataError, match="embedding_head='tree': expected one of linear, mlp"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK, embedding_head="tree").fit(["a text"], [["deterrence"]])
    # what only the linear head reads is refused with the MLP head, not ignored
    for params in ({"C": 4.0}, {"class_weight": "balanced"}):
        with pytest.raises(TrainingDataError, match="set embedding_head='linear' to use them"):
            ThemeClassifier(codebook=DEFAULT_CODEBOOK, **params).fit(["a text"], [["deterrence"]])
    with pytest.raises(TrainingDataError, match="sentence_labels='mil' refits one linear row per theme"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK, sentence_labels="mil").fit(["a text"], [["deterrence"]])


def test_saved_and_loaded_model_gives_identical_scores(mini_model, tmp_path):
    mini_model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["encoder"]["name"] == "all-MiniLM-L6-v2" and len(manifest["files"]["head.npz"]) == 64
    loaded = load_model(tmp_path / "m")
    assert np.array_equal(mini_model.predict_proba(TEXTS), loaded.predict_proba(TEXTS))


def test_tampered_head_is_refused(mini_model, tmp_path):
    mini_model.save(tmp_path / "m")
    head = tmp_path / "m" / "head.npz"
    data = bytearray(head.read_bytes())
    data[-20] ^= 0xFF
    head.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["encoder"].update(fingerprint="0000000000000000"), "trained with encoder"),
    (lambda m: m["libraries"].update({"scikit-learn": "0.24.2"}), "scikit-learn"),
    (lambda m: m.update(format_version=99), "format"),
])
def test_mismatched_models_are_refused_with_advice(mini_model, tmp_path, edit, message):
    mini_model.save(tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    manifest["fingerprint"] = manifest_fingerprint(manifest)  # as if saved so: the checks behind the fingerprint
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=message):
        load_model(tmp_path / "m")


def test_missing_files_are_refused(mini_model, tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "nope")
    mini_model.save(tmp_path / "m")
    (tmp_path / "m" / "head.npz").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(tmp_path / "m")
    shutil.rmtree(tmp_path / "m")
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelError, match="manifest.json is missing"):
        load_model(tmp_path / "m")


def test_codebook_fingerprint_tracks_ids_and_order():
    cb = load_codebook()
    reordered = Codebook(cb.name, cb.version, cb.multi_label, tuple(reversed(cb.themes)))
    assert cb.fingerprint != reordered.fingerprint


def test_single_label_scores_keep_a_column_for_a_class_missing_from_training():
    cb = Codebook.from_dict({"name": "three", "multi_label": False, "themes": [
        {"id": "burden_sharing", "description": "who pays"}, {"id": "maritime_security", "description": "sea"},
        {"id": "negotiation_diplomacy", "description": "talks"}]})
    texts = [f"{t} ({i})" for i, t in enumerate(TEXTS[:2] * 4)]
    labels = ["burden_sharing", "maritime_security"] * 4
    model = ThemeClassifier(codebook=cb, embedding_head="linear", C=4.0, class_weight=None, lexical=0.5,
                            cv=2).fit(texts, labels)
    P = model.predict_proba(TEXTS)
    assert P.shape == (3, 3) and np.allclose(P.sum(1), 1) and (P[:, 2] < 0.01).all()


def test_training_twice_writes_byte_identical_model_files(tmp_path):
    """Determinism: same data, same seed, same model file (the lexical head's vectorizer included)."""
    from classifier.io.tables import Columns, read_labeled
    data = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True, group="doc"))
    for name in ("a", "b"):  # the default MLP head: seeded networks, the same weights each time
        ThemeClassifier(lexical=0.5).fit(data.units, data.labels).save(tmp_path / name)
    for f in ("head.npz", "manifest.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


@pytest.mark.parametrize("C", [None, -1.0, float("nan"), "4", True])
def test_the_linear_head_refuses_a_C_that_is_not_auto_or_a_positive_number_before_any_work(C):
    """A refit of a saved MLP model carries C=None ('policytag evaluate': refit_params); switched to the linear
    head (a system's params, a grid over embedding_head) it crashed in float(None) after encoding everything."""
    with pytest.raises(TrainingDataError, match=r"C=.*: the linear head takes C='auto' or a positive number"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK, embedding_head="linear", C=C).fit(
            ["a text", "another text"], [["deterrence"], []])
