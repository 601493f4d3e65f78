"""The HTML view: structure, escaping, no external resources, the `tag --html` option, and a real browser."""
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest
from ecosystem_data import FAST, multi_label_data

from classifier import ThemeClassifier, load_codebook
from classifier.cli import main
from classifier.io.views import DocView, model_view, profile, render_html, source_of

EVIL = '<script>alert("pwned")</script><img src=x onerror="alert(1)">'
CODEBOOK = load_codebook()


class Page(HTMLParser):
    """Collects tags, classes and attributes so tests can count what a person would see."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def having(self, tag: str, cls: str | None = None) -> list[dict]:
        return [a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())]


def record(i, text, themes, section=None, **scores):
    base = {t: 0.01 for t in CODEBOOK.ids}
    base.update(scores)
    return {"paragraph": i, "section": section, "text": text, "themes": themes, "scores": base}


DOCS = [
    DocView("nato.txt", [record(0, "Germany will pay a third of the battery.", ["burden_sharing"], "Costs",
                                burden_sharing=0.91),
                         record(1, "Envoys met in Geneva; the navy patrolled.", ["negotiation_diplomacy",
                                "maritime_security"], "Talks", negotiation_diplomacy=0.8, maritime_security=0.7,
                                deterrence=0.4),
                         record(2, "Nothing much here.", [])], source="europe"),
    DocView(f"doc {EVIL}", [record(0, f"Text with {EVIL} inside & more.", ["deterrence"], section=EVIL,
                                   deterrence=0.66)], source=EVIL),
]
THRESHOLDS = {t: 0.5 for t in CODEBOOK.ids}


@pytest.fixture(scope="module")
def page():
    return render_html(DOCS, CODEBOOK, THRESHOLDS, title="Views test")


def test_page_structure(page):
    p = Page(page)
    assert len(p.having("article", "doc")) == 2
    assert len(p.having("div", "par")) == 4
    present = ["deterrence", "burden_sharing", "negotiation_diplomacy", "maritime_security"]
    assert [a["data-id"] for a in p.having("button", "f")] == [t for t in CODEBOOK.ids if t in present]
    assert len(p.having("table", "cmp")) == 2  # by source (two sources) and by document
    assert len(p.having("aside", "profile")) == 2
    chips = [a for a in p.having("span", "chip") if "sample" not in a["class"]]  # not the legend's samples
    assert sum("near" in a["class"] for a in chips) == 1  # deterrence 0.40 is within 0.15 below its threshold
    assert sum("none" in a["class"] for a in chips) == 1
    assert 'data-themes="t2"' in page and "Burden-sharing<b>0.91</b>" in page
    assert ">Costs<" in page and ">Talks<" in page


def test_every_piece_of_article_text_is_escaped(page):
    p = Page(page)
    assert len(p.having("script")) == 1  # only the page's own filter script
    assert not p.having("img")
    assert "alert(&quot;pwned&quot;)" in page and 'onerror="alert' not in page
    assert "&amp; more" in page


def test_the_page_is_self_contained(page):
    p = Page(page)
    for _, attrs in p.tags:
        for key in ("src", "href"):
            assert not str(attrs.get(key, "#")).startswith(("http:", "https:", "//")), attrs
    assert "@import" not in page and "url(" not in page


def test_profiles_and_sources():
    assert profile(DOCS[0].records, ["burden_sharing", "maritime_security", "deterrence"]) == \
        {"burden_sharing": 1 / 3, "maritime_security": 1 / 3, "deterrence": 0.0}
    assert source_of("data/asia/scs.txt") == "asia"
    assert source_of("feeds/wire.jsonl:12") == "wire.jsonl"
    assert source_of("<stdin>") == "<stdin>"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    texts, labels, groups = multi_label_data()
    with pytest.warns(UserWarning):
        model = ThemeClassifier(codebook=CODEBOOK, **FAST).fit(texts, labels, groups=groups)
    return model, str(model.save(tmp_path_factory.mktemp("views") / "model"))


@pytest.fixture(scope="module")
def tagged_page(saved_model, tmp_path_factory):
    """`policytag tag --html` on two folders of articles, one with hostile text."""
    root = tmp_path_factory.mktemp("articles")
    (root / "europe").mkdir()
    (root / "asia").mkdir()
    (root / "europe" / "nato.txt").write_text(
        "Costs\n\nGermany agreed to fund a third of the new air-defence battery while the Dutch cover crews.\n\n"
        "Allies argued late into the night over who should pay for the expanded eastern brigade.\n")
    (root / "asia" / "scs.txt").write_text(
        "Coast-guard cutters shadowed the survey ship for three days inside the disputed waters.\n\n"
        f"Envoys met for a second round of talks on a ceasefire line. {EVIL}\n")
    html_path = root / "page.html"
    assert main(["tag", str(root / "europe"), str(root / "asia"), "--model", saved_model[1], "-o",
                 str(root / "out.jsonl"), "--html", str(html_path), "-q"]) == 0
    return html_path


def test_tag_html_option_writes_the_view(tagged_page):
    text = tagged_page.read_text(encoding="utf-8")
    p = Page(text)
    assert len(p.having("article", "doc")) == 2 and len(p.having("div", "par")) == 4
    assert len(p.having("table", "cmp")) == 2 and len(p.having("script")) == 1 and not p.having("img")
    assert "Maritime security<b>" in text and "Burden-sharing<b>" in text


def test_model_view_uses_the_model_thresholds(saved_model):
    model = saved_model[0]
    records = model.tag_article("Envoys met for a second round of talks on a ceasefire line.")
    html = model_view(model, [DocView("one", records)])
    assert "Negotiation and diplomacy<b>" in html and "1 document, 1 paragraph, " in html
    assert "<title>policytag: 1 document</title>" in html  # the default title counts the documents


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _png_colors(data: bytes) -> int:
    """Distinct colours in an 8-bit RGB(A) PNG, read with zlib alone (no imaging library needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, width, height, kind = 8, b"", 0, 0, 0
    while pos < len(data):
        size, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if tag == b"IHDR":
            width, height, _, kind = struct.unpack(">IIBB", body[:10])
        elif tag == b"IDAT":
            chunks += body
        pos += 12 + size
    raw, bpp = zlib.decompress(chunks), 4 if kind == 6 else 3
    stride = width * bpp + 1
    seen, prev = set(), bytearray(width * bpp)
    for y in range(height):  # undo PNG row filters
        f, row = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                row[x] = (row[x] + a) & 255
            elif f == 2:
                row[x] = (row[x] + b) & 255
            elif f == 3:
                row[x] = (row[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 8 == 0:
            seen.update(bytes(row[i:i + 3]) for i in range(0, len(row), bpp * 4))
        prev = row
    return len(seen)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_chromium_renders_the_page_and_the_filter_works(tagged_page, tmp_path):
    shot = tmp_path / "view.png"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                          "--window-size=1400,1400", tagged_page.as_uri()], capture_output=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert _png_colors(shot.read_bytes()) > 20  # chips, heat map and text, not a blank page
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom",
                          tagged_page.as_uri() + "#themes=maritime_security"], capture_output=True, timeout=120,
                         text=True).stdout
    p = Page(dom)  # the DOM after the page's script ran with a filter from the URL
    shown = [a for a in p.having("div", "par") if "hidden" not in a["class"].split()]
    assert 1 <= len(shown) < 4 and all("t9" in a["data-themes"].split() for a in shown)
    assert [a for a in p.having("article", "doc") if "hidden" in a["class"].split()]  # Europe has no maritime paragraph
    assert [a for a in p.having("button", "f") if "on" in a["class"].split()][0]["data-id"] == "maritime_security"


