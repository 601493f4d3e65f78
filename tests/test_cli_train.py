"""`policytag train` and `evaluate` from the shell: tables with column options, and clear refusals."""
import csv
import json

import pytest
from helpers import CORPUS, DATA, multi_label_table

from classifier.cli import main


@pytest.fixture(scope="module")
def mini_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "mini"
    assert main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label",
                 "--group-column", "doc", "--out", str(out)]) == 0
    return out


def test_single_label_csv_train_and_evaluate(mini_dir, tmp_path, capsys):
    manifest = json.loads((mini_dir / "manifest.json").read_text())
    assert manifest["codebook"]["multi_label"] is False
    assert [t["id"] for t in manifest["codebook"]["themes"]] == ["burden_sharing", "maritime_security",
                                                                 "negotiation_diplomacy"]
    report = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(mini_dir), "--data", str(DATA / "mini.csv"), "--label-column", "label",
                 "--single-label", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["accuracy"] > 0.8 and 0 <= result["macro_f1"] <= 1
    assert set(result["per_label"]) == {"burden_sharing", "maritime_security", "negotiation_diplomacy"}
    assert "| burden_sharing |" in capsys.readouterr().out


def test_delimited_multi_label_column(tmp_path):
    src = multi_label_table(tmp_path)
    out = tmp_path / "model"
    assert main(["train", "--data", str(src), "--label-column", "tags", "--label-sep", ";", "--group-column", "doc",
                 "--out", str(out), "--embedding-head", "linear", "--C", "4", "--class-weight", "none", "--context",
                 "off"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["codebook"]["multi_label"] is True and len(manifest["thresholds"]) == 4


def test_unknown_labels_are_refused_before_encoding(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text("text,labels\nSome paragraph about envoys.,world_peace\n")
    code = main(["train", "--data", str(src), "--codebook", str(CORPUS / "codebook.yaml"),
                 "--out", str(tmp_path / "m")])
    assert code == 2
    assert "labels not in codebook 'geopolitics': world_peace" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_missing_columns_are_named(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text("body,labels\nx,y\n")
    assert main(["train", "--data", str(src), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) text" in err and "--text-column" in err


def test_rare_themes_are_warned_about_in_one_line(tmp_path, capsys):
    src = tmp_path / "rare.csv"
    rows = list(csv.DictReader((DATA / "mini.csv").open()))
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label", "doc"])
        for r in rows:
            w.writerow([r["text"], r["label"], r["doc"]])
        w.writerow(["Sanctions on chip exports hit the island's foundries hard this quarter.",
                    "economic_dimension", "dx"])
    assert main(["train", "--data", str(src), "--label-column", "label", "--single-label", "--group-column", "doc",
                 "--embedding-head", "linear", "--C", "4", "--class-weight", "none", "--out", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert "policytag: warning: themes with fewer than 3 positive examples" in err and "economic_dimension (1)" in err


def test_codebook_mismatch_in_evaluate_is_an_error(mini_dir, capsys):
    assert main(["evaluate", "--model", str(mini_dir), "--data", str(CORPUS)]) == 2
    assert "does not match the model's" in capsys.readouterr().err


def test_existing_model_is_not_replaced_without_force(mini_dir, capsys):
    assert main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label",
                 "--out", str(mini_dir)]) == 2
    assert "--force" in capsys.readouterr().err


def test_verbose_after_the_command_logs_the_model_selection(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label",
                 "--group-column", "doc", "--out", str(out), "-v"]) == 0
    err = capsys.readouterr().err
    assert "fit: encoding 24 training texts" in err
    assert "configurations by 3-fold CV; best" in err


def test_rows_without_text_or_label_are_left_out_with_one_line(tmp_path, capsys):
    rows = list(csv.DictReader((DATA / "mini.csv").open()))
    src = tmp_path / "gaps.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label", "doc"])
        for i, r in enumerate(rows):
            w.writerow(["" if i == 3 else r["text"], "" if i in (5, 6) else r["label"], r["doc"]])
    out = tmp_path / "m"
    assert main(["train", "--data", str(src), "--label-column", "label", "--single-label", "--group-column", "doc",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{src}: left out 3 rows without text or label (first: {src}:5: no text)" in err
    assert json.loads((out / "manifest.json").read_text())["training"]["n"] == 21


def test_labeled_table_line_numbers_survive_blank_lines_and_split_filtering(tmp_path):
    from classifier.errors import TrainingDataError
    from classifier.io.tables import Columns, read_labeled
    src = tmp_path / "t.jsonl"
    src.write_text('{"text": "a", "labels": ["x"], "split": "test"}\n\n'
                   '{"text": "b", "labels": "", "split": "train"}\n'
                   '{"text": 7, "labels": ["x"], "split": "train"}\n')
    data_ok = read_labeled(src, Columns(split="test"))
    assert data_ok.labels == [["x"]] and data_ok.skipped == []
    with pytest.raises(TrainingDataError, match=r"t\.jsonl:4: text column 'text' holds int"):
        read_labeled(src, Columns(split="train"))


def test_several_splits_joined_by_commas_select_rows_of_any_of_them(tmp_path):
    """--split train,dev: a final model trains on every row the test split does not hold; a corpus folder and a
    table read it the same way, and a split name that matches nothing is still refused."""
    from classifier.errors import CorpusError
    from classifier.io.tables import Columns, read_labeled
    src = tmp_path / "t.jsonl"
    src.write_text("".join(f'{{"text": "row {i}", "labels": ["x"], "split": "{s}"}}\n'
                           for i, s in enumerate(("train", "dev", "test", "train"))))
    assert read_labeled(src, Columns(split="train, dev")).texts == ["row 0", "row 1", "row 3"]
    corpus = read_labeled(CORPUS, Columns(split="train,dev"))
    by_split = {s: len(read_labeled(CORPUS, Columns(split=s))) for s in ("train", "dev", "test")}
    assert len(corpus) == by_split["train"] + by_split["dev"]
    with pytest.raises(CorpusError, match=r"no rows in split 'deb', 'trian' \(splits here: dev, test, train\)"):
        read_labeled(CORPUS, Columns(split="trian,deb"))


def test_a_misspelt_or_empty_name_in_a_split_list_is_refused_not_skipped(tmp_path, capsys):
    """'train,dve' trained on the train rows alone, and 'train,' took the rows with a blank split too."""
    from classifier.errors import TrainingDataError
    from classifier.io.tables import Columns, read_labeled
    src = tmp_path / "t.jsonl"
    src.write_text("".join(f'{{"text": "row {i}", "labels": ["x"], "split": "{s}"}}\n'
                           for i, s in enumerate(("train", "dev", "", "train"))))
    with pytest.raises(TrainingDataError, match=r"t\.jsonl: no rows in split 'dve' \(splits here: dev, train\)"):
        read_labeled(src, Columns(split="train,dve"))
    with pytest.raises(TrainingDataError, match="a name is empty"):
        read_labeled(src, Columns(split="train,"))
    assert main(["train", "--data", str(CORPUS), "--split", "train,dve", "--out", str(tmp_path / "m")]) == 2
    assert "no rows in split 'dve'" in capsys.readouterr().err


def test_compare_refuses_a_split_list_that_trains_on_the_rows_it_scores(tmp_path, capsys):
    added = tmp_path / "added.jsonl"
    added.write_text('{"text": "Berlin will pay for half of the new air defence.", "labels": ["burden_sharing"]}\n')
    assert main(["train", "--data", str(CORPUS), "--split", "train,test", "--add", str(added), "--compare",
                 "--out", str(tmp_path / "m")]) == 2
    assert "must not train on them" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_integer_codes_with_nulls_in_parquet_stay_integers(tmp_path):
    import pandas as pd

    from classifier.io.tables import Columns, read_labeled
    src = tmp_path / "codes.parquet"
    pd.DataFrame({"text": ["one", "two", "three"], "code": [3, None, 12]}).to_parquet(src)
    data = read_labeled(src, Columns(label="code", single_label=True))
    assert data.labels == ["3", "12"]
    assert data.skipped == [f"{src}:2: no label (single-label data)"]


def test_single_label_narrows_a_multi_label_codebook_for_train_and_evaluate(tmp_path, capsys):
    """--single-label over a multi-label codebook: train saves a single-label model and evaluate scores it as one
    (both through Codebook.single_label_if); without the flag the same codebook stays multi-label."""
    book = tmp_path / "codebook.yaml"
    book.write_text("name: mini\nmulti_label: true\nthemes:\n" + "".join(
        f"  - id: {t}\n    description: {t.replace('_', ' ')}\n"
        for t in ("burden_sharing", "maritime_security", "negotiation_diplomacy")))
    out = tmp_path / "model"
    fast = ["--embedding-head", "linear", "--C", "16", "--context", "off", "--class-weight", "none", "--lexical",
            "0", "--sentence-weight", "none"]
    assert main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label",
                 "--codebook", str(book), "--group-column", "doc", "--out", str(out), *fast]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["multi_label"] is False and manifest["codebook"]["multi_label"] is False
    report = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(out), "--data", str(DATA / "mini.csv"), "--label-column", "label",
                 "--single-label", "--codebook", str(book), "--json", str(report)]) == 0
    assert json.loads(report.read_text())["accuracy"] > 0.8  # accuracy: reported for single-label runs only
    capsys.readouterr()


def test_the_default_mlp_head_is_saved_as_arrays_and_linear_only_options_are_refused(mini_dir, tmp_path, capsys):
    manifest = json.loads((mini_dir / "manifest.json").read_text())
    assert manifest["params"]["embedding_head"] == "mlp" and manifest["selected"]["C"] is None
    assert {"w1", "b1", "w2", "b2"} <= set(manifest["head"]["arrays"])
    base = ["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label", "--out",
            str(tmp_path / "m")]
    for flags in (["--C", "4"], ["--class-weight", "balanced"], ["--sentence-labels", "mil"]):
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "add --embedding-head linear" in err and flags[0] in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("flags", [["--C", "none"], ["--embedding-head", "linear", "--C", "none"],
                                   ["--embedding-head", "linear", "--C", "-1"], ["--embedding-head", "linear",
                                                                                 "--C", "nan"]])
def test_a_C_that_is_not_a_positive_number_is_one_usage_line_before_any_work(tmp_path, capsys, flags):
    """'none' passed the MLP head's linear-only check (it is a class weight's word) and then crashed in float();
    a negative C reached scikit-learn: both were tracebacks."""
    assert main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label", "--out",
                 str(tmp_path / "m"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--C takes a positive number or 'auto'" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("head", ["mlp", "linear"])
def test_zero_shot_refuses_an_embedding_head_even_the_default_one(tmp_path, capsys, head):
    """A zero-shot model is a linear head over the codebook's descriptions: '--embedding-head mlp', said
    explicitly, was accepted in silence (it equals the default) and the user got a linear head."""
    assert main(["train", "--zero-shot", "--embedding-head", head, "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--embedding-head: for a model trained on labeled rows" in err
    assert not (tmp_path / "m").exists()


def test_an_out_folder_that_cannot_be_written_is_one_line_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label", "--out",
                 str(blocker / "model")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot write the model folder" in err and "Traceback" not in err


def test_rows_grouped_into_one_group_or_missing_a_group_are_one_line(tmp_path, capsys):
    """One group leaves cross-validation nothing to hold out (it used to train silently with every threshold at
    0.5 and no calibration); a JSONL row without the group field was a KeyError traceback."""
    rows = [json.loads(line) for line in (CORPUS / "paragraphs.jsonl").read_text().splitlines()]
    one = [r for r in rows if r["article_id"].startswith("a0")][:40]
    (tmp_path / "one.jsonl").write_text("".join(json.dumps(r) + "\n" for r in one))
    args = ["--data", str(tmp_path / "one.jsonl"), "--group-column", "writer", "--lexical", "0", "-q"]
    assert main(["train", *args, "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "all 40 training rows are in one group ('geopolitics/a')" in err
    one[7].pop("writer")
    (tmp_path / "one.jsonl").write_text("".join(json.dumps(r) + "\n" for r in one))
    assert main(["train", *args, "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'one.jsonl'}:8: no 'writer' value to group by" in err
    assert not (tmp_path / "m").exists()


def test_a_pipe_named_as_training_data_is_refused_in_one_line_not_waited_on(tmp_path):
    """A FIFO with no writer blocked `train` and `evaluate` for ever (tag already skipped such inputs)."""
    import os
    import subprocess
    import sys
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    for argv in (["train", "--data", str(fifo), "--out", str(tmp_path / "m")], ["evaluate", "--data", str(fifo)]):
        done = subprocess.run([sys.executable, "-m", "classifier.cli", *argv], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert f"{fifo}: not a regular file (a pipe, device or socket)" in done.stderr
