"""The extractor benchmark's pages through policytag's HTML reader: a floor under what ``tag`` gets from web pages
with furniture (figures from ``python benchmarks/extractors.py``; trafilatura is not needed here)."""
import html
import importlib.util
import sys

from helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "extractors.py"
PAGES = 18  # two pages of each of the nine templates
# measured on these 18 pages (seed 7): paragraph F1 0.918, recall 1.0; title 14/18, date 16/18, author 16/18
# (before the reader's changes of 2026-12-07: F1 0.730, recall 0.964, date 8/18, author 10/18)
MIN_F1, MIN_RECALL, MIN_TITLE, MIN_DATE, MIN_AUTHOR = 0.88, 0.99, 14, 15, 15


def _bench():
    spec = importlib.util.spec_from_file_location("extractors_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_pages_are_built_the_same_every_time_with_their_gold():
    bench = _bench()
    first, again = bench.build_pages(PAGES, seed=7), bench.build_pages(PAGES, seed=7)
    assert [p.html for p in first] == [p.html for p in again]
    assert {p.template for p in first} == set(bench.TEMPLATES)
    for page in first:
        text = bench.norm(html.unescape(page.html))
        assert page.paragraphs and all(bench.norm(p) in text for p in page.paragraphs)
        assert page.meta["title"] and page.meta["date"]


def test_policytag_reads_the_article_and_its_metadata_from_pages_with_furniture(tmp_path):
    bench = _bench()
    pages = bench.build_pages(PAGES, seed=7)
    bench.write_pages(pages, tmp_path)
    score = bench.measure(bench.policytag_extract, pages, tmp_path, rounds=1)
    precision, recall, f1 = score.f1()
    assert f1 >= MIN_F1 and recall >= MIN_RECALL, (precision, recall, score.kept_furniture, score.lost)
    assert score.meta["title"] >= MIN_TITLE and score.meta["date"] >= MIN_DATE, score.meta
    assert score.meta["author"] >= MIN_AUTHOR, score.meta


def test_scoring_counts_furniture_kept_and_paragraphs_run_together():
    bench = _bench()
    page = bench.Page("p", "wire", "", ["First paragraph here.", "Second one."], ["Title"],
                      {"title": "Title", "date": "2026-01-02", "author": "Ana Lim and Bo Li", "outlet": "X"})
    score = bench.Score()
    bench.score_page(score, page, ["Title", "first  paragraph here", "Second one. Share this", "Cookies."],
                     {"title": "title", "date": "2026-01-02T10:00", "author": "Bo Li; Ana Lim"})
    assert (score.tp, score.fp, score.fn) == (1, 2, 1)
    assert score.meta == {"title": 1, "date": 1, "author": 1, "outlet": 0}


def test_without_trafilatura_the_benchmark_measures_policytag_alone(monkeypatch):
    bench = _bench()
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # import trafilatura now raises ImportError
    found, missing = bench.extractors()
    assert list(found) == ["policytag"] and "pip install trafilatura" in missing
