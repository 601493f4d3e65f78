"""Article metadata: from feed columns, front matter and HTML into records (``meta``) and grouped summaries."""
import csv

import pytest
from helpers import DATA, ROOT, read_jsonl

from classifier.cli import main
from classifier.io.meta import META_KEYS, html_meta, parse_date, parse_meta_fields
from classifier.records import from_row, to_row

FEED = DATA / "feed.jsonl"


@pytest.mark.parametrize("value, iso", [
    ("2026-03-04", "2026-03-04"), ("2026-03-04T10:00:00Z", "2026-03-04"),
    ("2026-03-04T23:30:00-05:00", "2026-03-04"),  # the day written, not moved to UTC
    ("Wed, 04 Mar 2026 10:00:00 +0000", "2026-03-04"), ("12 March 2026", "2026-03-12"),
    ("March 12, 2026", "2026-03-12"), ("Sept. 3rd, 2025", "2025-09-03"), ("Mar 2026", "2026-03"),
    ("2026-03", "2026-03"), ("2026", "2026"), (2026, "2026"), ("25/03/2026", "2026-03-25"),
    ("03/25/2026", "2026-03-25"), ("04.04.2026", "2026-04-04"),
    ("03/04/2026", None), ("04/03/2026", None),  # March 4th or April 3rd: never guessed
    ("2026-02-30", None), ("soon", None), ("", None), (None, None), (True, None),
])
def test_one_date_parser_reads_feed_dates_and_never_guesses_day_month_order(value, iso):
    assert parse_date(value) == iso


def test_html_metadata_from_meta_tags_time_canonical_and_byline():
    page = """<html><head><title>Shoal standoff drags on | Northern Courier</title>
    <meta property="og:site_name" content="Northern Courier">
    <link rel="canonical" href="https://courier.example/shoal"></head>
    <body><article><h1>Shoal standoff drags on</h1>
    <p class="article__author">By Tomas Reyes, Manila · Updated 9 April 2026</p>
    <time datetime="2026-04-08T21:00:00+08:00">8 April</time>
    <p>Two cutters stayed near the reef for a fourth night.</p></article></body></html>"""
    assert html_meta(page, META_KEYS) == {"title": "Shoal standoff drags on", "date": "2026-04-08",
                                          "outlet": "Northern Courier", "author": "Tomas Reyes",
                                          "url": "https://courier.example/shoal"}
    tagged = """<head><meta property="og:title" content="Envoys meet"><meta name="author" content="Ana Lim">
    <meta property="article:published_time" content="2026-03-18T08:30:00Z"><title>x</title></head>"""
    assert html_meta(tagged, ("title", "date", "author")) == {"title": "Envoys meet", "date": "2026-03-18",
                                                              "author": "Ana Lim"}
    assert html_meta(tagged, ("date",)) == {"date": "2026-03-18"}
    assert html_meta("<p>No head, no byline.</p>", META_KEYS) == {}


def test_meta_travels_through_arrow_rows_as_json_text():
    record = {"doc": "d", "doc_sha": "s", "paragraph": 0, "section": None, "text": "t", "themes": [],
              "scores": {"a": 0.1}, "meta": {"title": "Ümlaut", "date": "2026-03"}}
    row = to_row(record)
    assert row["meta"] == '{"title": "Ümlaut", "date": "2026-03"}' and row["evidence"] is None
    assert from_row({**row, "error": None}) == record
    assert "meta" not in from_row({**row, "meta": None})


def test_meta_fields_are_checked():
    assert parse_meta_fields("title, date=published") == (("title", "title"), ("date", "published"))
    assert parse_meta_fields("none") == ()
    with pytest.raises(Exception, match="unknown field 'headline'"):
        parse_meta_fields("headline")


