"""Fail early, never misread silently: HTML on stdin, a bare string to predict, errors scikit-learn users can catch,
one-class single-label training, annotate export's exit code, and error messages that name only real flags."""
import argparse
import ast
import io
import json
import re
import sys

import pytest
from helpers import ARTICLE_HTML, DATA, ROOT

from classifier import (
    CodebookError,
    CorpusError,
    InputError,
    ModelError,
    PolicytagError,
    ThemeClassifier,
    TrainingDataError,
)
from classifier.cli import build_parser, main


# -- HTML piped to stdin -------------------------------------------------------------------------------------------
def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))


def test_html_on_stdin_is_read_as_html_and_says_so(monkeypatch, tmp_path, capsys):
    _stdin(monkeypatch, ARTICLE_HTML)
    out = tmp_path / "t.jsonl"
    assert main(["tag", "-", "-o", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"][:18] for r in records] == ["Two coast-guard cu", "Fishermen from nea"]
    assert not any("<" in r["text"] or "do not tag me" in r["text"] for r in records)
    err = capsys.readouterr().err
    assert "<stdin>: read as HTML (it starts with markup; pass --input-format text to read it as plain text)" in err


@pytest.mark.parametrize("flag", ["--input-format", "--stdin-format"])
def test_the_format_can_still_be_named(monkeypatch, tmp_path, flag):
    _stdin(monkeypatch, ARTICLE_HTML)
    out = tmp_path / "t.jsonl"
    assert main(["tag", "-", "-o", str(out), flag, "text", "-q"]) == 0
    assert any("<p>" in json.loads(line)["text"] for line in out.read_text().splitlines())


@pytest.mark.parametrize("text, html", [
    ("<!DOCTYPE html><html><body><p>x</p></body></html>", True),
    ("\n  <html lang='en'><p>x", True),
    ("\ufeff<body><p>x</p></body>", True),
    ("<div class='story'><p>Envoys met.</p></div>", True),  # tag soup without a document shell
    ("Envoys met in Vienna. The <b>draft</b> was short.", False),  # prose that mentions markup later
    ("<3 to all the negotiators", False),
    ("<Note> the minister said nothing", False),  # an opening bracket but no closing tag: not a page
    ("# Title\n\nSome markdown.", False),
])
def test_what_counts_as_markup(text, html):
    from classifier.io.readers import looks_like_html
    assert looks_like_html(text) is html


# -- a bare string is not a list of texts ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_a_bare_string_is_refused_like_scikit_learn_does(shipped_model, method):
    with pytest.raises(ValueError, match=r"X: expected a list of texts, got one str; wrap it in a list: \[text\]"):
        getattr(shipped_model, method)("Envoys met in Vienna to discuss a ceasefire.")
    assert getattr(shipped_model, method)(["Envoys met in Vienna to discuss a ceasefire."]).shape[0] == 1


def test_a_bare_string_is_refused_by_the_scorer_and_by_fit():
    from classifier import DEFAULT_MODEL_DIR
    from classifier.scorer import load_scorer
    with pytest.raises(InputError, match="expected a list of texts"):
        load_scorer(DEFAULT_MODEL_DIR).predict("Envoys met in Vienna.")
    with pytest.raises(ValueError, match="expected a list of texts"):
        ThemeClassifier().fit("Envoys met.", ["negotiation_diplomacy"])


# -- error types -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [InputError, TrainingDataError, CorpusError, CodebookError])
def test_input_errors_are_value_errors_and_policytag_errors(error):
    assert issubclass(error, ValueError) and issubclass(error, PolicytagError)


def test_model_errors_stay_policytag_errors_only():
    assert not issubclass(ModelError, ValueError)


def test_except_value_error_catches_bad_training_labels():
    from classifier.codebook import DEFAULT_CODEBOOK
    with pytest.raises(ValueError, match="labels not in codebook 'geopolitics': world_peace"):
        ThemeClassifier(codebook=DEFAULT_CODEBOOK).fit(["Envoys met."], [["world_peace"]])


# -- one class ---------------------------------------------------------------------------------------------------
def test_a_single_label_fit_with_one_class_is_refused_before_encoding():
    texts = ["Germany pays a third of the battery.", "Allies argued over the brigade's bill.",
             "Tokyo offered to pay more host-nation costs."]
    model = ThemeClassifier(encoder="/nonexistent/encoder")  # never reached: the refusal comes first
    with pytest.raises(TrainingDataError, match="single-label training needs at least two different labels, but "
                                                "every row is labeled 'burden_sharing'; add rows with other labels"):
        model.fit(texts, ["burden_sharing"] * 3)


def test_train_refuses_a_one_class_table(tmp_path, capsys):
    src = tmp_path / "one.csv"
    src.write_text("text,label\nGermany pays a third of the battery.,burden_sharing\n"
                   "Allies argued over the bill.,burden_sharing\nTokyo pays more host-nation costs.,burden_sharing\n")
    code = main(["train", "--data", str(src), "--label-column", "label", "--single-label", "--out",
                 str(tmp_path / "m")])
    assert code == 2
    assert "single-label training needs at least two different labels" in capsys.readouterr().err
    assert not (tmp_path / "m" / "manifest.json").exists()


# -- annotate export's exit code -------------------------------------------------------------------------------------
def test_annotate_export_exits_1_when_an_input_failed(tmp_path, capsys):
    out = tmp_path / "tasks.jsonl"
    code = main(["annotate", "export", str(DATA / "mini.csv"), str(tmp_path / "missing.txt"), "-o", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "missing.txt" in err and "1 problem(s), listed above" in err
    assert len(out.read_text().splitlines()) == 24  # the readable input is exported all the same
    assert main(["annotate", "export", str(DATA / "mini.csv"), "-o", str(tmp_path / "ok.jsonl")]) == 0



def test_annotate_export_skips_an_empty_input_as_tag_does(tmp_path, capsys):
    """An empty file is skipped with a line and exit 0 by `tag`; `annotate export` and `suggest` read inputs the
    same way, so it is not a failure there either."""
    (tmp_path / "empty.txt").write_text("")
    article = str(ROOT / "examples" / "article.md")
    assert main(["tag", article, str(tmp_path / "empty.txt"), "-o", str(tmp_path / "t.jsonl")]) == 0
    assert "empty.txt: empty file" in capsys.readouterr().err
    out = tmp_path / "tasks.jsonl"
    assert main(["annotate", "export", article, str(tmp_path / "empty.txt"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "empty.txt: empty file" in err and "problem" not in err and "skipped 1" in err
    assert len(out.read_text().splitlines()) == 5
    assert main(["annotate", "export", article, str(tmp_path / "empty.txt"), str(tmp_path / "gone.txt"), "-o",
                 str(tmp_path / "t2.jsonl")]) == 1  # a missing file still fails the run


def test_suggest_exits_1_when_a_pool_input_failed(tmp_path, capsys):
    """As `tag` and `annotate export`: the readable pool is used, the bad input named, and the exit code says so."""
    feed, out = str(DATA / "feed.jsonl"), tmp_path / "picked.json"
    assert main(["suggest", "--pool", feed, str(tmp_path / "gone.txt"), "-n", "2", "-o", str(out), "-q"]) == 1
    assert "gone.txt: no such file" in capsys.readouterr().err and out.exists()
    assert main(["suggest", "--pool", feed, "-n", "2", "-o", str(tmp_path / "ok.json"), "-q"]) == 0

# -- error messages name only flags their command has -----------------------------------------------------------------
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
QUOTED_COMMAND = re.compile(r"['(]policytag (\w+)")  # '(policytag train --data ...)': flags of that command
# Where each message that names a flag can reach a user: (file, function) -> commands. A new message is refused
# by the test until it is placed here, so someone checks its flags against the commands that show it.
SITES = {
    ("classifier/annotate/roundtrip.py", "guess_format"): ["annotate import"],
    ("classifier/cli/__init__.py", "main"): ["tag"],  # the --resume hint is printed for tag only
    ("classifier/cli/evaluate.py", "run"): ["evaluate"],
    ("classifier/cli/options.py", "writable"): ["annotate export", "annotate import", "suggest"],
    ("classifier/cli/tag.py", "run"): ["tag"],
    ("classifier/cli/train.py", "run"): ["train"],
    ("classifier/cli/train.py", "_unwritable"): ["train"],
    ("classifier/encoding/backends.py", "_tokenizer_settings"): ["tag", "train", "evaluate"],
    ("classifier/encoding/backends.py", "_verify"): ["tag", "train", "evaluate"],
    ("classifier/encoding/backends.py", "export_graph"): ["tag", "train", "evaluate"],
    ("classifier/encoding/backends.py", "runner_for"): ["tag", "train", "evaluate"],
    ("classifier/encoding/cache.py", "conn"): ["tag", "train", "evaluate", "annotate export", "suggest", "cache"],
    ("classifier/encoding/finetune.py", "sample_rows"): ["train"],
    ("classifier/engines/local.py", "_flush"): ["tag"],
    ("classifier/harness/datasets.py", "map_labels"): ["evaluate"],
    ("classifier/harness/datasets.py", "to_evalset"): ["evaluate"],
    ("classifier/harness/harness.py", "_codebook"): ["evaluate"],
    ("classifier/harness/harness.py", "load"): ["evaluate"],
    ("classifier/harness/harness.py", "_refuse_overlap"): ["evaluate"],
    ("classifier/harness/protocols.py", "holdout_split"): ["evaluate"],
    ("classifier/harness/systems.py", "build"): ["evaluate"],
    ("classifier/io/readers.py", "_read_csv"): ["tag"],
    ("classifier/io/readers.py", "_record"): ["tag"],
    ("classifier/io/readers.py", "read_bytes"): ["tag", "annotate export", "suggest"],
    ("classifier/io/readers.py", "_jsonl_items"): ["tag", "annotate export", "suggest"],
    ("classifier/io/readers.py", "_read_stream"): ["tag"],
    ("classifier/io/tables.py", "read_labeled"): ["train", "evaluate"],
    ("classifier/io/meta.py", "parse_meta_fields"): ["tag"],
    ("classifier/io/writers.py", "claim"): ["tag"],
    ("classifier/io/writers.py", "claim_outputs"): ["tag"],
    ("classifier/io/writers.py", "finish"): ["tag"],
    ("classifier/io/readers.py", "expand"): ["tag"],  # only a tag run has outputs to keep out of its inputs
    ("classifier/io/readers.py", "read_inputs"): ["tag"],
    ("classifier/engines/ray_run.py", "_check_room"): ["tag"],
    ("classifier/engines/ray_run.py", "start"): ["tag"],
    ("classifier/io/writers.py", "check_summary_by"): ["tag"],
    ("classifier/io/writers.py", "parse_summary_by"): ["tag"],
    ("classifier/persist.py", "read_manifest"): [],  # names only 'policytag train ...' flags, checked below
}
# Known and left (see the h4 report): an article over 20 MB in annotate export/suggest is refused with a --max-bytes
# hint those commands lack; 'policytag cache' on an unusable folder suggests --no-cache, which it lacks.
LEFT = {(("classifier/io/readers.py", "read_bytes"), "annotate export", "--max-bytes"),
        (("classifier/io/readers.py", "read_bytes"), "suggest", "--max-bytes"),
        (("classifier/io/readers.py", "_jsonl_items"), "annotate export", "--max-bytes"),
        (("classifier/io/readers.py", "_jsonl_items"), "suggest", "--max-bytes"),
        (("classifier/encoding/cache.py", "conn"), "cache", "--no-cache")}


def _flags_by_command() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, f"{name} {sub}".strip())
        out[name] = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    walk(build_parser(), "")
    return out


def _message_sites() -> dict[tuple[str, str], set[str]]:
    """(file, function) -> the strings of every raise, *Error(...) and err(...) there that name a --flag."""
    found: dict[tuple[str, str], set[str]] = {}

    def visit(node: ast.AST, path: str, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            message = None
            if isinstance(child, ast.Raise) and child.exc is not None:
                message = child.exc
            elif isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and (
                    child.func.id == "err" or child.func.id.endswith("Error")):
                message = child
            if message is not None:
                text = " ".join(n.value for n in ast.walk(message)
                                if isinstance(n, ast.Constant) and isinstance(n.value, str))
                if FLAG.search(text):
                    found.setdefault((path, inner), set()).add(text)
            visit(child, path, inner)
    for file in sorted((ROOT / "classifier").rglob("*.py")):
        visit(ast.parse(file.read_text(encoding="utf-8")), str(file.relative_to(ROOT)), "<module>")
    return found


def test_error_messages_name_only_flags_of_the_commands_that_show_them():
    flags = _flags_by_command()
    sites = _message_sites()
    assert set(sites) <= set(SITES), f"place these messages in SITES: {sorted(set(sites) - set(SITES))}"
    wrong = []
    for site, texts in sites.items():
        for text in texts:
            quoted = QUOTED_COMMAND.search(text)
            for flag in FLAG.findall(text):
                for command in ([quoted.group(1)] if quoted else SITES[site]):
                    if flag not in flags[command] and (site, command, flag) not in LEFT:
                        wrong.append(f"{site[0]}:{site[1]} names {flag}, which '{command}' lacks")
    assert not wrong, "\n".join(wrong)
    for site, command, flag in LEFT:  # when one of these is fixed, take it off the list
        assert flag not in flags[command] and any(flag in text for text in sites[site])


def test_annotate_import_names_its_own_flag_for_an_unknown_extension(tmp_path, capsys):
    src = tmp_path / "export.txt"
    src.write_text("[]")
    assert main(["annotate", "import", str(src)]) == 2
    assert "name it with --from label-studio or --from doccano" in capsys.readouterr().err
    assert "--from" in _flags_by_command()["annotate import"]


def test_an_interrupt_outside_tag_does_not_suggest_resume(monkeypatch, capsys):
    import classifier.cli.encoders as encoders

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(encoders, "run", interrupted)
    assert main(["encoders", "list"]) == 130
    assert capsys.readouterr().err.strip() == "policytag: interrupted"

