"""When a theme is assigned: --min-score, --top-k, --threshold THEME=X, the same library arguments on ThemeClassifier
and ThemeScorer, the pretty report's legend, threshold objectives in training, and the pipeline-style call."""
import json
import re

import numpy as np
import pytest
from helpers import ARTICLE_TXT, DATA, ROOT, multi_label_table

from classifier import DEFAULT_MODEL_DIR
from classifier.cli import main
from classifier.decision import DecisionRule
from classifier.heads.select import ThresholdObjective, choose_thresholds

TEXTS = ["Germany will pay forty percent of the new air-defence belt; the Netherlands and Norway split the rest.",
         "Much as the Baltic states lean on a larger neighbour, Southeast Asian governments weigh how far to rely on "
         "Washington without losing ASEAN's own voice.",
         "Two coast-guard cutters fired water cannon at a resupply boat near the reef in the disputed sea lanes."]


@pytest.fixture(scope="module")
def scorer():
    from classifier.scorer import load_scorer
    return load_scorer(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def article(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "article.txt"
    path.write_text(ARTICLE_TXT, encoding="utf-8")
    return path


def test_the_default_rule_is_the_learned_thresholds(shipped_model):
    P = shipped_model.predict_proba(TEXTS)
    assert (shipped_model.predict(TEXTS) == (P >= shipped_model.thresholds_)).all()


def test_min_score_top_k_and_overrides_decide_as_documented(shipped_model):
    P = shipped_model.predict_proba(TEXTS)
    t = shipped_model.thresholds_
    ids = list(shipped_model.classes_)
    strong = int(P.sum(0).argmax())  # the theme these paragraphs score highest on
    got = shipped_model.predict(TEXTS, min_score=0.6)
    assert (got == (P >= np.maximum(t, 0.6))).all()
    got = shipped_model.predict(TEXTS, thresholds={ids[strong]: 0.999})
    expected = P >= t
    expected[:, strong] = P[:, strong] >= 0.999
    assert (got == expected).all()
    low = shipped_model.predict(TEXTS, min_score=0.0, thresholds={i: 0.05 for i in ids}, top_k=2)
    assert (low.sum(1) == 2).all()  # with everything above 0.05 assigned, the cap decides
    for row, p in zip(low, P):
        assert set(np.flatnonzero(row)) == set(np.argsort(-p, kind="stable")[:2])


def test_unknown_theme_is_refused_naming_the_known_ones(shipped_model):
    with pytest.raises(ValueError, match="no theme 'alliance' in this model; its themes are deterrence, "):
        shipped_model.predict(TEXTS, thresholds={"alliance": 0.3})
    with pytest.raises(ValueError, match="top_k takes a whole number of at least 1"):
        shipped_model.predict(TEXTS, top_k=0)


def test_classifier_and_scorer_share_the_rule(shipped_model, scorer):
    rule = {"min_score": 0.5, "top_k": 1, "thresholds": {"burden_sharing": 0.2}}
    assert shipped_model.tag_article(ARTICLE_TXT, **rule) == scorer.tag_article(ARTICLE_TXT, **rule)
    assert (shipped_model.predict(TEXTS, **rule) == scorer.predict(TEXTS, **rule)).all()
    # a rule kept on the model applies to every later call, and a call's own arguments go on top of it
    scorer.set_decision(top_k=1)
    try:
        assert all(len(r["themes"]) <= 1 for r in scorer.tag_article(ARTICLE_TXT))
        assert scorer.tag_article(ARTICLE_TXT) == shipped_model.tag_article(ARTICLE_TXT, top_k=1)
    finally:
        scorer.set_decision()
    assert scorer.tag_article(ARTICLE_TXT) == shipped_model.tag_article(ARTICLE_TXT)


def test_cli_flags_give_the_library_records(shipped_model, tmp_path):
    out = tmp_path / "tags.jsonl"
    article = ROOT / "examples" / "article.md"  # paragraphs with up to three themes by default
    assert main(["tag", str(article), "-o", str(out), "-q", "--min-score", "0.5", "--top-k", "1",
                 "--threshold", "burden_sharing=0.2", "--threshold", "asean_analogy=0.99"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    text = article.read_text(encoding="utf-8")
    expected = shipped_model.tag_article(text, "markdown", min_score=0.5, top_k=1,
                                         thresholds={"burden_sharing": 0.2, "asean_analogy": 0.99})
    assert [r["themes"] for r in records] == [r["themes"] for r in expected]
    default = [r["themes"] for r in shipped_model.tag_article(text, "markdown")]
    assert max(map(len, default)) > 1 and [r["themes"] for r in records] != default
    for r in records:
        assert len(r["themes"]) <= 1 and all(r["scores"][t] >= 0.5 for t in r["themes"])
        assert "asean_analogy" not in r["themes"] or r["scores"]["asean_analogy"] >= 0.99


def test_cli_unknown_theme_is_a_usage_error(article, tmp_path, capsys):
    code = main(["tag", str(article), "-o", str(tmp_path / "t.jsonl"), "--threshold", "alliance=0.3"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--threshold: no theme 'alliance' in this model; its themes are deterrence, security_guarantees" in err
    assert not (tmp_path / "t.jsonl").exists() or (tmp_path / "t.jsonl").stat().st_size == 0


def test_pretty_report_shows_each_themes_threshold(shipped_model, article, tmp_path):
    out = tmp_path / "report.txt"
    assert main(["tag", str(article), "-o", str(out), "--format", "pretty", "-q",
                 "--threshold", "deterrence=0.9", "--top-k", "2"]) == 0
    text = out.read_text()
    head = text.split("== ")[0]
    assert head.startswith("thresholds (a theme is assigned when its score reaches its threshold; at most 2 per "
                           "paragraph):")
    assert "deterrence 0.90" in head
    for theme, t in zip(shipped_model.classes_[1:], shipped_model.thresholds_[1:]):
        assert f"{theme} {t:.2f}" in " ".join(head.split())


def test_pipeline_call_returns_labels_and_scores_best_first(shipped_model, scorer):
    P = shipped_model.predict_proba(TEXTS)
    out = shipped_model(TEXTS, top_k=3)
    assert len(out) == len(TEXTS) and all(len(row) == 3 for row in out)
    for row, p in zip(out, P):
        assert [d["label"] for d in row] == [shipped_model.classes_[j] for j in np.argsort(-p, kind="stable")[:3]]
        assert [d["score"] for d in row] == sorted((d["score"] for d in row), reverse=True)
        assert row[0]["score"] == pytest.approx(p.max())
    one = scorer(TEXTS[0])
    assert isinstance(one, list) and len(one) == len(shipped_model.classes_)
    assert one == shipped_model([TEXTS[0]])[0]
    assert set(one[0]) == {"label", "score"}


# -- threshold objectives ---------------------------------------------------------------------------------------
def test_precision_and_recall_objectives_pick_the_documented_threshold():
    # one theme, ten rows: positives score 0.9, 0.8, 0.6, 0.3; negatives 0.7, 0.5, 0.4, 0.2, 0.1, 0.1
    p = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.5, 0.4, 0.2, 0.1, 0.1])[:, None]
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])[:, None]
    f1, notes = choose_thresholds(p, y, "f1")
    assert notes == []
    # precision 0.75 is first reached at 0.51 (0.9, 0.8, 0.6 and the 0.7 negative: 3 of 4)
    t, notes = choose_thresholds(p, y, "precision@0.75")
    assert t[0] == pytest.approx(0.51) and notes == []
    t, _ = choose_thresholds(p, y, "precision@1.0")
    assert t[0] == pytest.approx(0.71)
    # recall 0.75 (3 of 4 positives) holds up to 0.6; recall 1.0 up to 0.3
    t, _ = choose_thresholds(p, y, "recall@0.75")
    assert t[0] == pytest.approx(0.6)
    t, _ = choose_thresholds(p, y, "recall@1")
    assert t[0] == pytest.approx(0.3)


def test_an_unreachable_target_keeps_the_f1_threshold_and_says_so():
    p = np.array([0.9, 0.8, 0.95, 0.3, 0.2, 0.1])[:, None]  # a negative scores highest: precision 1 is out of reach
    y = np.array([1, 1, 0, 1, 0, 0])[:, None]
    f1, _ = choose_thresholds(p, y, "f1")
    t, notes = choose_thresholds(p, y, "precision@1.0", names=["deterrence"])
    assert t[0] == f1[0]
    assert notes == [f"deterrence: precision 1 not reached on out-of-fold predictions (best 0.75); kept the F1-best "
                     f"threshold {f1[0]:.2f}"]


def test_a_note_names_the_threshold_the_model_keeps_when_it_is_calibrated():
    from classifier.heads.calibration import PlattCalibration
    p = np.array([0.9, 0.8, 0.95, 0.3, 0.2, 0.1])[:, None]
    y = np.array([1, 1, 0, 1, 0, 0])[:, None]
    calibration = PlattCalibration().fit(p, y)
    raw, _ = choose_thresholds(p, y, "f1")
    t, notes = choose_thresholds(p, y, "precision@1.0", names=["deterrence"], calibration=calibration)
    assert f"{t[0]:.2f}" != f"{raw[0]:.2f}"  # the calibration moved it
    assert notes == [f"deterrence: precision 1 not reached on out-of-fold predictions (best 0.75); kept the F1-best "
                     f"threshold {t[0]:.2f}"]  # what the manifest and 'tag' use, not the raw one


@pytest.mark.parametrize("text", ["precision", "precision@", "precision@1.5", "recall@0", "accuracy@0.9", "F1"])
def test_bad_objectives_are_refused_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match="a threshold objective is f1, precision@P or recall@R"):
        ThresholdObjective.parse(text)


def test_train_records_the_objective_and_tag_uses_its_thresholds(tmp_path, capsys):
    src = multi_label_table(tmp_path)
    fixed = ["--label-column", "tags", "--label-sep", ";", "--group-column", "doc", "--embedding-head", "linear",
             "--C", "4", "--class-weight",
             "none", "--context", "off", "--lexical", "0", "--sentence-weight", "none"]
    assert main(["train", "--data", str(src), "--out", str(tmp_path / "f1"), *fixed]) == 0
    assert main(["train", "--data", str(src), "--out", str(tmp_path / "p"), "--threshold-objective",
                 "precision@1.0", *fixed]) == 0
    err = capsys.readouterr().err
    f1 = json.loads((tmp_path / "f1" / "manifest.json").read_text())
    prec = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert f1["params"]["threshold_objective"] == "f1"
    assert prec["params"]["threshold_objective"] == "precision@1.0"
    fell_back = {line.split(": ")[2] for line in err.splitlines() if "not reached on out-of-fold" in line}
    assert fell_back <= set(prec["thresholds"])
    assert fell_back or prec["thresholds"] != f1["thresholds"]


def test_a_bad_objective_stops_train_before_reading_data(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m"),
                 "--threshold-objective", "precision@high"])
    assert code == 2
    assert "a threshold objective is f1, precision@P or recall@R" in capsys.readouterr().err


