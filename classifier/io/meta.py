"""Article metadata (title, date, outlet, author, url): from feed columns, Markdown front matter and HTML.

Records carry it as ``meta``, with only the keys that are known, in the order of :data:`META_KEYS`. Dates are
ISO (``YYYY-MM-DD``, or ``YYYY-MM``/``YYYY`` when that is all the source says), read by one parser,
:func:`parse_date`, that never guesses the order of day and month in a numeric date such as ``03/04/2026``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from classifier.errors import PolicytagError

log = logging.getLogger(__name__)

META_KEYS = ("title", "date", "outlet", "author", "url")
MAX_DATE_CHARS = 200  # a longer value is not a date (and is not searched for one)
MAX_FRONT_MATTER = 65_536  # characters: front matter is a few lines; a longer block is text between two rules
DEFAULT_META_FIELDS: tuple[tuple[str, str], ...] = tuple((k, k) for k in META_KEYS)
MetaFields = Sequence[tuple[str, str]]  # (meta key, feed column)


class MetaFieldsError(PolicytagError):
    """A ``--meta-fields`` value names a key policytag does not carry."""


def parse_meta_fields(spec: str) -> tuple[tuple[str, str], ...]:
    """``title,date=published`` -> (key, column) pairs; ``none`` (or empty) carries no metadata at all."""
    spec = spec.strip()
    if spec.lower() in ("", "none"):
        return ()
    out: dict[str, str] = {}
    for part in spec.split(","):
        key, _, column = part.partition("=")
        key, column = key.strip().lower(), (column.strip() or key.strip())
        if key not in META_KEYS:
            raise MetaFieldsError(f"--meta-fields: unknown field {key!r} (fields: {', '.join(META_KEYS)}; "
                                  "map a column with NAME=COLUMN, or 'none')")
        out[key] = column
    return tuple(out.items())


# -- dates ---------------------------------------------------------------------------------------------------
_MONTHS = {name: n for n, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), 1) for name in names}
_MONTH = r"(?P<{}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?"
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)?"
_ISO = re.compile(r"(?P<y>\d{4})(?:(?P<s>[-/.]?)(?P<m>\d{2})(?:(?P=s)(?P<d>\d{2}))?)?" + _TIME, re.I)
_ISO_IN_TEXT = re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?![\d-])")
_TEXTUAL = re.compile(
    r"(?<![\w])(?:" + _DAY.format("d1") + r"\s+" + _MONTH.format("m1") + r",?\s+(?P<y1>\d{4})"
    r"|" + _MONTH.format("m2") + r"\s+" + _DAY.format("d2") + r",?\s+(?P<y2>\d{4})"
    r"|" + _MONTH.format("m3") + r",?\s+(?P<y3>\d{4}))(?!\d)", re.I)
_NUMERIC = re.compile(r"(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})" + _TIME, re.I)


def _iso(year: str | int, month: str | int | None = None, day: str | int | None = None) -> str | None:
    """The ISO text of a real calendar date (or month, or year), else None."""
    try:
        y = int(year)
        if month is None:
            return f"{y:04d}" if 1000 <= y <= 9999 else None
        m = int(month) if str(month).isdigit() else _MONTHS[str(month).lower()]
        if day is None:
            dt.date(y, m, 1)
            return f"{y:04d}-{m:02d}"
        return dt.date(y, m, int(day)).isoformat()
    except (ValueError, KeyError):
        return None


def _textual(m: re.Match[str]) -> str | None:
    for i in "123":
        if m.group(f"y{i}"):
            return _iso(m.group(f"y{i}"), m.group(f"m{i}"), m.group(f"d{i}") if i != "3" else None)
    return None  # pragma: no cover


def parse_date(value: Any) -> str | None:
    """A date as ISO text, or None when it cannot be read without guessing.

    Reads ISO 8601 (``2026-03-04``, ``2026-03-04T10:00:00Z``, ``2026-03``, ``2026``), RFC 2822 feed dates
    (``Wed, 04 Mar 2026 10:00:00 +0000``), dates with English month names (``12 March 2026``, ``March 12, 2026``,
    ``Mar 2026``) and numeric day/month dates only where one number is over 12 (``25/03/2026``). The date is the
    one written (no conversion to UTC: the publication's own day)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return _iso(value)
    if not isinstance(value, str) or len(value) > MAX_DATE_CHARS:
        return None
    text = " ".join(value.split())
    m = _ISO.fullmatch(text)
    if m:
        return _iso(m.group("y"), m.group("m"), m.group("d"))
    m = _NUMERIC.fullmatch(text)
    if m:
        a, b = int(m.group("a")), int(m.group("b"))
        if a == b or (a > 12) != (b > 12):  # one reading only: day and month are told apart
            day, month = (a, b) if a > 12 or a == b else (b, a)
            return _iso(m.group("y"), month, day)
        return None
    return find_date(text)


def find_date(text: str) -> str | None:
    """The first unambiguous date written inside running text (a byline, a dateline): ISO or with a month name."""
    found = [(m.start(), _textual(m)) for m in _TEXTUAL.finditer(text)]
    found += [(m.start(), _iso(m.group("y"), m.group("m"), m.group("d"))) for m in _ISO_IN_TEXT.finditer(text)]
    for _, iso in sorted(found, key=lambda f: f[0]):
        if iso:
            return iso
    return None


MAX_TIMESTAMP_WORDS = 10
_HOUR, _MINUTE = r"(?<![\d.,])(?:[01]?\d|2[0-3])", r"[0-5]\d(?!\d|[.,]\d)"  # not a piece of a longer number
_AM_PM = r"\s*[ap]\.?m\b\.?"
# "11:40", "9:10 AM", "10.30am": a clock time whatever stands around it
_CLOCK = re.compile(rf"{_HOUR}:{_MINUTE}(?::[0-5]\d)?(?:{_AM_PM})?|{_HOUR}\.{_MINUTE}{_AM_PM}", re.I)
# "10.30": a time only beside a date, a clock time or a stamp word ("Updated 10.30 BST"); alone it is a figure
_DOTTED_CLOCK = re.compile(rf"{_HOUR}\.{_MINUTE}")
_NUMERIC_IN_TEXT = re.compile(r"(?<!\d)\d{1,2}[/.-]\d{1,2}[/.-]\d{4}(?!\d)")
_STAMP_TERMS = (
    r"\b(?:posted|published|updated|last|modified|first|on|at|today|yesterday|local|time|"
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?)\b|\b(?:gmt|utc|bst|cet|cest|eet|eest|est|edt|cst|cdt|pst|pdt|et|pt|"
    r"z)\b|[+-]\d{2}:?\d{2}\b")
# what makes a lone "10.30" a time: a stamp's own verb, a day or a zone a figure never carries ("Last 12.50" on a
# quote box, "At 12.50", "12.50 pt" stay figures)
_DOTTED_STAMP_TERM = re.compile(
    r"\b(?:posted|published|updated|modified|today|yesterday|"
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?|"
    r"gmt|utc|bst|cet|cest|eet|eest|est|edt|cst|cdt|pst|pdt)\b|[+-]\d{2}:?\d{2}\b", re.I)
# stamp words and punctuation; a currency or percent sign is not stamp punctuation ("$12.50", "3.25%" are figures)
_STAMP_WORDS = re.compile(_STAMP_TERMS + r"|[^\w%‰$£€¥₹¢]+", re.I)


def is_timestamp(text: str) -> bool:
    """Whether a line of a page is only a time stamp ("11:40 GMT", "Published April 2, 2026 9:10 AM"): a date or
    clock time with nothing around it but words like "updated on" and a time zone. Prose with a date is not, and
    neither is a figure standing alone ("12.50", "$12.50", "3.25%", "2,400"): a stat block or pull figure is
    article text, and "12.50" is read as the time 12.50 only with a date, "am"/"pm", a zone or a word such as
    "updated" beside it. Hours and minutes must be a real clock's ("12.75" is no time)."""
    if not text.strip() or len(text.split()) > MAX_TIMESTAMP_WORDS:
        return False
    rest = _CLOCK.sub(" ", _NUMERIC_IN_TEXT.sub(" ", _ISO_IN_TEXT.sub(" ", _TEXTUAL.sub(" ", text))))
    dated = rest != text  # a date or an unmistakable clock time
    rest = _DOTTED_CLOCK.sub(" ", rest)
    if rest == text or _STAMP_WORDS.sub("", rest).strip():  # no date or time in it, or more than a stamp
        return False
    return dated or _DOTTED_STAMP_TERM.search(rest) is not None


_ISO_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])(?:-\d{2})?")


def month_of(date: str | None) -> str | None:
    """``YYYY-MM`` of an ISO date (``YYYY-MM-DD`` or ``YYYY-MM``); None for a bare year or anything else. The one
    rule for a document's month: ``--summary-by month`` groups by it and the HTML page charts by it."""
    m = _ISO_MONTH.fullmatch(date.strip()) if isinstance(date, str) else None
    return f"{m.group(1)}-{m.group(2)}" if m else None


# -- values ------------------------------------------------------------------------------------------------
def _text_value(value: Any) -> str | None:
    """A metadata value as one line of text; lists (several authors) joined; anything else left out."""
    if isinstance(value, (list, tuple)):
        parts = [_text_value(v) for v in value if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        return ", ".join(p for p in parts if p) or None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity (JSON-LD, a table's empty cell)
        return None
    text = " ".join(str(value).split())
    return text or None


def build_meta(values: Mapping[str, Any], keys: Sequence[str]) -> dict[str, str]:
    """The ``meta`` of a record: the known ``keys`` in :data:`META_KEYS` order, dates as ISO."""
    out: dict[str, str] = {}
    for key in META_KEYS:
        if key not in keys or values.get(key) is None:
            continue
        value = parse_date(values[key]) if key == "date" else _text_value(values[key])
        if value:
            out[key] = value
    return out


def merge_meta(first: Mapping[str, str] | None, then: Mapping[str, str] | None) -> dict[str, str] | None:
    """``first``'s values, with keys it lacks taken from ``then``; None when neither knows anything."""
    merged = {k: v for k in META_KEYS for v in [(first or {}).get(k) or (then or {}).get(k)] if v}
    return merged or None


def column_meta(row: Mapping[str, Any], fields: MetaFields) -> tuple[dict[str, str], list[str]]:
    """Metadata from a feed row's columns, and a note for each date column that could not be read."""
    values = {key: row[column] for key, column in fields if row.get(column) not in (None, "")}
    meta = build_meta(values, [k for k, _ in fields])
    if "date" in values and "date" not in meta:
        return meta, [f"{dict(fields)['date']} {values['date']!r} is not a date policytag reads (ISO, RFC 2822, "
                      "'12 March 2026'; day and month must be told apart); left out"]
    return meta, []


# -- Markdown front matter ---------------------------------------------------------------------------------
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_FRONT_KEYS = {"title": ("title",), "date": ("date", "published", "pubdate", "published_at"),
               "outlet": ("outlet", "publisher", "source", "site_name"), "author": ("author", "authors", "byline"),
               "url": ("url", "canonical_url", "canonical", "link")}


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """(front matter, the rest) of a Markdown text: YAML between ``---`` lines at the very top, when it reads
    as a mapping; otherwise (None, text), so a thematic break or a paragraph between rules stays text."""
    m = _FRONT_MATTER.match(text)
    if m is None or len(m.group("yaml")) > MAX_FRONT_MATTER:
        return None, text
    import yaml
    try:
        data = yaml.safe_load(m.group("yaml"))
    except (yaml.YAMLError, RecursionError):  # nested thousands deep: not metadata, so the block stays text
        return None, text
    if not isinstance(data, dict):
        return None, text
    return data, text[m.end():]


def front_matter_meta(text: str, keys: Sequence[str]) -> dict[str, str]:
    """Metadata from a Markdown text's front matter (the first of each key's usual names that is set)."""
    data, _ = split_front_matter(text)
    if not data:
        return {}
    lowered = {str(k).lower(): v for k, v in data.items()}
    values = {key: next((lowered[n] for n in names if lowered.get(n) not in (None, "")), None)
              for key, names in _FRONT_KEYS.items()}
    return build_meta(values, keys)


# -- HTML --------------------------------------------------------------------------------------------------
_BYLINE_NAME = re.compile(r"[\s_\-]+")
_BYLINE_PREFIX = re.compile(r"^(?:written\s+)?by\s+", re.I)
_BYLINE_CUT = re.compile(r"\s*(?:[,·|•/\u2013\u2014;(]|\s-\s|\bupdated\b|\bpublished\b)\s*", re.I)
MAX_AUTHOR_WORDS = 8
_META_PROPERTY = {"og:title": "title", "og:site_name": "outlet", "article:published_time": "date", "og:url": "url"}
_META_NAME = {"author": "author", "date": "date", "twitter:title": "title"}


MAX_JSON_LD = 200_000  # characters of one JSON-LD block read; a longer one is not an article's description
_LD_ARTICLE = re.compile(r"(?:Article|Posting|Report)$")  # NewsArticle, BlogPosting, LiveBlogPosting, Report, ...


def _ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-LD block: itself, the items of a top-level list and of an ``@graph``."""
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            yield from (g for g in graph if isinstance(g, dict)) if isinstance(graph, list) else ()


def _ld_name(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def _ld_names(value: Any) -> Any:
    """A JSON-LD person or organisation (or a list of them) as its name(s); lists nested deeper are not names
    (and walking them level by level would let a hostile page exhaust the stack)."""
    if isinstance(value, list):
        return [n for n in map(_ld_name, value) if isinstance(n, str)]
    return _ld_name(value)


def json_ld_article(text: str) -> dict[str, Any]:
    """headline, date, author and publisher of the first article-like object (NewsArticle, BlogPosting,
    LiveBlogPosting, ...) in a ``<script type="application/ld+json">`` block; {} when it has none or is broken."""
    if len(text) > MAX_JSON_LD:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    for obj in _ld_objects(data):
        kinds = obj.get("@type")
        if any(isinstance(k, str) and _LD_ARTICLE.search(k) for k in (kinds if isinstance(kinds, list) else [kinds])):
            return {"headline": obj.get("headline"), "date": obj.get("datePublished"),
                    "author": _ld_names(obj.get("author")), "publisher": _ld_names(obj.get("publisher"))}
    return {}


def _name_tokens(attrs: dict[str, str | None]) -> list[str]:
    return [t for t in _BYLINE_NAME.split(f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()) if t]


_BYLINE_NAMES = ("byline", "author")
_DATE_NAMES = ("date", "pubdate", "publish", "posted")  # "post-date", "published-on", "date-display-single"


def byline_author(text: str) -> str | None:
    """The author's name in a byline ("By Jane Doe, Defence Correspondent · 12 March 2026" -> "Jane Doe")."""
    text = _BYLINE_PREFIX.sub("", " ".join(text.split()))
    name = _BYLINE_CUT.split(text, maxsplit=1)[0].strip(" .:")
    if not name or any(ch.isdigit() for ch in name) or len(name.split()) > MAX_AUTHOR_WORDS:
        return None
    return name


_ITEMPROPS = {"headline", "author", "datepublished"}  # schema.org microdata read, by lower-cased itemprop


@dataclass
class _Reading:
    """The text of one element being read into ``source``, ``depth`` elements deep inside it so far."""

    source: str
    parts: list[str] = field(default_factory=list)
    depth: int = 0
    size: int = 0


class _HTMLMeta(HTMLParser):
    """Collects a page's metadata: <title>, <meta> tags, the first <time datetime>, <link rel=canonical>, the
    first article described in JSON-LD, schema.org microdata (itemprop headline, author, datePublished), and the
    text of the first byline element (class or id naming a byline or an author) and of the first element named
    for a date."""

    MAX_CAPTURE = 500  # characters of an element's text kept

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}  # source -> first value ("og:title", "<title>", "byline", ...)
        self._title: list[str] | None = None
        self._captures: list[_Reading] = []  # elements whose text is being read
        self._quiet = 0  # inside <script>/<style>
        self._ld: list[str] | None = None  # text of the JSON-LD <script> being read

    def _first(self, source: str, value: str | None) -> None:
        if value and value.strip() and source not in self.found:
            self.found[source] = " ".join(value.split())

    def _capture(self, source: str) -> None:
        """Reads the text of the element just opened into ``source``, unless a value or a reading is there."""
        if source not in self.found and all(c.source != source for c in self._captures):
            self._captures.append(_Reading(source))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k.lower(): v for k, v in attrs}
        if tag == "meta":
            prop, name = (a.get("property") or "").lower(), (a.get("name") or "").lower()
            if prop in _META_PROPERTY:
                self._first(prop, a.get("content"))
            if name in _META_NAME:
                self._first(f"name:{name}", a.get("content"))
        elif tag == "link" and "canonical" in (a.get("rel") or "").lower().split():
            self._first("canonical", a.get("href"))
        elif tag == "time":
            self._first("time", a.get("datetime"))
        elif tag == "title" and "<title>" not in self.found and self._title is None:
            self._title = []
        if tag in ("script", "style"):
            self._quiet += 1
        if tag == "script" and (a.get("type") or "").strip().lower() == "application/ld+json" \
                and not any(k.startswith("ld:") for k in self.found):
            self._ld = []
        item = (a.get("itemprop") or "").strip().lower()
        if item in _ITEMPROPS:
            self._first(f"item:{item}", a.get("content") or a.get("datetime"))
        if tag in ("meta", "link", "br", "img", "hr", "input", "wbr", "source"):
            return
        for capture in self._captures:
            capture.depth += 1
        if item in _ITEMPROPS:
            self._capture(f"item:{item}")
        tokens = _name_tokens(a)
        if any(t.startswith(_BYLINE_NAMES) for t in tokens):
            self._capture("byline")
        if any(t.startswith(_DATE_NAMES) for t in tokens):
            self._capture("dated")
        if tag == "h1":
            self._capture("h1")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._quiet:
            self._quiet -= 1
        if tag == "script" and self._ld is not None:
            for key, value in json_ld_article("".join(self._ld)).items():
                self._first(f"ld:{key}", _text_value(value))
            self._ld = None
        if tag == "title" and self._title is not None:
            self._first("<title>", "".join(self._title))
            self._title = None
        for capture in list(self._captures):
            capture.depth -= 1
            if capture.depth < 0:
                self._first(capture.source, " ".join(capture.parts))
                self._captures.remove(capture)

    def handle_data(self, data: str) -> None:
        if self._ld is not None and sum(map(len, self._ld)) <= MAX_JSON_LD:
            self._ld.append(data)
        if self._quiet:
            return
        if self._title is not None:
            self._title.append(data)
        for capture in self._captures:  # a running count: a page of many tiny text nodes stays linear
            if capture.size < self.MAX_CAPTURE:
                capture.parts.append(data)
                capture.size += len(data)


