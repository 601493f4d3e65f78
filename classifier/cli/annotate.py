"""policytag annotate: exchange paragraphs with Label Studio or doccano."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from classifier.cli.options import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    annotation_out_args,
    cache_args,
    cache_option,
    emit_tasks,
    progress_bar,
    read_pool_rows,
    tasks_writable,
    tool_of,
    verbose_arg,
    writable,
)
from classifier.io.formats import ANNOTATION_TOOLS


def add_parser(sub: Any) -> None:
    p = sub.add_parser("annotate", help="exchange paragraphs with Label Studio or doccano")
    act = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = act.add_parser("export", help="write paragraphs as annotation tasks, optionally pre-labeled by a model")
    e.add_argument("inputs", nargs="+", metavar="PATH", help="articles (.txt/.md/.html files or folders) or "
                   "JSONL/CSV/Parquet feeds (one article a row), split into paragraphs as 'tag' does; tables whose "
                   "rows carry article_id, paragraph or labels are paragraphs already, one a row")
    annotation_out_args(e)
    e.add_argument("--prelabel", action="store_true", help="add the model's themes and scores as pre-annotations")
    e.add_argument("--model", default=None, help="model for --prelabel (default: the shipped geopolitics model)")
    e.add_argument("--codebook", default=None, help="codebook for --config when not pre-labeling")
    e.add_argument("--text-column", default="text", help="column with the text in tables (default: text)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    verbose_arg(e)
    cache_args(e)
    i = act.add_parser("import", help="read a Label Studio (JSON) or doccano (JSONL) export as corpus rows")
    i.add_argument("file", help="the tool's export")
    i.add_argument("-o", "--output", default="-", help="corpus JSONL to write (default: stdout)")
    i.add_argument("--from", dest="tool", choices=ANNOTATION_TOOLS, default=None,
                   help="the tool (default: by extension, .json Label Studio, .jsonl doccano)")
    i.add_argument("--codebook", default=None, help="codebook the labels must belong to (default: geopolitics)")
    i.add_argument("--split", default="train", choices=("train", "dev", "test"),
                   help="split for rows that do not carry one (default: train)")
    i.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --summary, --html)")
    verbose_arg(i)


def run(args: argparse.Namespace) -> int:
    from classifier.codebook import load_codebook

    if args.action == "import":
        from classifier.annotate.roundtrip import read_annotations

        if not writable(args.output, args.force):
            return EXIT_USAGE
        got = read_annotations(args.file, load_codebook(args.codebook), args.tool, args.split)
        for line in got.problems:
            print(line, file=sys.stderr)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in got.rows)
        if args.output == "-":
            sys.stdout.write(text)
        else:
            Path(args.output).write_text(text, encoding="utf-8")
        print(f"policytag: imported {len(got.rows)} labeled paragraphs, {got.unlabeled} without annotation, "
              f"{len(got.problems)} problem(s)", file=sys.stderr)
        return EXIT_PARTIAL if got.problems else EXIT_OK
    if not tasks_writable(args):
        return EXIT_USAGE
    problems: list[str] = []
    skipped: list[str] = []
    rows = read_pool_rows(args.inputs, args.text_column, problems, skipped)
    pre, codebook = None, load_codebook(args.codebook) if args.config and not args.prelabel else None
    if args.prelabel:
        from classifier import load_model
        from classifier.annotate.roundtrip import prelabel
        model = load_model(args.model, cache=cache_option(args))
        progress = progress_bar(args, "paragraph", total=len(rows))
        pre = prelabel(model, rows, progress=progress.update)
        progress.close()
        codebook = model.codebook_
    emit_tasks(args, rows, pre, codebook)
    if not args.quiet:
        print(f"policytag: exported {len(rows)} paragraphs for {tool_of(args)}"
              f"{' with pre-annotations' if pre is not None else ''}"
              f"{f'; skipped {len(skipped)} (nothing to read)' if skipped else ''}"
              f"{f'; {len(problems)} problem(s), listed above' if problems else ''}", file=sys.stderr)
    return EXIT_PARTIAL if problems else EXIT_OK
