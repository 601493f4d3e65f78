"""Options and helpers shared by the command modules: argument groups, exit codes, messages, progress."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from classifier.io.formats import ANNOTATION_TOOLS, DEFAULT_EXPORT_TOOL, annotation_tool

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("classifier.cli")


def data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data columns (for CSV/JSONL/Parquet files that are not project corpora)")
    g.add_argument("--text-column", default="text", help="column with the text (default: text)")
    g.add_argument("--label-column", default="labels", help="column with labels: a list, or a delimited string")
    g.add_argument("--label-sep", default=None, help="separator when labels are one delimited string, e.g. ';'")
    g.add_argument("--single-label", action="store_true", help="one label per row (multinomial head)")
    g.add_argument("--group-column", default=None, help="document id column: folds keep its rows together (a "
                   "project corpus groups by article_id unless this names another field its rows carry, e.g. writer)")
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
    g.add_argument("--actors", type=positive_int, default=None, metavar="N",
                   help="Ray actors, each loading the model once (default: one per CPU of the cluster, or "
                        "per GPU with --gpus-per-actor)")
    g.add_argument("--gpus-per-actor", type=non_negative_float, default=0, metavar="G",
                   help="GPUs per actor (e.g. 1: one actor per GPU); default 0, CPU actors")


def verbose_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log what happens (python logging, on stderr)")


def min_score(text: str) -> float:
    """``--min-score X``, checked by the decision rule itself (one rule for the library and the command)."""
    return _rule_field("min_score", float, text)


def top_k(text: str) -> int:
    """``--top-k K``, checked by the decision rule itself."""
    return _rule_field("top_k", int, text)


def theme_threshold(text: str) -> tuple[str, float]:
    """``--threshold THEME=X`` as (theme, X); whether THEME exists is checked against the model once loaded."""
    theme, sep, value = text.partition("=")
    if not (sep and theme.strip()):
        raise argparse.ArgumentTypeError(f"expected THEME=X, e.g. alliance_cohesion=0.4, not {text!r}")
    return theme.strip(), _rule_field("thresholds", float, value, lambda x: {theme.strip(): x})


def _rule_field(name: str, kind: type, text: str, shape: Any = lambda x: x) -> Any:
    """``text`` as ``kind``, accepted only if a DecisionRule accepts it for ``name`` (one place checks ranges)."""
    from classifier.decision import DecisionRule, DecisionRuleError
    try:
        value = kind(text)
        DecisionRule(**{name: shape(value)})
    except DecisionRuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                         f"not {text!r}") from None
    return value


def size(text: str) -> int:
    """An argparse type for byte sizes (``50M``, ``4G``, ``500k`` or bytes): the cache's parser, so --max-bytes
    and cache --limit read sizes the same way."""
    from classifier.encoding.cache import parse_size
    from classifier.errors import PolicytagError
    if text.strip().startswith("-"):
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    try:
        value = parse_size(text)
    except PolicytagError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def err(msg: str) -> None:
    """One line on stderr, whatever the message quotes: control characters in a path named there are escaped."""
    from classifier.errors import printable
    print(f"policytag: {printable(msg)}", file=sys.stderr)


def setting_origin(args: argparse.Namespace, dest: str) -> str | None:
    """Where an option's value came from when a settings file set it (``policytag.toml [train] C``), else None.
    A refusal names this rather than the flag: a user told about ``--C`` who never typed it looks in vain."""
    return getattr(args, "setting_origins", {}).get(dest)


def named(args: argparse.Namespace, dest: str, flag: str) -> str:
    """An option as a message names it: its settings file line when the file set it, else ``flag``."""
    return setting_origin(args, dest) or flag


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
    """The library only logs; the command shows its warnings on stderr, one line each, and with --verbose all
    its records (ours, not every dependency's). Each run starts from a clean slate, so an in-process main()
    does not inherit a previous one's."""
    root = logging.getLogger("classifier")
    for old in [h for h in root.handlers if h.get_name() == "policytag-cli"]:
        root.removeHandler(old)
    root.setLevel(logging.NOTSET)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("policytag-cli")
    if verbose:
        handler.setFormatter(logging.Formatter("policytag: %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.DEBUG)
    else:  # warnings (a cache entry refused, a cluster too small) are one line each, as errors are
        handler.setFormatter(logging.Formatter("policytag: %(message)s"))
        handler.setLevel(logging.WARNING)
    root.addHandler(handler)


def progress_bar(args: argparse.Namespace, unit: str, total: int | None = None) -> Any:
    """A progress bar on stderr; a silent stand-in when stderr is not a terminal or --quiet is given."""
    from tqdm import tqdm
    off = getattr(args, "quiet", False) or not sys.stderr.isatty()
    return tqdm(total=total, unit=unit, desc="policytag", file=sys.stderr, disable=off, leave=False, **bar_width())


def bar_width() -> dict[str, Any]:
    """tqdm's size: follow the terminal as it is resized, but a terminal that reports no size (0 x 0: ``script
    -c`` run from a job, a container's fresh tty) gets 80 x 24, since tqdm would draw nothing on it."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return {"ncols": 80, "nrows": 24}
    if size.columns and size.lines:
        return {"dynamic_ncols": True}
    return {"ncols": size.columns or 80, "nrows": size.lines or 24}


class StageBars:
    """Progress of a library call that moves through stages (``progress(stage, done, total)``): one tqdm bar per
    stage on stderr, left as a line when the stage ends, so a slow ``train`` shows what it is doing."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=f"policytag: {stage}", file=sys.stderr, **bar_width(),
                            bar_format="{desc}: {n}/{total} [{elapsed}]")
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def stage_bars(args: argparse.Namespace) -> StageBars | None:
    """Stage progress for a terminal; None (nothing shown, nothing asked of the library) when stderr is not a
    terminal or --quiet is given, so logs and pipes stay clean."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None
    return StageBars()


def annotation_out_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="-", help="tasks file (default: stdout)")
    p.add_argument("--to", dest="tool", choices=ANNOTATION_TOOLS, default=None,
                   help="annotation tool (default: by extension, .json Label Studio, else doccano JSONL)")
    p.add_argument("--config", default=None, metavar="FILE", help="also write the Label Studio labeling config (XML)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files (-o, --config)")


def tool_of(args: argparse.Namespace) -> str:
    """The annotation tool to export for: --to, else the one the output's suffix names, else doccano."""
    return args.tool or annotation_tool(args.output) or DEFAULT_EXPORT_TOOL


def writable(path: str, force: bool) -> bool:
    """Whether an output may be written (else one line said): its folder exists, it is not a directory, and an
    existing non-empty file only with --force."""
    from classifier.errors import PolicytagError
    from classifier.io.writers import check_output_path
    try:
        check_output_path(path)
    except PolicytagError as exc:
        err(str(exc))
        return False
    if path != "-" and Path(path).exists() and Path(path).stat().st_size > 0 and not force:
        err(f"{path}: output file exists; pass --force to overwrite it")
        return False
    return True


def outputs_usable(named: Sequence[tuple[str | None, str]], force: bool, keep: Sequence[str] = ()) -> bool:
    """Whether every output given (path, option) may be written, each to its own file, checked before any work
    (else one line said). Options in ``keep`` update their file in place, so it may exist without --force."""
    from classifier.errors import PolicytagError
    from classifier.io.writers import check_distinct
    given = [(path, role) for path, role in named if path]
    try:
        check_distinct(given)
    except PolicytagError as exc:
        err(str(exc))
        return False
    return all(writable(path, force or role in keep) for path, role in given)


def tasks_writable(args: argparse.Namespace) -> bool:
    """Whether the tasks file (-o) and the labeling config (--config) may be written, checked before any work."""
    return outputs_usable([(args.output, "-o"), (args.config, "--config")], args.force)


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


def read_pool_rows(paths: Sequence[str], text_column: str, problems: list[str] | None = None,
                   skipped: list[str] | None = None) -> list[dict[str, Any]]:
    """Paragraph rows of every input; one line on stderr per input (or row) that could not be read, also added to
    ``problems`` when given, so the command can exit 1 as ``tag`` does; an input skipped as ``tag`` skips it
    (empty) gets its line too, and goes to ``skipped``, not ``problems``."""
    from classifier.annotate.roundtrip import read_pool
    from classifier.errors import InputError

    empty: list[str] = []
    rows, found = read_pool(paths, text_column, skipped=empty)
    for line in [*empty, *found]:
        print(line, file=sys.stderr)
    if problems is not None:
        problems.extend(found)
    if skipped is not None:
        skipped.extend(empty)
    if not rows:
        raise InputError(", ".join(paths), "no paragraphs to read")
    return rows


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type=`` for a whole number of at least ``minimum``: an impossible count (``--chunk 0``) is a
    usage error naming the option, not a run that blames every input."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = "whole number"  # what argparse names in its own messages
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def float_in(low: float, high: float = float("inf"), low_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type=`` for a number in [low, high] (or (low, high] with ``low_open``), finite."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (low < value if low_open else low <= value) or not value <= high or value != value:
            bounds = f"{'above' if low_open else 'at least'} {low:g}" + (f" and at most {high:g}"
                                                                         if high != float("inf") else "")
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


non_negative_float = float_in(0)


def size_or_all(text: str) -> int | str:
    """A learning-curve size: a positive whole number, or ``all``."""
    return text if text == "all" else positive_int(text)