def test_verbose_logs_to_stderr_and_no_progress_bar_off_a_terminal(saved_model, tmp_path, capsys):
    article = tmp_path / "a.txt"
    article.write_text("Envoys met for a second round of talks on a ceasefire line.\n")
    assert main(["tag", str(article), "--model", saved_model[1], "-o", str(tmp_path / "o.jsonl"), "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "policytag: INFO classifier.cli: model" in err
    assert f"DEBUG classifier.engines.run: {article}: 1 paragraphs" in err
    assert "doc/s" not in err and "\r" not in err  # stderr is not a terminal here: no progress bar
    assert main(["tag", str(article), "--model", saved_model[1], "-o", str(tmp_path / "o.jsonl"), "--force",
                 "-q"]) == 0
    assert "INFO" not in capsys.readouterr().err  # a later run without --verbose logs nothing


def test_filters_count_paragraphs_and_absent_themes_are_left_out(page):
    p = Page(page)
    counts = {a["data-id"]: page.split(f'data-id="{a["data-id"]}"', 1)[1].split('<span class="n">', 1)[1]
              .split("<", 1)[0] for a in p.having("button", "f")}
    assert counts == {"deterrence": "1", "burden_sharing": "1", "negotiation_diplomacy": "1", "maritime_security": "1"}
    assert len(p.having("th", "t")) == 2 * 4  # both heat maps: a column per present theme only
    assert "Strategic autonomy" not in page.split('<section class="panel legend"')[0]  # absent until the legend
    assert "4 of 12 themes (geopolitics) present" in page


def test_chips_go_strongest_first():
    rec = record(0, "Envoys met; the navy patrolled; the allies paid.", ["burden_sharing", "maritime_security",
                 "negotiation_diplomacy"], burden_sharing=0.55, maritime_security=0.93, negotiation_diplomacy=0.71)
    page = render_html([DocView("d", [rec])], CODEBOOK, THRESHOLDS)
    chips = page.split('<div class="chips">', 1)[1]
    assert chips.index("Maritime security<b>0.93") < chips.index("Negotiation and diplomacy<b>0.71") \
        < chips.index("Burden-sharing<b>0.55")


def test_paragraphs_are_numbered_as_in_the_pretty_output():
    from classifier.io.writers import pretty

    recs = [dict(record(i, f"Paragraph {i} of the talks.", ["deterrence"], deterrence=0.8), doc="d")
            for i in range(3)]
    page = render_html([DocView("d", recs)], CODEBOOK, THRESHOLDS)
    shown = [chunk.split("<", 1)[0] for chunk in page.split('<span class="pn">')[1:]]
    assert shown == ["¶0", "¶1", "¶2"]
    assert [line.split(":", 1)[0].strip() for line in pretty(recs).splitlines() if "¶" in line] == shown


def test_one_document_is_not_documents(saved_model, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text("Envoys met for a second round of talks on a ceasefire line.\n")
    page = tmp_path / "page.html"
    assert main(["tag", str(article), "--model", saved_model[1], "-o", str(tmp_path / "o.jsonl"), "--html", str(page),
                 "-q"]) == 0
    text = page.read_text(encoding="utf-8")
    assert "<title>policytag: 1 document</title>" in text and "<p>1 document, 1 paragraph, " in text
    assert "1 paragraph</small>" in text


def test_legend_explains_chips_and_lists_each_threshold(page):
    legend = page.split('<section class="panel legend"', 1)[1].split("</section>", 1)[0]
    assert "chip sample" in legend and "chip near sample" in legend and "at or above the theme's threshold" in legend
    thr = Page(legend.split('<div class="thr">', 1)[1])
    assert len(thr.having("i")) == len(CODEBOOK.ids)  # every theme's threshold, present or not
    assert legend.count("0.50</span>") == len(CODEBOOK.ids)
    assert len([a for a in thr.having("span") if a.get("class") == "absent"]) == len(CODEBOOK.ids) - 4
    assert 'title="Deterrence: 0.66 at or above its threshold 0.50"' in page
    single = render_html(DOCS[:1], CODEBOOK, None)  # no thresholds (single-label): no dashed chip to explain
    legend = single.split('<section class="panel legend"', 1)[1]
    assert "near sample" not in legend and "<details" not in legend


def dated(doc_id, date, themes_per_paragraph, **meta):
    meta = {"date": date, **meta} if date else meta
    return DocView(doc_id, [dict(record(i, f"Paragraph {i}.", themes, **{t: 0.9 for t in themes}), meta=meta)
                            for i, themes in enumerate(themes_per_paragraph)], source="wire.jsonl")


def test_titles_from_meta_with_the_full_source_on_hover():
    url = "https://example.org/2026/03/a-long-slug-about-air-defence-burden-sharing"
    doc = dated("feeds/wire.jsonl:7", "2026-03-04", [["burden_sharing"]], title="Allies split the bill",
                outlet="Example Wire", author="A. Writer", url=url)
    page = render_html([doc, DocView("plain.txt", [record(0, "Text.", [])])], CODEBOOK, THRESHOLDS)
    p = Page(page)
    heads = p.having("h2")
    assert {"title": f"feeds/wire.jsonl:7 · {url}"} in heads  # hover: where it came from, in full
    assert ">Allies split the bill<small>Example Wire · 2026-03-04 · A. Writer · wire.jsonl · 1 paragraph</small>" \
        in page
    assert '<a href="#doc-0">Allies split the bill</a>' in page and '<a href="#doc-1">plain.txt</a>' in page
    assert not [a for a in p.having("a") if a.get("href", "").startswith("http")]  # no link leaves the page
    assert 'id="timechart"' not in page  # one dated document: no chart


def test_theme_over_time_chart_shares_by_month():
    docs = [dated("a", "2026-01-10", [["deterrence"], []]),
            dated("b", "2026-01-28", [["deterrence", "burden_sharing"], ["burden_sharing"]]),
            dated("c", "2026-03", [["burden_sharing"]]),
            dated("d", "2025", [["deterrence"]]),  # a year alone has no month: left out, and said so
            dated("e", None, [["maritime_security"]])]  # on no dated paragraph: no panel
    page = render_html(docs, CODEBOOK, THRESHOLDS)
    chart = page.split('<section class="panel chart" id="timechart">', 1)[1].split("</section>", 1)[0]
    p = Page(chart)
    assert [a["data-theme"] for a in p.having("div", "sm")] == ["t0", "t2"]  # deterrence, burden-sharing
    assert "Maritime security" in page and "Maritime security" not in chart
    assert "Deterrence, 2026-01: 50% of 4 paragraphs in 2 documents" in chart
    assert "Burden-sharing, 2026-01: 50% of 4 paragraphs in 2 documents" in chart
    assert "Burden-sharing, 2026-03: 100% of 1 paragraph in 1 document" in chart
    assert "2026-02" not in chart.split("</p>", 1)[1]  # February had no document: no point, the line breaks
    assert not p.having("polyline") and len(p.having("circle")) == 2 * 2
    assert "from 3 dated documents" in chart and "2 documents without a month in its date not shown" in chart
    assert "every panel runs from 0 to 100%" in chart


def test_tag_a_dated_feed_shows_titles_and_the_time_chart(saved_model, tmp_path):
    """End to end: feed columns -> records' meta -> the page (needs the metadata readers, classifier.io.meta)."""
    pytest.importorskip("classifier.io.meta")
    import json

    rows = [("Ministers split the radar bill", "2026-03-04", "Harbour Gazette",
             "Germany agreed to fund a third of the new air-defence battery while the Dutch cover crews."),
            ("Cutters shadow the survey ship", "2026-04-11", "Northern Courier",
             "Coast-guard cutters shadowed the survey ship for three days inside the disputed waters.")]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"n{i}", "title": t, "date": d, "outlet": o, "text": x}) + "\n"
                            for i, (t, d, o, x) in enumerate(rows)))
    page = tmp_path / "page.html"
    assert main(["tag", str(feed), "--model", saved_model[1], "-o", str(tmp_path / "o.jsonl"), "--html", str(page),
                 "-q"]) == 0
    text = page.read_text(encoding="utf-8")
    assert ">Ministers split the radar bill<small>Harbour Gazette · 2026-03-04 · " in text
    assert '<a href="#doc-1">Cutters shadow the survey ship</a>' in text
    assert 'id="timechart"' in text and "2026-03 to 2026-04, from 2 dated documents" in text
