"""Property-based: the segmenter and readers take arbitrary text and bytes without crashing or losing text."""
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.errors import InputError
from classifier.io.readers import Document, ReadOptions, read_file
from classifier.io.segment import _CONTROL, split

WORD = re.compile(r"\S+")
texty = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
lines = st.lists(st.one_of(st.just(""), st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zl", "Zp")),
                                                max_size=80)), max_size=12).map("\n".join)


def words(s: str) -> set[str]:
    return set(WORD.findall(_CONTROL.sub(" ", s)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(texty, lines))
def test_plain_text_segmentation_loses_no_word(text):
    pars = split(text)
    kept = {w for p in pars for w in words(p.text) | words(p.section or "")}
    assert kept - {"—"} == words(text) - {"—"}  # "—" joins a title to its section heading
    assert all(p.text.strip() for p in pars)
    assert [p.index for p in pars] == list(range(len(pars)))


@settings(max_examples=200, deadline=None)
@given(st.one_of(texty, lines))
def test_markdown_and_html_never_crash(text):
    for fmt in ("markdown", "html"):
        for p in split(text, fmt):
            assert p.text.strip()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=12),
                min_size=1, max_size=30))
def test_html_paragraph_text_is_kept(tokens):
    text = " ".join(tokens) + "."
    pars = split(f"<html><body><p>{text}</p></body></html>", "html")
    assert words(" ".join(p.text for p in pars)) == words(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".txt", ".md", ".html", ".jsonl", ".csv"]))
def test_readers_never_raise_on_arbitrary_bytes(tmp_path, data, suffix):
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    items = list(read_file(path, ReadOptions()))
    assert items and all(isinstance(i, (Document, InputError)) for i in items)
    for item in items:
        if isinstance(item, InputError):
            assert str(item).startswith(str(path))
            assert "\n" not in str(item)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.dictionaries(st.sampled_from(["id", "text", "x"]), st.one_of(texty, st.integers())),
                          st.integers(), texty), max_size=8))
def test_jsonl_reader_accounts_for_every_line(tmp_path, objs):
    path = tmp_path / "in.jsonl"
    body = "\n".join(json.dumps(o) for o in objs)
    path.write_text(body + "\n")
    items = list(read_file(path, ReadOptions()))
    nonblank = [line for line in body.splitlines() if line.strip()]
    assert len(items) == max(1, len(nonblank))
