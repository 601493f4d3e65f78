"""policytag evaluate: score a model and baselines on labeled data with the evaluation harness."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from classifier.cli.options import (
    EXIT_OK,
    EXIT_USAGE,
    backend_arg,
    cache_args,
    cache_option,
    columns,
    data_args,
    float_in,
    int_at_least,
    non_negative_int,
    outputs_usable,
    positive_int,
    size_or_all,
    verbose_arg,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score a model (and baselines) on labeled data: held-out, cross-"
                       "validation, learning curve, cross-corpus", description="Score a model on labeled data. "
                       "With --compare, also the baselines (label prior, TF-IDF + logistic regression, zero-shot, "
                       "k-NN and logistic regression on embeddings) on the same rows and folds; systems by import "
                       "path with --add pkg.module:Class. Intervals: bootstrap over documents (--group-column).")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model; with --compare or "
                   "other protocols, a ThemeClassifier trained here when the shipped model does not fit the data)")
    p.add_argument("--data", required=True, help="corpus folder or CSV/JSONL/Parquet file to test on")
    p.add_argument("--split", default=None, help="rows of this split (default: test for corpora; for --protocol cv "
                   "all rows)")
    p.add_argument("--json", default=None, metavar="FILE",
                   help="write all metrics, intervals, seeds and hashes as JSON")
    p.add_argument("--train", default=None, metavar="FILE", help="training data for the systems (default: the "
                   "corpus's train split; a table with no split is split 80/20 by document)")
    p.add_argument("--train-split", default=None, help="split of --train to use, or several joined by commas "
                   "(train,dev) (default: train for corpora)")
    p.add_argument("--protocol", nargs="+", default=["heldout"], metavar="P",
                   choices=("heldout", "cv", "curve", "cross-corpus", "all"),
                   help="heldout, cv (grouped stratified K-fold), curve (learning curve), cross-corpus (--train "
                   "on one corpus, --data another, --label-map), or all")
    p.add_argument("--compare", action="store_true", help="also run the baselines and print a leaderboard")
    p.add_argument("--systems", nargs="+", default=None, metavar="SPEC", help="systems to run instead of the "
                   "default: [NAME=]KIND[,param=value...], KIND one of model, theme, prior, tfidf, zeroshot, knn, "
                   "logreg, or pkg.module:Class")
    p.add_argument("--add", nargs="+", default=(), metavar="SPEC", help="extra systems, e.g. "
                   "svm=sklearn.svm:LinearSVC,C=0.5 (fed embeddings) or a text pipeline class")
    p.add_argument("--label-map", default=None, metavar="FILE", help="YAML/JSON {their_label: our_theme_id} for "
                   "data coded with another scheme (unmapped labels are dropped and counted)")
    p.add_argument("--folds", type=int_at_least(2), default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0, 1, 2],
                   help="seeds: CV repeats and learning-curve draws; the first also seeds held-out fits and the "
                   "bootstrap (default 0 1 2)")
    p.add_argument("--sizes", type=size_or_all, nargs="+", default=[50, 100, 250, 500, 1000, "all"],
                   metavar="N", help="learning-curve training sizes (default 50 100 250 500 1000 all)")
    p.add_argument("--bootstrap", type=positive_int, default=1000, metavar="B",
                   help="bootstrap resamples (default 1000)")
    p.add_argument("--ci", type=float_in(0, 1, low_open=True), default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--errors", type=non_negative_int, default=5, metavar="N",
                   help="error examples per theme and kind (default 5)")
    p.add_argument("--html", default=None, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--markdown", default=None, metavar="FILE", help="write the full Markdown report (e.g. "
                   "evaluation/RESULTS.md)")
    p.add_argument("--force", action="store_true", help="overwrite existing --json and --html files (--markdown "
                   "updates its document in place, keeping the sections other tools marked there)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    data_args(p)
    cache_args(p)
    backend_arg(p)
    verbose_arg(p)



def run(args: argparse.Namespace) -> int:
    import shlex

    from classifier.harness import markdown
    from classifier.harness.harness import Config, default_systems, primary_system, run

    protocols = list(dict.fromkeys(args.protocol))
    if "all" in protocols:
        protocols = ["heldout", "cv", "curve"] + (["cross-corpus"] if args.train and args.label_map else [])
    sizes = list(args.sizes)  # checked by the parser: positive whole numbers or "all"
    if not outputs_usable([(args.json, "--json"), (args.html, "--html"), (args.markdown, "--markdown")], args.force,
                          keep=("--markdown",)):
        return EXIT_USAGE  # before the slow part, not after it
    quiet = args.quiet
    cfg = Config(data=args.data, columns=columns(args, None), split=args.split, train=args.train,
                 train_split=args.train_split, codebook=args.codebook, label_map=args.label_map, model=args.model,
                 protocols=protocols, folds=args.folds, seeds=args.seeds, sizes=sizes, resamples=args.bootstrap,
                 level=args.ci, errors=args.errors, cache=cache_option(args),
                 backend=getattr(args, "backend", "torch"),
                 progress=(lambda msg: None) if quiet else (lambda msg: print(f"policytag: {msg}", file=sys.stderr)))
    plain = not (args.compare or args.systems or args.add) and protocols == ["heldout"]
    cfg.systems = [*(args.systems or default_systems(primary_system(cfg, plain), args.compare)), *args.add]
    result = run(cfg)
    print(markdown.summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        command = "policytag " + shlex.join(sys.argv[1:]) if Path(sys.argv[0]).name == "policytag" else None
        markdown.write_document(args.markdown, result, command)
    if args.html:
        from classifier.harness.report_html import render
        Path(args.html).write_text(render(result), encoding="utf-8")
    if not quiet:
        written = [f for f in (args.json, args.markdown, args.html) if f]
        if written:
            print(f"policytag: wrote {', '.join(written)}", file=sys.stderr)
    return EXIT_OK
