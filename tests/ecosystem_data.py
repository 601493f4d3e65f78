"""Small real data for the ecosystem tests: mini.csv, and a multi-label variant of it.

The multi-label rows join two mini.csv paragraphs, so each carries both of their themes; with the
single rows the model sees every theme alone and in pairs. Themes are geopolitics codebook ids.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from helpers import CORPUS, DATA

FAST = dict(embedding_head="linear", C=4.0, class_weight=None, context=False,
            lexical=0.0)  # no model selection: tests fit often


def mini_rows() -> list[dict[str, str]]:
    with (DATA / "mini.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def multi_label_data() -> tuple[list[str], list[list[str]], list[str]]:
    """(texts, label lists, article ids): 24 single-theme and 24 two-theme paragraphs."""
    rows = mini_rows()
    texts = [r["text"] for r in rows]
    labels = [[r["label"]] for r in rows]
    groups = [r["doc"] for r in rows]
    for i, r in enumerate(rows):
        other = rows[(i + 8) % len(rows)]
        texts.append(f"{r['text']} {other['text']}")
        labels.append(sorted({r["label"], other["label"]}))
        groups.append(f"pair-{i % 12}")
    return texts, labels, groups


def mini_corpus(directory: Path) -> Path:
    """A project corpus folder (paragraphs.jsonl + the geopolitics codebook) made of mini.csv rows."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(CORPUS / "codebook.yaml", directory / "codebook.yaml")
    lines = []
    for n, r in enumerate(mini_rows()):
        split = "test" if r["doc"] in ("d4", "d8", "d12") else "train"
        lines.append(json.dumps({"id": f"m{n:02d}", "article_id": r["doc"], "paragraph": n % 2, "section": None,
                                 "title": f"Article {r['doc']}", "text": r["text"], "labels": [r["label"]],
                                 "genre": "analysis", "region": "global", "split": split}))
    (directory / "paragraphs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory
