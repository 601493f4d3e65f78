"""Splitting: article text into paragraphs (with their section heading), long paragraphs into windows."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from classifier.io.meta import is_timestamp, split_front_matter

HEADING_MAX_WORDS = 15
_CLOSING = tuple('.!?:;"\'”’»)…。！？」』．؟۔')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")


@dataclass(frozen=True)
class Paragraph:
    """A unit to tag, with the heading it sits under (context, never tagged itself)."""

    index: int
    text: str
    section: str | None = None


def clean(text: str) -> str:
    """Drop control characters and collapse runs of spaces; keeps every visible character."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def is_heading(line: str) -> bool:
    """A short line without closing punctuation reads as a heading, not as a paragraph."""
    line = line.strip()
    return bool(line) and len(line.split()) <= HEADING_MAX_WORDS and not line.endswith(_CLOSING)


def _blocks_to_paragraphs(blocks: Sequence[tuple[str, bool]]) -> list[Paragraph]:
    """(text, is_heading) blocks -> numbered paragraphs carrying their latest heading.

    Consecutive headings (title, then section) form one section; headings with no paragraph after them
    (a closing byline, a text of short lines) are content and become paragraphs, so no text is lost.
    """
    paragraphs: list[Paragraph] = []
    section: str | None = None
    pending: list[str] = []
    for text, heading in blocks:
        text = clean(text)
        if not text:
            continue
        if heading:
            pending.append(text)
            continue
        if pending:
            section, pending = " — ".join(pending), []
        paragraphs.append(Paragraph(len(paragraphs), text, section))
    for text in pending:
        paragraphs.append(Paragraph(len(paragraphs), text, section))
    return paragraphs


def _plain_blocks(text: str, heading_lines: frozenset[int] = frozenset()) -> list[tuple[str, bool]]:
    """Blank-line blocks; inside a block, hard-wrapped lines are joined, long lines stay paragraphs."""
    blocks: list[tuple[str, bool]] = []
    lines = text.splitlines()
    start = 0
    for end in range(len(lines) + 1):
        if end == len(lines) or not lines[end].strip():
            block = [(i, lines[i]) for i in range(start, end) if lines[i].strip()]
            blocks.extend(_split_block(block, heading_lines))
            start = end + 1
    return blocks


def _hard_wrapped(lines: Sequence[str]) -> bool:
    """Hard-wrapped prose breaks lines mid-sentence; one-paragraph-per-line text ends them with punctuation."""
    mid_sentence = sum(len(line.split()) >= 6 and not line.rstrip().endswith(_CLOSING) for line in lines)
    closed = sum(line.rstrip().endswith(_CLOSING) for line in lines)
    return mid_sentence > closed


def _split_block(block: list[tuple[int, str]], heading_lines: frozenset[int]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    body: list[str] = []
    wrapped = _hard_wrapped([line for _, line in block[:-1]])
    for n, (i, line) in enumerate(block):
        explicit = i in heading_lines
        if explicit or (is_heading(line) and (not wrapped or n == 0) and (not body or not wrapped)):
            if body:
                out.append((" ".join(body), False))
                body = []
            out.append((line, True))
        elif wrapped:
            body.append(line.strip())
        else:
            out.append((line, False))
    if body:
        out.append((" ".join(body), False))
    return out


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")  # closing #s stripped after the match, not by backtracking
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# Brackets and parentheses are not crossed and emphasis spans at most 500 characters, so no pattern scans the
# rest of a line from every position (a line of "[[[[" or "_a _a" took minutes): linear in the line.
_MD_IMAGE = re.compile(r"!\[([^\[\]]*)\]\([^()]*\)")
_MD_LINK = re.compile(r"\[([^\[\]]+)\]\([^()]*\)")
_MD_EMPH = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.{1,500}?)(?<=\S)\1")
_MD_PREFIX = re.compile(r"^\s{0,3}(>\s?)+|^\s*([-*+]|\d+[.)])\s+")


def split_markdown(text: str) -> list[Paragraph]:
    """Markdown: ATX/Setext headings become sections; code fences, images and link targets are dropped, and so is
    YAML front matter (``---`` lines at the top: metadata, read by :func:`classifier.io.meta.front_matter_meta`)."""
    _, text = split_front_matter(text)
    lines: list[str] = []
    headings: set[int] = set()
    fenced = False
    for raw in text.splitlines():
        if _MD_FENCE.match(raw):
            fenced = not fenced
            lines.append("")
            continue
        if fenced:
            continue
        match = _MD_HEADING.match(raw)
        if match:
            lines.extend(["", match.group(1).rstrip().rstrip("#").rstrip()])
            headings.add(len(lines) - 1)
            lines.append("")
            continue
        if _MD_SETEXT.match(raw) and lines and lines[-1].strip():
            headings.add(len(lines) - 1)
            lines.append("")
            continue
        line = _MD_PREFIX.sub("", raw)
        line = _MD_EMPH.sub(r"\2", _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", line)))
        lines.append(line)
    return _blocks_to_paragraphs(_plain_blocks("\n".join(lines), frozenset(headings)))


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_CHROME_TOKENS = {"ad", "ads", "share", "sharing", "tags", "nav", "navbar", "menu", "modal", "banner", "credit",
                  "credits", "comment", "comments", "subscribe", "signup", "masthead", "toolbar", "breadcrumbs",
                  "overlay", "disclaimer", "skip", "print", "hidden", "btn", "trending"}
_CHROME_PREFIXES = ("cookie", "consent", "gdpr", "newsletter", "social", "advert", "sponsor", "promo", "related",
                    "recommend", "recirc", "outbrain", "taboola", "breadcrumb", "byline", "caption", "popup",
                    "sidebar", "widget", "dateline", "timestamp", "author", "onetrust", "footer", "copyright",
                    "pullquote")
# lists of links to other stories, named in one word or two ("mostread", "most-read", "mostRead", "read_next")
_LINK_LISTS = ("mostread", "mostpopular", "mostviewed", "mostshared", "readnext", "morestories")
# names sites give to furniture (a "subscribe to continue" prompt, a "Read more" list of links) and to the story
# body itself (a metered body in <div class="paywall">, the rest of a story in a "read more" expander): such an
# element is judged by what it holds (see _holds_story); named in one word or two, like _LINK_LISTS
_STORY_OR_FURNITURE = ("paywall", "readmore")
STORY_PARAGRAPH_WORDS = 40  # a paragraph of story prose, not a prompt's line, a button or a teaser
# class names that file a story under a topic (WordPress gives its <article> "hentry type-post category-comment
# tag-trending"): on a story they say what it is about, not that it is furniture ("category-nav" elsewhere still is)
_TAXONOMY_CLASSES = ("category-", "tag-")
_PAGE_TAGS = {"html", "body", "main"}  # their classes describe the page ("single-post has-sidebar"), not furniture
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search", "menu"}
_NAME_TOKENS = re.compile(r"[\s_\-:./]+|(?<=[a-z])(?=[A-Z])")
ARTICLE_SHARE = 0.25  # an <article>/<main> holding less of the page's text than this is not the page's content


def _furniture(attrs: dict[str, str | None], tag: str = "") -> str | None:
    """Page furniture by its markup: cookie banners, share bars, bylines, captions, ads, related links, hidden parts
    ("chrome"); "either" for an element named only like a paywall or a "read more" part, which may be furniture or
    the story's body (:data:`_STORY_OR_FURNITURE`); else None."""
    if "hidden" in attrs or attrs.get("aria-hidden") == "true" or (attrs.get("role") or "") in _CHROME_ROLES:
        return "chrome"
    if re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", attrs.get("style") or "", re.I):
        return "chrome"
    classes = (attrs.get("class") or "").split()
    if tag == "article" or any(c == "hentry" or c.startswith("type-") for c in classes):  # a story, not a menu
        classes = [c for c in classes if not c.lower().startswith(_TAXONOMY_CLASSES)]
    names = f"{' '.join(classes)} {attrs.get('id') or ''}"
    tokens = [t.lower() for t in _NAME_TOKENS.split(names) if t]
    words = tokens + [a + b for a, b in zip(tokens, tokens[1:])]
    if any(t in _CHROME_TOKENS or t.startswith(_CHROME_PREFIXES) for t in tokens) or any(
            w.startswith(_LINK_LISTS) for w in words):
        return "chrome"
    return "either" if any(w.startswith(_STORY_OR_FURNITURE) for w in words) else None


def _holds_story(prose_words: int, words: int) -> bool:
    """Whether an element named like a paywall or a "read more" part holds the story: paragraphs of
    :data:`STORY_PARAGRAPH_WORDS` words or more (``prose_words`` in all) make up at least half of the ``words`` it
    holds, and there is one at least. Sites give such names to the story's own body (a metered body, the rest of
    a story behind a "read more" button) as well as to the furniture around it; the furniture holds short lines,
    buttons and links (a prompt to subscribe, a list of headlines and teasers), the body holds the article's
    paragraphs. What it holds decides, not more names. The price: such an element holding only short paragraphs
    (under 40 words each, e.g. one per paragraph of a story written in short ones) reads as furniture."""
    return prose_words >= STORY_PARAGRAPH_WORDS and 2 * prose_words >= words


@dataclass
class _Block:
    text: str
    heading: bool
    article: int | None  # which top-level <article> it sits in, if any
    main: bool  # inside <main>, role="main" or itemprop="articleBody"


class _HTMLBlocks(HTMLParser):
    """Collects text of paragraph-like elements with where they sit; skips scripts, styles and page chrome.

    Open elements are kept on a stack (end tags close up to their match; void and unclosed tags are tolerated),
    so an element skipped for its class or role is skipped with everything inside it. A block element named like a
    paywall or a "read more" part is read, and what it held is dropped when it closes unless it holds a story
    (:func:`_holds_story`); running word counts keep that linear however deep such elements nest."""

    SKIP = {"script", "style", "nav", "footer", "aside", "noscript", "form", "svg", "template", "head", "button",
            "select", "figcaption", "iframe", "dialog", "menu", "label", "object", "canvas"}
    BLOCK = {"p", "li", "blockquote", "pre", "td", "dd", "dt", "div", "section", "article", "main", "body", "header",
             "figure", "table", "ul", "ol", "tr", "address"}
    HEADING = {"h1", "h2", "h3", "h4", "h5", "h6", "title"}

    def __init__(self, filter_chrome: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.filter_chrome = filter_chrome
        self.blocks: list[_Block] = []
        self._buf: list[str] = []
        self._unlinked = False  # some of the text in _buf sits outside any <a>
        self._stack: list[tuple[str, bool, bool, int, bool]] = []  # (tag, skipped, main, position, a link)
        self.article_parents: dict[int, int] = {}  # top-level <article> -> the element it sits in (its position)
        self._pushed = 0  # elements opened so far: an element's position is its count when opened
        self._open: Counter[str] = Counter()  # tags on the stack; with the two depths, every check is O(1)
        self._skip_depth = 0
        self._main_depth = 0
        self._link_depth = 0  # open <a href> elements
        self._articles = 0
        self._words = 0  # words read so far (kept blocks, and link lists and time stamps dropped)
        self._prose = 0  # words of kept paragraphs of STORY_PARAGRAPH_WORDS words or more
        self._judged: dict[int, tuple[int, int, int]] = {}  # position -> (blocks, words, prose) when it opened

    def _inside(self, *tags: str) -> bool:
        return any(self._open[tag] for tag in tags)

    def _skipping(self) -> bool:
        return self._skip_depth > 0

    def _in_main(self) -> bool:
        return self._main_depth > 0

    def _push(self, tag: str, skip: bool, main: bool, link: bool = False) -> None:
        self._pushed += 1
        self._stack.append((tag, skip, main, self._pushed, link))
        self._link_depth += link
        self._open[tag] += 1
        self._skip_depth += skip
        self._main_depth += main

    def _pop(self) -> str:
        judged = self._judged.pop(self._stack[-1][3], None)
        if judged is not None:
            self._flush()  # its text so far is its own
        tag, skip, main, _, link = self._stack.pop()
        self._link_depth -= link
        self._open[tag] -= 1
        self._skip_depth -= skip
        self._main_depth -= main
        if judged is not None:
            self._judge(*judged)
        return tag

    def _judge(self, start: int, words: int, prose: int) -> None:
        """Drop what an element named like a paywall or a "read more" part held (blocks from ``start``; the word
        counts when it opened), unless it holds a story; dropped, it counts for nothing around it."""
        words, prose = self._words - words, self._prose - prose
        if not _holds_story(prose, words):
            del self.blocks[start:]
            self._words -= words
            self._prose -= prose

    def _flush(self) -> None:
        text = "".join(self._buf).strip()
        links_only, self._buf, self._unlinked = not self._unlinked, [], False
        if text and not self._skipping():
            heading = self._inside(*self.HEADING)
            words = len(text.split())
            self._words += words
            if self.filter_chrome and not heading and (links_only or is_timestamp(text)):
                return  # a list of links ("Most read", "About | Privacy"), a time stamp ("Updated 11:40 GMT")
            if not heading and words >= STORY_PARAGRAPH_WORDS:
                self._prose += words
            article = self._articles if self._inside("article") else None
            self.blocks.append(_Block(text, heading, article, self._in_main()))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self._buf.append(" ")
        if tag in _VOID:
            return
        if tag in self.BLOCK or tag in self.HEADING:
            self._flush()
        if tag == "p" and self._stack and self._stack[-1][0] == "p":  # <p> closes an open <p>
            self._pop()
        if tag == "article" and not self._inside("article"):
            self._articles += 1
            self.article_parents[self._articles] = self._stack[-1][3] if self._stack else 0
        a = dict(attrs)
        furniture = _furniture(a, tag) if self.filter_chrome and tag not in _PAGE_TAGS else None
        judged = furniture == "either" and tag in self.BLOCK  # read, then judged by what it holds when it closes
        skip = tag in self.SKIP or (tag == "header" and not self._inside("article")) or (
            furniture is not None and not judged)
        self._push(tag, skip, tag == "main" or a.get("role") == "main" or a.get("itemprop") == "articleBody",
                   tag == "a" and bool(a.get("href")))
        if judged and not self._skipping():
            self._judged[self._pushed] = (len(self.blocks), self._words, self._prose)

    def handle_endtag(self, tag: str) -> None:
        if not self._inside(tag):
            return
        if tag in self.BLOCK or tag in self.HEADING:
            self._flush()
        while self._stack and self._pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if not self._skipping():
            self._buf.append(data.replace("\n", " "))
            self._unlinked = self._unlinked or (bool(data.strip()) and not self._link_depth)

    def close(self) -> None:
        super().close()
        self._flush()
        while self._stack:  # elements never closed: one named like a paywall is judged all the same
            self._pop()


def _feeds(keep: set[int], parents: dict[int, int]) -> set[int]:
    """Articles of a feed: where two or more kept <article>s sit side by side in one element (a live blog's
    updates), every <article> in that element is kept, however short."""
    counts = Counter(parents.get(a) for a in keep)
    feeds = {parent for parent, n in counts.items() if n >= 2}
    return {a for a, parent in parents.items() if parent in feeds}


def _content(blocks: list[_Block], parents: dict[int, int]) -> list[_Block]:
    """The page's own text: its main <article>(s) (all of a feed's), else <main>, when they hold a fair share of
    the page. ``parents``: the element each top-level <article> sits in."""
    total = sum(len(b.text) for b in blocks if not b.heading) or 1
    sizes: dict[int, int] = {}
    for b in blocks:
        if b.article is not None and not b.heading:
            sizes[b.article] = sizes.get(b.article, 0) + len(b.text)
    if sizes and sum(sizes.values()) >= ARTICLE_SHARE * total:
        largest = max(sizes.values())
        keep = {a for a, n in sizes.items() if n >= ARTICLE_SHARE * largest}
        keep |= _feeds(keep, parents)
        return [b for b in blocks if b.article in keep or (b.heading and b.main and b.article is None)]
    main = [b for b in blocks if b.main]
    if sum(len(b.text) for b in main if not b.heading) >= ARTICLE_SHARE * total:
        return main
    return blocks


def split_html(text: str) -> list[Paragraph]:
    """HTML: paragraph-like elements are units, h1-h6 are sections; the <title>, navigation and page furniture
    (cookie banners, share bars, bylines, captions, ads, related links, paywall prompts and "read more" lists, but
    not a story body the page wraps in a paywall or "read more" element) are dropped, and where the page marks its
    article (<article>, <main>) only that is read. Should the furniture filter leave no paragraph, it is undone."""
    for filter_chrome in (True, False):
        parser = _HTMLBlocks(filter_chrome)
        parser.feed(text)
        parser.close()
        blocks = _content(parser.blocks, parser.article_parents)
        paragraphs = _blocks_to_paragraphs([(b.text, b.heading) for b in blocks])
        if paragraphs or not filter_chrome:
            return paragraphs
    return []


def split_text(text: str) -> list[Paragraph]:
    """Plain text: blank-line paragraphs, or one paragraph a line; heading lines become sections."""
    return _blocks_to_paragraphs(_plain_blocks(text))


def split(text: str, fmt: str = "text") -> list[Paragraph]:
    """Split a document by its format: ``text``, ``markdown`` or ``html``."""
    if fmt == "html":
        return split_html(text)
    if fmt == "markdown":
        return split_markdown(text)
    return split_text(text)


_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|\w+|[^\w\s]", re.UNICODE)


def approximate_offsets(text: str) -> list[tuple[int, int]]:
    """Char spans of word pieces, a conservative stand-in when no tokenizer is at hand."""
    spans = []
    for m in _TOKEN.finditer(text):
        s, e = m.span()
        spans.extend((i, min(i + 6, e)) for i in range(s, e, 6))
    return spans


def windows(text: str, max_tokens: int, overlap: int,
            offsets: Callable[[str], list[tuple[int, int]]] = approximate_offsets) -> list[str]:
    """Overlapping windows that each fit the encoder, so nothing past its limit is silently cut off."""
    spans = offsets(text)
    if len(spans) <= max_tokens:
        return [text]
    step = max(1, max_tokens - overlap)
    out = []
    for start in range(0, len(spans), step):
        chunk = spans[start:start + max_tokens]
        out.append(text[chunk[0][0]:chunk[-1][1]])
        if start + max_tokens >= len(spans):
            break
    return out


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[A-Z0-9\"“‘(\[])")
MIN_SENTENCE_WORDS = 4


def sentences(text: str) -> list[str]:
    """A paragraph as sentences (the unit of evidence): split after . ! ? before a capital, digit or quote.

    Fragments under four words ("Mr. Li said.", a dateline) are joined to the sentence after them (or before, at
    the end), so every word of the paragraph stays in some sentence and none is scored on its own.
    """
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    out: list[str] = []
    carry = ""
    for p in parts:
        p = f"{carry} {p}".strip() if carry else p
        if len(p.split()) < MIN_SENTENCE_WORDS:
            carry = p
            continue
        out.append(p)
        carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out or [text]


def sentence_estimate(text: str) -> int:
    """About how many sentences :func:`sentences` makes of a paragraph: its sentence ends (``.``, ``?`` or ``!``
    and a space) plus one. It sizes the tagging windows, which hold the pieces the model reads; ``str.count``
    keeps planning a run nearly free where the real split would cost a second regex pass over every paragraph,
    and a miscount (an abbreviation, a quote) only moves a window's edge, never a record."""
    return 1 + text.count(". ") + text.count("? ") + text.count("! ")
