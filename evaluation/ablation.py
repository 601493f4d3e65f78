"""The ablation: what each step of the recipe buys, on the geopolitics test split and along learning curves.

    python -m evaluation.ablation                      # 10-15 min on 2 cores; writes its section of RESULTS.md
    python -m evaluation.ablation --quick              # sizes 50 and all, one seed, short fine-tuning (smoke run)

Rows, each adding one thing to the row before it (the last two stand apart):

1. TF-IDF + logistic regression (words only; the harness's ``tfidf`` baseline)
2. frozen sentence embeddings + logistic regression: the paragraph alone, C=1, threshold 0.5 (MTEB's protocol)
3. + context: the mean embedding of the section heading and neighbouring paragraphs appended
4. + tuned thresholds: one F1-optimal threshold per theme from out-of-fold scores
5. + model selection: context, C and class weight chosen by grouped cross-validation
6. + lexical ensemble: a TF-IDF head blended in when CV says so (ThemeClassifier's defaults = the shipped recipe)
7. + fine-tuning: the encoder tuned on the training labels first (``classifier.encoding.finetune``), then row 6
8. zero-shot: cosine similarity to the codebook's theme descriptions, no labels at all
9. zero-shot, calibrated: the same, with per-theme thresholds tuned on the training labels

Every row is scored on the same test paragraphs; 95% intervals are percentile bootstraps over test
*articles* (paragraphs of one article are not independent), and every row is resampled with the same
draws, so the difference between two rows has its own paired interval. For training sizes below the full
set, each seed draws its own stratified subset (``classifier.harness.stratify.stratified_subsample``, as in the
harness's learning curves); the interval is then that of the mean over seeds.

The section of ``evaluation/RESULTS.md`` between ``<!-- ablation:start -->`` and ``<!-- ablation:end -->``
is replaced; the rest of the file belongs to ``python -m evaluation.results``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.scoring import macro_f1

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- ablation:start -->", "<!-- ablation:end -->"
COMMAND = "python -m evaluation.ablation"
DEFAULT_SIZES = ("50", "100", "250", "500", "all")
RESAMPLES = 2000
PAIRS_PER_PARAGRAPH = 48  # a batch of 32 scores 496 pairs: 48 pairs a paragraph ~ three passes

FROZEN = {"embedding_head": "linear", "C": 1.0, "class_weight": None, "threshold": 0.5, "lexical": 0.0}


@dataclass
class Row:
    """One system of the ablation: how to build it, and what it adds to the row before it."""

    key: str
    label: str
    adds: str
    kind: str                      # a built-in of classifier.harness.systems, or "zeroshot-free" (no labels)
    params: dict[str, Any] = field(default_factory=dict)
    finetune: bool = False


def ladder(finetune_budget: float) -> list[Row]:
    return [
        Row("tfidf", "TF-IDF + LR", "Word counts alone", "tfidf"),
        Row("frozen", "frozen embeddings + LR (no context)",
            "The sentence encoder (all-MiniLM-L6-v2) in place of word counts",
            "theme", {**FROZEN, "context": False}),
        Row("context", "+ context", "The section heading and neighbouring paragraphs as a second embedding",
            "theme", {**FROZEN, "context": True}),
        Row("thresholds", "+ tuned thresholds",
            "A per-theme F1-optimal threshold from out-of-fold scores instead of 0.5",
            "theme", {**FROZEN, "context": True, "threshold": "tune"}),
        Row("selection", "+ model selection (linear head, no lexical head)",
            "Choosing context, C and class weight by grouped CV", "theme",
            {"lexical": 0.0, "embedding_head": "linear"}),
        Row("lexical", "+ lexical ensemble",
            "Blending in a TF-IDF head when grouped CV prefers it", "theme", {"embedding_head": "linear"}),
        Row("mlp", "+ MLP embedding head (ThemeClassifier defaults = shipped recipe)",
            "Averaged one-hidden-layer networks in place of logistic regression over embeddings", "theme", {}),
        Row("finetune", "+ fine-tuning (SetFit-style encoder tuning)",
            "Tuning the encoder on the training labels first",
            "theme", {"finetune": True, "finetune_budget": finetune_budget}, finetune=True),
        Row("zeroshot", "zero-shot (no labels)", "The codebook's theme descriptions, with no labels at all,",
            "zeroshot-free"),
        Row("zeroshot_cal", "zero-shot, thresholds tuned on train", "Using the labels only to calibrate similarities",
            "zeroshot"),
    ]


def _available(rows: list[Row]) -> list[Row]:
    """Drop rows whose machinery this checkout lacks (the lexical head, the zero-shot classifier)."""
    from classifier.model import ThemeClassifier

    params = ThemeClassifier().get_params()
    out = []
    for row in rows:
        if "lexical" in row.params or row.key == "lexical":
            if "lexical" not in params:
                if row.key == "lexical":
                    continue
                row.params = {k: v for k, v in row.params.items() if k != "lexical"}
        if row.kind.startswith("zeroshot"):
            try:
                from classifier.zeroshot import ZeroShotClassifier  # noqa: F401
            except ImportError:
                continue
        out.append(row)
    return out


# -- running ---------------------------------------------------------------------------------------
@dataclass
class Point:
    """One system fitted on one training subset and scored on the test set."""

    row: str
    size: int
    seed: int
    P: np.ndarray
    pred: np.ndarray
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


def _predict(row: Row, train: Any, test: Any, ctx: Any, seed: int) -> tuple[Any, dict[str, Any]]:
    from classifier.harness.systems import Fitted, System, fit

    if row.kind == "zeroshot-free":
        from classifier.zeroshot import ZeroShotClassifier
        est = ZeroShotClassifier(codebook=ctx.codebook, cache=ctx.pool).fit()
        return Fitted(est, ctx, "units").predict(test), {}
    fitted = fit(System(row.key, row.kind, dict(row.params)), train, ctx, seed)
    est = fitted.estimator
    info = {k: _plain(getattr(est, k)) for k in ("use_context_", "C_", "class_weight_", "lexical_")
            if hasattr(est, k)}
    tuned = (getattr(est, "encoder_identity_", None) or {}).get("finetune")
    if tuned:
        info["finetune"] = {k: tuned[k] for k in ("steps", "planned_steps", "seconds", "stopped_by_budget")}
    prediction = fitted.predict(test)
    del fitted, est
    gc.collect()  # a fine-tuned encoder's temporary folder goes with its estimator
    return prediction, info


def finetune_pairs(size: int) -> int:
    """Pairs to fine-tune on: about three passes over a small subset, one pass (the default) over 1000."""
    from classifier.encoding.finetune import DEFAULT_PAIRS
    return min(DEFAULT_PAIRS, PAIRS_PER_PARAGRAPH * size)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def run_points(rows: list[Row], train: Any, test: Any, ctx: Any, plan: dict[int, Sequence[int]],
               finetune_plan: dict[int, tuple[Sequence[int], float]], log: Callable[[str], None]) -> list[Point]:
    from classifier.harness.stratify import stratified_subsample

    points = []
    for size, seeds in plan.items():
        for seed in seeds:
            subset = train.subset(stratified_subsample(train.Y, size, seed))
            for row in rows:
                if row.finetune:
                    if size not in finetune_plan or seed not in finetune_plan[size][0]:
                        continue
                    row = Row(row.key, row.label, row.adds, row.kind,
                              {**row.params, "finetune_budget": finetune_plan[size][1],
                               "finetune_pairs": finetune_pairs(size)}, True)
                if row.kind == "zeroshot-free" and size != max(plan):
                    continue  # needs no training data: one score for every size
                start = time.monotonic()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    prediction, info = _predict(row, subset, test, ctx, seed)
                seconds = time.monotonic() - start
                points.append(Point(row.key, size, seed, prediction.P, prediction.pred, seconds, info))
                log(f"n={size} seed={seed} {row.key}: macro-F1 {macro_f1(test.Y, prediction.pred):.3f} "
                    f"({seconds:.0f} s){' ' + json.dumps(info) if info else ''}")
    return points


# -- scoring ---------------------------------------------------------------------------------------
class Scorer:
    """Bootstrap draws of macro-F1 over test articles, the same draws for every system (paired)."""

    def __init__(self, test: Any, resamples: int = RESAMPLES, seed: int = 0):
        from classifier.harness.bootstrap import group_index, resample_weights

        self.test = test
        _, groups = group_index(test.groups, len(test))
        self.W = resample_weights(groups, resamples, seed)
        self.k = test.Y.shape[1]

    def draws(self, p: Point) -> tuple[float, np.ndarray]:
        from classifier.harness.bootstrap import group_stats, metrics_from_totals

        stats = group_stats(self.test.Y, p.P, p.pred, self.test.groups, True)
        S = stats.matrix()
        point = metrics_from_totals(np.ones((1, len(S))) @ S, self.k, True)["macro_f1"][0]
        return float(point), metrics_from_totals(self.W @ S, self.k, True)["macro_f1"]

    def summary(self, points: Sequence[Point]) -> dict[str, Any]:
        """Mean over seeds, its 95% interval (bootstrap of the seed-mean), spread over seeds, the draws."""
        pairs = [self.draws(p) for p in points]
        values = np.array([v for v, _ in pairs])
        mean_draws = np.mean([d for _, d in pairs], axis=0)
        lo, hi = np.quantile(mean_draws, [0.025, 0.975])
        return {"mean": float(values.mean()), "ci": [float(lo), float(hi)], "sd": float(values.std(ddof=1))
                if len(values) > 1 else 0.0, "runs": len(values), "values": values.tolist(), "draws": mean_draws,
                "seeds": {p.seed: pair for p, pair in zip(points, pairs)},
                "seconds": float(np.mean([p.seconds for p in points])), "info": [p.info for p in points]}


def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Difference a - b of two summaries on the same draws and the seeds both ran, its interval and two-sided
    bootstrap p-value."""
    common = sorted(set(a["seeds"]) & set(b["seeds"]))
    diff = np.mean([a["seeds"][s][1] - b["seeds"][s][1] for s in common], axis=0)
    observed = float(np.mean([a["seeds"][s][0] - b["seeds"][s][0] for s in common]))
    tail = (diff <= 0).sum() if observed >= 0 else (diff >= 0).sum()
    lo, hi = np.quantile(diff, [0.025, 0.975])
    return {"diff": observed, "ci": [float(lo), float(hi)], "p": float(min(1.0, 2 * (tail + 1) / (len(diff) + 1))),
            "seeds": len(common), "a": float(np.mean([a["seeds"][s][0] for s in common])),
            "b": float(np.mean([b["seeds"][s][0] for s in common]))}