def test_a_jsonl_feed_gives_records_with_meta_and_a_summary_by_outlet_and_month(tmp_path, capsys):
    out, by_group, per_doc = tmp_path / "tags.jsonl", tmp_path / "profile.csv", tmp_path / "docs.md"
    assert main(["tag", str(FEED), "-o", str(out), "--summary", str(by_group), "--summary-by", "outlet,month"]) == 0
    err = capsys.readouterr().err
    assert f"{FEED}:5: date '03/04/2026' is not a date policytag reads" in err  # said, and left out
    records = read_jsonl(out)
    meta = {r["doc"]: r.get("meta") for r in records}
    assert meta["hg-1"] == {"title": "Ministers agree who pays for the coastal radar chain", "date": "2026-03-04",
                            "outlet": "The Harbour Gazette", "author": "Mira Solberg",
                            "url": "https://gazette.example/radar-chain"}
    assert meta["hg-2"]["date"] == "2026-03-18" and meta["nc-1"]["author"] == "Tomas Reyes, Ana Lim"
    assert meta["nc-2"] == {"title": "A shoal, two cutters and a water cannon", "outlet": "Northern Courier"}
    assert all(list(r)[-1] == "meta" for r in records)

    rows = list(csv.DictReader(by_group.open()))
    groups = [(r["outlet"], r["month"]) for r in rows]
    assert groups == [("Northern Courier", "2026-04"), ("Northern Courier", "(unknown)"),
                      ("The Harbour Gazette", "2026-03"), ("The Harbour Gazette", "2026-04"),
                      ("(unknown)", "2026-03")]
    for row in rows:  # each group's profile is its records' share of paragraphs per theme
        mine = [r for r in records if (r["meta"].get("outlet", "(unknown)"),
                                       r["meta"].get("date", "(unknown)")[:7] if "date" in r["meta"] else "(unknown)")
                == (row["outlet"], row["month"])]
        assert int(row["paragraphs"]) == len(mine) and int(row["documents"]) == len({r["doc"] for r in mine})
        for theme in records[0]["scores"]:
            share = sum(theme in r["themes"] for r in mine) / len(mine)
            assert float(row[theme]) == pytest.approx(share, abs=1e-4)
    assert sum(int(r["paragraphs"]) for r in rows) == len(records)

    assert main(["tag", str(FEED), "-o", str(tmp_path / "t2.jsonl"), "--summary", str(per_doc), "-q"]) == 0
    lines = per_doc.read_text().splitlines()
    assert lines[0].startswith("| document | title | date | outlet | author | url | paragraphs |")
    assert "| hg-2 | Envoys trade ceasefire maps in Geneva | 2026-03-18 | The Harbour Gazette | Mira Solberg |  | 2 |" \
        in lines[3]


def test_summary_by_month_in_jsonl_and_meta_fields_mapping_and_none(tmp_path):
    feed = tmp_path / "feed.csv"
    with feed.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "headline", "published", "text"])
        w.writerow(["a", "Radar bill settled", "12 March 2026", "Germany will fund forty percent of the radar chain."])
        w.writerow(["b", "Talks resume", "2026", "Envoys met in Geneva to exchange draft ceasefire maps."])
    out, summary = tmp_path / "t.jsonl", tmp_path / "s.jsonl"
    assert main(["tag", str(feed), "-o", str(out), "--meta-fields", "title=headline,date=published",
                 "--summary", str(summary), "--summary-by", "month", "-q"]) == 0
    assert [r["meta"] for r in read_jsonl(out)] == [{"title": "Radar bill settled", "date": "2026-03-12"},
                                                    {"title": "Talks resume", "date": "2026"}]
    groups = read_jsonl(summary)
    assert [(g["month"], g["documents"], g["paragraphs"]) for g in groups] == [("2026-03", 1, 1),
                                                                              ("(unknown)", 1, 1)]
    assert set(groups[0]["shares"]) == set(read_jsonl(out)[0]["scores"])

    assert main(["tag", str(FEED), "-o", str(out), "--force", "--meta-fields", "none", "-q"]) == 0
    assert not any("meta" in r for r in read_jsonl(out))


def test_summary_by_usage_errors_come_before_any_work(tmp_path, capsys):
    out = tmp_path / "t.jsonl"
    assert main(["tag", str(FEED), "-o", str(out), "--summary-by", "outlet"]) == 2
    assert "--summary-by needs --summary FILE" in capsys.readouterr().err
    assert main(["tag", str(FEED), "-o", str(out), "--summary", str(tmp_path / "s.md"), "--summary-by", "year"]) == 2
    assert "--summary-by: 'year' is not one of outlet, month or outlet,month" in capsys.readouterr().err
    assert main(["tag", str(FEED), "-o", str(out), "--resume", "--summary", str(tmp_path / "s.md"),
                 "--summary-by", "outlet"]) == 2
    assert "cannot continue a summary with --resume" in capsys.readouterr().err
    assert main(["tag", str(FEED), "-o", str(out), "--meta-fields", "title,byline"]) == 2
    assert "--meta-fields: unknown field 'byline'" in capsys.readouterr().err
    assert not out.exists()


