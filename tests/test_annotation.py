"""Label Studio and doccano: export (plain and pre-labeled), import back into corpus rows, CLI round trip."""
import json
import xml.etree.ElementTree as ET

import pytest
from ecosystem_data import FAST, mini_corpus, multi_label_data

from classifier import ThemeClassifier, load_codebook
from classifier.annotate.roundtrip import (
    SCORES_FIELD,
    label_studio_config,
    prelabel,
    read_annotations,
    read_doccano,
    read_label_studio,
    read_pool,
    to_doccano,
    to_label_studio,
    write_rows,
    write_tasks,
)
from classifier.cli import main
from classifier.io.corpus import check_corpus

CODEBOOK = load_codebook()


@pytest.fixture(scope="module")
def model():
    texts, labels, groups = multi_label_data()
    with pytest.warns(UserWarning):
        return ThemeClassifier(codebook=CODEBOOK, **FAST).fit(texts, labels, groups=groups)


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    return str(model.save(tmp_path_factory.mktemp("m") / "model"))


@pytest.fixture()
def rows(tmp_path):
    corpus_rows, problems = read_pool([mini_corpus(tmp_path / "c") / "paragraphs.jsonl"])
    assert not problems
    return corpus_rows[:6]


def _annotate_ls(tasks, choices):
    """What a Label Studio JSON export looks like after people annotated the imported tasks."""
    out = []
    for k, (task, picked) in enumerate(zip(tasks, choices), 1):
        ann = {"id": 100 + k, "completed_by": 1, "was_cancelled": False, "ground_truth": False,
               "created_at": "2026-01-02T10:00:00.000Z", "updated_at": "2026-01-02T10:00:00.000Z", "lead_time": 4.2,
               "result": [{"id": f"x{k}", "from_name": "themes", "to_name": "text", "type": "choices",
                           "origin": "manual", "value": {"choices": picked}}] if picked else []}
        out.append({"id": k, "data": task["data"], "annotations": [ann], "predictions": task.get("predictions", []),
                    "meta": {}, "created_at": "2026-01-01T09:00:00.000Z", "project": 3})
    return out


def test_label_studio_config_is_xml_with_one_choice_per_theme():
    root = ET.fromstring(label_studio_config(CODEBOOK, with_scores=True))
    choices = root.find(".//Choices")
    assert choices.get("choice") == "multiple" and choices.get("toName") == "text"
    assert [c.get("value") for c in choices.findall("Choice")] == CODEBOOK.ids
    assert "Article 5" in choices.findall("Choice")[1].get("hint")
    assert any(t.get("value") == f"${SCORES_FIELD}" for t in root.iter("Text"))


def test_unlabeled_export_hides_gold_labels(rows):
    tasks = to_label_studio(rows)
    assert all("predictions" not in t for t in tasks)
    assert all("labels" not in t["data"] for t in tasks)
    assert tasks[0]["data"]["text"] == rows[0]["text"] and tasks[0]["data"]["article_id"] == rows[0]["article_id"]
    records = to_doccano(rows)
    assert all("label" not in r and "labels" not in r for r in records)


def test_prelabeled_export_carries_the_model_themes_and_scores(model, rows):
    pre = prelabel(model, rows)
    tasks = to_label_studio(rows, pre)
    for i, task in enumerate(tasks):
        (prediction,) = task["predictions"]
        chosen = [c for r in prediction["result"] for c in r["value"]["choices"]]
        assert chosen == pre.themes[i] and 0 <= prediction["score"] <= 1
        best = CODEBOOK.ids[int(pre.P[i].argmax())]
        assert task["data"][SCORES_FIELD].startswith(best)
    records = to_doccano(rows, pre)
    assert [r["label"] for r in records] == pre.themes
    assert set(records[0][SCORES_FIELD]) == set(CODEBOOK.ids)
    assert sum(bool(t) for t in pre.themes) >= 5  # the model tags most of the rows it learned from


def test_label_studio_round_trip_restores_corpus_rows(model, rows, tmp_path):
    tasks = to_label_studio(rows, prelabel(model, rows))
    picked = [["maritime_security", "burden_sharing"], [], ["negotiation_diplomacy"], ["burden_sharing"],
              ["burden_sharing"], ["burden_sharing"]]
    export = _annotate_ls(tasks, picked)
    path = tmp_path / "project-3.json"
    path.write_text(json.dumps(export))
    got = read_label_studio(path, CODEBOOK)
    assert not got.problems and got.unlabeled == 0
    assert [r["labels"] for r in got.rows] == picked
    for back, orig in zip(got.rows, rows):
        assert {k: back[k] for k in ("id", "article_id", "paragraph", "text", "title", "split", "genre", "region")} \
            == {k: orig[k] for k in ("id", "article_id", "paragraph", "text", "title", "split", "genre", "region")}
        assert not any(k.startswith("policytag_") for k in back)
    folder = tmp_path / "imported"
    folder.mkdir()
    (folder / "codebook.yaml").write_text((mini_corpus(tmp_path / "c2") / "codebook.yaml").read_text())
    write_rows(got.rows, folder / "paragraphs.jsonl")
    assert check_corpus(folder) == []  # what comes back is a valid corpus