# -- report ----------------------------------------------------------------------------------------
def _ci(pair: Sequence[float]) -> str:
    return f"[{pair[0]:.3f}, {pair[1]:.3f}]"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def verdict(row: Row, d: dict[str, Any], against: int) -> str:
    """One sentence: what this step bought over the row it builds on."""
    ci = f"95% CI {_ci(d['ci'])}"
    if d["ci"][0] > 0:
        return f"{row.adds} bought {d['diff']:+.3f} macro-F1 over row {against} ({ci})."
    if d["ci"][1] < 0:
        return f"{row.adds} lost {-d['diff']:.3f} macro-F1 against row {against} ({ci})."
    return f"{row.adds} moved macro-F1 by {d['diff']:+.3f} against row {against}, within noise ({ci})."


def base_of(rows: list[Row], i: int) -> Row | None:
    """The row a step builds on: the previous one, except for the zero-shot rows (compared to row 2)."""
    row = rows[i]
    if row.key == "tfidf":
        return None
    if row.key == "zeroshot":
        return next((r for r in rows if r.key == "frozen"), None)
    if row.key == "zeroshot_cal":
        return next((r for r in rows if r.key == "zeroshot"), None)
    if row.key == "frozen":
        return next((r for r in rows if r.key == "tfidf"), None)
    return rows[i - 1]


