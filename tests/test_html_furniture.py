"""Web pages with the furniture real sites carry (live-blog feeds, time stamps, author cards, "most read" and
"read next" lists, JSON-LD metadata): what ``policytag tag`` reads from them. Pages in tests/data, by hand."""
import pytest
from helpers import DATA, read_jsonl

from classifier.cli import main
from classifier.io.meta import META_KEYS, html_meta, is_timestamp
from classifier.io.segment import split


def _texts(name: str) -> list[str]:
    return [p.text for p in split((DATA / name).read_text(encoding="utf-8"), "html")]


def test_every_update_of_a_live_blog_is_read_however_short_and_its_time_stamps_are_not():
    texts = _texts("live_blog_page.html")
    assert [t.split()[0] for t in texts] == ["Delegations", "Wheat", "Ukraine's", "Talks"]
    assert texts[3] == "Talks open in Istanbul."


def test_time_stamps_author_cards_and_buttons_are_not_article_text():
    texts = _texts("think_tank_page.html")
    assert [t.split()[0] for t in texts] == ["Commentary", "The", "Seven", "A"]
    texts = _texts("newspaper_page.html")
    assert [t.split()[0] for t in texts] == ["Estonia,", "The", '"No']


def test_most_read_and_read_next_lists_are_not_article_text():
    texts = " ".join(_texts("newspaper_page.html"))
    for teaser in ("Ferry operators", "Tallinn mayor", "cable repairs", "Finland to double", "About time"):
        assert teaser not in texts


def test_json_ld_gives_the_date_author_and_outlet_the_meta_tags_lack():
    page = (DATA / "think_tank_page.html").read_text(encoding="utf-8")
    assert html_meta(page, META_KEYS) == {"title": "Why the Arctic Council still matters", "date": "2026-02-09",
                                          "outlet": "Centre for Northern Security", "author": "Ingrid Lindahl"}
    live = html_meta((DATA / "live_blog_page.html").read_text(encoding="utf-8"), META_KEYS)
    assert live["author"] == "Selin Aydın, Mark Olsen" and live["date"] == "2026-05-14"  # not the WebPage's date
    only_ld = ('<script type="application/ld+json">[{"@type": "BlogPosting", "headline": "Fences", '
               '"datePublished": "2026-07-01", "author": "Ana Lim", "publisher": "Notebook"}]</script><p>Text.</p>')
    assert html_meta(only_ld, META_KEYS) == {"title": "Fences", "date": "2026-07-01", "outlet": "Notebook",
                                             "author": "Ana Lim"}
    broken = '<title>T</title><script type="application/ld+json">{"@type": "Article", "author": [</script>'
    assert html_meta(broken, META_KEYS) == {"title": "T"}


def test_meta_tags_still_come_before_json_ld():
    page = ('<head><meta name="author" content="Tag Author"><meta property="article:published_time" '
            'content="2026-01-02"><script type="application/ld+json">{"@type": "NewsArticle", "author": '
            '{"name": "Ld Author"}, "datePublished": "2026-09-09"}</script></head>')
    assert html_meta(page, ("date", "author")) == {"date": "2026-01-02", "author": "Tag Author"}


def test_what_reads_as_a_time_stamp():
    for stamp in ("11:40", "08:30 GMT", "9 February 2026", "Published April 2, 2026 9:10 AM GMT",
                  "Posted on March 3, 2026", "Updated: 2026-03-04 10:00 UTC", "Tuesday 4 March 2026, 14:05"):
        assert is_timestamp(stamp), stamp
    for text in ("Talks open in Istanbul.", "Updated 11:40 · Edited by Selin Aydın", "March 2026 was cold.",
                 "2026", "Attack 12:05", "Only 9 March 2026",
                 "On 4 March 2026 the ministers met in Riga to sign the patrol agreement.", ""):
        assert not is_timestamp(text), text


def test_a_figure_alone_on_a_line_is_not_a_time_stamp():
    """"12.50", "$12.50" and "3.25%" read as the clock time 12.50 (any two numbers around a dot did, and a
    currency or percent sign passed as punctuation), so a stat block's figure was dropped as a time stamp."""
    for figure in ("12.50", "$12.50", "3.25%", "£3.20", "0.25", "-4.20", "14.00", "12.75", "2,400", "$1.2bn",
                   "12%", "1,312.50", "Last 12.50", "At 12.50", "12.50 pt", "24:59"):
        assert not is_timestamp(figure), figure
    for stamp in ("Updated 10.30 BST", "10.30am", "10.30 a.m.", "posted at 14.05", "Monday 10.30",
                  "12 March 2026 10.30", "23:59"):
        assert is_timestamp(stamp), stamp


