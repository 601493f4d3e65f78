"""policytag corpus: check a corpus folder, print its statistics, or measure coder agreement."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from classifier.cli.options import (
    EXIT_OK,
    EXIT_PARTIAL,
    err,
    verbose_arg,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("corpus", help="check a corpus, print its statistics, or measure coder agreement")
    p.add_argument("action", choices=("check", "stats", "agreement"))
    p.add_argument("directory")
    p.add_argument("--second", default=None, metavar="FILE", help="agreement: JSONL of {id, labels} from a "
                   "second, blind coder (default: DIR/agreement/second_coder.jsonl)")
    verbose_arg(p)



def run(args: argparse.Namespace) -> int:
    from classifier.io.corpus import check_corpus, corpus_stats

    if args.action == "stats":
        print(corpus_stats(args.directory), end="")
        return EXIT_OK
    if args.action == "agreement":
        from classifier.annotate.agreement import agreement_table
        from classifier.io.corpus import corpus_agreement
        print(agreement_table(corpus_agreement(args.directory, args.second)), end="")
        return EXIT_OK
    problems = check_corpus(args.directory)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        err(f"{args.directory}: {len(problems)} problem(s)")
        return EXIT_PARTIAL
    print(f"{args.directory}: OK")
    return EXIT_OK
