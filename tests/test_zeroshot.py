"""ZeroShotClassifier with the real encoder: no labels, tuned on labels, and used as a model."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import DATA
from sklearn.base import clone

from classifier.codebook import Codebook, Theme
from classifier.io.tables import Columns, read_labeled
from classifier.zeroshot import DEFAULT_SIMILARITY, ZeroShotClassifier

NAVY = (
    "The navy doubled its patrols through the strait, escorting tankers past the reef where coast-guard "
    "cutters shadowed them."
)
TALKS = "Envoys met in Geneva for a second round of ceasefire talks, and the mediators tabled a new draft."
MONEY = "Allies argued over who pays: each member must raise defence spending and contribute to the joint fund."


@pytest.fixture(scope="module")
def unsupervised() -> ZeroShotClassifier:
    return ZeroShotClassifier.from_codebook()


@pytest.fixture(scope="module")
def mini():
    return read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True, group="doc"))


def test_from_codebook_needs_no_labels(unsupervised):
    assert list(unsupervised.classes_)[:2] == ["deterrence", "security_guarantees"] and unsupervised.n_train_ == 0
    assert (unsupervised.thresholds_ == 0.5).all()
    P = unsupervised.predict_proba([NAVY, TALKS, MONEY])
    assert P.shape == (3, 12) and ((P >= 0) & (P <= 1)).all()
    themes = unsupervised.themes_of(P)
    assert "maritime_security" in themes[0]
    assert "negotiation_diplomacy" in themes[1]
    assert "burden_sharing" in themes[2]
    S = unsupervised.similarity([NAVY])
    assert ((P[0] >= 0.5) == (S[0] >= DEFAULT_SIMILARITY)).all()
    assert ((unsupervised.decision_function([NAVY, TALKS]) > 0) == (unsupervised.predict([NAVY, TALKS]) == 1)).all()


def test_fit_without_data_is_from_codebook(unsupervised):
    again = ZeroShotClassifier().fit(X=None)
    assert np.allclose(again.predict_proba([TALKS]), unsupervised.predict_proba([TALKS]))
    assert clone(again).get_params() == again.get_params()


def test_a_fixed_similarity_threshold_moves_the_cut(unsupervised):
    strict = ZeroShotClassifier(threshold=0.6).fit()
    loose = ZeroShotClassifier(threshold=0.05).fit()
    texts = [NAVY, TALKS, MONEY]
    assert strict.predict(texts).sum() < unsupervised.predict(texts).sum() < loose.predict(texts).sum()


def test_single_label_with_labels_takes_the_closest_theme_and_calibrates(mini):
    model = ZeroShotClassifier().fit(mini.units, mini.labels)
    assert not model.codebook_.multi_label
    pred = model.predict(mini.units)
    assert set(pred) <= {"burden_sharing", "maritime_security", "negotiation_diplomacy"}
    assert np.mean(pred == np.array(mini.labels)) >= 0.7
    assert 0.005 <= model.temperature_ <= 0.5
    P = model.predict_proba(mini.units)
    assert np.allclose(P.sum(1), 1) and (P.argmax(1) == model.similarity(mini.units).argmax(1)).all()
    assert 0.0 <= model.score(mini.units, mini.labels) <= 1.0


def test_multi_label_with_labels_tunes_each_theme():
    codebook = Codebook(
        "tiny",
        "1",
        True,
        (
            Theme("sea", "Sea", "Naval patrols, coast guards, shipping lanes and disputes at sea."),
            Theme("talks", "Talks", "Negotiations, envoys, mediation and ceasefire talks."),
            Theme("money", "Money", "Who pays: budgets, contributions and the division of costs among allies."),
        ),
    )
    mini = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True))
    names = {"maritime_security": "sea", "negotiation_diplomacy": "talks", "burden_sharing": "money"}
    labels = [[names[lab]] for lab in mini.labels]
    model = ZeroShotClassifier(codebook=codebook).fit(mini.units, labels)
    assert model.n_train_ == 24 and not np.allclose(model.coef_, 20.0)
    pred = model.predict(mini.units)
    truth = np.array([[c in row for c in model.classes_] for row in labels])
    recall = (pred.astype(bool) & truth).sum() / truth.sum()
    assert recall >= 0.7
    uncalibrated = ZeroShotClassifier(codebook=codebook, calibrate=False).fit(mini.units, labels)
    assert np.allclose(uncalibrated.coef_, 20.0)


def test_usable_as_a_model(unsupervised):
    from classifier.engines.local import tag_stream
    from classifier.io.readers import Document

    records = unsupervised.tag_article(f"# Sea\n\n{NAVY}\n\n{TALKS}\n", fmt="markdown")
    assert [r["paragraph"] for r in records] == [0, 1]
    assert "maritime_security" in records[0]["themes"] and set(records[0]["scores"]) == set(unsupervised.classes_)
    results = list(tag_stream(unsupervised, [Document("d1", f"{NAVY}\n\n{MONEY}", source="d1.txt")]))
    assert results[0].error is None and len(results[0].records) == 2
    assert "burden_sharing" in results[0].records[1]["themes"]


def test_zero_shot_model_from_the_codebook_alone_saves_loads_and_tags(tmp_path):
    """`policytag train --zero-shot`: no labels, a real model folder, the same scores as the in-memory scorer."""
    import json as _json

    import numpy as _np

    from classifier import load_model
    from classifier.cli import main
    from classifier.zeroshot import ZeroShotClassifier

    texts = ["The coast guard shadowed the survey ship near the disputed reef for three days.",
             "Ministers agreed who will pay which share of the new air-defence system."]
    out = tmp_path / "zs"
    assert main(["train", "--zero-shot", "--out", str(out)]) == 0
    manifest = _json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["n"] == 0 and manifest["selection"][0]["zero_shot"] is True
    loaded = load_model(out)
    direct = ZeroShotClassifier().fit()
    assert _np.allclose(loaded.predict_proba(texts), direct.predict_proba(texts), atol=1e-6)
    assert _np.array_equal(loaded.predict(texts), direct.predict(texts))
    assert len(loaded.tag_article("\n\n".join(texts))) == 2


def test_zero_shot_training_refuses_the_options_of_a_trained_model_instead_of_ignoring_them(tmp_path, capsys):
    from classifier.cli import main

    out = tmp_path / "zs"
    assert main(["train", "--zero-shot", "--out", str(out), "--calibration", "off", "--C", "4"]) == 2
    message = capsys.readouterr().err
    assert "--C, --calibration: for a model trained on labeled rows" in message and "--zero-shot" in message
    assert not out.exists()
    assert main(["train", "--zero-shot", "--out", str(out), "--add", "new.jsonl"]) == 2
    assert "--add: for a model trained on labeled rows" in capsys.readouterr().err
