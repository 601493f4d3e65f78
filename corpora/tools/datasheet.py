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

from classifier.annotate.agreement import agreement, agreement_table
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
    if (agreement / "round2_check_ids.json").exists():
        text = replace_block(path, text, "round2", round_two(folder))
    path.write_text(text, encoding="utf-8")


def round_two(folder: Path) -> str:
    """The second blind round (coded with GUIDELINES.md): against the stored labels on the adjudicated check
    sample (do the written rules reproduce adjudicated decisions?), and against the writers on the rest."""
    import json

    from classifier.codebook import load_codebook

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from blind import read
    from parts import parse

    ids = load_codebook(folder / "codebook.yaml").ids
    second = {}
    for f in sorted((folder / "blind_r2").glob("*.coded.txt")):
        second.update(read(f))
    stored = {d["id"]: d["labels"] for d in map(json.loads, (folder / "paragraphs.jsonl").open())}
    writer = {f"{r['article_id']}-p{r['paragraph']:02d}": r["labels"]
              for part in sorted((folder / "parts").glob("*.txt")) for r in parse(part)}
    check = json.loads((folder / "agreement" / "round2_check_ids.json").read_text())
    first_round = {json.loads(line)["id"] for line in (folder / "agreement" / "second_coder.jsonl").open()}
    rest = sorted(i for i in second if i not in first_round)
    a = agreement({i: stored[i] for i in check}, {i: second[i] for i in check}, ids)
    b = agreement({i: writer[i] for i in rest}, {i: second[i] for i in rest}, ids)
    return ("Second round against the stored (adjudicated) labels, on the check sample (first coder: stored "
            "labels; second coder: round two):\n\n" + agreement_table(a) +
            "\nSecond round against the writers, on the paragraphs the first round had not double-coded (first "
            "coder: writer; second coder: round two); every disagreement here was adjudicated:\n\n"
            + agreement_table(b))


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["corpora/geopolitics"]:
        regenerate(Path(arg))