def render(rows: list[Row], summaries: dict[tuple[str, int], dict[str, Any]], sizes: list[int], full: int,
           meta: dict[str, Any]) -> str:
    by_key = {r.key: r for r in rows}
    out = [START, "## Ablation: what each step buys", "",
           f"Generated by `{meta['command']}` in {meta['minutes']:.0f} min on {meta['machine']} "
           f"({meta['date']}). Test: the geopolitics `test` split, {meta['n_test']} paragraphs in "
           f"{meta['n_articles']} articles; training: the `train` split ({full} paragraphs) or stratified subsets "
           f"of it. Macro-F1 over the {meta['k']} themes; 95% intervals are percentile bootstraps over test "
           f"articles ({RESAMPLES} resamples, the same draws for every row, so differences are paired).", ""]
    out += ["### Full training set", "",
            "| # | system | macro-F1 (95% CI) | Δ vs the row it builds on (95% CI, p) | fit time "
            "| what the step bought |",
            "|---:|---|---|---|---:|---|"]
    for i, row in enumerate(rows, 1):
        s = summaries.get((row.key, full))
        if s is None:
            continue
        base = base_of(rows, i - 1)
        bs = summaries.get((base.key, full)) if base else None
        if bs is not None:
            d = paired(s, bs)
            j = rows.index(base) + 1
            delta = f"{d['diff']:+.3f} {_ci(d['ci'])}, p={_p(d['p'])} (vs row {j})"
            said = verdict(row, d, j)
        else:
            delta, said = "", "The word-count baseline every encoder-based row must beat."
        extra = ""
        if row.finetune and s["info"] and s["info"][0].get("finetune"):
            ft = s["info"][0]["finetune"]
            extra = f" Fine-tuning ran {ft['steps']}/{ft['planned_steps']} steps in {ft['seconds']:.0f} s" + \
                    (" (budget spent)." if ft["stopped_by_budget"] else ".")
        out.append(f"| {i} | {row.label} | {s['mean']:.3f} {_ci(s['ci'])} | {delta} | {s['seconds']:.0f} s | "
                   f"{said}{extra} |")
    out += ["", "Rows 2 and 3 keep MTEB's fixed 0.5 threshold, at which a C=1 logistic head rarely predicts a theme "
            "(each is present in only 10-20% of paragraphs); row 4 shows what they were missing.",
            "", "### Learning curves", "",
            "Mean macro-F1 over seeds (95% CI of that mean; ± the spread over seeds). Seeds per size: "
            + ", ".join(f"{n}: {len(meta['plan'][n])}" for n in sizes)
            + f". Fine-tuning ran at {', '.join(str(n) for n in meta['finetune_sizes'])} paragraphs only "
            f"({PAIRS_PER_PARAGRAPH} pairs per paragraph, at most the default {meta['default_pairs']}; time budgets "
            f"{', '.join(f'{b:.0f} s' for b in meta['finetune_budgets'])}), to keep the run near 15 minutes; "
            + stopped_note(summaries), "",
            "| system | " + " | ".join(f"n={n}" + (" (all)" if n == full else "") for n in sizes) + " |",
            "|---|" + "---|" * len(sizes)]
    for row in rows:
        cells = []
        for n in sizes:
            s = summaries.get((row.key, n)) or (summaries.get((row.key, full)) if row.kind == "zeroshot-free" else None)
            if s is None:
                cells.append("–")
            else:
                spread = f" ±{s['sd']:.3f}" if s["runs"] > 1 else ""
                cells.append(f"{s['mean']:.3f} {_ci(s['ci'])}{spread}")
        label = row.label + (" (needs no training data: one score)" if row.kind == "zeroshot-free" else "")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += ["", "### Does fine-tuning earn its place in the default?", "",
            recommendation(summaries, sizes, full, by_key), "", END]
    return "\n".join(out) + "\n"