def _site_suffixed(title: str, headline: str | None) -> bool:
    """Whether a page's <title> is its <h1> plus a site name ("Headline | Site", "Headline - Site"): pages name
    the site in <title> for browser tabs, and the headline is what a reader of the records wants."""
    if not headline or len(headline) < 12 or not title.startswith(headline) or title == headline:
        return False
    rest = title[len(headline):]
    # the part after the <h1> must be the shorter one: "Site | Headline" under a logo <h1> naming the site is not
    # a headline followed by a site name
    return re.fullmatch(r"\s*[|\u2013\u2014:\u00b7-]\s*\S.{0,60}", rest) is not None and len(rest) < len(headline)


def html_meta(text: str, keys: Sequence[str]) -> dict[str, str]:
    """Metadata of an HTML page: meta tags first, then the article JSON-LD or microdata describe, then the page's
    text. Title: og:title, twitter:title, JSON-LD or microdata headline, else <title> (less an " | Outlet" ending
    when the outlet is known); date: article:published_time, <meta name=date>, JSON-LD or microdata
    datePublished, the first <time datetime>, else a date in the byline or in an element named for a date;
    <title> less a site-name ending that follows the page's <h1>;
    author: <meta name=author>, JSON-LD or microdata author(s), else the byline's name; outlet: og:site_name, else
    the JSON-LD publisher; url: <link rel=canonical>, else og:url."""
    parser = _HTMLMeta()
    parser.feed(text)
    parser.close()
    f = parser.found
    outlet = f.get("og:site_name") or f.get("ld:publisher")
    title = next((f[s] for s in ("og:title", "name:twitter:title", "ld:headline", "item:headline", "<title>")
                  if s in f), None)
    if title and outlet and title != f.get("og:title"):
        title = re.sub(r"\s*[|\u2013\u2014:-]\s*" + re.escape(outlet) + r"\s*$", "", title) or title
    if title and title == f.get("<title>") and _site_suffixed(title, f.get("h1")):
        title = f["h1"]
    dates = [parse_date(f[s]) for s in ("article:published_time", "name:date", "ld:date", "item:datepublished",
                                        "time") if s in f]
    date = next((d for d in dates if d), None) or next(
        (d for s in ("byline", "dated") if s in f for d in [find_date(f[s])] if d), None)
    byline = f.get("byline")
    author = f.get("name:author") or f.get("ld:author") or f.get("item:author") or (
        byline_author(byline) if byline else None)
    values = {"title": title, "date": date, "outlet": outlet, "author": author,
              "url": f.get("canonical") or f.get("og:url")}
    return build_meta(values, keys)


def text_meta(text: str, fmt: str, keys: Sequence[str]) -> dict[str, str]:
    """Metadata a document's own text carries (front matter, HTML head and byline); {} for plain text. Never
    fails: metadata that cannot be read costs the metadata, not the document."""
    if not keys or fmt not in ("html", "markdown"):
        return {}
    try:
        return html_meta(text, keys) if fmt == "html" else front_matter_meta(text, keys)
    except Exception:  # noqa: BLE001 - a parser bug must not sink the document
        log.debug("metadata of a %s document could not be read", fmt, exc_info=True)
        return {}
