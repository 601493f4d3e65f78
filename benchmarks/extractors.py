"""Article extraction from web pages: policytag's HTML reader against trafilatura, on pages with furniture.

    python benchmarks/extractors.py            # 45 pages; writes the table into benchmarks/README.md
    python benchmarks/extractors.py --pages 10 --no-readme

The pages are built here, deterministically (seeded), in several site templates (a wire service, a think tank, a
newspaper with a comment thread, a live blog, a WordPress-style blog), each with the furniture such sites carry:
navigation, cookie banners, share bars, related and "most read" link lists, newsletter boxes, comments, footers,
captions, bylines, <time>, Open Graph and author <meta>, JSON-LD, ad slots. Their article text is whole articles of
the test split of ``corpora/geopolitics_v2``, so the gold paragraphs and metadata are known.

policytag is measured through the functions ``policytag tag`` uses (:func:`classifier.io.readers.read_inputs` on
the page files, then :func:`classifier.engines.local.paragraphs_of`), so the figures are what users get.
trafilatura is measured for comparison only (``pip install trafilatura``); it is no dependency of policytag.
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import platform
import random
import re
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "corpora" / "geopolitics_v2" / "paragraphs.jsonl"
README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- extractors:start -->", "<!-- extractors:end -->"
META_FIELDS = ("title", "date", "author", "outlet")
# corpus paragraphs that are themselves page furniture (bylines, captions, link teasers, credit lines): the
# templates render their own, so these are neither on the page nor in the gold
_CORPUS_FURNITURE = re.compile(r"^\(?(?:By |Photo:|Read more:|Reporting by|Additional reporting)", re.I)

FIRST = ["Amira", "Jonas", "Priya", "Mateo", "Ingrid", "Kwame", "Leila", "Tomasz", "Hana", "Diego", "Sofia",
         "Rahul", "Elena", "Yusuf", "Claire", "Kenji", "Marta", "Olu", "Anneke", "Farid"]
LAST = ["Haddad", "Bergström", "Raman", "Quiroga", "Lindahl", "Mensah", "Karimi", "Nowak", "Sato", "Ferreira",
        "Conti", "Iyer", "Popescu", "Demir", "Fontaine", "Okafor", "Kowalczyk", "Brennan", "de Vries", "Aziz"]
TEASERS = ["What the new sanctions package means for shipping", "Five questions about the ceasefire talks",
           "Inside the race to rebuild air defences", "Why grain exports are rising again",
           "The quiet diplomacy behind the summit", "Explainer: how the alliance splits its costs",
           "Markets shrug off the tariff threat", "Opinion: the case for a slower rearmament",
           "Drone strikes hit energy grid overnight", "Who pays for the new frontier fence?"]


@dataclass
class Page:
    """A built page and its gold: the article's paragraphs and metadata, and its neutral text: title, section
    headings and summaries (a standfirst, key takeaways) that an extractor may keep or drop without penalty."""

    name: str
    template: str
    html: str
    paragraphs: list[str]
    neutral: list[str]
    meta: dict[str, str]
    article_id: str = ""


@dataclass
class _Article:
    id: str
    title: str
    blocks: list[tuple[str | None, str]]  # (section, text)
    authors: list[str]
    date: dt.datetime
    rng: random.Random = field(repr=False, default_factory=random.Random)

    @property
    def author(self) -> str:
        return " and ".join(self.authors)


def test_articles(path: Path = CORPUS) -> list[tuple[str, str, list[tuple[str | None, str]]]]:
    """Whole articles of the test split, in corpus order: (id, title, [(section, text)])."""
    rows: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("split") == "test":
            rows[row["article_id"]].append(row)
    out = []
    for aid, rs in rows.items():
        rs.sort(key=lambda r: r["paragraph"])
        blocks = [(r.get("section"), r["text"]) for r in rs if not _CORPUS_FURNITURE.match(r["text"].strip())]
        if len(blocks) >= 3:
            out.append((aid, rs[0]["title"], blocks))
    return out


# -- page pieces ------------------------------------------------------------------------------------------------
def e(text: str) -> str:
    return html.escape(text, quote=True)


def summary(blocks: Sequence[tuple[str | None, str]]) -> str:
    """The standfirst or key takeaway a template shows above the article: its first sentence."""
    return blocks[0][1].split(". ")[0] + "."


def _links(rng: random.Random, n: int) -> str:
    return "".join(f'<li><a href="/story/{rng.randrange(10**6)}">{e(t)}</a></li>' for t in rng.sample(TEASERS, n))


def _json_ld(kind: str, a: _Article, outlet: str) -> str:
    data = {"@context": "https://schema.org", "@type": kind, "headline": a.title,
            "datePublished": a.date.isoformat(), "author": [{"@type": "Person", "name": n} for n in a.authors],
            "publisher": {"@type": "Organization", "name": outlet}}
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def _body(a: _Article, para: Callable[[int, str], str], heading: str = "h2") -> str:
    """The article's paragraphs, a heading where its section changes."""
    out, section = [], None
    for i, (sec, text) in enumerate(a.blocks):
        if sec and sec != section:
            out.append(f"<{heading}>{e(sec)}</{heading}>")
        section = sec
        out.append(para(i, text))
    return "\n".join(out)