def stopped_note(summaries: dict[tuple[str, int], dict[str, Any]]) -> str:
    runs = [(n, i["finetune"]) for (key, n), s in summaries.items() if key == "finetune"
            for i in s["info"] if i.get("finetune")]
    cut = [f"n={n} ({ft['steps']}/{ft['planned_steps']} steps)" for n, ft in runs if ft["stopped_by_budget"]]
    if not cut:
        return f"all {len(runs)} fine-tuning runs finished their planned steps (so they are reproducible)."
    return f"{len(cut)} of {len(runs)} fine-tuning runs were cut short by their budget: {', '.join(cut)}."


def recommendation(summaries: dict[tuple[str, int], dict[str, Any]], sizes: list[int], full: int,
                   rows: dict[str, Row]) -> str:
    base_key = next(k for k in ("mlp", "lexical", "selection") if k in rows)  # the recipe fine-tuning adds to
    lines, gains = [], []
    for n in sizes:
        a, b = summaries.get(("finetune", n)), summaries.get((base_key, n))
        if a is None or b is None:
            continue
        d = paired(a, b)
        gains.append((n, d))
        lines.append(f"n={n} ({d['seeds']} seed{'s' * (d['seeds'] > 1)}): fine-tuned {d['a']:.3f} vs default "
                     f"{d['b']:.3f}, Δ {d['diff']:+.3f} {_ci(d['ci'])} (p={_p(d['p'])}); fit time "
                     f"{a['seconds']:.0f} s vs {b['seconds']:.0f} s")
    if not lines:
        return "Fine-tuning was not run."
    if all(g["ci"][0] > 0 for _, g in gains):
        verdict_ = "Fine-tuning helps at every size measured: it is worth making the default."
    elif any(g["ci"][1] < 0 for _, g in gains):
        verdict_ = ("Fine-tuning hurts at some size measured: keep it off by default (`policytag train --finetune` "
                    "stays available).")
    elif any(g["ci"][0] > 0 for _, g in gains):
        helped = [f"n={n}" for n, g in gains if g["ci"][0] > 0]
        verdict_ = (f"Fine-tuning helps at {', '.join(helped)} but not measurably at every size, and it multiplies "
                    "training time and model size (a 90 MB encoder copy in the model folder): keep it off by "
                    "default, and use `policytag train --finetune` when labels are few (check it with the harness).")
    else:
        verdict_ = ("No measured difference is distinguishable from zero, and fine-tuning multiplies training time "
                    "and model size (a 90 MB encoder copy in the model folder): keep it off by default; "
                    "`policytag train --finetune` stays available for corpora where it does help.")
    return "\n".join(f"- {line}" for line in lines) + "\n\n" + verdict_


