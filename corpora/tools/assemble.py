"""Assemble a corpus folder from its writers' part files, blind codings and adjudication.

    python corpora/tools/assemble.py agreement CORPUS_DIR      # first vs blind second coding -> agreement/*.jsonl
    python corpora/tools/assemble.py adjudication-sheet CORPUS_DIR OUT.txt   # disagreements, codings as A/B
    python corpora/tools/assemble.py build CORPUS_DIR [--all-test]          # -> CORPUS_DIR/paragraphs.jsonl

CORPUS_DIR holds ``parts/*.txt`` (the writers' files, format in parts.py), ``blind/*.coded.txt`` (blind second
codings, format in blind.py), optionally ``agreement/adjudication.jsonl`` (id, labels, reason) and
``codebook.yaml``. ``build`` writes stable ids, the adjudicated labels where coders disagreed, and article-level
splits, frozen once assigned (``--all-test`` for a held-out set such as the stress set, which is never trained
or tuned on).
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blind import paragraph_id  # noqa: E402
from blind import read as read_coded
from parts import THEMES, parse  # noqa: E402

FIELDS = ("id", "article_id", "paragraph", "section", "title", "text", "labels", "genre", "region", "sea", "writer",
          "split")


def rows_of(corpus: Path) -> list[dict]:
    """Every paragraph of the corpus's parts, with its id and its writer (``<corpus>/<part>``: one part, one
    writer), which training can group cross-validation folds by (``--group-column writer``)."""
    rows = []
    for part in sorted((corpus / "parts").glob("*.txt")):
        for r in parse(part):
            r["id"], r["writer"] = paragraph_id(r), f"{corpus.resolve().name}/{part.stem}"
            rows.append(r)
    return rows


def second_coding(corpus: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in sorted((corpus / "blind").glob("*.coded.txt")):
        out.update(read_coded(f))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def agreement_files(corpus: Path) -> None:
    rows = {r["id"]: r for r in rows_of(corpus)}
    second = second_coding(corpus)
    unknown = sorted(set(second) - set(rows))
    if unknown:
        raise SystemExit(f"{corpus}: blind codings for unknown ids: {', '.join(unknown[:5])}")
    ids = sorted(second)
    write_jsonl(corpus / "agreement" / "first_coder.jsonl", [{"id": i, "labels": rows[i]["labels"]} for i in ids])
    write_jsonl(corpus / "agreement" / "second_coder.jsonl", [{"id": i, "labels": second[i]} for i in ids])
    print(f"{len(ids)} paragraphs double-coded")


def adjudication_sheet(corpus: Path, out: Path) -> None:
    """Each disagreement with its article title, section, text and the two codings in random order (A/B), so
    the adjudicator cannot tell the writer from the blind coder."""
    rows = {r["id"]: r for r in rows_of(corpus)}
    second = second_coding(corpus)
    rng = random.Random(20261207)
    lines, n = [], 0
    for i in sorted(second):
        first = rows[i]["labels"]
        if set(first) == set(second[i]):
            continue
        a, b = (first, second[i]) if rng.random() < 0.5 else (second[i], first)
        r = rows[i]
        sec = f" (section: {r['section']})" if r["section"] else ""
        lines += [f"[{i}] title: {r['title']}{sec}", r["text"], f"A: {{{', '.join(a)}}}", f"B: {{{', '.join(b)}}}", ""]
        n += 1
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{n} disagreements written to {out}")


def build(corpus: Path, all_test: bool) -> None:
    rows = rows_of(corpus)
    adj_path = corpus / "agreement" / "adjudication.jsonl"
    adjudicated = {}
    if adj_path.exists():
        adjudicated = {d["id"]: d["labels"] for d in map(json.loads, adj_path.read_text().splitlines()) if d}
    for r in rows:
        if r["id"] in adjudicated:
            r["labels"] = [t for t in THEMES if t in adjudicated[r["id"]]]
    rows.sort(key=lambda r: (r["article_id"], r["paragraph"]))
    frozen = {}
    if (corpus / "paragraphs.jsonl").exists():  # splits are assigned once; adjudication must not move articles
        frozen = {d["article_id"]: d["split"] for d in map(json.loads, (corpus / "paragraphs.jsonl").open())}
    if all_test:
        splits = {r["article_id"]: "test" for r in rows}
    else:  # articles keep their split; only articles new to the corpus are assigned one, among themselves
        splits = {a: s for a, s in frozen.items()}
        fresh = [r for r in rows if r["article_id"] not in frozen]
        if fresh:
            sys.path.insert(0, str(corpus.resolve().parents[1]))
            from classifier.io.corpus import assign_splits
            splits.update(assign_splits(fresh, list(THEMES)))
    for r in rows:
        r["split"] = splits[r["article_id"]]
    write_jsonl(corpus / "paragraphs.jsonl", [{k: r.get(k) for k in FIELDS} for r in rows])
    print(f"{len(rows)} paragraphs, {len(adjudicated)} adjudicated, written to {corpus / 'paragraphs.jsonl'}")


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "agreement":
        agreement_files(Path(argv[1]))
    elif len(argv) == 3 and argv[0] == "adjudication-sheet":
        adjudication_sheet(Path(argv[1]), Path(argv[2]))
    elif len(argv) >= 2 and argv[0] == "build":
        build(Path(argv[1]), "--all-test" in argv)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