def test_a_stat_blocks_figure_is_read_while_the_time_stamp_beside_it_is_not():
    page = """<html><body><article><h1>Central bank lifts its deposit rate again</h1>
    <div class="article-meta"><span>Updated 10.30 BST</span></div>
    <p>The central bank raised its deposit rate for the third time this year on Thursday, saying that the cost
    of imported energy and a weak currency were still pushing prices up faster than its board had expected.</p>
    <div class="stat-block"><div class="stat-figure">3.25%</div><div class="stat-label">the new deposit rate,
    the highest since the bank was given its independence</div></div>
    <p>Economists had expected the increase, but several said the board's statement left the door open to a
    fourth rise before the end of the year if wage settlements in the spring come in above inflation.</p>
    <div class="stat-block"><div class="stat-figure">12.50</div></div>
    </article></body></html>"""
    texts = [p.text for p in split(page, "html")]
    assert texts[1] == "3.25%" and texts[-1] == "12.50" and len(texts) == 5
    assert not any("10.30" in t for t in texts)


def test_tag_reads_a_live_blog_page_with_its_json_ld_author(tmp_path):
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(DATA / "live_blog_page.html"), "-o", str(out)]) == 0
    records = read_jsonl(out)
    assert [r["text"].split()[0] for r in records] == ["Delegations", "Wheat", "Ukraine's", "Talks"]
    assert records[0]["meta"]["author"] == "Selin Aydın, Mark Olsen"


def test_classes_of_the_page_itself_do_not_make_it_furniture():
    story = "<p>Ministers met in Vilnius to discuss the rotation of the allied brigade.</p>"
    page = (f'<html class="js"><body class="single author-jane has-sidebar"><main class="main-sidebar">{story}'
            '<div class="author-bio"><p>Jane writes about the Baltics.</p></div></main></body></html>')
    assert [p.text for p in split(page, "html")] == [story[3:-4]]


def test_link_lists_footers_pull_quotes_and_paywall_prompts_are_not_article_text():
    texts = _texts("magazine_page.html")
    assert [t.split()[0] for t in texts] == ["Three", "Tehran's", "Washington,"]
    texts = _texts("regional_page.html")  # no <article>, <main>, <nav> or <footer> on this page
    assert [t.split()[0] for t in texts] == ["Trucks", "Traders"]


def test_microdata_and_a_date_element_give_metadata():
    page = (DATA / "magazine_page.html").read_text(encoding="utf-8")
    assert html_meta(page, META_KEYS) == {"title": "The long road back to the Iran talks", "date": "2026-06-03",
                                          "author": "Leila Karimi"}
    page = (DATA / "regional_page.html").read_text(encoding="utf-8")
    assert html_meta(page, ("date",)) == {"date": "2026-03-14"}


def test_an_article_filed_under_a_topic_named_like_furniture_is_still_read():
    # WordPress names each post's categories and tags in its <article>'s classes; "Comment" is an opinion section
    body = "".join(f"<p>Paragraph {i}: allies argue over who pays for the new air defence plan.</p>" for i in range(4))
    after = "<div><p>Our reporting on defence is funded by readers like you.</p></div>"
    for tag, classes in [("article", "post category-comment"), ("article", "post tag-trending"),
                         ("div", "post-7 post type-post hentry tag-social-media tag-paywall")]:
        page = f'<html><body><{tag} class="{classes}"><h1>Talks stall</h1>{body}</{tag}>{after}</body></html>'
        texts = [p.text for p in split(page, "html")]
        assert [t.split(":")[0] for t in texts][:4] == [f"Paragraph {i}" for i in range(4)], classes
    menu = '<div class="category-nav"><p>Defence, security and the alliances that hold them together.</p></div>'
    assert not any("alliances" in p.text for p in split(f"<html><body>{menu}<div>{body}</div></body></html>", "html"))


