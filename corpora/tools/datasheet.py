"""Regenerate the tables of a corpus datasheet (its README.md) from the corpus files.

    python corpora/tools/datasheet.py corpora/geopolitics_v2 [corpora/stress ...]

Replaces the text between <!-- stats:start/end --> and <!-- agreement:start/end --> markers, so the counts and
agreement figures in a datasheet are always those of the files beside it (the same tables as
``policytag corpus stats`` and ``policytag corpus agreement``).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from classifier.annotate.agreement import agreement_table
from classifier.io.corpus import corpus_agreement, corpus_stats


def replace_block(path: Path, text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: markers for {name!r} not found")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def regenerate(folder: Path) -> None:
    path = folder / "README.md"
    text = path.read_text(encoding="utf-8")
    text = replace_block(path, text, "stats", corpus_stats(folder))
    agreement = folder / "agreement"
    if (agreement / "second_coder.jsonl").exists():
        result = corpus_agreement(folder, agreement / "second_coder.jsonl", agreement / "first_coder.jsonl")
        text = replace_block(path, text, "agreement", agreement_table(result))
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["corpora/geopolitics"]:
        regenerate(Path(arg))
