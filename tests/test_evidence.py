"""Sentence evidence: a model that reads paragraphs as sentences points each assigned theme to the sentence that
carries it, saves and reloads that state as arrays, and per-theme blend weights survive the round trip."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import CORPUS

from classifier import ThemeClassifier, load_model
from classifier.io.segment import Paragraph, sentences

PARAGRAPH = ("Defence ministers met in Vilnius on Tuesday to review the rotation schedule for the brigade. "
             "The talks covered barracks, rail links and the winter training calendar in some detail. "
             "Officials in Manila are watching closely, much as the Baltic states lean on a larger ally, since "
             "Southeast Asian capitals weigh how far to rely on Washington's word.")


@pytest.fixture(scope="module")
def sentence_model():
    """A multi-label model on 300 corpus paragraphs, sentence mode, blend weights chosen out of fold."""
    rows = [json.loads(line) for line in (CORPUS / "paragraphs.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"][:300]
    model = ThemeClassifier(codebook=str(CORPUS / "codebook.yaml"), embedding_head="linear", C=4.0,
                            class_weight=None, context=False,
                            lexical=0.0, sentence_weight="auto")
    return model.fit([r["text"] for r in train], [r["labels"] for r in train],
                     groups=[r["article_id"] for r in train])


def test_sentences_keep_every_word_and_join_fragments():
    text = "MANILA, May 2 - A cutter was hit. Mr. Li said so. The ministry protested in a note to Beijing. Done."
    parts = sentences(text)
    assert " ".join(parts).split() == text.split()
    assert all(len(p.split()) >= 4 for p in parts)
    assert sentences("one two") == ["one two"]


def test_records_carry_the_sentence_behind_each_assigned_theme(sentence_model):
    records = sentence_model.tag_paragraphs([Paragraph(0, PARAGRAPH, None), Paragraph(1, "Rain fell on the port "
                                                                                        "all day and ferries waited.",
                                                                                        None)])
    pieces = sentences(PARAGRAPH)
    for rec in records:
        assert set(rec["evidence"]) == set(rec["themes"])
        for _theme, sentence in rec["evidence"].items():
            assert sentence in (pieces if rec["paragraph"] == 0 else ["Rain fell on the port all day and ferries "
                                                                        "waited."])
    assert records[0]["themes"], "the Baltic/Manila paragraph should carry some theme"


def test_the_blend_has_one_weight_pair_for_every_theme_by_default(sentence_model):
    """Per-theme weights fit the training writers' style (evaluation/experiments/blend_weights.py): one pair."""
    assert isinstance(sentence_model.sentence_weight_, float) and isinstance(sentence_model.lexical_, float)
    assert sentence_model.head_.sentence is not None  # the sentence head of its own is kept


def test_per_theme_weights_when_asked_round_trip_through_the_model_folder(tmp_path):
    rows = [json.loads(line) for line in (CORPUS / "paragraphs.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"][:300]
    model = ThemeClassifier(codebook=str(CORPUS / "codebook.yaml"), embedding_head="linear", C=4.0,
                            class_weight=None, context=False, lexical="auto", per_theme=True)
    model.fit([r["text"] for r in train], [r["labels"] for r in train], groups=[r["article_id"] for r in train])
    assert isinstance(model.sentence_weight_, list) or isinstance(model.lexical_, list)  # refined theme by theme
    loaded = load_model(model.save(tmp_path / "m"))
    assert loaded.sentence_weight_ == model.sentence_weight_ and loaded.lexical_ == model.lexical_
    assert np.array_equal(model.predict_proba([PARAGRAPH]), loaded.predict_proba([PARAGRAPH]))


def test_per_theme_state_round_trips_through_the_model_folder(sentence_model, tmp_path):
    sentence_model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["selected"]["sentence_weight"] is not None
    loaded = load_model(tmp_path / "m")
    texts = [PARAGRAPH, "Talks on the ceasefire line resumed in Geneva with both delegations present."]
    assert np.array_equal(sentence_model.predict_proba(texts), loaded.predict_proba(texts))
    assert loaded.tag_article(PARAGRAPH) == sentence_model.tag_article(PARAGRAPH)


def test_paragraph_mode_reads_whole_paragraphs_and_names_no_evidence():
    from helpers import DATA

    from classifier.io.tables import Columns, read_labeled
    data = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True,
                                                   group="doc"))
    model = ThemeClassifier(embedding_head="linear", C=16.0, class_weight=None, sentence_weight=None).fit(data.units,
                                                                                                          data.labels)
    assert model.sentence_weight_ is None
    records = model.tag_article("Germany will cover forty percent of the air-defence package.")
    assert "evidence" not in records[0] and records[0]["themes"]


def test_html_view_marks_each_themes_evidence_sentence(sentence_model):
    from classifier.io.views import DocView, model_view
    records = sentence_model.tag_paragraphs([Paragraph(0, PARAGRAPH, None)])
    page = model_view(sentence_model, [DocView("d", records, None)])
    marked = [s for s in records[0]["evidence"].values()]
    assert marked and page.count('<mark class="ev"') == len(set(marked))
    assert 'title="evidence for ' in page