def test_markdown_front_matter_is_metadata_not_tagged_text(tmp_path):
    article = tmp_path / "note.md"
    article.write_text("---\ntitle: Radar bill settled\ndate: 2026-03-12\nauthor: [Mira Solberg, Ana Lim]\n"
                       "publisher: The Harbour Gazette\n---\n\n# Radar bill settled\n\n"
                       "Germany will fund forty percent of the radar chain, and Norway pays the rest.\n")
    out = tmp_path / "t.jsonl"
    assert main(["tag", str(article), "-o", str(out), "-q"]) == 0
    records = read_jsonl(out)
    assert [r["text"] for r in records] == [
        "Germany will fund forty percent of the radar chain, and Norway pays the rest."]
    assert records[0]["section"] == "Radar bill settled"
    assert records[0]["meta"] == {"title": "Radar bill settled", "date": "2026-03-12",
                                  "outlet": "The Harbour Gazette", "author": "Mira Solberg, Ana Lim"}


def test_a_rule_at_the_top_of_markdown_is_not_front_matter():
    from classifier.io.segment import split_markdown
    text = "---\nThe envoys met again in Geneva on Tuesday.\n---\n\nA second paragraph follows here.\n"
    assert [p.text for p in split_markdown(text)][-1] == "A second paragraph follows here."
    assert any("envoys met again" in p.text or "envoys met again" in (p.section or "") for p in split_markdown(text))


def test_pinned_news_page_carries_its_title_date_and_byline_author():
    records = read_jsonl(ROOT / "tests" / "data" / "pinned" / "records.jsonl")
    page = [r for r in records if r["doc"].endswith("news_page.html")]
    assert page and all(r["meta"] == {"title": "Allies split the bill for Baltic air defence",
                                      "date": "2026-03-12", "author": "Jane Doe"} for r in page)
    assert not any("meta" in r for r in records if r["doc"].endswith("article.md"))


@pytest.mark.parametrize("title, h1, expected", [
    ("Talks resume in Geneva after a week | Wire Today", "Talks resume in Geneva after a week",
     "Talks resume in Geneva after a week"),                       # the site's name after the headline goes
    ("Talks resume in Geneva after a week \u2014 a long read", "Talks resume in Geneva after a week",
     "Talks resume in Geneva after a week"),
    ("Short | X", "Short", "Short | X"),                            # too short a headline to trust
    ("Analysis: talks resume in Geneva", "Talks resume in Geneva", "Analysis: talks resume in Geneva"),
    # a site whose <h1> is its logo and whose <title> puts its name first: the headline is the rest, so the
    # title stays whole rather than becoming the site's name
    ("The Daily Ledger - Talks resume in Geneva after a week", "The Daily Ledger",
     "The Daily Ledger - Talks resume in Geneva after a week"),
])
def test_a_title_that_is_the_h1_plus_a_site_name_gives_the_headline(title, h1, expected):
    page = f"<html><head><title>{title}</title></head><body><article><h1>{h1}</h1><p>Text.</p></article></body></html>"
    assert html_meta(page, ["title"]) == {"title": expected}


def test_hostile_json_ld_costs_only_itself_not_the_pages_other_metadata():
    deep = "[" * 900 + '"Jane Roe"' + "]" * 900  # json.loads reads it; walking it must not recurse per level
    page = ('<html><head><meta property="og:title" content="Baltic air defence bill split">'
            '<script type="application/ld+json">{"@type": "NewsArticle", "author": ' + deep + ', '
            '"datePublished": "2026-03-12"}</script></head><body><p>Text.</p></body></html>')
    assert html_meta(page, ["title", "date", "author"]) == {"title": "Baltic air defence bill split",
                                                            "date": "2026-03-12"}


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_json_ld_headline_that_is_not_a_number_is_no_title(value):
    page = ('<html><head><title>Talks resume in Geneva</title><script type="application/ld+json">'
            '{"@type": "NewsArticle", "headline": ' + value + '}</script></head><body><p>Text.</p></body></html>')
    assert html_meta(page, ["title"]) == {"title": "Talks resume in Geneva"}


def test_a_page_of_tiny_text_nodes_under_unclosed_bylines_gives_no_megabyte_metadata():
    # elements opened and never closed read to the end of the page; the reader keeps a running count of their
    # text (it re-summed it per node before: quadratic; measured in the closing notes, not timed here)
    nodes = "<i>a</i>" * 100_000
    hostile = '<div class="byline"><div class="date"><div itemprop="author"><h1>' + nodes + "<p>Text.</p>"
    meta = html_meta(hostile, ["title", "date", "author"])
    assert all(len(str(v)) < 500 for v in meta.values())


