"""Regenerate ``evaluation/RESULTS.md``: the shipped model and every baseline on the corpus test split and on
the stress set, side by side, plus the checks on real-writing traits (Southeast Asian news without a comparison,
the one real article).

python -m evaluation.results                 # RESULTS.md (test split of v1 + v2, and the stress set)
python -m evaluation.results --html out/report.html --json out/results.json
python -m evaluation.results --full          # also 5-fold CV of the test corpus (slow)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m evaluation.results"
DEFAULT_OUT = "evaluation/RESULTS.md"
CORPUS = "corpora/geopolitics_all"  # v1 + v2: trains the shipped model; its test split is the first test
STRESS = "corpora/stress"  # writing the model never saw, never tuned on
MODEL = "models/geopolitics"
TRAIN_SPLIT = "train,dev"  # the shipped model's training rows (README: how the shipped model is made)


def run_both(full: bool, progress: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from classifier.harness.harness import Config, run
    from classifier.harness.systems import BASELINES

    systems = ["model", *BASELINES]
    # every system trains on what the shipped model trained on: the corpus's train and dev splits
    test = run(Config(data=CORPUS, train_split=TRAIN_SPLIT, model=MODEL, systems=systems,
                      protocols=["heldout", "cv"] if full else ["heldout"], progress=progress))
    stress = run(Config(data=STRESS, train=CORPUS, train_split=TRAIN_SPLIT, model=MODEL, systems=systems,
                        protocols=["heldout"], progress=progress))
    return test, stress


def side_by_side(test: dict[str, Any], stress: dict[str, Any]) -> str:
    """One table: each system's macro-F1 with its interval on both test sets, and the paired test against the
    model."""
    from classifier.harness.markdown import _ci, _p

    rows = ["| system | test split macro-F1 (95% CI) | vs model (p) | stress set macro-F1 (95% CI) | vs model (p) |",
            "|---|---|---|---|---|"]
    blocks = [test["protocols"]["heldout"], stress["protocols"]["heldout"]]
    names = sorted(blocks[0]["systems"], key=lambda n: -blocks[0]["systems"][n]["macro_f1"])
    for name in names:
        cells = [f"**{name}**" if name == blocks[0]["primary"] else name]
        for block in blocks:
            m = block["systems"][name]
            t = {c["b"]: c for c in block.get("comparisons", [])}.get(name)
            cells.append(f"{m['macro_f1']:.3f} {_ci(m.get('ci', {}).get('macro_f1'))}")
            cells.append("" if t is None else f"{t['difference']:+.3f}, p={_p(t['p_value'])}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def southeast_asia_check(model: Any) -> str:
    """asean_analogy on the stress set's Southeast Asia paragraphs: how often the region alone triggers it."""
    from classifier.io.corpus import read_rows
    from classifier.io.tables import article_context

    rows, _ = read_rows(STRESS)
    sea = [i for i, r in enumerate(rows) if r.get("sea")]
    contexts = article_context(rows)
    units = [{"text": rows[i]["text"], "context": list(contexts[i])} for i in sea]
    j = list(model.classes_).index("asean_analogy")
    pred = model.predict(units)[:, j].astype(bool)
    gold = [("asean_analogy" in rows[i]["labels"]) for i in sea]
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    plain = sum(not g for g in gold)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return (f"On the stress set's {len(sea)} Southeast Asia paragraphs ({plain} without a comparison, "
            f"{len(sea) - plain} with one), the model assigns asean_analogy to {tp + fp}: {tp} correctly and {fp} "
            f"to paragraphs without a comparison ({fp / max(plain, 1):.1%} of them); precision on Southeast Asia "
            f"paragraphs {precision:.3f}, recall {tp / max(len(sea) - plain, 1):.3f}.\n")