def write_section(path: Path, section: str) -> None:
    """Replace the ablation section of ``path`` (create the file, or append the section, as needed)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "# Evaluation results\n\n") + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# -- command ---------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="corpora/geopolitics", help="corpus folder with train and test splits")
    parser.add_argument("--out", default="evaluation/RESULTS.md",
                        help="Markdown file whose ablation section is replaced")
    parser.add_argument("--json", default=None, help="also write every score as JSON here")
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="training sizes ('all' = full split)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for sizes up to 250 (one seed above)")
    parser.add_argument("--finetune-sizes", nargs="*", default=["100", "all"], help="sizes at which to fine-tune")
    parser.add_argument("--finetune-budget", type=float, default=420.0,
                        help="most seconds of fine-tuning at full size (its 33 steps take ~130 s on 2 idle cores)")
    parser.add_argument("--finetune-small-budget", type=float, default=240.0,
                        help="seconds of fine-tuning below full size (each seed)")
    parser.add_argument("--finetune-seeds", type=int, default=3, help="seeds for fine-tuning below full size")
    parser.add_argument("--quick", action="store_true", help="sizes 50 and all, one seed, 20 s of fine-tuning")
    parser.add_argument("--no-cache", action="store_true", help="do not use the on-disk embedding cache")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.finetune_sizes, args.finetune_seeds = ["50", "all"], 1, ["all"], 1
        args.finetune_budget = 20.0

    os.chdir(ROOT)
    from classifier.harness.datasets import read, to_evalset
    from classifier.harness.embeddings import EncoderPool
    from classifier.harness.systems import Context
    from classifier.io.tables import Columns

    def log(message: str) -> None:
        print(f"ablation: {message}", flush=True)

    started = time.monotonic()
    train_data = read(args.data, Columns(), "train")
    test_data = read(args.data, Columns(), "test")
    codebook = train_data.codebook
    train, test = to_evalset(train_data, codebook, split="train"), to_evalset(test_data, codebook, split="test")
    full = len(train)
    sizes = sorted({full if s == "all" else min(int(s), full) for s in args.sizes})
    plan = {n: list(range(args.seeds)) if n <= 250 and n < full else [0] for n in sizes}
    ft_sizes = sorted({full if s == "all" else int(s) for s in args.finetune_sizes} & set(sizes))
    finetune_plan = {n: (list(range(min(args.finetune_seeds, len(plan[n])))) if n < full else [0],
                         args.finetune_budget if n == full else args.finetune_small_budget) for n in ft_sizes}
    rows = _available(ladder(args.finetune_budget))
    ctx = Context(codebook, EncoderPool(None if args.no_cache else True))
    log(f"{len(rows)} systems, sizes {sizes}, fine-tuning at {ft_sizes}; test {len(test)} paragraphs")
    points = run_points(rows, train, test, ctx, plan, finetune_plan, log)

    scorer = Scorer(test)
    summaries: dict[tuple[str, int], dict[str, Any]] = {}
    for key in dict.fromkeys(p.row for p in points):
        for n in sizes:
            chosen = [p for p in points if p.row == key and p.size == n]
            if chosen:
                summaries[(key, n)] = scorer.summary(chosen)
    minutes = (time.monotonic() - started) / 60
    meta = {"command": COMMAND + (" --quick" if args.quick else ""), "minutes": minutes,
            "machine": f"{os.cpu_count()} CPU cores ({platform.machine()})", "date": time.strftime("%Y-%m-%d"),
            "n_test": len(test), "n_articles": len(np.unique(test.groups)), "k": len(codebook), "plan": plan,
            "finetune_sizes": ft_sizes, "finetune_budgets": [finetune_plan[n][1] for n in ft_sizes],
            "default_pairs": finetune_pairs(10**9)}
    section = render(rows, summaries, sizes, full, meta)
    write_section(Path(args.out), section)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"meta": meta,
             "scores": [{"system": k, "size": n, **{x: v for x, v in s.items() if x not in ("draws", "seeds")}}
                        for (k, n), s in summaries.items()]}, indent=2, default=str) + "\n")
    log(f"wrote {args.out} in {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
