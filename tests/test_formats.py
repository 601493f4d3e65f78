"""One registry of formats (classifier.io.formats): the folder walk, the readers, the CLI's choices and messages, the
output format and the annotation tool all follow it, so adding a format is a line there (plus a reader)."""
import json

from helpers import ARTICLE_MD, ARTICLE_TXT

from classifier.cli import main
from classifier.cli.parser import build_parser
from classifier.io import formats
from classifier.io.readers import ReadOptions, read_inputs


def _choices(command: str, dest: str) -> tuple:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return tuple(next(a for a in sub._actions if a.dest == dest).choices)


def test_the_cli_offers_what_the_registry_holds():
    assert _choices("tag", "format") == tuple(formats.OUTPUTS) == ("jsonl", "csv", "pretty")
    assert _choices("tag", "stdin_format") == formats.STDIN_FORMATS
    assert formats.output_format("out.CSV", None) == "csv" and formats.output_format("-", None) == "jsonl"
    assert formats.output_format("out.csv", "pretty") == "pretty"
    assert [formats.summary_format(p) for p in ("s.MD", "s.csv", "s.jsonl", "s")] == ["md", "csv", "jsonl", "jsonl"]
    assert [formats.annotation_tool(p) for p in ("x.json", "x.jsonl", "x.ndjson", "x.txt")] == \
        ["label-studio", "doccano", "doccano", None]


def test_a_new_input_format_is_one_line_in_the_registry(tmp_path, monkeypatch):
    (tmp_path / "a.rst").write_text(ARTICLE_TXT)
    (tmp_path / "b.md").write_text(ARTICLE_MD)
    opts = ReadOptions()
    assert [d.source for d in read_inputs([str(tmp_path)], opts)] == [str(tmp_path / "b.md")]  # .rst: not ours
    monkeypatch.setitem(formats.INPUTS, ".rst", "text")
    docs = list(read_inputs([str(tmp_path)], opts))
    assert [(d.source, d.fmt) for d in docs] == [(str(tmp_path / "a.rst"), "text"),
                                                 (str(tmp_path / "b.md"), "markdown")]
    assert ".rst" not in formats.named_inputs()  # help names one suffix per kind: .txt already names text


def test_a_folder_is_read_by_the_registry_from_the_shell(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.htm").write_text(f"<p>{ARTICLE_TXT}</p>")
    (folder / "b.markdown").write_text(ARTICLE_MD)
    (folder / "c.ndjson").write_text(json.dumps({"id": "row1", "text": ARTICLE_TXT}) + "\n")
    (folder / "d.pdf").write_bytes(b"%PDF-1.4")
    (folder / "e.rst").write_text(ARTICLE_TXT)
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(folder), "-o", str(out)]) == 0
    docs = {json.loads(line)["doc"] for line in out.read_text().splitlines()}
    assert docs == {str(folder / "a.htm"), str(folder / "b.markdown"), "row1"}
    err = capsys.readouterr().err
    assert "d.pdf: .pdf files are not read (policytag reads .txt, .md, .html, .jsonl and .csv)" in err
    assert "e.rst" not in err