def real_article_check(model: Any) -> str:
    from evaluation.real_article import ARTICLE, compare

    if not ARTICLE.exists():
        return "The seed article (`../shared/seeds`) is not beside this checkout; this check was skipped.\n"
    r = compare(model)
    analogy = sum("asean_analogy" in row["coder_a"] for row in r["rows"])
    hit = sum("asean_analogy" in row["coder_a"] and "asean_analogy" in row["model"] for row in r["rows"])
    false = sum("asean_analogy" not in row["coder_a"] and "asean_analogy" in row["model"] for row in r["rows"])
    return (f"The one real news analysis at hand ({r['paragraphs']} paragraphs, `python -m evaluation.real_article`): "
            f"micro-F1 {r['model_vs']['coder_a']:.3f} against coder A and {r['model_vs']['coder_b']:.3f} against "
            f"coder B (the coders agree at {r['coders']:.3f}); asean_analogy on {hit} of the {analogy} paragraphs that "
            f"draw the parallel and on {false} of the {r['paragraphs'] - analogy} that do not.\n")


def document(test: dict[str, Any], stress: dict[str, Any], model: Any, command: str) -> str:
    from classifier.harness.markdown import document as harness_document
    from classifier.harness.markdown import headline, leaderboard, per_label_systems, per_label_table

    body = harness_document(test, command)
    head, _, rest = body.partition("## Held-out test")
    block = stress["protocols"]["heldout"]
    multi = stress["meta"]["codebook"]["multi_label"]
    primary = block["primary"]
    stress_part = "\n".join([
        "## Stress set", "",
        f"Test: `{STRESS}`: {block['test']['n']} paragraphs, {block['test'].get('groups', '?')} documents, written "
        "by other writers in other styles (wire bits, translated-sounding statements, blogs, speeches, threads), "
        "double-coded blind and adjudicated; never trained or tuned on. Training: the same as the test split's.", "",
        leaderboard(block, multi), "### F1 per theme", "", per_label_systems(block),
        f"### {primary}: per-theme detail", "", per_label_table(block["systems"][primary]), "",
        headline(block["systems"][primary]),
        "### Southeast Asian news without a comparison", "", southeast_asia_check(model),
        "## Real article", "", real_article_check(model)])
    summary = "\n".join(["## Summary: test split and stress set", "", side_by_side(test, stress)])
    return head + summary + "\n" + stress_part + "\n## Held-out test" + rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.results", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="Markdown file (default evaluation/RESULTS.md)")
    parser.add_argument("--html", default=None, help="also write the HTML report (test split) here")
    parser.add_argument("--json", default=None, help="also write both JSON results here")
    parser.add_argument("--full", action="store_true", help="add 5-fold cross-validation of the corpus")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)

    from classifier import load_model
    from classifier.errors import PolicytagError
    from classifier.harness.markdown import preserved_sections
    from classifier.harness.report_html import render

    out = ROOT / args.out if args.out == DEFAULT_OUT else Path(args.out).resolve()
    html, out_json = (Path(p).resolve() if p else None for p in (args.html, args.json))
    os.chdir(ROOT)  # paths in the report stay relative to the repository
    for needed in (f"{STRESS}/paragraphs.jsonl", f"{MODEL}/manifest.json"):
        if not Path(needed).exists():
            print(f"evaluation.results: {needed} is missing; nothing to evaluate yet", file=sys.stderr)
            return 2
    progress = (lambda m: None) if args.quiet else (lambda m: print(f"evaluation.results: {m}", file=sys.stderr))
    try:
        test, stress = run_both(args.full, progress)
        model = load_model(MODEL)
    except PolicytagError as exc:
        print(f"evaluation.results: {exc}", file=sys.stderr)
        return 2
    command = COMMAND + (" --full" if args.full else "")
    kept = preserved_sections(out.read_text(encoding="utf-8")) if out.exists() else ""
    out.write_text(document(test, stress, model, command) + kept, encoding="utf-8")
    if html:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render(test, "policytag: shipped model vs baselines"), encoding="utf-8")
    if out_json:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps({"test": test, "stress": stress}, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    if not args.quiet:
        print(f"evaluation.results: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
