"""`policytag evaluate` end to end with the real encoder: protocols, baselines, reports, label maps."""

from __future__ import annotations

import csv
import json
import sys
import types

import numpy as np
import pytest
from helpers import CORPUS, DATA, ROOT
from sklearn.base import BaseEstimator, ClassifierMixin

from classifier.cli import main
from classifier.io.tables import Columns

MINI = str(DATA / "mini.csv")
MINI_ARGS = ["--data", MINI, "--label-column", "label", "--single-label", "--group-column", "doc"]
FAST_THEME = "theme,embedding_head=linear,C=8,class_weight=null"
BASELINES = ["prior", "tfidf", "zeroshot", "knn", "logreg"]
EXTRA = "lr=sklearn.linear_model:LogisticRegression,C=5"


@pytest.fixture(scope="module")
def mini_dir(tmp_path_factory, mini_model):
    path = tmp_path_factory.mktemp("mini-model")
    mini_model.save(path)
    return path


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Every protocol, every baseline, on the single-label table; JSON, Markdown and HTML written."""
    out = tmp_path_factory.mktemp("eval")
    (out / "r.md").write_text("# old\n\n<!-- ablation:start -->\nkept by another tool\n<!-- ablation:end -->\n")
    argv = [
        "evaluate",
        *MINI_ARGS,
        "--protocol",
        "all",
        "--folds",
        "3",
        "--seeds",
        "0",
        "1",
        "--sizes",
        "6",
        "12",
        "all",
        "--bootstrap",
        "300",
        "--systems",
        FAST_THEME,
        *BASELINES,
        "--add",
        EXTRA,
        "--json",
        str(out / "r.json"),
        "--html",
        str(out / "r.html"),
        "--markdown",
        str(out / "r.md"),
        "-q",
    ]
    assert main(argv) == 0
    return out, json.loads((out / "r.json").read_text())


def test_plain_evaluate_keeps_its_output(mini_dir, tmp_path, capsys):
    assert main(["evaluate", "--model", str(mini_dir), *MINI_ARGS, "--json", str(tmp_path / "m.json"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "| theme | precision | recall | F1 |" in out and "| maritime_security |" in out
    result = json.loads((tmp_path / "m.json").read_text())
    for key in ("macro_f1", "micro_f1", "accuracy"):
        assert 0.0 <= result[key] <= 1.0
    assert set(result["per_label"]) == {"burden_sharing", "maritime_security", "negotiation_diplomacy"}
    assert set(result["per_label"]["burden_sharing"]) >= {"precision", "recall", "f1", "support"}
    assert result["per_label"]["burden_sharing"]["support"] == 8
    lo, hi = result["ci"]["macro_f1"]
    assert lo <= result["macro_f1"] <= hi
    meta = result["meta"]
    assert meta["model"]["manifest_sha256"] and meta["libraries"]["scikit-learn"].startswith("1.")
    assert result["protocols"]["heldout"]["test"]["sha256"] and meta["settings"]["resampling_unit"] == "group"
    # the model trained on these very rows: the report says its figures are not held out
    assert result["protocols"]["heldout"]["seen_in_training"] == 24
    assert "**Not held out: 24 of the 24 scored paragraphs are in the saved model's training data" in out


def test_only_the_scored_rows_a_model_trained_on_are_counted(mini_dir, mini_model, tmp_path, capsys):
    """A model keeps keys of its training paragraphs (not their text); evaluating it counts the scored rows among
    them: rows reworded since training are new to it, and a model scored only on new rows gets no warning."""
    from classifier.persist import TRAINING_KEYS
    with np.load(mini_dir / "head.npz", allow_pickle=False) as saved:
        assert saved[TRAINING_KEYS].dtype == np.uint64
        assert np.array_equal(saved[TRAINING_KEYS], mini_model.training_keys_)
    rows = list(csv.DictReader((DATA / "mini.csv").open()))
    for n in (10, 0):  # keep n rows as trained, reword the rest
        for i, row in enumerate(rows):
            row["text"] = row["text"] if i < n else f"Officials said {row['text'][0].lower()}{row['text'][1:]}"
        with (tmp_path / "fresh.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        rows = list(csv.DictReader((DATA / "mini.csv").open()))
        argv = ["evaluate", "--model", str(mini_dir), "--data", str(tmp_path / "fresh.csv"), "--label-column",
                "label", "--single-label", "--group-column", "doc", "--json", str(tmp_path / "r.json"), "-q",
                "--force"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert json.loads((tmp_path / "r.json").read_text())["protocols"]["heldout"]["seen_in_training"] == n
        assert (f"{n} of the 24 scored paragraphs are in the saved model's training data" in out) == bool(n)


def test_every_protocol_and_baseline_on_a_single_label_table(full_run, capsys):
    out, result = full_run
    protos = result["protocols"]
    assert set(protos) == {"heldout", "cv", "learning_curve"}
    names = ["theme(embedding_head=linear,C=8,class_weight=null)", "prior", "tfidf", "zeroshot", "knn", "logreg", "lr"]
    assert list(protos["heldout"]["systems"]) == names
    assert protos["heldout"]["train_note"].startswith("grouped stratified 80/20")
    for block in (protos["heldout"], protos["cv"]):
        for _name, m in block["systems"].items():
            assert 0 <= m["macro_f1"] <= 1 and "accuracy" in m and "samples_f1" not in m
            assert m["ci"]["macro_f1"][0] <= m["macro_f1"] + 1e-9
        assert {c["b"] for c in block["comparisons"]} == set(names[1:])
        assert all(0 < c["p_value"] <= 1 for c in block["comparisons"])
    cv = protos["cv"]
    assert cv["folds"] == 3 and cv["seeds"] == [0, 1]
    assert len(cv["systems"]["knn"]["fold_scores"]) == 6
    assert cv["systems"]["knn"]["macro_f1"] > cv["systems"]["prior"]["macro_f1"]
    curve = protos["learning_curve"]
    assert {p["size"] for p in curve["points"]} == {6, 12, 20}
    assert len(curve["points"]) == 3 * 2 * len(names)
    assert result["meta"]["settings"]["seeds"] == [0, 1]
    html = (out / "r.html").read_text()
    assert (
        html.count("<svg") > 10
        and "Error analysis" in html
        and "Learning curve" in html
        and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    )
    markdown = (out / "r.md").read_text()
    assert "| system | macro-F1 (95% CI) |" in markdown and "## Learning curve" in markdown
    assert "# old" not in markdown
    assert "<!-- ablation:start -->\nkept by another tool\n<!-- ablation:end -->" in markdown


def test_same_seed_same_numbers(full_run, tmp_path):
    out, first = full_run
    from classifier.harness.harness import Config, run

    again = run(
        Config(
            data=MINI,
            columns=Columns(label="label", single_label=True, group="doc"),
            systems=[FAST_THEME, *BASELINES, EXTRA],
            protocols=["heldout"],
            seeds=[0, 1],
            resamples=300,
        )
    )
    a, b = first["protocols"]["heldout"]["systems"], again["protocols"]["heldout"]["systems"]
    for name in a:
        assert a[name]["macro_f1"] == b[name]["macro_f1"] and a[name]["ci"] == b[name]["ci"], name


def test_systems_sharing_an_encoder_encode_each_text_once():
    from classifier.harness.harness import Config, Run
    from classifier.harness.protocols import heldout
    from classifier.harness.systems import Context

    cfg = Config(
        data=MINI,
        columns=Columns(label="label", single_label=True, group="doc"),
        systems=["knn", "zeroshot", "logreg", FAST_THEME, "knn5=knn,k=5"],
        cache=None,
    )
    r = Run(cfg)
    codebook, sets = r.load()
    heldout(r.systems, sets.train, sets.test, Context(codebook, r.pool), 0)
    texts = {u.text for u in sets.train.units + sets.test.units}
    prototypes = {f"{t.name}: {t.description}" for t in codebook.themes}
    assert r.pool.encoded == len(texts | prototypes)


def test_cross_corpus_with_a_label_map(tmp_path, capsys):
    rename = {"burden_sharing": "costs", "maritime_security": "sea", "negotiation_diplomacy": "talks"}
    with open(MINI, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    train = tmp_path / "corpus_a.csv"
    with train.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "label", "doc"])
        w.writeheader()
        for r in rows:
            w.writerow({**r, "label": rename[r["label"]]})
    test = tmp_path / "corpus_b.csv"
    with test.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "label", "doc"])
        w.writeheader()
        for r in rows:
            w.writerow({**r, "label": r["label"] if r["id"] != "3" else "unrelated"})
    mapping = tmp_path / "map.yaml"
    mapping.write_text("burden_sharing: costs\nmaritime_security: sea\nnegotiation_diplomacy: talks\n")
    argv = [
        "evaluate",
        "--data",
        str(test),
        "--label-column",
        "label",
        "--single-label",
        "--group-column",
        "doc",
        "--train",
        str(train),
        "--label-map",
        str(mapping),
        "--protocol",
        "cross-corpus",
        "--systems",
        "knn",
        "zeroshot",
        "--bootstrap",
        "200",
        "--json",
        str(tmp_path / "c.json"),
        "-q",
    ]
    assert main(argv) == 0
    result = json.loads((tmp_path / "c.json").read_text())
    block = result["protocols"]["cross_corpus"]
    assert block["test"]["n"] == 23 and block["test"]["dropped_labels"]["unrelated"] == 1
    assert block["train"]["source"] == str(train) and result["meta"]["label_map"]["map"]["maritime_security"] == "sea"
    assert result["meta"]["codebook"]["ids"] == ["costs", "sea", "talks"]
    assert block["systems"]["knn"]["macro_f1"] > 0.8
    assert "Cross-corpus test" in capsys.readouterr().out


def test_text_estimators_get_text_and_others_get_embeddings(tmp_path):
    """An imported estimator that reads strings gets the paragraphs; a numeric one the embeddings."""
    seen: dict[str, object] = {}

    class TextEcho(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            seen["X"] = X
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.array([self.classes_[0]] * len(X))

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.string, tags.input_tags.two_d_array = True, False
            return tags

    module = types.ModuleType("policytag_test_plugins")
    module.TextEcho = TextEcho
    sys.modules["policytag_test_plugins"] = module
    try:
        from classifier.harness.harness import Config, run

        result = run(
            Config(
                data=MINI,
                columns=Columns(label="label", single_label=True, group="doc"),
                systems=["echo=policytag_test_plugins:TextEcho", "nn=sklearn.neighbors:KNeighborsClassifier"],
                resamples=100,
            )
        )
    finally:
        del sys.modules["policytag_test_plugins"]
    assert isinstance(seen["X"], list) and isinstance(seen["X"][0], str)
    systems = result["protocols"]["heldout"]["systems"]
    assert systems["echo"]["scores"] == "decisions only" and systems["nn"]["scores"] == "probability"


def test_bad_requests_are_one_clear_line(capsys, tmp_path, mini_dir):
    assert main(["evaluate", *MINI_ARGS, "--systems", "nosuch", "-q"]) == 2
    assert "unknown system 'nosuch'" in capsys.readouterr().err
    assert main(["evaluate", *MINI_ARGS, "--systems", "x=nowhere.mod:Cls", "-q"]) == 2
    assert "cannot import 'nowhere.mod:Cls'" in capsys.readouterr().err
    assert main(["evaluate", *MINI_ARGS, "--protocol", "cross-corpus", "--systems", "knn", "-q"]) == 2
    assert "needs --train" in capsys.readouterr().err
    assert main(["evaluate", *MINI_ARGS, "--protocol", "cv", "--folds", "40", "--systems", "knn", "-q"]) == 0
    bad_map = tmp_path / "map.yaml"
    bad_map.write_text("burden_sharing: no_such_theme\n")
    assert main(["evaluate", "--model", str(mini_dir), *MINI_ARGS, "--label-map", str(bad_map), "-q"]) == 2
    assert "no_such_theme" in capsys.readouterr().err


@pytest.mark.skipif(not (ROOT / "models" / "geopolitics" / "manifest.json").exists(), reason="no shipped model")
def test_shipped_model_on_a_chosen_corpus_split(tmp_path, capsys):
    """--split picks the rows scored (test: the shipped model trains on train and dev)."""
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(CORPUS),
                "--split",
                "test",
                "--bootstrap",
                "200",
                "--json",
                str(tmp_path / "g.json"),
                "-q",
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / "g.json").read_text())
    assert {"samples_f1", "subset_accuracy", "hamming_loss", "macro_f1"} <= set(result)
    assert len(result["per_label"]) == 12 and result["protocols"]["heldout"]["test"]["split"] == "test"
    assert result["macro_f1"] > 0.3
    assert "| asean_analogy |" in capsys.readouterr().out


def test_real_article_check_scores_the_shipped_model_against_both_blind_coders(seed_article, shipped_model):
    from evaluation.real_article import compare
    result = compare(shipped_model)
    assert result["paragraphs"] == 13
    assert result["coders"] > 0.9  # the two blind codings nearly agree: the reference is usable
    # A floor, not a target: the shipped model on a real article (0.46 and 0.44 when measured for the v1 + v2
    # model; the v1 model had 0.53 and 0.51, see RESULTS.md). A change that drops below it has made
    # real-article tagging worse, whatever it did on the team-written test split.
    assert min(result["model_vs"].values()) >= 0.42
    assert all(set(row["model"]) <= set(shipped_model.classes_) for row in result["rows"])


def test_the_active_learning_study_reads_a_shipped_mlp_model_without_a_selected_C(tmp_path, monkeypatch):
    """The study fixes a linear head at the shipped model's settings; a shipped model with the (default) MLP head
    selects no C (null in its manifest), which float() crashed on: the study's own C is kept then."""
    from evaluation import active_learning
    folder = tmp_path / "models" / "geopolitics"
    folder.mkdir(parents=True)
    selected = {"C": None, "class_weight": None, "context": True, "lexical": 0.25}
    (folder / "manifest.json").write_text(json.dumps({"selected": selected}))
    monkeypatch.setattr(active_learning, "ROOT", tmp_path)
    setup = active_learning.shipped_setup()
    assert setup.C == active_learning.Setup.C and setup.context is True and setup.lexical == 0.25
    selected["C"] = 16.0
    (folder / "manifest.json").write_text(json.dumps({"selected": selected}))
    assert active_learning.shipped_setup().C == 16.0
    selected["lexical"] = [0.5, 0.75, 0.25, 0.5]  # per-theme weights (as a per_theme=True fit saves): their mean, fixed
    (folder / "manifest.json").write_text(json.dumps({"selected": selected}))
    assert active_learning.shipped_setup().lexical == 0.5


