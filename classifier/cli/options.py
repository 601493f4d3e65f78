"""Options and helpers shared by the command modules: argument groups, exit codes, messages, progress."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("classifier.cli")


def data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data columns (for CSV/JSONL/Parquet files that are not project corpora)")
    g.add_argument("--text-column", default="text", help="column with the text (default: text)")
    g.add_argument("--label-column", default="labels", help="column with labels: a list, or a delimited string")
    g.add_argument("--label-sep", default=None, help="separator when labels are one delimited string, e.g. ';'")
    g.add_argument("--single-label", action="store_true", help="one label per row (multinomial head)")
    g.add_argument("--group-column", default=None, help="document id column: folds keep its rows together")
    g.add_argument("--context-columns", nargs="+", default=(), metavar="COL",
                   help="columns with text around the unit (e.g. previous/next sentence), read as context")
    g.add_argument("--codebook", default=None, help="codebook YAML (default: the corpus's own, else inferred)")


def cache_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--cache-dir", default=None, help="embedding cache folder (default: $POLICYTAG_CACHE_DIR "
                                                     "or ~/.cache/policytag)")


def backend_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch",
                   help="how the encoder runs: torch (default), onnx or onnx-int8 (faster on CPU; needs "
                        "pip install 'policytag[onnx]'; the graph is built once, locally, under the cache folder)")


def engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scaling out (pip install 'policytag[ray]'; see README, Scaling out with Ray)")
    g.add_argument("--engine", choices=("local", "ray"), default="local", help="local (default): this process; "
                   "ray: the same run with chunks tagged by Ray actors, same outputs, --resume and exit codes")
    g.add_argument("--address", default=None, metavar="ADDR", help="Ray cluster to use (e.g. auto, or "
                   "ray://HEAD:10001); default: the cluster 'ray start' made here, else a local one for this run")
    g.add_argument("--actors", type=int, default=None, metavar="N", help="Tagger actors, each loading the model "
                   "once (default: one per CPU of the cluster, or per GPU with --gpus-per-actor)")
    g.add_argument("--gpus-per-actor", type=float, default=0, metavar="G", help="GPUs per actor (e.g. 1: one actor "
                   "per GPU); default 0, CPU actors")


def verbose_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log what happens (python logging, on stderr)")


def size(text: str) -> int:
    """An argparse type for byte sizes (``50M``, ``4G``, ``500k`` or bytes): the cache's parser, so --max-bytes
    and cache --limit read sizes the same way."""
    from classifier.encoding.cache import parse_size
    from classifier.errors import PolicytagError
    try:
        return parse_size(text)
    except PolicytagError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def err(msg: str) -> None:
    print(f"policytag: {msg}", file=sys.stderr)


def cache_option(args: argparse.Namespace) -> Any:
    if args.no_cache:
        return None
    return args.cache_dir or True


def columns(args: argparse.Namespace, default_split: str | None):
    from classifier.io.tables import Columns, corpus_file
    split = args.split if args.split is not None else (default_split if corpus_file(args.data) else None)
    return Columns(args.text_column, args.label_column, args.label_sep, args.single_label, args.group_column,
                   tuple(args.context_columns), split)


def report_skipped(data: Any) -> None:
    """One line for the rows a labeled table had that cannot train anything (no text; no label, single-label)."""
    if data.skipped:
        err(f"{data.source}: left out {len(data.skipped)} rows without text or label (first: {data.skipped[0]})")


def configure_logging(verbose: bool) -> None:
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


def progress_bar(args: argparse.Namespace, unit: str, total: int | None = None) -> Any:
    """A progress bar on stderr; a silent stand-in when stderr is not a terminal or --quiet is given."""
    from tqdm import tqdm
    off = getattr(args, "quiet", False) or not sys.stderr.isatty()
    return tqdm(total=total, unit=unit, desc="policytag", file=sys.stderr, disable=off, leave=False,
                dynamic_ncols=True)


def annotation_out_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="-", help="tasks file (default: stdout)")
    p.add_argument("--to", dest="tool", choices=("label-studio", "doccano"), default=None,
                   help="annotation tool (default: by extension, .json Label Studio, else doccano JSONL)")
    p.add_argument("--config", default=None, metavar="FILE", help="also write the Label Studio labeling config (XML)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --config)")


def tool_of(args: argparse.Namespace) -> str:
    if args.tool:
        return args.tool
    return "label-studio" if str(args.output).lower().endswith(".json") else "doccano"


def writable(path: str, force: bool) -> bool:
    """Whether an output may be written: an existing non-empty file only with --force (said in one line)."""
    if path != "-" and Path(path).exists() and Path(path).stat().st_size > 0 and not force:
        from classifier.errors import printable
        err(f"{printable(path)}: output file exists; pass --force to overwrite it")
        return False
    return True


def tasks_writable(args: argparse.Namespace) -> bool:
    """Whether the tasks file (-o) and the labeling config (--config) may be written, checked before any work."""
    return writable(args.output, args.force) and (not args.config or writable(args.config, args.force))


def emit_tasks(args: argparse.Namespace, rows: list[dict[str, Any]], pre: Any, codebook: Any) -> None:
    from classifier.annotate.roundtrip import label_studio_config, to_doccano, to_label_studio, write_tasks

    tool = tool_of(args)
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


def read_pool_rows(paths: Sequence[str], text_column: str) -> list[dict[str, Any]]:
    from classifier.annotate.roundtrip import read_pool
    from classifier.errors import InputError

    rows, problems = read_pool(paths, text_column)
    for line in problems:
        print(line, file=sys.stderr)
    if not rows:
        raise InputError(", ".join(paths), "no paragraphs to read")
    return rows
