"""Does ``policytag suggest`` save labeling work? A simulation on the geopolitics corpus.

The train split is the pool, its labels hidden. Every run starts from the same random seed set of
labeled paragraphs; each round a strategy picks a batch, its labels are revealed, the model is refit,
and macro-F1 is measured on the test split. Strategies: ``random`` (the baseline), ``uncertain``
(uncertainty only, diversity 0) and ``suggest`` (what the command does: uncertainty with diversity
0.5, away from paragraphs already labeled). Several seeds; the report states what it finds.

    python -m evaluation.active_learning            # writes evaluation/ACTIVE_LEARNING.md
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.labels import encode_labels

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "geopolitics"
REPORT = Path(__file__).resolve().parent / "ACTIVE_LEARNING.md"
STRATEGIES = {"random": None, "uncertain": 0.0, "suggest": 0.5}


@dataclass
class Setup:
    start: int = 50
    batch: int = 50
    budget: int = 500
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    C: float = 4.0
    class_weight: str | None = None
    context: bool = False
    lexical: float = 0.5


def shipped_setup(**kwargs: Any) -> Setup:
    """The configuration the shipped model selected (fixed here, so each round is one fit, not a search)."""
    manifest = ROOT / "models" / "geopolitics" / "manifest.json"
    if manifest.exists():
        sel = json.loads(manifest.read_text())["selected"]
        chosen = {} if sel["C"] is None else {"C": float(sel["C"])}  # an MLP head selects no C: keep the study's
        kwargs = {**chosen, "class_weight": sel["class_weight"], "context": bool(sel["context"]),
                  "lexical": _one_weight(sel.get("lexical") or 0.0), **kwargs}
    return Setup(**kwargs)


def _one_weight(value: float | list[float]) -> float:
    """A selected blend weight as one number: per-theme weights by their mean (as refits in the harness fix them)."""
    return float(sum(value) / len(value)) if isinstance(value, list) else float(value)


def _model(setup: Setup, codebook: Any, seed: int) -> Any:
    from classifier.model import ThemeClassifier
    return ThemeClassifier(codebook=codebook, embedding_head="linear", C=setup.C, class_weight=setup.class_weight,
                           context=setup.context,
                           lexical=setup.lexical, random_state=seed)


def _fit(setup: Setup, data: Any, idx: Sequence[int], seed: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rare themes in small seed sets are expected here
        return _model(setup, data.codebook, seed).fit([data.units[i] for i in idx], [data.labels[i] for i in idx],
                                                      groups=[data.groups[i] for i in idx])


def macro_f1(model: Any, test: Any) -> float:
    from sklearn.metrics import f1_score
    _, Y = encode_labels(model.codebook_, test.labels, len(test))
    return float(f1_score(Y, model.predict(test.units), average="macro", zero_division=0))


def run_strategy(setup: Setup, pool: Any, test: Any, seed: int, diversity: float | None) -> list[tuple[int, float]]:
    """(labeled count, test macro-F1) after each round of one strategy from one seed set."""
    from classifier.annotate.active import suggest

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))
    labeled = list(order[:setup.start])
    curve = []
    while True:
        model = _fit(setup, pool, labeled, seed)
        curve.append((len(labeled), macro_f1(model, test)))
        if len(labeled) >= min(setup.budget, len(pool)):
            return curve
        taken = set(labeled)
        rest = [i for i in range(len(pool)) if i not in taken]
        k = min(setup.batch, setup.budget - len(labeled), len(rest))
        if diversity is None:
            new = [i for i in order if i not in taken][:k]
        else:
            seen = [pool.units[i] for i in labeled] if diversity > 0 else None
            picked = suggest(model, [pool.units[i] for i in rest], k, diversity, seen=seen)
            new = [rest[j] for j in picked.indices]
        labeled += new


def labels_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((n for n, f in curve if f >= target), None)


def simulate(corpus: Path, setup: Setup, log=print) -> dict[str, Any]:
    from classifier.io.tables import Columns, read_labeled

    pool = read_labeled(corpus, Columns(split="train"))
    test = read_labeled(corpus, Columns(split="test"))
    t0 = time.time()
    full = macro_f1(_fit(setup, pool, list(range(len(pool))), 0), test)
    log(f"full pool ({len(pool)} paragraphs): macro-F1 {full:.3f} [{time.time() - t0:.0f}s]")
    curves: dict[str, list[list[tuple[int, float]]]] = {s: [] for s in STRATEGIES}
    for seed in setup.seeds:
        for name, diversity in STRATEGIES.items():
            curves[name].append(run_strategy(setup, pool, test, seed, diversity))
            log(f"seed {seed} {name:9s}: " + " ".join(f"{n}:{f:.3f}" for n, f in curves[name][-1])
                + f" [{time.time() - t0:.0f}s]")
    return {"pool": len(pool), "test": len(test), "full": full, "curves": curves, "setup": setup.__dict__,
            "seconds": round(time.time() - t0), "theme_range": theme_range(pool)}


def theme_range(pool: Any) -> list[int]:
    """Fewest and most positive paragraphs of any theme in the pool."""
    counts = [sum(t in labels for labels in pool.labels) for t in pool.codebook.ids]
    return [min(counts), max(counts)]


def report(result: dict[str, Any]) -> str:
    """The markdown report: learning curves, labels needed for several targets, and a plain verdict."""
    curves = result["curves"]
    sizes = [n for n, _ in curves["random"][0]]
    mean = {s: np.array([[f for _, f in c] for c in cs]).mean(0) for s, cs in curves.items()}
    sd = {s: np.array([[f for _, f in c] for c in cs]).std(0) for s, cs in curves.items()}
    setup = result["setup"]
    lines = ["# Active learning on the geopolitics corpus (simulation)", "",
             "Generated by `python -m evaluation.active_learning`; numbers below come from that run.", "",
             f"Pool: the train split ({result['pool']} paragraphs), labels hidden until a strategy picks a paragraph. "
             f"Evaluation: the test split ({result['test']} paragraphs), macro-F1 over the 12 themes. "
             f"Every run starts from {setup['start']} random paragraphs (the same set for every strategy of a seed) "
             f"and adds {setup['batch']} per round up to {setup['budget']}. Model: ThemeClassifier(C={setup['C']}, "
             f"class_weight={setup['class_weight']}, context={setup['context']}, lexical={setup['lexical']}) "
             f"(the configuration the shipped model selected, fixed), per-theme thresholds tuned by "
             f"grouped cross-validation on the labeled set at each round. "
             f"Seeds: {', '.join(map(str, setup['seeds']))}. "
             f"Trained on the whole pool the same model reaches macro-F1 **{result['full']:.3f}**.", "",
             "Strategies: `random` (baseline); `uncertain` (most uncertain first, no diversity); `suggest` (what "
             "`policytag suggest` does: uncertainty near each theme's threshold, traded against similarity to "
             "paragraphs already picked or labeled, diversity 0.5).", "",
             "## Macro-F1 by number of labeled paragraphs (mean ± sd over seeds)", "",
             "| labeled | " + " | ".join(curves) + " |", "|---:|" + "---:|" * len(curves)]
    for k, n in enumerate(sizes):
        lines.append(f"| {n} | " + " | ".join(f"{mean[s][k]:.3f} ± {sd[s][k]:.3f}" for s in curves) + " |")
    targets = sorted({round(result["full"] * r, 3) for r in (0.8, 0.85, 0.9, 0.95)})
    lines += ["", "## Labeled paragraphs needed to reach a macro-F1", "",
              "Mean over the seeds that reach the target within the budget; in brackets, how many seeds do.", "",
              "| target macro-F1 | " + " | ".join(curves) + " |", "|---:|" + "---:|" * len(curves)]
    needed: dict[float, dict[str, list[int]]] = {}
    for t in targets:
        needed[t] = {s: [n for n in (labels_to_reach(c, t) for c in cs) if n is not None] for s, cs in curves.items()}
        lines.append(f"| {t:.3f} ({t / result['full']:.0%} of full pool) | " + " | ".join(
            (f"{np.mean(v):.0f} ({len(v)}/{len(cs)})" if v else f"not reached (0/{len(cs)})")
            for v, cs in ((needed[t][s], curves[s]) for s in curves)) + " |")
    lines += ["", "## Verdict", "", verdict(mean, sizes, needed, curves), "",
              f"Labels are counted in rounds of {setup['batch']}, so a saving smaller than one round is an average of "
              "whole rounds across seeds, not a precise count. The pool is team-written and balanced across themes "
              f"(each theme has {result.get('theme_range', ['?', '?'])[0]}-{result.get('theme_range', ['?', '?'])[1]} "
              "positive paragraphs in it), so a random batch already covers every theme; a pool of real articles, "
              "where most paragraphs carry no theme or the same few, may leave more room for choosing well (not "
              "tested here).", ""]
    lines += [f"Run time: {result['seconds']} s on this machine (embeddings cached after the first pass).", ""]
    return "\n".join(lines)


def verdict(mean: dict[str, np.ndarray], sizes: list[int], needed: dict[float, dict[str, list[int]]],
            curves: dict[str, Any]) -> str:
    """Plain statements computed from the numbers, whichever way they go."""
    gain = mean["suggest"] - mean["random"]
    later = slice(1, None)
    paired = [float(np.mean([f for _, f in a][1:]) - np.mean([f for _, f in r][1:]))
              for a, r in zip(curves["suggest"], curves["random"])]
    sd = float(np.mean(np.array([[f for _, f in c] for c in curves["random"]]).std(0)[later]))
    out = [f"Averaged over the rounds after the seed set, `suggest` is {gain[later].mean():+.3f} macro-F1 against "
           f"`random` (best round {gain[later].max():+.3f} at {sizes[1 + int(gain[later].argmax())]} labels, worst "
           f"{gain[later].min():+.3f}); `uncertain` is {(mean['uncertain'] - mean['random'])[later].mean():+.3f}.",
           f"Seed by seed (same seed set, same test split) the mean gain of `suggest` over `random` is "
           f"{', '.join(f'{g:+.3f}' for g in paired)}: positive in {sum(g > 0 for g in paired)} "
           f"of {len(paired)} seeds.",
           f"For scale, the spread of `random` across seeds at a given size is {sd:.3f} (sd, mean over sizes)"
           + ("; the gain is smaller than that spread" if abs(gain[later].mean()) < sd
              else "; the gain exceeds that spread") + "."]
    g = gain[later].mean()
    headline = ("**No gain:** on this corpus `suggest` does not beat random choice." if g <= 0 else
                "**A small gain, within the noise between seeds:** `suggest` is ahead of random choice on average, "
                "but not in every seed." if g < sd or sum(x > 0 for x in paired) < len(paired) else
                "**A clear gain:** `suggest` beats random choice in every seed, by more than the noise between seeds.")
    out.insert(0, headline)
    for t, by in needed.items():
        a, r = by["suggest"], by["random"]
        n = len(curves["random"])
        if len(a) == n and len(r) == n:
            saved = np.mean(r) - np.mean(a)
            out.append(f"To reach {t:.3f}, `suggest` needs {np.mean(a):.0f} labels against {np.mean(r):.0f} at random "
                       f"({'saving' if saved > 0 else 'costing'} {abs(saved):.0f}, {abs(saved) / np.mean(r):.0%}).")
        else:
            out.append(f"Target {t:.3f}: reached by `suggest` in {len(a)}/{n} seeds and by `random` in {len(r)}/{n} "
                       "within the budget.")
    return " ".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(CORPUS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--start", type=int, default=50)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--out", default=str(REPORT))
    ap.add_argument("--json", default=None, help="also write the raw curves as JSON")
    ap.add_argument("--from-json", default=None, metavar="FILE", help="rewrite the report from saved curves")
    args = ap.parse_args(argv)
    if args.from_json:
        from classifier.io.tables import Columns, read_labeled
        result = json.loads(Path(args.from_json).read_text())
        result.setdefault("theme_range", theme_range(read_labeled(Path(args.corpus), Columns(split="train"))))
    else:
        setup = shipped_setup(start=args.start, batch=args.batch, budget=args.budget, seeds=tuple(range(args.seeds)))
        result = simulate(Path(args.corpus), setup)
    Path(args.out).write_text(report(result), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
