"""policytag.toml / [tool.policytag]: a command's settings become its defaults; the command line wins."""
from __future__ import annotations

import json

import pytest
from helpers import DATA, ROOT

from classifier.cli import main

ARTICLE = str(ROOT / "examples" / "article.md")


@pytest.fixture()
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_settings_file_gives_defaults_and_the_command_line_wins(here, capsys):
    (here / "policytag.toml").write_text('[tag]\nformat = "pretty"\nquiet = true\nchunk = 64\n')
    assert main(["tag", ARTICLE]) == 0
    out = capsys.readouterr()
    assert not out.out.lstrip().startswith("{")  # pretty, not JSONL
    assert out.err == ""  # quiet
    assert main(["tag", ARTICLE, "--format", "jsonl"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert json.loads(first)["paragraph"] == 0
    assert main(["--no-config", "tag", ARTICLE, "-o", str(here / "o.jsonl")]) == 0
    assert "tagged 1 document" in capsys.readouterr().err  # not quiet without the file


def test_pyproject_tool_table_and_a_named_file(here, capsys):
    (here / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.policytag.tag]\nformat = "csv"\nquiet = true\n')
    assert main(["tag", ARTICLE]) == 0
    assert capsys.readouterr().out.startswith("doc,")
    (here / "other.toml").write_text('[tag]\nformat = "jsonl"\nquiet = true\n')
    assert main(["--config", "other.toml", "tag", ARTICLE]) == 0
    assert capsys.readouterr().out.startswith("{")


@pytest.mark.parametrize("body, needle", [
    ('[tag]\nmodle = "x"\n', "unknown setting 'modle'"),
    ('[tag]\nformat = "docx"\n', "'docx' is not one of"),
    ('[tag]\nchunk = "many"\n', "chunk"),
    ('[tag]\nquiet = "yes"\n', "true or false"),
    ('[tag\nformat = 1\n', "not valid TOML"),
    ("tag = 3\n", "must be a table"),
])
def test_bad_settings_are_one_usage_line_naming_the_file(here, capsys, body, needle):
    (here / "policytag.toml").write_text(body)
    assert main(["tag", ARTICLE]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "policytag.toml" in err and needle in err


def test_sub_command_tables(here, capsys):
    (here / "policytag.toml").write_text('[annotate.export]\nforce = true\nto = "doccano"\n')
    (here / "tasks.jsonl").write_text("old\n")
    assert main(["annotate", "export", ARTICLE, "-o", "tasks.jsonl"]) == 0  # force from the file
    assert json.loads((here / "tasks.jsonl").read_text().splitlines()[0])["text"]


def test_the_global_config_option_and_annotate_exports_own_config_do_not_clash(here, capsys):
    (here / "settings.toml").write_text('[annotate.export]\nconfig = "labeling.xml"\n')
    assert main(["--config", "settings.toml", "annotate", "export", ARTICLE, "-o", "tasks.json"]) == 0
    assert "<View" in (here / "labeling.xml").read_text()


def test_decision_rule_metadata_and_grouped_summary_from_the_file(here, capsys):
    """The #15 flags work as settings: the file gives the same records and summary as the command line."""
    feed = str(ROOT / "tests" / "data" / "feed.jsonl")
    flags = ["--min-score", "0.3", "--top-k", "1", "--threshold", "alliance_cohesion=0.9", "--threshold",
             "deterrence=0.8", "--meta-fields", "date,outlet", "--summary-by", "outlet,month", "-q"]
    assert main(["--no-config", "tag", feed, "-o", "cli.jsonl", "--summary", "cli.md", *flags]) == 0
    (here / "policytag.toml").write_text('[tag]\nmin-score = 0.3\ntop-k = 1\n'
                                         'threshold = ["alliance_cohesion=0.9", "deterrence=0.8"]\n'
                                         'meta-fields = "date,outlet"\nsummary-by = "outlet,month"\nquiet = true\n')
    assert main(["tag", feed, "-o", "file.jsonl", "--summary", "file.md"]) == 0
    assert (here / "file.jsonl").read_text() == (here / "cli.jsonl").read_text()
    assert (here / "file.md").read_text() == (here / "cli.md").read_text()
    records = [json.loads(line) for line in (here / "file.jsonl").read_text().splitlines()]
    assert all(len(r["themes"]) <= 1 and set(r.get("meta", {})) <= {"date", "outlet"} for r in records)
    assert (here / "file.md").read_text().startswith("| outlet | month |")
    assert main(["tag", feed, "-o", "pretty.txt", "--format", "pretty", "--threshold", "deterrence=0.7"]) == 0
    head = " ".join((here / "pretty.txt").read_text().split("== ")[0].split())
    assert "at most 1 per paragraph" in head and "deterrence 0.70" in head and "alliance_cohesion 0.90" in head


TRAIN = ["train", "--data", str(DATA / "mini.csv"), "--label-column", "label", "--single-label", "--out", "m"]


@pytest.mark.parametrize("body, setting", [
    ("[train]\nC = 4\n", "C"),  # the default MLP head has no C
    ('[train]\nclass-weight = "balanced"\n', "class-weight"),
    ('[train]\nembedding-head = "linear"\nC = -1\n', "C"),
    ("[train]\nlexical = 2\n", "lexical"),
    ('[train]\nsentence-weight = "most"\n', "sentence-weight"),
    ('[train]\nthreshold-objective = "recall@2"\n', "threshold-objective"),
])
def test_a_train_value_refused_names_the_settings_file_it_came_from(here, capsys, body, setting):
    """The refusal named '--C' or '--lexical', flags the user never typed, so nothing pointed at the file;
    a bad --lexical was only found after the data had been read."""
    (here / "policytag.toml").write_text(body)
    assert main(TRAIN) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"policytag: {here / 'policytag.toml'} [train] {setting}: ")
    assert not (here / "m").exists()


def test_a_named_settings_file_is_named_and_a_flag_typed_is_still_named_as_the_flag(here, capsys):
    (here / "cfg").mkdir()
    (here / "cfg" / "run.toml").write_text('[train]\nC = 4\nlexical = 0.5\n')
    assert main(["--config", "cfg/run.toml", "train", "--zero-shot", "--out", "m"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cfg/run.toml [train] C, cfg/run.toml [train] lexical: for a model trained" in err
    assert main(["--config", "cfg/run.toml", "train", "--zero-shot", "--out", "m", "--C", "2", "--lexical", "0.5"]) == 2
    err = capsys.readouterr().err  # typed on the command line (the file's value overridden or repeated): the flag
    assert "policytag: --C, --lexical: for a model trained on labeled rows" in err and "run.toml" not in err
    assert main(["--config", "cfg/run.toml", "train", *TRAIN[1:]]) == 2
    assert "cfg/run.toml [train] C: for the linear embedding head" in capsys.readouterr().err
    assert not (here / "m").exists()
