"""Regenerate the tables of the datasheet (README.md) from the corpus files.

    python corpora/geopolitics/tools/datasheet.py

Replaces the text between <!-- stats:start/end --> and <!-- agreement:start/end --> markers, so the counts and
agreement figures in the datasheet are always those of the files beside it.
"""
from __future__ import annotations

import re
from pathlib import Path

from classifier.agreement import agreement_table
from classifier.corpus import corpus_agreement, corpus_stats

HERE = Path(__file__).resolve().parent.parent


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{HERE / 'README.md'}: markers for {name!r} not found")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def main() -> None:
    path = HERE / "README.md"
    text = path.read_text(encoding="utf-8")
    text = replace_block(text, "stats", corpus_stats(HERE))
    result = corpus_agreement(HERE, HERE / "agreement" / "second_coder.jsonl", HERE / "agreement" / "first_coder.jsonl")
    text = replace_block(text, "agreement", agreement_table(result))
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