COOKIE_TEXT = ("We and our partners use cookies and similar technologies to personalise content and ads and to "
               "analyse our traffic. You can change your choices at any time in the privacy centre.")
NEWSLETTER_TEXT = "Get the morning briefing: the day's essential stories, in your inbox before breakfast."


def wire(a: _Article) -> str:
    """A wire service: OneTrust cookie banner, top navigation, byline and <time>, ad slots between paragraphs,
    a "Read next" list, share bar, footer; Open Graph and JSON-LD in the head."""
    r, outlet = a.rng, "Meridian Wire"
    ad = '<div class="ad-slot" data-ad="mid"><span>Advertisement · Scroll to continue</span></div>'
    body = _body(a, lambda i, t: f'<p data-testid="paragraph-{i}">{e(t)}</p>' + (ad if i == 2 else ""))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{e(a.title)} | {outlet}</title>
<meta property="og:title" content="{e(a.title)}"><meta property="og:site_name" content="{outlet}">
<meta property="og:type" content="article"><meta property="article:published_time" content="{a.date.isoformat()}Z">
<link rel="canonical" href="https://meridianwire.example/world/{a.id}">{_json_ld("NewsArticle", a, outlet)}
</head><body>
<div id="onetrust-banner-sdk"><div class="ot-sdk-container"><p>{COOKIE_TEXT}</p>
<button>Accept all</button><button>Reject all</button></div></div>
<header class="site-header"><nav><ul><li><a href="/world">World</a></li><li><a href="/business">Business</a></li>
<li><a href="/markets">Markets</a></li></ul></nav></header>
<main id="main-content"><article>
<h1 data-testid="Heading">{e(a.title)}</h1>
<div class="article-header__byline">By <a href="/authors/1">{e(a.authors[0])}</a>{
    "".join(f' and <a href="/authors/2">{e(n)}</a>' for n in a.authors[1:])}</div>
<time datetime="{a.date.isoformat()}Z">{a.date:%B} {a.date.day}, {a.date:%Y} {a.date:%I:%M %p} GMT</time>
<div class="article-body">{body}</div>
<p class="sign-off">Our Standards: The Meridian Wire Trust Principles.</p>
<div class="share-bar"><a>Facebook</a> <a>X</a> <a>LinkedIn</a> <a>Email</a></div>
</article>
<section class="read-next"><h2>Read Next</h2><ul>{_links(r, 4)}</ul></section>
</main>
<footer><p>All quotes delayed a minimum of 15 minutes. © 2026 Meridian Wire.</p></footer>
</body></html>"""


def think_tank(a: _Article) -> str:
    """A think tank: date as text, an authors block with job titles, "Key takeaways", a download button,
    "Related publications", a newsletter sign-up box and a long footer; og:title but no published time."""
    r, outlet = a.rng, "Institute for Strategic Dialogue and Security"
    authors = "".join(f'<div class="author-card"><a class="author-card__name" href="/experts/{i}">{e(n)}</a>'
                      f'<span class="author-card__title">Senior Fellow, Europe Programme</span></div>'
                      for i, n in enumerate(a.authors))
    body = _body(a, lambda i, t: f"<p>{e(t)}</p>")
    return f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<title>{e(a.title)} | {outlet}</title>
<meta property="og:title" content="{e(a.title)}"><meta property="og:site_name" content="{outlet}">
<meta name="description" content="{e(a.blocks[0][1][:150])}">{_json_ld("Article", a, outlet)}
</head><body>
<a class="skip-link" href="#content">Skip to content</a>
<header><div class="logo">{outlet}</div><nav class="primary"><a href="/research">Research</a>
<a href="/experts">Experts</a><a href="/events">Events</a><a href="/about">About</a></nav></header>
<div id="content" class="page">
<div class="publication-header"><span class="content-type">Commentary</span>
<h1 class="publication-title">{e(a.title)}</h1>
<div class="publication-date">{a.date.day} {a.date:%B %Y}</div>
<div class="authors">{authors}</div>
<a class="btn btn-download" href="/pdf/{a.id}.pdf">Download PDF</a></div>
<div class="key-takeaways"><h2>Key takeaways</h2><ul><li>{e(summary(a.blocks))}</li></ul></div>
<div class="publication-body">{body}</div>
<div class="related-publications"><h2>Related publications</h2><ul>{_links(r, 3)}</ul></div>
<div class="newsletter-signup"><h2>Stay informed</h2><p>{NEWSLETTER_TEXT}</p>
<form><input type="email"><button>Subscribe</button></form></div>
</div>
<footer><p>{outlet} is an independent, non-partisan research organisation. Registered charity no. 1234567.</p>
<p><a href="/privacy">Privacy</a> <a href="/cookies">Cookies</a></p></footer>
</body></html>"""


