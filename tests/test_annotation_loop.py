"""The annotation loop out of the box: definitions annotators can see, feeds read as `tag` reads them,
and one command that retrains with the imported rows and says what they changed."""
import json
import re
import xml.etree.ElementTree as ET

import pytest

from classifier import load_codebook
from classifier.annotate.roundtrip import label_studio_config, read_pool
from classifier.cli import main
from classifier.codebook import Codebook, Theme

PARAGRAPHS = ["Envoys met in Geneva for a third round of talks on the ceasefire map.",
              "The navy escorted grain ships through the strait past mines laid in spring.",
              "Two coast-guard cutters fired water cannon at a resupply boat near the reef.",
              "Germany will pay forty percent of the air-defence belt; Norway pays the rest."]
FEED = [{"id": "a1", "title": "Talks resume", "url": "https://example.org/a1", "text": "\n\n".join(PARAGRAPHS[:2])},
        {"id": "a2", "title": "Shoal", "text": "".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:])}]
HIDING = {"Collapse", "Panel"}  # containers a user must open first


def _visible_headers(root: ET.Element) -> list[str]:
    """Header values on the page as it opens: not inside a Choice, a collapsed panel or a conditional View."""
    parents = {child: parent for parent in root.iter() for child in parent}
    out = []
    for header in root.iter("Header"):
        chain, node = [], header
        while node in parents:
            node = parents[node]
            chain.append(node)
        if not any(n.tag in HIDING or n.get("visibleWhen") for n in chain):
            out.append(header.get("value"))
    return out


def test_every_definition_is_in_a_visible_element_not_only_a_hint():
    codebook = load_codebook()
    root = ET.fromstring(label_studio_config(codebook, with_scores=True))
    shown = _visible_headers(root)
    for theme in codebook.themes:
        assert theme.description in shown, theme.id
        assert any(theme.name in value and theme.id in value for value in shown), theme.id
    assert {h.get("size") for h in root.iter("Header")} <= {"1", "2", "3", "4", "5"}  # Label Studio's header sizes


def test_definitions_with_markup_characters_stay_valid_escaped_xml():
    tricky = Codebook("q&a <test>", "1", False, (
        Theme("a", 'Costs & "burdens"', "Who pays <more> & who pays less; 'fair' shares."),
        Theme("b", "Other", "Anything > else."),
    ))
    text = label_studio_config(tricky)
    root = ET.fromstring(text)  # raises on bad escaping
    assert "Who pays <more> & who pays less; 'fair' shares." in _visible_headers(root)
    assert root.find(".//Choices").get("choice") == "single"
    assert "<more>" not in text  # escaped in the file, intact once parsed


# -- feeds are read as `tag` reads them -------------------------------------------------------------
@pytest.fixture()
def feed(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in FEED), encoding="utf-8")
    return path


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_annotate_export_splits_a_feed_row_into_the_paragraphs_tag_scores(feed, tmp_path):
    tags, tasks = tmp_path / "tags.jsonl", tmp_path / "tasks.jsonl"
    assert main(["tag", str(feed), "-o", str(tags), "-q"]) == 0
    assert main(["annotate", "export", str(feed), "--to", "doccano", "-o", str(tasks), "-q"]) == 0
    tagged = [(r["doc"], r["paragraph"], r["text"]) for r in _jsonl(tags)]
    exported = _jsonl(tasks)
    assert [t for _, _, t in tagged] == PARAGRAPHS  # the HTML row split on its <p> elements, markup gone
    assert [(t["article_id"], t["paragraph"], t["text"]) for t in exported] == tagged
    assert [t["title"] for t in exported] == ["Talks resume"] * 2 + ["Shoal"] * 2  # the feed's columns travel
    assert exported[0]["url"] == "https://example.org/a1"


def test_suggest_picks_paragraphs_of_feed_articles_not_whole_articles(feed, tmp_path):
    out = tmp_path / "suggest.jsonl"
    assert main(["suggest", "--pool", str(feed), "-n", "3", "-o", str(out), "-q"]) == 0
    picked = _jsonl(out)
    assert len(picked) == 3 and {t["text"] for t in picked} <= set(PARAGRAPHS)


def test_a_paragraph_table_keeps_each_row_whole(tmp_path):
    table = tmp_path / "paragraphs.jsonl"
    row = {"id": "p1", "article_id": "a1", "paragraph": 3, "text": "First line of one paragraph.\n\nStill it."}
    table.write_text(json.dumps(row) + "\n", encoding="utf-8")
    rows, problems = read_pool([table])
    assert not problems and [(r["id"], r["paragraph"], r["text"]) for r in rows] == [("p1", 3, row["text"])]


