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
    min_score,
    positive_int,
    progress_bar,
    size,
    theme_threshold,
    top_k,
    verbose_arg,
)
from classifier.engines import DEFAULT_CHUNK
from classifier.io.formats import DEFAULT_OUTPUT, OUTPUTS, STDIN_FORMATS


def add_parser(sub: Any) -> None:
    p = sub.add_parser("tag", help="tag articles (files, folders, globs, JSONL/CSV, - for stdin)")
    p.add_argument("inputs", nargs="+", metavar="PATH")
    p.add_argument("--model", default=None, help="model folder (default: the shipped geopolitics model)")
    p.add_argument("-o", "--output", default=None, help="output file (default or -: stdout); locked while the run "
                   "writes it, and never read as an input")
    p.add_argument("--format", choices=tuple(OUTPUTS), default=None, help="output format: jsonl, csv, "
                   f"or pretty (a readable report); default: by extension, else {DEFAULT_OUTPUT}")
    p.add_argument("--summary", default=None, metavar="FILE", help="per-document theme profile (.jsonl, .csv or "
                   ".md: share of its paragraphs carrying each theme, and its metadata), written as documents "
                   "finish; see --summary-by")
    p.add_argument("--summary-by", default=None, metavar="KEYS", help="write --summary per group of documents "
                   "instead of per document: outlet, month or outlet,month (documents, paragraphs and the share of "
                   "paragraphs carrying each theme; (unknown) for documents without an outlet or date)")
    p.add_argument("--meta-fields", default="title,date,outlet,author,url", metavar="FIELDS",
                   help="article metadata carried into records (meta) and the summary: any of title,date,outlet,"
                   "author,url (default: all five), read from JSONL/CSV columns of those names (map one with "
                   "NAME=COLUMN, e.g. date=published), Markdown front matter and HTML <title>/<meta>/<time>/"
                   "bylines; 'none' carries none")
    p.add_argument("--text-field", default="text", help="JSONL/CSV field with the article text (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL/CSV field with the document id (default: id)")
    p.add_argument("--input-format", "--stdin-format", dest="stdin_format", default=None,
                   choices=STDIN_FORMATS, help=f"how to read stdin (-): {', '.join(STDIN_FORMATS[:-1])} or "
                   f"{STDIN_FORMATS[-1]}; default: html when it starts with markup, else text")
    g = p.add_argument_group("when a theme is assigned (default: its score reaches the threshold the model learned)")
    g.add_argument("--min-score", type=min_score, default=None, metavar="X",
                   help="a theme's score must also reach X (0..1)")
    g.add_argument("--top-k", type=top_k, default=None, metavar="K",
                   help="at most K themes per paragraph, highest scores first")
    g.add_argument("--threshold", action="append", type=theme_threshold, default=[], metavar="THEME=X",
                   help="use threshold X for THEME instead of the learned one (repeatable)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --summary, --html)")
    p.add_argument("--resume", action="store_true", help="append to an existing output (and --summary), skipping "
                   "documents already in it; --html is rebuilt from all its records (jsonl or csv only)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per encoder forward pass (default: 64)")
    p.add_argument("--chunk", type=positive_int, default=DEFAULT_CHUNK, help="sentences gathered across documents "
                   "per encoder call (and per Ray actor call), whole documents at a time, sorted by length there "
                   f"to cut padding; bounds memory (default: {DEFAULT_CHUNK})")
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
    from classifier.errors import printable
    from classifier.io.formats import output_format
    from classifier.io.meta import parse_meta_fields
    from classifier.io.readers import ReadOptions
    from classifier.io.writers import check_summary_by, claim_outputs, is_stream, parse_summary_by

    fmt = output_format(args.output, args.format)
    if args.resume and is_stream(args.output):  # nothing there can be read back to resume
        err("--resume needs -o FILE")
        return EXIT_USAGE
    meta_fields = parse_meta_fields(args.meta_fields)
    # a settings file's summary-by is how to group a summary when one is written, not a request for one
    standing = args.summary is None and "summary_by" in getattr(args, "from_settings", ())
    summary_by = parse_summary_by(args.summary_by) if args.summary_by is not None and not standing else ()
    check_summary_by(args.summary, summary_by, args.resume)
    from classifier.decision import DecisionRule, DecisionRuleError
    rule = DecisionRule(args.min_score, args.top_k, dict(args.threshold))
    # every output is checked, opened and locked before the slow model load (a bad path costs nothing)
    with claim_outputs(args.output, fmt, args.summary, args.html, args.force, args.resume) as outputs:
        if args.engine == "ray":
            from classifier.engines.ray_ship import require_ray
            require_ray()
        from classifier.scorer import load_scorer  # scoring only: a fully cached run never imports torch or sklearn
        model = load_scorer(args.model or DEFAULT_MODEL_DIR, cache=cache_option(args), batch_size=args.batch_size,
                            backend=args.backend)
        log.info("model %s: %d themes, context=%s", args.model or "(shipped default)", len(model.classes_),
                 model.use_context_)
        if not rule.is_default:  # a usage error raised here leaves no empty output behind
            try:
                model.decision_rule = rule.check(model.classes_)
            except DecisionRuleError as exc:
                raise DecisionRuleError(f"--threshold: {exc}") from None
        ray = {"address": args.address, "actors": args.actors, "gpus_per_actor": args.gpus_per_actor,
               "cache": cache_option(args), "batch_size": args.batch_size, "backend": args.backend,
               "decision": model.decision_rule}
        progress = progress_bar(args, "doc")

        def step(report: Any) -> None:
            progress.update(1)
            progress.set_postfix_str(f"{report.paragraphs} paragraphs", refresh=False)

        report = tag_files(model, args.inputs, ReadOptions(args.text_field, args.id_field, args.max_bytes,
                                                           args.stdin_format, meta_fields),
                           fmt=fmt, resume=args.resume, summary_by=summary_by,
                           engine=EngineOptions(args.engine, args.model, args.chunk, ray),
                           on_message=lambda msg: print(printable(msg), file=sys.stderr), on_document=step,
                           notes=not args.quiet, outputs=outputs)
        progress.close()
    if not args.quiet:
        err(report.line(args.resume))
    return EXIT_PARTIAL if report.failed or report.write_error else EXIT_OK
