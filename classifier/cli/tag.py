"""policytag tag: read inputs, tag their paragraphs, write records (and a summary or HTML view)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from classifier.cli.options import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    backend_arg,
    cache_args,
    cache_option,
    engine_args,
    err,
    log,
    progress_bar,
    size,
    verbose_arg,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("tag", help="tag articles (files, folders, globs, JSONL/CSV, - for stdin)")
    p.add_argument("inputs", nargs="+", metavar="PATH")
    p.add_argument("--model", default=None, help="model folder (default: the shipped geopolitics model)")
    p.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    p.add_argument("--format", choices=("jsonl", "csv", "pretty"), default=None, help="output format: jsonl, csv, "
                   "or pretty (a readable report); default: by extension, else jsonl")
    p.add_argument("--summary", default=None, metavar="FILE", help="per-document theme profile (.jsonl, .csv or "
                   ".md: share of its paragraphs carrying each theme), written as documents finish")
    p.add_argument("--text-field", default="text", help="JSONL/CSV field with the article text (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL/CSV field with the document id (default: id)")
    p.add_argument("--stdin-format", choices=("text", "markdown", "html", "jsonl"), default="text")
    p.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --summary, --html)")
    p.add_argument("--resume", action="store_true", help="append to an existing output (and --summary), skipping "
                   "documents already in it")
    p.add_argument("--batch-size", type=int, default=64, help="encoder batch size")
    p.add_argument("--chunk", type=int, default=1024, help="paragraphs gathered across documents per encoder "
                   "call, sorted by length there to cut padding (default: 1024)")
    p.add_argument("--max-bytes", type=size, default=20_000_000, metavar="SIZE", help="skip files (and JSONL "
                   "lines, and stop stdin) larger than this, e.g. 500k, 50M, 4G (default 20M)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    p.add_argument("--html", default=None, metavar="FILE", help="also write a self-contained HTML page: paragraphs "
                   "with theme chips, theme profiles, filters and a comparison across documents and sources "
                   "(built in memory at the end: meant for a browser, i.e. up to a few thousand documents)")
    verbose_arg(p)
    cache_args(p)
    backend_arg(p)
    engine_args(p)



def run(args: argparse.Namespace) -> int:
    from classifier import DEFAULT_MODEL_DIR
    from classifier.engines.run import EngineOptions, tag_files
    from classifier.io.readers import ReadOptions
    from classifier.io.writers import check_output, format_for

    fmt = format_for(args.output, args.format)
    if args.resume and not args.output:
        err("--resume needs -o FILE")
        return EXIT_USAGE
    for path in (args.output, args.summary, args.html):  # before the slow model load
        check_output(path, args.force, args.resume)
    if args.engine == "ray":
        from classifier.engines.ray_engine import require_ray
        require_ray()
    from classifier.scorer import load_scorer  # scoring only: a fully cached run never imports torch or sklearn
    model = load_scorer(args.model or DEFAULT_MODEL_DIR, cache=cache_option(args), batch_size=args.batch_size,
                        backend=args.backend)
    log.info("model %s: %d themes, context=%s", args.model or "(shipped default)", len(model.classes_),
             model.use_context_)
    ray = {"address": args.address, "actors": args.actors, "gpus_per_actor": args.gpus_per_actor,
           "cache": cache_option(args), "batch_size": args.batch_size, "backend": args.backend}
    progress = progress_bar(args, "doc")

    def step(report: Any) -> None:
        progress.update(1)
        progress.set_postfix_str(f"{report.paragraphs} paragraphs", refresh=False)

    report = tag_files(model, args.inputs, ReadOptions(args.text_field, args.id_field, args.max_bytes,
                                                       args.stdin_format),
                       output=args.output, fmt=fmt, summary=args.summary, html=args.html, force=args.force,
                       resume=args.resume, engine=EngineOptions(args.engine, args.model, args.chunk, ray),
                       on_message=lambda msg: print(msg, file=sys.stderr), on_document=step, notes=not args.quiet)
    progress.close()
    if not args.quiet:
        err(report.line(args.resume))
    return EXIT_PARTIAL if report.failed else EXIT_OK