COMMENTS = ["This is exactly what I have been saying for years. Nobody in government listens.",
            "Good piece, but it ignores the cost to ordinary taxpayers, which will be enormous.",
            "Does anyone seriously believe the talks will change anything on the ground?",
            "The author is far too optimistic about the alliance holding together through the winter."]


def newspaper(a: _Article) -> str:
    """A newspaper: cookie notice, masthead, figure with caption, byline, "Most read" box in the story column,
    inline "Also read" links, newsletter box, and a reader comment thread under the story."""
    r, outlet = a.rng, "The Northern Courier"
    comments = "".join(f'<div class="comment"><div class="comment__author">{e(r.choice(FIRST))}{r.randrange(99)}'
                       f'</div><p>{e(c)}</p><a class="comment__reply">Reply</a></div>'
                       for c in r.sample(COMMENTS, 3))

    def para(i: int, t: str) -> str:
        also = (f'<p><strong>Also read:</strong> <a href="/x">{e(r.choice(TEASERS))}</a></p>' if i == 1 else "")
        return f"<p>{e(t)}</p>{also}"

    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{e(a.title)} - {outlet}</title>
<meta property="og:title" content="{e(a.title)}"><meta property="og:site_name" content="{outlet}">
<meta name="author" content="{e(", ".join(a.authors))}">
<meta property="article:published_time" content="{a.date.isoformat()}+00:00">{_json_ld("NewsArticle", a, outlet)}
</head><body>
<div class="cookie-notice"><p>{COOKIE_TEXT}</p><button>OK</button></div>
<div class="masthead"><a href="/">{outlet}</a><ul class="menu"><li>News</li><li>Sport</li><li>Opinion</li></ul></div>
<div class="container"><div class="story-column">
<h1 class="headline">{e(a.title)}</h1>
<p class="standfirst">{e(summary(a.blocks))}</p>
<figure class="lead-image"><img src="/img/{a.id}.jpg" alt=""><figcaption>Officials arrive for the talks.
Photograph: Staff photographer</figcaption></figure>
<div class="byline">By <span class="byline__name">{e(a.author)}</span> · <time datetime="{a.date:%Y-%m-%d}">
{a.date.day} {a.date:%B %Y}</time></div>
<div class="story-body">{_body(a, para, "h3")}</div>
<div class="most-read"><h2>Most read</h2><ol>{_links(r, 5)}</ol></div>
<div class="newsletter-box"><p>{NEWSLETTER_TEXT}</p><button>Sign up</button></div>
<section id="comments" class="comments"><h2>Comments (3)</h2>{comments}</section>
</div></div>
<footer class="site-footer"><p>© 2026 {outlet}. Registered in England.</p></footer>
</body></html>"""


def live_blog(a: _Article) -> str:
    """A live blog: each update its own <article> with a time stamp, a "Key events" list, a share bar per
    update, a "Load more" button; JSON-LD LiveBlogPosting; og:title."""
    r, outlet = a.rng, "Global Desk"
    posts = []
    for i, (sec, text) in enumerate(a.blocks):
        stamp = a.date + dt.timedelta(minutes=17 * (len(a.blocks) - i))
        head = f"<h3>{e(sec)}</h3>" if sec else ""
        posts.append(f'<article class="live-post" id="post-{i}"><time datetime="{stamp.isoformat()}Z">'
                     f'{stamp:%H:%M} GMT</time>{head}<p>{e(text)}</p><div class="social-share">'
                     f'<a>Share</a></div></article>')
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Live: {e(a.title)} – {outlet}</title>
<meta property="og:title" content="{e(a.title)}"><meta property="og:site_name" content="{outlet}">
{_json_ld("LiveBlogPosting", a, outlet)}
</head><body>
<nav class="top-nav"><a href="/">Home</a> <a href="/live">Live</a> <a href="/world">World</a></nav>
<main>
<h1>{e(a.title)}</h1>
<p class="live-byline">Updated <time datetime="{a.date.isoformat()}Z">{a.date:%H:%M} GMT</time> · Edited by
<span class="byline">{e(a.author)}</span></p>
<div class="key-events"><h2>Key events</h2><ul>{_links(r, 3)}</ul></div>
<div class="live-feed">{"".join(reversed(posts))}</div>
<button class="load-more">Load more updates</button>
</main>
<aside class="sidebar"><h2>Most viewed</h2><ul>{_links(r, 4)}</ul></aside>
<footer><p>{outlet} © 2026</p></footer>
</body></html>"""


