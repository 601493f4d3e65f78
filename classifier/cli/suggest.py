"""policytag suggest: pick the pool paragraphs whose labels would teach the model most."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from classifier.cli.options import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    annotation_out_args,
    cache_args,
    cache_option,
    emit_tasks,
    err,
    log,
    non_negative_float,
    positive_int,
    progress_bar,
    read_pool_rows,
    tasks_writable,
    verbose_arg,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("suggest", help="choose the pool paragraphs whose labels would teach the model most, "
                       "exported for annotation")
    p.add_argument("--pool", nargs="+", required=True, metavar="FILE", help="unlabeled articles: .txt/.md/.html "
                   "files or folders, or JSONL/CSV/Parquet feeds (one article a row), split into paragraphs as "
                   "'tag' does; tables whose rows carry article_id, paragraph or labels are paragraphs already, "
                   "one a row")
    p.add_argument("-n", type=positive_int, default=50, help="how many paragraphs to choose (default: 50)")
    p.add_argument("--diversity", type=non_negative_float, default=0.5,
                   help="how strongly picks avoid paragraphs very similar (cosine >= 0.7) to ones already "
                        "picked or labeled; 0 = uncertainty only (default: 0.5)")
    p.add_argument("--labeled", nargs="+", default=(), metavar="FILE", help="paragraphs already labeled (e.g. the "
                   "corpus): never suggested again, and picks avoid their near-copies")
    annotation_out_args(p)
    p.add_argument("--model", default=None, help="model folder (default: the shipped geopolitics model)")
    p.add_argument("--text-column", default="text", help="column with the text in tables (default: text)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    verbose_arg(p)
    cache_args(p)



def run(args: argparse.Namespace) -> int:
    from classifier import load_model
    from classifier.annotate.active import suggest
    from classifier.annotate.roundtrip import pool_units, prelabel

    if not tasks_writable(args):
        return EXIT_USAGE
    problems: list[str] = []  # inputs that could not be read: named on stderr, and the exit code is 1, as for tag
    rows = read_pool_rows(args.pool, args.text_column, problems)
    seen_rows = read_pool_rows(args.labeled, args.text_column, problems) if args.labeled else []
    known = {r["text"] for r in seen_rows}
    fresh = [r for r in rows if r["text"] not in known]
    log.info("pool: %d paragraphs (%d already labeled, left out)", len(rows), len(rows) - len(fresh))
    if not fresh:
        err("every pool paragraph is already labeled; nothing to suggest")
        return EXIT_USAGE
    model = load_model(args.model, cache=cache_option(args))
    progress = progress_bar(args, "paragraph", total=len(fresh))
    pre = prelabel(model, fresh, progress=progress.update)
    progress.close()
    seen = pool_units(seen_rows) if seen_rows else None
    picked = suggest(model, pool_units(fresh), args.n, args.diversity, seen=seen, P=pre.P)
    out = [{**fresh[i], "policytag_rank": rank, "policytag_uncertainty": round(float(picked.pool_uncertainty[i]), 4)}
           for rank, i in enumerate(picked.indices, 1)]
    sub = pre.subset(picked.indices)
    emit_tasks(args, out, sub, model.codebook_)
    if not args.quiet:
        print(f"policytag: suggested {len(out)} of {len(fresh)} pool paragraphs (mean uncertainty "
              f"{float(picked.uncertainty.mean()) if len(out) else 0:.2f}, "
              f"pool {float(picked.pool_uncertainty.mean()):.2f})"
              f"{f'; {len(problems)} problem(s), listed above' if problems else ''}", file=sys.stderr)
    return EXIT_PARTIAL if problems else EXIT_OK
