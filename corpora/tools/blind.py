"""Blind second coding: export paragraphs without their labels, read a coder's labels back.

    python corpora/tools/blind.py export OUT.txt PART.txt [PART.txt ...] [--sample FRACTION --seed N]
    python corpora/tools/blind.py read CODED.txt          # checks a coder's file, prints how many it holds

The export shows, per article, its title and per paragraph its id, section heading and text, never the
writer's labels. The coder answers one line per paragraph: ``<paragraph id> {theme_a, theme_b}`` ({} for none).
A sample is stratified: every article contributes, so genres and themes are covered in proportion.
"""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parts import parse, parse_labels  # noqa: E402

LINE = re.compile(r"^(\S+)\s+\{([^{}]*)\}\s*$")


def paragraph_id(row: dict) -> str:
    return f"{row['article_id']}-p{row['paragraph']:02d}"


def export(out: str, parts: list[str], sample: float = 1.0, seed: int = 0) -> int:
    rng = random.Random(seed)
    lines: list[str] = []
    n = 0
    by_article: dict[str, list[dict]] = {}
    for p in parts:
        for r in parse(p):
            by_article.setdefault(r["article_id"], []).append(r)
    for aid in sorted(by_article):
        rows = by_article[aid]
        if sample < 1.0:  # stratified by article: about the same share of each article, at least one
            k = max(1, round(len(rows) * sample))
            rows = sorted(rng.sample(rows, k), key=lambda r: r["paragraph"])
        lines.append(f"=== ARTICLE {aid} | title: {rows[0]['title']}")
        for r in rows:
            sec = f" (section: {r['section']})" if r["section"] else ""
            lines.append(f"[{paragraph_id(r)}]{sec} {r['text']}")
            n += 1
        lines.append("")
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n


def read(path: str | Path) -> dict[str, list[str]]:
    """paragraph id -> labels (codebook order); raises ValueError naming FILE:LINE for a broken line."""
    out: dict[str, list[str]] = {}
    for no, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        m = LINE.match(raw.strip())
        if not m:
            raise ValueError(f"{path}:{no}: expected '<id> {{labels}}', got {raw[:60]!r}")
        out[m.group(1)] = parse_labels(m.group(2), f"{path}:{no}")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["export"] and len(argv) >= 3:
        args, sample, seed = argv[1:], 1.0, 0
        if "--sample" in args:
            i = args.index("--sample")
            sample = float(args[i + 1])
            del args[i:i + 2]
        if "--seed" in args:
            i = args.index("--seed")
            seed = int(args[i + 1])
            del args[i:i + 2]
        print(export(args[0], args[1:], sample, seed), "paragraphs exported")
        return 0
    if argv[:1] == ["read"] and len(argv) == 2:
        try:
            print(len(read(argv[1])), "paragraphs coded")
        except ValueError as exc:
            print(exc)
            return 1
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
