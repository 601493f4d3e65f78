"""Project corpora: loading as a DatasetDict, validating, and counting."""
from __future__ import annotations

import collections
import json
import math
import re
from pathlib import Path
from typing import Any

from classifier.codebook import Codebook, load_codebook
from classifier.errors import CorpusError
from classifier.io.tables import CORPUS_FILE, UNION_FILE, corpus_file, corpus_members

REQUIRED = {"id": str, "article_id": str, "paragraph": int, "text": str, "labels": list, "genre": str,
            "region": str, "split": str}
SPLITS = ("train", "dev", "test")
NEAR_DUPLICATE = 0.8


def read_rows(directory: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a corpus (a union's members in order) and the problems met parsing them (file:line: message);
    each row keeps ``_line`` and ``_file`` for messages."""
    cfile = corpus_file(directory)
    if cfile is None or cfile.name not in (CORPUS_FILE, UNION_FILE):
        raise CorpusError(f"{directory}: no {CORPUS_FILE} (or {UNION_FILE}) in this folder")
    rows, problems = [], []
    for path in corpus_members(cfile):
        more, bad = _read_file(path)
        rows += more
        problems += bad
    return rows, problems


def _read_file(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    rows, problems = [], []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{n}: malformed JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                problems.append(f"{path}:{n}: not a JSON object")
                continue
            row["_line"] = n
            row["_file"] = str(path)
            rows.append(row)
    return rows, problems


def load_corpus(directory: str | Path):
    """The corpus as a ``datasets.DatasetDict`` keyed by split, after it passes :func:`check_corpus`."""
    from datasets import Dataset, DatasetDict

    problems = check_corpus(directory)
    if problems:
        raise CorpusError(f"{directory}: {len(problems)} problem(s), first: {problems[0]}")
    rows, _ = read_rows(directory)
    by_split: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in rows:
        r = {k: v for k, v in r.items() if k not in ("_line", "_file")}
        r.setdefault("section", None)
        r.setdefault("title", None)
        by_split[r["split"]].append(r)
    return DatasetDict({s: Dataset.from_list(by_split[s]) for s in SPLITS if s in by_split})


def _norm_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _norm_words(text)
    return {tuple(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def near_duplicates(rows: list[dict[str, Any]], threshold: float = NEAR_DUPLICATE) -> list[tuple[int, int, float]]:
    """Pairs of rows in different splits whose word-trigram Jaccard similarity reaches ``threshold``.

    Exact, by prefix filtering: with every row's trigrams in one order, rarest first, two sets whose Jaccard
    reaches ``threshold`` share a trigram among the first ``|s| - ceil(threshold x |s|) + 1`` of each, so only
    those are indexed. Indexing every trigram made the common ones ("the south china") pair most rows with most
    others: quadratic in the corpus's size."""
    sh = [_shingles(r["text"]) for r in rows]
    df = collections.Counter(g for s in sh for g in s)
    prefixes = []
    for s in sh:
        keep = len(s) - math.ceil(threshold * len(s) - 1e-9) + 1
        prefixes.append(sorted(s, key=lambda g: (df[g], g))[:max(keep, 1)])
    index: dict[tuple[str, ...], list[int]] = collections.defaultdict(list)
    for i, prefix in enumerate(prefixes):
        for g in prefix:
            index[g].append(i)
    out = []
    for i, prefix in enumerate(prefixes):
        for j in sorted({j for g in prefix for j in index[g] if j > i}):
            if rows[i]["split"] != rows[j]["split"]:
                jac = len(sh[i] & sh[j]) / len(sh[i] | sh[j])
                if jac >= threshold:
                    out.append((i, j, round(jac, 3)))
    return out


def check_corpus(directory: str | Path, codebook: Codebook | None = None) -> list[str]:
    """Every problem with a corpus, one actionable line each; an empty list means it is sound."""
    directory = Path(directory)
    if codebook is None:
        codebook = load_codebook(directory / "codebook.yaml")
    rows, problems = read_rows(directory)
    valid = []
    for r in rows:
        where = f"{r['_file']}:{r['_line']}"
        bad = [f"{k} ({t.__name__})" for k, t in REQUIRED.items() if not isinstance(r.get(k), t)
               or (t is int and isinstance(r.get(k), bool))]
        if bad:
            problems.append(f"{where}: missing or mistyped field(s): {', '.join(bad)}")
            continue
        unknown = codebook.unknown(r["labels"])
        if unknown:
            problems.append(f"{where}: label(s) not in codebook {codebook.name!r}: {', '.join(map(str, unknown))}")
        if len(set(r["labels"])) != len(r["labels"]):
            problems.append(f"{where}: a label is repeated")
        if not codebook.multi_label and len(r["labels"]) != 1:
            problems.append(f"{where}: single-label codebook but {len(r['labels'])} labels")
        if r["split"] not in SPLITS:
            problems.append(f"{where}: split {r['split']!r} is not one of {', '.join(SPLITS)}")
        if not r["text"].strip():
            problems.append(f"{where}: empty text")
        valid.append(r)
    problems += _check_identity(valid)
    for i, j, jac in near_duplicates(valid):
        problems.append(f"{valid[j]['_file']}:{valid[j]['_line']}: near-duplicate (Jaccard {jac}) of "
                        f"{valid[i]['_file']}:{valid[i]['_line']} "
                        f"in split {valid[i]['split']!r}: leaks across splits")
    return problems


def _check_identity(rows: list[dict[str, Any]]) -> list[str]:
    problems = []
    ids: dict[str, int] = {}
    texts: dict[str, int] = {}
    article_split: dict[str, tuple[str, int]] = {}
    positions: dict[tuple[str, int], int] = {}
    for r in rows:
        where = f"{r['_file']}:{r['_line']}"
        if r["id"] in ids:
            problems.append(f"{where}: id {r['id']!r} already used on line {ids[r['id']]}")
        ids.setdefault(r["id"], r["_line"])
        key = " ".join(_norm_words(r["text"]))
        if key and key in texts:
            problems.append(f"{where}: duplicate text of line {texts[key]}")
        texts.setdefault(key, r["_line"])
        seen = article_split.setdefault(r["article_id"], (r["split"], r["_line"]))
        if seen[0] != r["split"]:
            problems.append(f"{where}: article {r['article_id']!r} is in split {r['split']!r} but also in "
                            f"{seen[0]!r} (line {seen[1]}): article leaks across splits")
        pos = (r["article_id"], r["paragraph"])
        if pos in positions:
            problems.append(f"{where}: paragraph {r['paragraph']} of article {r['article_id']!r} "
                            f"repeats line {positions[pos]}")
        positions.setdefault(pos, r["_line"])
    return problems


def corpus_agreement(directory: str | Path, second: str | Path | None = None,
                     first: str | Path | None = None) -> dict[str, Any]:
    """Agreement between the corpus labels (or ``first``, a JSONL of id/labels) and a blind second coder."""
    from classifier.annotate.agreement import agreement

    directory = Path(directory)
    second = Path(second) if second else directory / "agreement" / "second_coder.jsonl"
    if not second.exists():
        raise CorpusError(f"{second}: no second coding found (JSONL lines with id and labels)")
    read = lambda path: {r["id"]: r["labels"] for r in map(json.loads, Path(path).read_text().splitlines()) if r}
    theirs = read(second)
    ours = read(first) if first else {r["id"]: r["labels"] for r in read_rows(directory)[0] if r["id"] in theirs}
    missing = sorted(set(theirs) - set(ours))
    if missing:
        raise CorpusError(f"{second}: ids not in the corpus: {', '.join(missing[:5])}")
    return agreement(ours, theirs, load_codebook(directory / "codebook.yaml").ids)


def corpus_stats(directory: str | Path) -> str:
    """Markdown tables: sizes per split, positives per theme and split, genre and region mix."""
    directory = Path(directory)
    codebook = load_codebook(directory / "codebook.yaml")
    rows, _ = read_rows(directory)
    splits = [s for s in SPLITS if any(r.get("split") == s for r in rows)]
    by = {s: [r for r in rows if r.get("split") == s] for s in splits}
    lines = ["| split | articles | paragraphs | no theme | themes per paragraph |", "|---|---:|---:|---:|---:|"]
    for s in [*splits, "all"]:
        rs = rows if s == "all" else by[s]
        none = sum(not r["labels"] for r in rs)
        mean = sum(len(r["labels"]) for r in rs) / max(len(rs), 1)
        lines.append(f"| {s} | {len({r['article_id'] for r in rs})} | {len(rs)} | "
                     f"{none} ({100 * none / max(len(rs), 1):.0f}%) | {mean:.2f} |")
    lines += ["", "| theme | " + " | ".join(splits) + " | all |", "|---|" + "---:|" * (len(splits) + 1)]
    for t in codebook.ids:
        counts = [sum(t in r["labels"] for r in by[s]) for s in splits]
        lines.append(f"| {t} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    for field in ("genre", "region"):
        c = collections.Counter(r[field] for r in rows)
        arts = collections.Counter(v for v in {(r["article_id"], r[field]) for r in rows} for v in [v[1]])
        lines += ["", f"| {field} | articles | paragraphs |", "|---|---:|---:|"]
        lines += [f"| {k} | {arts[k]} | {v} |" for k, v in sorted(c.items())]
    return "\n".join(lines + _shape(rows)) + "\n"


def _shape(rows: list[dict[str, Any]]) -> list[str]:
    """How the corpus compares with real writing's mix: length, themes per on-topic paragraph, and (where rows
    carry ``sea``, the writer's mark for a paragraph about Southeast Asia) how many of asean_analogy's negatives
    are Southeast Asia paragraphs without a comparison: the hard negatives that theme needs."""
    words = sorted(len(r["text"].split()) for r in rows) or [0]
    on = [r for r in rows if r["labels"]]
    out = ["", "| shape | value |", "|---|---:|",
           f"| median words per paragraph | {words[len(words) // 2]} |",
           f"| paragraphs of 200+ words | {sum(w >= 200 for w in words)} "
           f"({100 * sum(w >= 200 for w in words) / max(len(words), 1):.0f}%) |",
           f"| no-theme share | {100 * (len(rows) - len(on)) / max(len(rows), 1):.1f}% |",
           f"| themes per on-topic paragraph | {sum(len(r['labels']) for r in on) / max(len(on), 1):.2f} |"]
    if any("sea" in r for r in rows):
        sea = [r for r in rows if r.get("sea")]
        negatives = [r for r in rows if "asean_analogy" not in r["labels"]]
        plain = [r for r in sea if "asean_analogy" not in r["labels"]]
        out += [f"| Southeast Asia paragraphs | {len(sea)} ({100 * len(sea) / max(len(rows), 1):.0f}%) |",
                f"| ... of which draw a comparison (asean_analogy) | {len(sea) - len(plain)} |",
                f"| Southeast Asia without a comparison, share of asean_analogy's negatives | {len(plain)} "
                f"({100 * len(plain) / max(len(negatives), 1):.1f}%) |"]
    return out


def assign_splits(rows: list[dict[str, Any]], theme_ids: list[str],
                  ratios: tuple[float, float, float] = (0.7, 0.1, 0.2),
                  min_test: int = 20, seed: int = 0, tries: int = 500) -> dict[str, str]:
    """article_id -> split, whole articles only, with at least ``min_test`` positives per theme in test where
    the corpus allows it. Deterministic: tries seeded shuffles in order and keeps the best."""
    import random

    articles = sorted({r["article_id"] for r in rows})
    size = collections.Counter(r["article_id"] for r in rows)
    pos = {a: collections.Counter() for a in articles}
    for r in rows:
        pos[r["article_id"]].update(r["labels"])
    total = len(rows)
    best: tuple[float, dict[str, str]] | None = None
    for attempt in range(tries):
        order = articles[:]
        random.Random(seed * 100_003 + attempt).shuffle(order)
        assignment, filled = {}, collections.Counter()
        for a in order:
            for split, share in zip(SPLITS[::-1], ratios[::-1]):  # test, dev, then train takes the rest
                if split == "train" or filled[split] + size[a] <= share * total:
                    assignment[a] = split
                    filled[split] += size[a]
                    break
        test = collections.Counter()
        for a, s in assignment.items():
            if s == "test":
                test.update(pos[a])
        shortfall = sum(max(0, min_test - test[t]) for t in theme_ids)
        drift = abs(filled["test"] / total - ratios[2]) + abs(filled["dev"] / total - ratios[1])
        cost = shortfall * 10 + drift
        if best is None or cost < best[0]:
            best = (cost, assignment)
        if shortfall == 0 and drift < 0.02:
            break
    assert best is not None
    return best[1]