# -- retrain with the imported rows and see what they changed ----------------------------------------
NEW = {  # paragraphs annotators labeled: two articles' worth per theme of the mini corpus
    "burden_sharing": ["Finland and Sweden will split the cost of the joint radar chain, with Oslo paying a third.",
                       "Smaller members asked that the bill for the new depot be shared by the size of each economy."],
    "maritime_security": ["A destroyer shadowed the survey ship through the strait for three days.",
                          "Coast-guard cutters now escort fishing fleets past the disputed reef each night."],
    "negotiation_diplomacy": ["The mediators carried a fresh draft between the two delegations until dawn.",
                              "Both foreign ministers agreed to meet again in Oslo to settle the prisoner list."],
}
MACRO = re.compile(r"macro-F1 (\d\.\d{3}) -> (\d\.\d{3}) with 6 added rows \(([+-]\d\.\d{3}), 95% interval "
                   r"\[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\], p=(\d\.\d{3}); paired bootstrap over 3 documents\) on "
                   r"the test split \(6 paragraphs\)")
FIXED = ["--embedding-head", "linear", "--C", "4", "--class-weight", "none", "--lexical", "0", "--context", "off",
         "--sentence-weight", "none"]


def test_annotate_import_then_train_add_compare_reports_the_change_with_its_interval(tmp_path, capsys):
    from ecosystem_data import mini_corpus

    from classifier import load_model
    from classifier.io.tables import Columns, read_labeled
    from classifier.scoring import macro_f1

    corpus = mini_corpus(tmp_path / "corpus")  # 18 train rows, 6 test rows (3 documents)
    feed = tmp_path / "new.jsonl"
    feed.write_text("".join(json.dumps({"id": theme, "text": "\n\n".join(texts)}) + "\n"
                            for theme, texts in NEW.items()), encoding="utf-8")
    tasks, imported = tmp_path / "tasks.jsonl", tmp_path / "imported.jsonl"
    assert main(["annotate", "export", str(feed), "-o", str(tasks), "-q"]) == 0
    done = [{**task, "label": [task["article_id"]]} for task in _jsonl(tasks)]  # what the annotators decided
    tasks.write_text("".join(json.dumps(t) + "\n" for t in done), encoding="utf-8")
    assert main(["annotate", "import", str(tasks), "-o", str(imported)]) == 0
    assert len(_jsonl(imported)) == 6

    assert main(["train", "--data", str(corpus), "--out", str(tmp_path / "base"), *FIXED]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(corpus), "--add", str(imported), "--compare", "--out",
                 str(tmp_path / "mine"), *FIXED]) == 0
    err = capsys.readouterr().err
    found = MACRO.search(err)
    assert found, err
    before, after, diff, lo, hi, p = map(float, found.groups())
    assert diff == pytest.approx(after - before, abs=0.0015) and lo <= diff <= hi and 0 < p <= 1
    assert "trained on 18 units from" in err and "and 6 added rows" in err
    # "before" is the plain model's score on the test split, measured here apart from the comparison
    base = load_model(tmp_path / "base")
    test = read_labeled(corpus, Columns(split="test"))
    Y = base._targets(test.labels, len(test))[1]
    assert round(macro_f1(Y.astype(bool), base.predict(test.units).astype(bool)), 3) == before
    assert load_model(tmp_path / "mine").n_train_ == 24  # the saved model learned from the added rows too


def test_compare_without_add_is_a_usage_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--compare"]) == 2
    assert "--compare needs --add FILE" in capsys.readouterr().err


def test_compare_without_a_test_split_uses_the_same_grouped_folds_for_both_models():
    from helpers import DATA

    from classifier import ThemeClassifier
    from classifier.encoding.features import Unit
    from classifier.harness.retrain import compare_added
    from classifier.io.tables import Columns, LabeledData, read_labeled

    base = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True, group="doc"))  # no split
    texts = [(t, theme) for theme, pair in NEW.items() for t in pair] + [(base.texts[0], base.labels[0])]
    added = LabeledData([Unit(t) for t, _ in texts], [y for _, y in texts], [f"new{i // 2}" for i in range(7)],
                        [f"n{i}" for i in range(7)], None, "new rows")
    estimator = ThemeClassifier(embedding_head="linear", C=4.0, class_weight=None, context=False, lexical=0.0,
                                sentence_weight=None)
    stages = []
    got = compare_added(estimator, base, added, cv=3, resamples=200, progress=lambda s, d, t: stages.append(s))
    assert got.protocol == "3-fold grouped CV (24 paragraphs)" and got.n_documents == 12  # every base row, once
    assert got.n_added == 6 and got.n_left_out == 1  # a copy of a scored paragraph never trains
    assert got.model.n_train_ == 30 and got.paired["resamples"] == 200
    assert 0 <= got.before <= 1 and 0 <= got.after <= 1
    assert got.paired["difference"] == pytest.approx(got.after - got.before)
    assert any(s.startswith("with the added rows (fold 3/3)") for s in stages) and stages[-1].startswith("final")