def test_systems_are_not_trained_on_the_split_they_are_scored_on(tmp_path, capsys):
    assert main(["evaluate", "--data", str(CORPUS), "--split", "dev", "--train-split", "train,dev",
                 "--systems", "tfidf", "-q"]) == 2
    assert "would train on the rows they are scored on" in capsys.readouterr().err


def test_training_keys_match_texts_the_model_reads_the_same():
    """Keys fold case, Unicode compatibility forms and whitespace (the encoder is uncased and the TF-IDF head
    folds both), so a training paragraph re-typed in capitals, decomposed accents or other spacing still counts
    as seen; a changed word does not. The comparison of added rows (train --add --compare) uses the same rule."""
    from classifier.hashing import in_keys, key_set, seen, text_keys
    keys = text_keys(["Jakarta's envoy met the café owners.", "Second paragraph."])
    variants = ["JAKARTA'S ENVOY MET THE CAFÉ OWNERS.", "Jakarta's  envoy met\nthe cafe\u0301 owners.",
                "Jakarta\u2019s envoy met the café owners."]
    assert seen(keys, variants[:2]) == 2 and seen(keys, variants[2:]) == 0  # a typographic apostrophe is a change
    assert seen(keys, ["Jakarta's envoy met the cafe owners."]) == 0 and seen(None, variants) is None
    assert all(in_keys(v, key_set(["Jakarta's envoy met the café owners."])) for v in variants[:2])


def test_a_model_saved_without_training_keys_is_reported_unchecked(mini_model, tmp_path, capsys):
    from sklearn.base import clone
    old = clone(mini_model)
    old.__dict__.update(mini_model.__dict__)
    old.training_keys_ = None  # as a folder saved before models kept them loads
    old.save(tmp_path / "old")
    argv = ["evaluate", "--model", str(tmp_path / "old"), *MINI_ARGS, "-q", "--json", str(tmp_path / "r.json")]
    assert main(argv) == 0
    assert "**Unchecked: the saved model keeps no record of the rows it trained on" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["protocols"]["heldout"]["seen_in_training"] is None


def test_a_zero_shot_model_knows_the_rows_its_thresholds_were_tuned_on(tmp_path, capsys):
    assert main(["train", "--zero-shot", *MINI_ARGS, "--out", str(tmp_path / "zs")]) == 0
    assert main(["evaluate", "--model", str(tmp_path / "zs"), *MINI_ARGS, "-q"]) == 0
    assert "**Not held out: 24 of the 24 scored paragraphs" in capsys.readouterr().out