def blog(a: _Article) -> str:
    """A WordPress-style blog: no Open Graph, title "Post – Blog", entry meta with <time> and author vcard,
    Jetpack share and related posts, a comment list with a reply form, a widget sidebar."""
    r, outlet = a.rng, "Borderlands Notebook"
    comments = "".join(f'<li class="comment"><article class="comment-body"><footer class="comment-meta">'
                       f'<b class="fn">{e(r.choice(FIRST))}</b> says:</footer><div class="comment-content">'
                       f'<p>{e(c)}</p></div></article></li>' for c in r.sample(COMMENTS, 2))
    return f"""<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8">
<title>{e(a.title)} &#8211; {outlet}</title><meta name="generator" content="WordPress 6.5">
</head><body class="post-template-default single single-post">
<div id="page" class="site"><header id="masthead" class="site-header"><p class="site-title">{outlet}</p>
<nav id="site-navigation" class="main-navigation"><ul><li>Home</li><li>About</li><li>Archive</li></ul></nav></header>
<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-{a.rng.randrange(9999)}" class="post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{e(a.title)}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <time class="entry-date published"
datetime="{a.date.isoformat()}+00:00">{a.date:%B} {a.date.day}, {a.date:%Y}</time></span>
<span class="byline"> by <span class="author vcard"><a class="url fn n" href="/author/x">{e(a.author)}</a></span>
</span></div></header>
<div class="entry-content">{_body(a, lambda i, t: f"<p>{e(t)}</p>")}
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul><li>Twitter</li>
<li>Facebook</li></ul></div>
<div id="jp-relatedposts" class="jp-relatedposts"><h3>Related</h3><ul>{_links(r, 3)}</ul></div>
</div>
<footer class="entry-footer"><span class="cat-links">Posted in Geopolitics</span></footer></article>
<div id="comments" class="comments-area"><h2 class="comments-title">2 thoughts on this post</h2>
<ol class="comment-list">{comments}</ol>
<div id="respond" class="comment-respond"><h3>Leave a Reply</h3><form><textarea></textarea></form></div></div>
</main></div>
<aside id="secondary" class="widget-area"><section class="widget"><h2>Subscribe by email</h2>
<p>Enter your email address to follow this blog and receive notifications of new posts.</p></section>
<section class="widget"><h2>Recent posts</h2><ul>{_links(r, 4)}</ul></section></aside>
</div><footer id="colophon" class="site-footer"><p>Proudly powered by WordPress</p></footer></div>
</body></html>"""


def regional(a: _Article) -> str:
    """A regional daily on an older CMS: no <article> or <main>, table-free div soup with field classes, the date
    and author as plain text fields, an "ADVERTISEMENT" line and an "Also Read" link inside the story, a tag list,
    a "Trending now" box and social counters. Written after the reader's changes, to measure them unseen."""
    r, outlet = a.rng, "The Valley Chronicle"

    def para(i: int, t: str) -> str:
        extra = ('<p class="adv-label">ADVERTISEMENT</p>' if i == 1 else "")
        extra += (f'<p><b>ALSO READ |</b> <a href="/x">{e(r.choice(TEASERS))}</a></p>' if i == 3 else "")
        return f"<p>{e(t)}</p>{extra}"

    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{e(a.title)} | {outlet}</title>