def test_decision_rule_refuses_out_of_range_values():
    with pytest.raises(ValueError, match="min_score takes a number from 0 to 1"):
        DecisionRule(min_score=1.5)
    with pytest.raises(ValueError, match="the threshold of 'deterrence' takes a number from 0 to 1"):
        DecisionRule(thresholds={"deterrence": -0.1})


def test_a_kept_rule_reaches_dataset_tagging_and_its_cache_key(shipped_model):
    from datasets import Dataset

    from classifier.integrations import _fingerprint
    ds = Dataset.from_dict({"text": TEXTS})
    before = shipped_model.tag_dataset(ds, article_column=None)["themes"]
    key = _fingerprint(ds, shipped_model, "text")
    shipped_model.set_decision(min_score=0.0, thresholds={t: 0.01 for t in shipped_model.classes_}, top_k=2)
    try:
        after = shipped_model.tag_dataset(ds, article_column=None)["themes"]
        assert _fingerprint(ds, shipped_model, "text") != key  # a cached map from before is not reused
    finally:
        shipped_model.set_decision()
    assert all(len(t) == 2 for t in after) and after != before


def test_an_objective_without_thresholds_to_tune_is_flagged(tmp_path, capsys):
    assert main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label",
                 "--group-column", "doc", "--out", str(tmp_path / "m"), "--embedding-head", "linear", "--C", "4",
                 "--class-weight", "none",
                 "--context", "off", "--lexical", "0", "--sentence-weight", "none",
                 "--threshold-objective", "recall@0.9"]) == 0
    assert ("warning: threshold_objective recall@0.9 has no effect here: a single-label model assigns each "
            "paragraph its best-scoring theme") in capsys.readouterr().err
    report = tmp_path / "report.txt"
    assert main(["tag", str(ROOT / "examples" / "article.md"), "--model", str(tmp_path / "m"), "-o", str(report),
                 "--format", "pretty", "-q"]) == 0
    assert report.read_text().startswith("thresholds: none (a single-label model gives each paragraph its "
                                         "highest-scoring theme)\n== ")
    assert main(["tag", str(ROOT / "examples" / "article.md"), "--model", str(tmp_path / "m"), "-o", str(report),
                 "--format", "pretty", "-q", "--force", "--min-score", "0.9"]) == 0
    head, _, body = report.read_text().partition("== ")
    assert " ".join(head.split()) == ("thresholds (each paragraph gets its highest-scoring theme, if it reaches the "
                                      "score shown): burden_sharing 0.90, maritime_security 0.90, "
                                      "negotiation_diplomacy 0.90")
    tagged = [line for line in body.splitlines() if line.startswith("  ¶") and "(no theme)" not in line]
    assert all(float(line.split()[-1]) >= 0.9 for line in tagged)


