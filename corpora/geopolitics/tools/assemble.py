"""Assemble the corpus from the writers' part files: stable ids, article-level splits.

    python corpora/geopolitics/tools/assemble.py PART.jsonl [PART.jsonl ...]

Each part line holds article_id, title, genre, region, paragraph, section, text, labels (as written and
coded by one team member: one part per writer, whose articles' ids start with the part's letter). The output,
corpora/geopolitics/paragraphs.jsonl, adds ``id``, ``writer`` (``geopolitics/<letter>``) and ``split``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from classifier.codebook import load_codebook
from classifier.io.corpus import assign_splits

HERE = Path(__file__).resolve().parent.parent
FIELDS = ("id", "article_id", "paragraph", "section", "title", "text", "labels", "genre", "region", "writer",
          "split")


def main(parts: list[str]) -> None:
    rows = [json.loads(line) for part in parts for line in Path(part).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows.sort(key=lambda r: (r["article_id"], r["paragraph"]))
    ids = load_codebook(HERE / "codebook.yaml").ids
    for r in rows:
        r["labels"] = [t for t in ids if t in r["labels"]]  # codebook order, no duplicates
        r["id"] = f"{r['article_id']}-p{r['paragraph']:02d}"
        r["writer"] = f"geopolitics/{r['article_id'][0]}"
    splits = assign_splits(rows, ids)
    with (HERE / "paragraphs.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            r["split"] = splits[r["article_id"]]
            fh.write(json.dumps({k: r.get(k) for k in FIELDS}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