<meta name="description" content="{e(summary(a.blocks))}"><meta name="keywords" content="security, diplomacy">
<meta property="og:title" content="{e(a.title)}"><meta property="og:site_name" content="{outlet}">
<meta name="author" content="{e(a.author)}">
</head><body>
<div id="top-strip"><span>{a.date:%A, %B} {a.date.day}, {a.date:%Y}</span> <a href="/epaper">E-Paper</a></div>
<div id="header"><div class="logo"><a href="/">{outlet}</a></div><ul id="main-menu"><li>Home</li><li>State</li>
<li>Nation</li><li>World</li></ul></div>
<div id="wrapper"><div class="left-col">
<div class="field field-name-title"><h1>{e(a.title)}</h1></div>
<div class="field field-name-field-author">{e(a.author)}</div>
<div class="field field-name-post-date"><span class="date-display-single">{a.date:%d %b %Y %I:%M %p}</span></div>
<div class="share-count"><span>1.2K</span> Shares</div>
<div class="field field-name-body"><div class="field-items"><div class="field-item even">
{_body(a, para, "h3")}
</div></div></div>
<div class="field field-name-field-tags"><span>Tags:</span> <a href="/t/1">Diplomacy</a>,
<a href="/t/2">Security</a></div>
</div>
<div class="right-col"><div class="block"><h2>Trending now</h2><ul>{_links(r, 4)}</ul></div></div></div>
<div id="footer"><p>Copyright © 2026 {outlet}. All rights reserved. Designed by WebWorks.</p></div>
</body></html>"""


def magazine(a: _Article) -> str:
    """A magazine with schema.org microdata (itemprop articleBody, author, datePublished), a pull quote that
    repeats a sentence of the text, a metered-paywall prompt, an author bio after the piece and a topics list.
    Written after the reader's changes, to measure them unseen."""
    r, outlet = a.rng, "Statecraft Review"
    quote = a.blocks[min(2, len(a.blocks) - 1)][1].split(". ")[0]

    def para(i: int, t: str) -> str:
        pull = f'<blockquote class="pullquote"><p>{e(quote)}</p></blockquote>' if i == 1 else ""
        return f"<p>{e(t)}</p>{pull}"

    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{e(a.title)} — {outlet}</title>
<meta property="og:title" content="{e(a.title)}"><meta property="og:type" content="article">
<meta name="twitter:site" content="@statecraft">
</head><body>
<div class="site-wrap"><div class="topbar"><a href="/">{outlet}</a> <a href="/subscribe">Subscribe</a>
<a href="/login">Log in</a></div>
<div class="story" itemscope itemtype="https://schema.org/Article">
<meta itemprop="datePublished" content="{a.date:%Y-%m-%d}">
<div class="rubric">Essay</div>
<h1 itemprop="headline">{e(a.title)}</h1>
<div class="story-credit">By <span itemprop="author">{e(a.author)}</span> | {a.date:%B %Y} issue</div>
<div itemprop="articleBody" class="story-text">{_body(a, para)}</div>
<div class="contributor-bio"><p>{e(a.authors[0])} is a contributing editor at {outlet}.</p></div>
<div class="paywall-prompt"><p>You have read 2 of your 3 free articles this month.</p>
<a href="/subscribe">Subscribe for full access</a></div>
<div class="topics"><span>Topics:</span> <a href="/t/a">Geopolitics</a> <a href="/t/b">Security</a></div>
<div class="more-from"><h3>More from {outlet}</h3><ul>{_links(r, 3)}</ul></div>
</div>
<div class="site-footer-links"><a href="/about">About</a> <a href="/privacy">Privacy</a> <a href="/contact">Contact</a>
</div></div>
</body></html>"""


def broadcaster(a: _Article) -> str:
    """A public broadcaster: text blocks as data-component divs, an image with a copyright line outside its
    caption, a video promo, "Related topics" links, "Top stories" and "Features" teaser cards with a summary line
    each; JSON-LD with an Organization as author. Written last and measured unseen."""
    r, outlet = a.rng, "National Broadcasting News"
    cards = "".join(f'<div class="promo"><h3><a href="/n/{r.randrange(10**5)}">{e(t)}</a></h3><p class="promo-summary">'
                    f'{e(r.choice(COMMENTS))}</p></div>' for t in r.sample(TEASERS, 3))
    blocks = _body(a, lambda i, t: f'<div data-component="text-block"><p>{e(t)}</p></div>', "h2")
    data = {"@context": "https://schema.org", "@type": "ReportageNewsArticle", "headline": a.title,
            "datePublished": f"{a.date.isoformat()}.000Z", "author": {"@type": "NewsMediaOrganization",
                                                                       "name": outlet},
            "publisher": {"@type": "NewsMediaOrganization", "name": outlet}}
    return f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<title>{e(a.title)} - {outlet}</title>
<meta property="og:title" content="{e(a.title)}"><meta property="og:site_name" content="{outlet}">
<script type="application/ld+json">{json.dumps(data)}</script>
</head><body>
<div id="orb-banner"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a>
<a href="/weather">Weather</a></div>
<div id="main-wrapper"><article>
<header><h1 id="main-heading">{e(a.title)}</h1></header>
<div data-component="byline-block"><p>By {e(a.author)}</p><p>Diplomatic correspondent</p></div>
<div data-component="image-block"><figure><img src="/i.jpg" alt=""><span class="image-copyright">Getty Images</span>
<figcaption>Delegates at the opening session</figcaption></figure></div>
{blocks}
<div data-component="media-block"><p>Watch: Ministers arrive for the talks. Video, 00:01:23</p></div>
<div data-component="links-block"><h2>Related topics</h2><ul><li><a href="/t/1">Diplomacy</a></li>
<li><a href="/t/2">Europe</a></li></ul></div>
</article>
<section data-testid="top-stories"><h2>Top stories</h2><ul>{_links(r, 3)}</ul></section>
<section data-testid="features"><h2>Features</h2>{cards}</section>
</div>
<div id="orb-footer"><p>Copyright © 2026 {outlet}. We are not responsible for the content of external sites.</p>
</div>
</body></html>"""