def test_html_legend_and_chips_follow_the_command_lines_rule(shipped_model, article, tmp_path):
    """The HTML view states the rule the records were made with, as the pretty report does: overrides, the
    minimum score and the top-k cap, in the legend and in every chip's threshold."""
    rule = ["--threshold", "deterrence=0.9", "--min-score", "0.43", "--top-k", "1"]
    html, pretty = tmp_path / "view.html", tmp_path / "report.txt"
    assert main(["tag", str(article), "-o", str(tmp_path / "t.jsonl"), "--html", str(html), "-q", *rule]) == 0
    assert main(["tag", str(article), "-o", str(pretty), "--format", "pretty", "-q", *rule]) == 0
    page = html.read_text(encoding="utf-8")
    legend = page.split('<section class="panel legend"', 1)[1].split("</section>", 1)[0]
    shown = [float(x) for x in re.findall(r"</i>([0-9.]+)</span>", legend)]
    head = " ".join(pretty.read_text().split("== ")[0].split())
    assert len(shown) == len(shipped_model.classes_)
    for theme, value in zip(shipped_model.classes_, shown):
        assert f"{theme} {value:.2f}" in head  # the page and the pretty report show the same thresholds
    assert shown[0] == 0.9 and min(shown) >= 0.43
    assert "at most 1 theme per paragraph" in legend
    cuts = {float(x) for x in re.findall(r"its threshold ([0-9.]+)\"", page)}
    assert cuts and cuts <= set(shown)  # chips are judged against the same thresholds


def test_single_label_html_legend_shows_the_minimum_the_pretty_report_shows(mini_model):
    from classifier.io.views import DocView, model_view
    from classifier.io.writers import legend
    mini_model.set_decision(min_score=0.6, thresholds={"burden_sharing": 0.7})
    try:
        records = mini_model.tag_article("Allies argued over who pays for the brigade.\n\nEnvoys met in Geneva.")
        page = model_view(mini_model, [DocView("one", records)])
        head = legend(mini_model.classes_, mini_model.thresholds_, False, mini_model.decision_rule)
    finally:
        mini_model.set_decision()
    shown = page.split('<section class="panel legend"', 1)[1].split("</section>", 1)[0]
    values = [float(x) for x in re.findall(r"</i>([0-9.]+)</span>", shown)]
    assert values == [0.7 if c == "burden_sharing" else 0.6 for c in mini_model.classes_]
    assert all(f"{c} {v:.2f}" in head for c, v in zip(mini_model.classes_, values))