def test_label_studio_picks_ground_truth_then_latest_and_reports_problems(tmp_path):
    def ann(choices, updated, **extra):
        return {"result": [{"type": "choices", "from_name": "themes", "to_name": "text",
                            "value": {"choices": choices}}], "updated_at": updated, **extra}
    export = [
        {"id": 1, "data": {"text": "Alpha."}, "annotations": [ann(["deterrence"], "2026-01-01"),
                                                            ann(["burden_sharing"], "2026-02-01")]},
        {"id": 2, "data": {"text": "Beta."}, "annotations": [ann(["deterrence"], "2026-01-01", ground_truth=True),
                                                           ann(["burden_sharing"], "2026-02-01")]},
        {"id": 3, "data": {"text": "Gamma."}, "annotations": [ann(["deterrence"], "2026-03-01", was_cancelled=True),
                                                            ann(["asean_analogy"], "2026-01-01")]},
        {"id": 4, "data": {"text": "Delta."}, "annotations": []},
        {"id": 5, "data": {"text": "Epsilon."}, "annotations": [ann(["not_a_theme"], "2026-01-01")]},
        {"id": 6, "data": {"text": "Zeta."}, "annotations": [{"result": [{"type": "labels", "value": {"start": 0}}]}]},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    got = read_annotations(path, CODEBOOK)  # format from the extension
    assert [(r["text"], r["labels"]) for r in got.rows] == [("Alpha.", ["burden_sharing"]), ("Beta.", ["deterrence"]),
                                                            ("Gamma.", ["asean_analogy"])]
    assert got.unlabeled == 1
    assert got.problems[0] == f"{path}:task 5: label(s) not in codebook 'geopolitics': not_a_theme"
    assert "span annotation" in got.problems[1] and len(got.problems) == 2
    assert got.rows[0]["id"] == "task-1" and got.rows[0]["split"] == "train"


def test_label_studio_json_min_export(tmp_path):
    path = tmp_path / "min.json"
    path.write_text(json.dumps([
        {"id": 7, "text": "One.", "article_id": "a1", "themes": {"choices": ["deterrence", "burden_sharing"]},
         "annotator": 1, "annotation_id": 11, "lead_time": 3.0},
        {"id": 8, "text": "Two.", "themes": "maritime_security", "annotation_id": 12},
        {"id": 9, "text": "Three.", "annotation_id": 13},
        {"id": 10, "text": "Four."}]))
    got = read_label_studio(path, CODEBOOK, split="dev")
    assert [r["labels"] for r in got.rows] == [["deterrence", "burden_sharing"], ["maritime_security"], []]
    assert got.unlabeled == 1 and got.rows[0]["article_id"] == "a1" and got.rows[1]["split"] == "dev"
    assert "annotator" not in got.rows[0] and "themes" not in got.rows[0]


def test_doccano_round_trip_and_bad_lines(model, rows, tmp_path):
    path = tmp_path / "doccano.jsonl"
    write_tasks(to_doccano(rows, prelabel(model, rows)), path, "doccano")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    lines[0]["label"] = ["deterrence"]          # a person corrected the model
    lines[1]["label"] = []                       # and decided: no theme
    lines[2] = {"text": "Spans.", "label": [[0, 5, "deterrence"]]}
    body = "\n".join(json.dumps(x) for x in lines) + "\n{broken\n" + json.dumps({"text": "x", "label": ["nope"]})
    path.write_text(body + "\n")
    got = read_doccano(path, CODEBOOK)
    assert [r["labels"] for r in got.rows][:2] == [["deterrence"], []]
    assert got.rows[0]["id"] == rows[0]["id"] and got.rows[0]["article_id"] == rows[0]["article_id"]
    assert len(got.rows) == 5 and len(got.problems) == 3
    assert f"{path}:3: span labels" in got.problems[0]
    assert got.problems[1].startswith(f"{path}:7: malformed JSON")
    assert got.problems[2].startswith(f"{path}:8: label(s) not in codebook")


def test_cli_export_then_import(saved_model, tmp_path):
    corpus = mini_corpus(tmp_path / "c")
    tasks, config = tmp_path / "tasks.json", tmp_path / "config.xml"
    assert main(["annotate", "export", str(corpus / "paragraphs.jsonl"), "-o", str(tasks), "--prelabel",
                 "--model", saved_model, "--config", str(config), "-q"]) == 0
    exported = json.loads(tasks.read_text())
    assert len(exported) == 24 and all(len(t["predictions"]) == 1 for t in exported)
    assert ET.fromstring(config.read_text()).find(".//Choices") is not None
    assert main(["annotate", "export", str(corpus / "paragraphs.jsonl"), "-o", str(tasks)]) == 2  # no clobbering
    annotated = tmp_path / "export.json"
    annotated.write_text(json.dumps(_annotate_ls(exported, [["maritime_security"]] * 24)))
    out = tmp_path / "paragraphs.jsonl"
    assert main(["annotate", "import", str(annotated), "-o", str(out)]) == 0
    back = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(back) == 24 and {tuple(r["labels"]) for r in back} == {("maritime_security",)}


def test_cli_export_of_articles_to_doccano(tmp_path, capsys):
    article = tmp_path / "a.md"
    article.write_text("# Talks\n\nEnvoys met in Geneva for a second round of talks.\n\nThe navy escorted tankers.\n")
    assert main(["annotate", "export", str(article), "--to", "doccano"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["text"] for x in lines] == ["Envoys met in Geneva for a second round of talks.",
                                          "The navy escorted tankers."]
    assert lines[0]["section"] == "Talks" and lines[1]["paragraph"] == 1 and "label" not in lines[0]


def test_read_pool_from_csv_keeps_paragraph_order_numeric_and_reports_empty_rows(tmp_path):
    path = tmp_path / "pool.csv"
    path.write_text("article_id,paragraph,text\na,10,Tenth.\na,2,Second.\nb,0,\n")
    rows, problems = read_pool([path])
    assert [r["paragraph"] for r in rows] == [10, 2] and rows[0]["id"] == "pool:2"
    assert problems == [f"{path}:4: no text in column 'text'"]