def press_release(a: _Article) -> str:
    """A ministry or international organisation press release: a language switcher, "Print" and "Share" links,
    date and reference number as text, a "Related documents" list of PDFs, a contact box; no Open Graph or
    JSON-LD. Written last and measured unseen."""
    outlet = "Ministry of Foreign Affairs"
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{e(a.title)} | {outlet}</title>
<meta name="description" content="{e(summary(a.blocks))}">
</head><body>
<div class="region-top"><ul class="language-switcher"><li><a href="/en">English</a></li>
<li><a href="/fr">Français</a></li><li><a href="/es">Español</a></li></ul></div>
<div class="region-header"><a href="/" class="site-logo">{outlet}</a>
<ul class="main-nav"><li><a href="/press">Press</a></li><li><a href="/policy">Policy</a></li></ul></div>
<div class="region-content"><div class="node node-press-release">
<div class="field-type">Press release</div>
<h1 class="page-title">{e(a.title)}</h1>
<div class="meta-info">{a.date.day} {a.date:%B %Y} · No. {a.rng.randrange(100, 999)}/26</div>
<div class="tools"><a href="javascript:print()">Print</a> <a href="/share">Share</a></div>
<div class="field-body">{_body(a, lambda i, t: f"<p>{e(t)}</p>")}</div>
<div class="related-documents"><h2>Related documents</h2><ul><li><a href="/d/1.pdf">Joint statement (PDF, 210 KB)
</a></li></ul></div>
<div class="contact-box"><h3>Press contact</h3><p>Press Office, +00 000 000 000, press@ministry.example</p></div>
</div></div>
<div class="region-bottom"><p>{outlet} · Official website</p><p><a href="/accessibility">Accessibility</a>
<a href="/legal">Legal notice</a></p></div>
</body></html>"""


TEMPLATES: dict[str, tuple[Callable[[_Article], str], str]] = {
    "wire": (wire, "Meridian Wire"), "think_tank": (think_tank, "Institute for Strategic Dialogue and Security"),
    "newspaper": (newspaper, "The Northern Courier"), "live_blog": (live_blog, "Global Desk"),
    "blog": (blog, "Borderlands Notebook"), "regional": (regional, "The Valley Chronicle"),
    "magazine": (magazine, "Statecraft Review"), "broadcaster": (broadcaster, "National Broadcasting News"),
    "press_release": (press_release, "Ministry of Foreign Affairs")}
# templates written after the reader was changed on what the others showed, to measure it on pages it was not
# tuned on: the first two were unseen by its first round of changes (they prompted the second), the last two by both
NO_AUTHOR = {"press_release"}  # pages that name no author: the gold author is none, and none is right
HELD_OUT = {"regional": "unseen by round 1", "magazine": "unseen by round 1", "broadcaster": "unseen",
            "press_release": "unseen"}


def build_pages(n: int = 45, seed: int = 7, corpus: Path = CORPUS) -> list[Page]:
    """``n`` pages, the same for the same ``seed``: test-split articles in turn through the templates."""
    rng = random.Random(seed)
    articles = test_articles(corpus)
    chosen = rng.sample(articles, min(n, len(articles)))
    pages = []
    for k, (aid, title, blocks) in enumerate(chosen):
        template = list(TEMPLATES)[k % len(TEMPLATES)]
        render, outlet = TEMPLATES[template]
        arng = random.Random(f"{seed}:{aid}")
        authors = [f"{arng.choice(FIRST)} {arng.choice(LAST)}" for _ in range(1 + (arng.random() < 0.3))]
        when = dt.datetime(2026, 1, 1, 6) + dt.timedelta(days=arng.randrange(330), minutes=arng.randrange(600))
        article = _Article(aid, title, blocks, authors, when, arng)
        sections = list(dict.fromkeys(s for s, _ in blocks if s))
        meta = {"title": title, "date": f"{when:%Y-%m-%d}",
                "author": "" if template in NO_AUTHOR else article.author, "outlet": outlet}
        pages.append(Page(f"{k:02d}-{template}-{aid}", template, render(article), [t for _, t in blocks],
                          [title, *sections, summary(blocks)], meta, aid))
    return pages


# -- scoring ------------------------------------------------------------------------------------------------------
def norm(text: str) -> str:
    """Text compared by its words: case, punctuation, quotes and spacing do not count."""
    return " ".join(re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).lower()).split())


def _names(author: str) -> frozenset[str]:
    return frozenset(norm(n) for n in re.split(r",|;|\band\b|&", author) if norm(n))


def meta_correct(key: str, gold: str, got: str | None) -> bool:
    """Whether an extracted metadata value is the gold one: dates by day, authors as a set of names; where the
    gold is empty (a page naming no author), only no value is right."""
    if not got or not gold:
        return not got and not gold
    if key == "date":
        return got[:10] == gold
    if key == "author":
        return _names(got) == _names(gold)
    return norm(got) == norm(gold)


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    meta: dict[str, int] = field(default_factory=lambda: dict.fromkeys(META_FIELDS, 0))
    pages: int = 0
    seconds: float = 0.0
    kept_furniture: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def f1(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score_page(score: Score, page: Page, units: Sequence[str], meta: dict[str, str]) -> None:
    """Adds one page: each extracted unit matching an unmatched gold paragraph is a hit; the title, a section
    heading or a summary is ignored; anything else (furniture, or paragraphs run together) is a false positive."""
    gold: dict[str, int] = defaultdict(int)
    for p in page.paragraphs:
        gold[norm(p)] += 1
    ignore = {norm(h) for h in page.neutral}
    for unit in units:
        key = norm(unit)
        if gold.get(key, 0) > 0:
            gold[key] -= 1
            score.tp += 1
        elif key and key not in ignore:
            score.fp += 1
            score.kept_furniture.append(f"{page.name}: {unit[:70]}")
    missed = sum(gold.values())
    score.fn += missed
    score.lost += [f"{page.name}: {p[:70]}" for p in page.paragraphs if gold.get(norm(p), 0) > 0][:missed]
    for key in META_FIELDS:
        score.meta[key] += meta_correct(key, page.meta[key], meta.get(key))
    score.pages += 1


# -- extractors -----------------------------------------------------------------------------------------------------
Extractor = Callable[[Sequence[Page], Path], list[tuple[list[str], dict[str, str]]]]


def policytag_extract(pages: Sequence[Page], folder: Path) -> list[tuple[list[str], dict[str, str]]]:
    """What ``policytag tag`` reads from each page file: its paragraphs and its ``meta``."""
    from classifier.engines.local import paragraphs_of
    from classifier.errors import InputError
    from classifier.io.readers import ReadOptions, read_inputs

    out = []
    for page in pages:
        (doc,) = read_inputs([str(folder / f"{page.name}.html")], ReadOptions())
        pars = [] if isinstance(doc, InputError) else paragraphs_of(doc)
        meta = {} if isinstance(doc, InputError) else dict(doc.meta or {})
        out.append(([p.text for p in pars] if isinstance(pars, list) else [], meta))
    return out


def trafilatura_extract(pages: Sequence[Page], folder: Path) -> list[tuple[list[str], dict[str, str]]]:
    """trafilatura's main text (comments apart, as it separates them) split into its lines, and its metadata."""
    import trafilatura

    out = []
    for page in pages:
        text = (folder / f"{page.name}.html").read_text(encoding="utf-8")
        doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False)
        if doc is None:
            out.append(([], {}))
            continue
        lines = [re.sub(r"^- ", "", line).strip() for line in (doc.text or "").splitlines()]
        out.append(([line for line in lines if line], {"title": doc.title, "date": doc.date,
                                                         "author": doc.author, "outlet": doc.sitename}))
    return out


