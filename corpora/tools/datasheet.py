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

NEW_BATCH = {"v2w7", "v2w8", "v2w9"}  # article-id prefixes of the writers added with decision 12


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
    if "<!-- review12:start -->" in text:
        text = replace_block(path, text, "review12", decision_12_review(folder))
    if (folder / "blind_r3").is_dir():
        text = replace_block(path, text, "round3", round_three(folder))
    for sub, block, batch, round_word in BATCH_ROUNDS:
        if (folder / sub).is_dir():
            text = replace_block(path, text, block, blind_batch(folder, sub, batch, round_word))
    path.write_text(text, encoding="utf-8")


def _tools() -> tuple:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from blind import read
    from parts import parse
    return read, parse


def writer_labels(folder: Path) -> dict[str, list[str]]:
    _, parse = _tools()
    return {f"{r['article_id']}-p{r['paragraph']:02d}": r["labels"]
            for part in sorted((folder / "parts").glob("*.txt")) for r in parse(part)}


def labels_as_of(folder: Path, rounds: set) -> dict[str, list[str]]:
    """The labels a corpus stored once the adjudications of ``rounds`` were applied (in file order): the tables
    of each round are computed against the labels of that time, so later rounds do not rewrite history."""
    import json

    labels = writer_labels(folder)
    path = folder / "agreement" / "adjudication.jsonl"
    for d in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
        if d.get("round") in rounds:
            labels[d["id"]] = d["labels"]
    return labels


def coded(folder: Path, sub: str) -> dict[str, list[str]]:
    read, _ = _tools()
    out: dict[str, list[str]] = {}
    for f in sorted((folder / sub).glob("*.coded.txt")):
        out.update(read(f))
    return out


def decision_12_review(folder: Path) -> str:
    """How many alliance_cohesion labels the review under decision 12 kept and dropped."""
    import json

    path = folder / "agreement" / "adjudication.jsonl"
    entries = [d for d in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if d.get("round") == "d12"]
    before = labels_as_of(folder, {None, 1, 2})
    reviewed = sum("alliance_cohesion" in labs for i, labs in before.items() if i.split("-")[0] not in NEW_BATCH)
    return (f"| alliance_cohesion labels reviewed | kept | dropped |\n|---:|---:|---:|\n"
            f"| {reviewed} | {reviewed - len(entries)} | {len(entries)} |\n")


def round_three(folder: Path) -> str:
    """The third blind round (coded with GUIDELINES.md including decision 12): a fresh stratified check sample
    against the labels stored after the decision-12 review, and the new paragraphs (batch b) against their
    writers. Every disagreement in both was adjudicated afterwards (round 3)."""
    from classifier.codebook import load_codebook

    ids = load_codebook(folder / "codebook.yaml").ids
    third = coded(folder, "blind_r3")
    stored = labels_as_of(folder, {1, 2, "d12"})
    writer = writer_labels(folder)
    fresh = sorted(i for i in third if i.split("-")[0] not in NEW_BATCH)
    new = sorted(i for i in third if i.split("-")[0] in NEW_BATCH)
    out = ("Third round against the stored labels (after the decision-12 review, before the third adjudication), "
           "on a fresh stratified check sample (first coder: stored labels; second coder: round three):\n\n"
           + agreement_table(agreement({i: stored[i] for i in fresh}, {i: third[i] for i in fresh}, ids)))
    if new:
        out += ("\nThird round against the writers of batch b (first coder: writer; second coder: round three); "
                "every disagreement here was adjudicated:\n\n"
                + agreement_table(agreement({i: writer[i] for i in new}, {i: third[i] for i in new}, ids)))
    return out


def blind_batch(folder: Path, sub: str, batch: str, round_word: str) -> str:
    """A batch coded in full, blind, in ``sub`` against its writers; every disagreement was adjudicated afterwards
    (the round named ``round_word``)."""
    from classifier.codebook import load_codebook

    ids = load_codebook(folder / "codebook.yaml").ids
    blind = coded(folder, sub)
    writer = writer_labels(folder)
    return (f"Batch {batch} against its writers (first coder: writer; second coder: blind, round {round_word}); "
            "every disagreement here was adjudicated:\n\n"
            + agreement_table(agreement({i: writer[i] for i in blind}, {i: blind[i] for i in blind}, ids)))


# later blind rounds, each a batch coded in full: (folder, README block, batch name, round)
BATCH_ROUNDS = (("blind_r4", "round4", "c", "four"), ("blind_r5", "round5", "d", "five"),
                ("blind_r6", "round6", "e", "six"), ("blind_r7", "round7", "f", "seven"))


def round_two(folder: Path) -> str:
    """The second blind round (coded with GUIDELINES.md): against the stored labels on the adjudicated check
    sample (do the written rules reproduce adjudicated decisions?), and against the writers on the rest."""
    import json

    from classifier.codebook import load_codebook

    ids = load_codebook(folder / "codebook.yaml").ids
    second = coded(folder, "blind_r2")
    stored = labels_as_of(folder, {1})  # what was stored when the second round was checked
    writer = writer_labels(folder)
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
