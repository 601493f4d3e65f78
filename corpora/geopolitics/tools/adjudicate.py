"""Write adjudicated labels into the corpus.

    python corpora/geopolitics/tools/adjudicate.py [corpora/geopolitics/agreement/adjudication.jsonl]

Each adjudication line is {"id", "labels", "reason"}; the paragraph's stored labels become ``labels`` (in
codebook order). Idempotent: running it twice changes nothing the second time.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from classifier.codebook import load_codebook

HERE = Path(__file__).resolve().parent.parent


def main(path: Path) -> int:
    ids = load_codebook(HERE / "codebook.yaml").ids
    decided = {r["id"]: r["labels"] for r in map(json.loads, path.read_text().splitlines()) if r}
    corpus = HERE / "paragraphs.jsonl"
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    changed = 0
    for r in rows:
        if r["id"] in decided:
            final = [t for t in ids if t in decided[r["id"]]]
            changed += final != r["labels"]
            r["labels"] = final
    missing = set(decided) - {r["id"] for r in rows}
    if missing:
        raise SystemExit(f"{path}: ids not in the corpus: {sorted(missing)[:5]}")
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return changed


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "agreement" / "adjudication.jsonl"
    print(f"{main(target)} paragraphs changed")