def measure(extract: Extractor, pages: Sequence[Page], folder: Path, rounds: int = 3) -> Score:
    """Scores one extractor over the pages; pages/s from the best of ``rounds`` timed passes."""
    best, results = float("inf"), []
    for _ in range(rounds):
        start = time.perf_counter()
        results = extract(pages, folder)
        best = min(best, time.perf_counter() - start)
    score = Score(seconds=best)
    for page, (units, meta) in zip(pages, results):
        score_page(score, page, units, meta)
    return score


def write_pages(pages: Sequence[Page], folder: Path) -> None:
    for page in pages:
        (folder / f"{page.name}.html").write_text(page.html, encoding="utf-8")


def extractors() -> tuple[dict[str, Extractor], str | None]:
    """The extractors to run, and a line saying why trafilatura is left out when it is not importable."""
    found: dict[str, Extractor] = {"policytag": policytag_extract}
    try:
        import trafilatura
    except ImportError:
        return found, "trafilatura is not installed (pip install trafilatura); measuring policytag only"
    found[f"trafilatura {trafilatura.__version__}"] = trafilatura_extract
    return found, None


# -- report -------------------------------------------------------------------------------------------------------
def table(scores: dict[str, Score], per_template: dict[str, dict[str, Score]], pages: Sequence[Page]) -> str:
    n = len(pages)
    lines = ["| extractor | paragraph precision | recall | F1 | title | date | author | outlet | pages/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in scores.items():
        p, r, f = s.f1()
        meta = " | ".join(f"{s.meta[k]}/{n}" for k in META_FIELDS)
        lines.append(f"| {name} | {p:.3f} | {r:.3f} | **{f:.3f}** | {meta} | {n / s.seconds:.0f} |")
    lines += ["", "Paragraph F1 and metadata per template (pages each; title, date, author, outlet correct):", "",
              "| template | pages | " + " | ".join(scores) + " |", "|---|---:|" + "---|" * len(scores)]
    for template in TEMPLATES:
        k = sum(p.template == template for p in pages)
        cells = []
        for name in scores:
            s = per_template[name][template]
            cells.append(f"F1 {s.f1()[2]:.2f}; " + ", ".join(f"{s.meta[f]}" for f in META_FIELDS))
        label = f"{template} ({HELD_OUT[template]})" if template in HELD_OUT else template
        lines.append(f"| {label} | {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(n: int, seed: int, write_readme: bool, show: int) -> str:
    pages = build_pages(n, seed)
    found, missing = extractors()
    if missing:
        print(missing)
    scores: dict[str, Score] = {}
    per_template: dict[str, dict[str, Score]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_pages(pages, folder)
        for name, extract in found.items():
            scores[name] = measure(extract, pages, folder)
            per_template[name] = {t: measure(extract, [p for p in pages if p.template == t], folder, rounds=1)
                                  for t in TEMPLATES}
    gold = sum(len(p.paragraphs) for p in pages)
    body = (f"{table(scores, per_template, pages)}\n\n{len(pages)} pages (seed {seed}), {gold} gold paragraphs, "
            f"{len(TEMPLATES)} templates. Measured {dt.date.today()}, Python {platform.python_version()}, "
            f"{platform.machine()}; pages/s: best of 3 passes, reading the files included.")
    print(body)
    for name, s in scores.items():
        for label, items in (("kept, not article text", s.kept_furniture), ("lost", s.lost)):
            if items and show:
                print(f"\n{name} — {label} ({len(items)}):")
                print("\n".join(f"  {x}" for x in items[:show]))
    if write_readme:
        text = README.read_text(encoding="utf-8")
        block = f"{START}\n{body}\n{END}"
        if START in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        README.write_text(text, encoding="utf-8")
    return body


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=45)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-readme", action="store_true", help="print the table only")
    ap.add_argument("--show", type=int, default=15, help="how many kept/lost paragraphs to list per extractor")
    ap.add_argument("--dump", type=Path, help="also write the pages into this folder")
    args = ap.parse_args(argv)
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        write_pages(build_pages(args.pages, args.seed), args.dump)
    run(args.pages, args.seed, not args.no_readme, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