# -- story bodies inside "paywall" / "read more" containers ----------------------------------------------------
STORY = [
    "The regional assembly voted on Tuesday to extend the fishing ban in the northern estuary for another three "
    "years, after scientists told members that the cod population had recovered by less than a third of what the "
    "original plan had promised when the ban began.",
    "Boat owners in the three harbour towns had lobbied hard for a partial reopening, arguing that the "
    "compensation scheme paid for idle vessels but not for the processing plants, ice suppliers and repair yards "
    "that depend on the catch being landed locally.",
    "The fisheries minister said the assembly would double the fund for the towns' onshore businesses and pay "
    "for a retraining programme, but she refused to set a date for reopening the estuary until two consecutive "
    "surveys show the spawning stock above the agreed limit.",
    "Opposition members called the vote a betrayal of coastal communities and accused the government of hiding "
    "behind scientific advice that the industry's own surveys contradict, while environmental groups said the "
    "extension was the least the evidence demanded.",
    "A review of the compensation scheme is due in the autumn, and the minister said it would look at whether "
    "payments could follow the crews rather than the boats, after complaints that owners kept the money while "
    "deckhands moved away to find other work.",
]
PROMPT = ('<div class="paywall-message"><p>Subscribe to continue reading</p>'
          '<a class="button" href="/subscribe">Subscribe now</a></div>')
READ_MORE_LIST = ('<div class="read-more"><h3>Read more</h3><ul>'
                  '<li><a href="/a">Harbour town fears for its last processing plant</a></li>'
                  '<li><a href="/b">Scientists split over cod recovery figures</a> <span>4 min read</span></li>'
                  '<li><a href="/c">Minister defends the estuary plan</a></li></ul></div>')


def _paragraphs(texts: list[str]) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def _page(body: str) -> str:
    return (f"<html><head><title>Estuary ban extended</title></head><body><header><a href='/'>The Coast Herald</a>"
            f"</header><article><h1>Estuary fishing ban extended for three years</h1>{body}</article>"
            f"{READ_MORE_LIST}</body></html>")


@pytest.mark.parametrize("body", [
    f'<div class="paywall">{_paragraphs(STORY)}</div>{PROMPT}',
    f'<section class="article-body paywall-content">{_paragraphs(STORY)}{PROMPT}</section>',
    f'{_paragraphs(STORY[:2])}<div id="readmore-content">{_paragraphs(STORY[2:])}</div>',
    f'{_paragraphs(STORY[:2])}<div class="read-more-wrapper">{_paragraphs(STORY[2:])}'
    '<button class="read-more-toggle">Read more</button></div>' + READ_MORE_LIST,
    f'<div class="meteredContent">{_paragraphs(STORY)}</div>{PROMPT}',
    f'<div id="paywall-root"><div class="paywall">{_paragraphs(STORY[:4])}{PROMPT}</div>'
    f'<div class="paywall">{_paragraphs(STORY[4:])}</div></div>',  # nested, the prompt inside the story's wrapper
], ids=["paywall", "paywall-content", "readmore-content", "read-more-wrapper", "meteredContent", "nested"])
def test_a_story_body_inside_a_paywall_or_read_more_container_is_read(body):
    """Sites wrap the story itself in containers named like furniture: <div class="paywall"> around a metered
    body, a "read more" expander holding the rest of the story. Such a page lost its body (or all of it)."""
    pars = split(_page(body), "html")
    assert [p.text for p in pars] == STORY
    assert pars[0].section == "Estuary fishing ban extended for three years"


@pytest.mark.parametrize("furniture", [
    PROMPT,
    '<div id="paywall"><p>You have reached your limit of free articles this month.</p><p>Already a subscriber? '
    '<a href="/login">Log in</a></p></div>',
    READ_MORE_LIST,
    '<section class="readmore"><h3>Read more</h3><p><a href="/a">Harbour town fears for its plant</a></p>'
    '<p>The last processing plant in the bay may close by spring.</p><p><a href="/b">Cod figures disputed</a></p>'
    '<p>Two surveys, two very different counts of the spawning stock.</p></section>',
    '<div class="paywall-offer"><h2>Keep reading for one pound a week</h2><p>You have reached the limit of '
    'three free articles this month. Subscribe today for unlimited access to our reporting, the morning briefing '
    'and the archive. Cancel at any time.</p><a href="/subscribe">See offers</a></div>',
])
def test_paywall_prompts_and_read_more_lists_are_still_dropped(furniture):
    pars = split(_page(_paragraphs(STORY[:3]) + furniture + _paragraphs(STORY[3:])), "html")
    assert [p.text for p in pars] == STORY


def test_tag_reads_a_metered_page_body_and_not_its_prompt(tmp_path):
    page = tmp_path / "estuary.html"
    page.write_text(_page(f'<div class="paywall">{_paragraphs(STORY)}</div>{PROMPT}'), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(page), "-o", str(out), "-q"]) == 0
    assert [r["text"] for r in read_jsonl(out)] == STORY
