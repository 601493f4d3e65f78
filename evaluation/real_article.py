"""The one real article at hand: the shipped model against two blind coders, paragraph by paragraph.

    python -m evaluation.real_article            # needs ../shared/seeds (the team lead's material)
    python -m evaluation.real_article --article PATH   # the same article, kept elsewhere

The article itself is outside text, so it stays in ``../shared`` and only its labels live here
(``evaluation/real/seed_article_labels.jsonl``: paragraph number and each coder's themes). Two helpers who
never saw the model's output or the stored corpus labels coded it from the codebook and GUIDELINES.md. Thirteen
paragraphs say little about a theme's accuracy; they say how far a real news analysis sits from the
team-written test split, which is what a user should expect before measuring on their own articles.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT.parent / "shared" / "seeds" / "000_c3eb88e36b70f7ff.txt"
LABELS = Path(__file__).resolve().parent / "real" / "seed_article_labels.jsonl"
CODERS = ("coder_a", "coder_b")


def micro_f1(gold: list[set[str]], pred: list[set[str]]) -> float:
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    wrong = sum(len(g ^ p) for g, p in zip(gold, pred))
    return 2 * tp / (2 * tp + wrong) if tp or wrong else 1.0


def compare(model: Any = None, article: Path = ARTICLE, labels: Path = LABELS) -> dict[str, Any]:
    """Micro-F1 of the model against each coder and of the coders against each other, with every paragraph."""
    from classifier import load_model

    model = model if model is not None else load_model()
    rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = model.tag_article(article.read_text(encoding="utf-8"))
    if len(records) != len(rows):
        raise ValueError(f"{article}: {len(records)} paragraphs, but {labels} codes {len(rows)}")
    pred = [set(r["themes"]) for r in records]
    coded = {c: [set(row[c]) for row in rows] for c in CODERS}
    return {"paragraphs": len(rows),
            "model_vs": {c: round(micro_f1(coded[c], pred), 3) for c in CODERS},
            "coders": round(micro_f1(coded["coder_a"], coded["coder_b"]), 3),
            "rows": [{"paragraph": row["paragraph"], "model": sorted(p), **{c: sorted(row[c]) for c in CODERS}}
                     for row, p in zip(rows, pred)]}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--article", type=Path, default=ARTICLE, help="the seed article's text (default: %(default)s)")
    article = p.parse_args(argv).article
    if not article.is_file():  # outside text, not shipped: only a team checkout has it
        print(f"evaluation.real_article: {article}: not here; the seed article is the team's, not shipped with "
              "policytag (it lives in ../shared beside a team checkout; pass --article PATH if you have a copy)",
              file=sys.stderr)
        return 2
    try:
        result = compare(article=article)
    except ValueError as exc:  # another article than the one coded: the paragraph counts differ
        print(f"evaluation.real_article: {exc}", file=sys.stderr)
        return 2
    print(f"micro-F1 of the shipped model against coder A {result['model_vs']['coder_a']:.3f}, coder B "
          f"{result['model_vs']['coder_b']:.3f}; the coders against each other {result['coders']:.3f} "
          f"({result['paragraphs']} paragraphs)")
    for row in result["rows"]:
        print(f"¶{row['paragraph']}: model {', '.join(row['model']) or '-'} | A {', '.join(row['coder_a']) or '-'} "
              f"| B {', '.join(row['coder_b']) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
