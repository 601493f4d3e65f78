"""Read and check the writers' part files (the plain-text format used for corpus v2 and the stress set).

    python corpora/tools/parts.py check FILE [FILE ...]     # errors with FILE:LINE, then counts

The format, one article after another:

    === ARTICLE <article_id>
    title: <headline>
    genre: <genre>
    region: <region>
    ---
    ## <section heading, optional, applies to the paragraphs below it>
    {theme_a, theme_b} @sea <paragraph text on one line>
    {} <a paragraph with no theme>

Each paragraph is one line starting with its labels in braces (theme ids of the codebook, comma separated,
``{}`` for none). ``@sea`` after the braces marks a paragraph about Southeast Asia or an ASEAN state.
A plain text format rather than JSONL because writers type it by hand: no quote escaping to get wrong.
"""
from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

THEMES = ("deterrence", "security_guarantees", "burden_sharing", "alliance_cohesion", "strategic_autonomy",
          "great_power_competition", "territorial_sovereignty", "negotiation_diplomacy", "economic_dimension",
          "maritime_security", "multilateral_institutions", "asean_analogy")
PARA = re.compile(r"^\{([^{}]*)\}\s*(@sea\s+)?(\S.*)$")


class PartError(ValueError):
    """A line of a part file that does not follow the format."""


def parse_labels(inside: str, where: str) -> list[str]:
    """The theme ids between braces, in codebook order; PartError naming ``where`` for an unknown one."""
    labels = [t.strip() for t in inside.split(",") if t.strip()]
    bad = [t for t in labels if t not in THEMES]
    if bad:
        raise PartError(f"{where}: unknown theme(s) {', '.join(bad)}")
    return [t for t in THEMES if t in labels]


def parse(path: str | Path) -> list[dict]:
    """All paragraphs of one part file as dicts (article_id, title, genre, region, paragraph, section, text,
    labels, sea, source_line); raises PartError naming FILE:LINE for the first broken line."""
    path = Path(path)
    rows: list[dict] = []
    art: dict | None = None
    in_body = False
    seen: set[str] = set()
    for no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        where = f"{path}:{no}"
        if not line:
            continue
        if line.startswith("=== ARTICLE"):
            aid = line[len("=== ARTICLE"):].strip()
            if not re.fullmatch(r"[A-Za-z0-9_-]+", aid):
                raise PartError(f"{where}: article id must be letters, digits, - or _: {aid!r}")
            if aid in seen:
                raise PartError(f"{where}: article id {aid} used twice")
            seen.add(aid)
            art = {"article_id": aid, "title": None, "genre": None, "region": None, "section": None, "n": 0}
            in_body = False
            continue
        if art is None:
            raise PartError(f"{where}: text before the first '=== ARTICLE' line")
        if not in_body:
            if line == "---":
                for key in ("title", "genre", "region"):
                    if not art[key]:
                        raise PartError(f"{where}: article {art['article_id']} has no {key}: line")
                in_body = True
                continue
            key, sep, value = line.partition(":")
            if not sep or key.strip() not in ("title", "genre", "region"):
                raise PartError(f"{where}: expected 'title:', 'genre:', 'region:' or '---', got {line[:60]!r}")
            art[key.strip()] = value.strip()
            continue
        if line.startswith("## "):
            art["section"] = line[3:].strip() or None
            continue
        m = PARA.match(line)
        if not m:
            raise PartError(f"{where}: a paragraph line must start with {{labels}}: {line[:60]!r}")
        labels = parse_labels(m.group(1), where)
        rows.append({"article_id": art["article_id"], "title": art["title"], "genre": art["genre"],
                     "region": art["region"], "paragraph": art["n"], "section": art["section"],
                     "text": m.group(3).strip(), "labels": labels,
                     "sea": bool(m.group(2)), "source_line": no})
        art["n"] += 1
    return rows


def summary(rows: list[dict]) -> str:
    """Counts a writer checks against the brief: paragraphs, articles, no-theme share, themes per on-topic
    paragraph, median words, Southeast Asia share, per-theme positives."""
    n = len(rows) or 1
    words = sorted(len(r["text"].split()) for r in rows) or [0]
    on = [r for r in rows if r["labels"]]
    sea = [r for r in rows if r["sea"]]
    themes = collections.Counter(t for r in rows for t in r["labels"])
    out = [f"paragraphs {len(rows)}  articles {len({r['article_id'] for r in rows})}",
           f"no-theme {100 * (len(rows) - len(on)) / n:.1f}%  themes per on-topic paragraph "
           f"{sum(len(r['labels']) for r in on) / max(1, len(on)):.2f}",
           f"median words {words[len(words) // 2]}  paragraphs of 200+ words {sum(w >= 200 for w in words)}",
           f"@sea {len(sea)} ({100 * len(sea) / n:.1f}%), of which asean_analogy "
           f"{sum('asean_analogy' in r['labels'] for r in sea)}"]
    out += [f"  {t:26s} {themes[t]:5d} ({100 * themes[t] / n:.1f}%)" for t in THEMES]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "check":
        print(__doc__)
        return 2
    rows: list[dict] = []
    status = 0
    for f in argv[1:]:
        try:
            rows += parse(f)
        except PartError as exc:
            print(exc)
            status = 1
    print(summary(rows))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
