"""Regenerate ``evaluation/RESULTS.md``: the shipped model and every baseline on the geopolitics test split.

python -m evaluation.results                 # RESULTS.md (held-out test split)
python -m evaluation.results --html out/report.html --json out/results.json
python -m evaluation.results --full          # also 5-fold CV and the learning curve (slow: ~30 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m evaluation.results"
DEFAULT_OUT = "evaluation/RESULTS.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.results", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="Markdown file (default evaluation/RESULTS.md)")
    parser.add_argument("--html", default=None, help="also write the HTML report here")
    parser.add_argument("--json", default=None, help="also write the JSON result here")
    parser.add_argument("--full", action="store_true", help="add cross-validation and the learning curve")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)

    from classifier.errors import PolicytagError
    from classifier.harness.harness import Config, run
    from classifier.harness.markdown import write_document
    from classifier.harness.report_html import render
    from classifier.harness.systems import BASELINES

    out = ROOT / args.out if args.out == DEFAULT_OUT else Path(args.out).resolve()
    html, out_json = (Path(p).resolve() if p else None for p in (args.html, args.json))
    os.chdir(ROOT)  # paths in the report stay relative to the repository
    for needed in ("corpora/geopolitics/paragraphs.jsonl", "models/geopolitics/manifest.json"):
        if not Path(needed).exists():
            print(f"evaluation.results: {needed} is missing; nothing to evaluate yet", file=sys.stderr)
            return 2
    cfg = Config(
        data="corpora/geopolitics",
        model="models/geopolitics",
        systems=["model", *BASELINES],
        protocols=["heldout", "cv", "curve"] if args.full else ["heldout"],
        progress=(lambda m: None) if args.quiet else (lambda m: print(f"evaluation.results: {m}", file=sys.stderr)),
    )
    try:
        result = run(cfg)
    except PolicytagError as exc:
        print(f"evaluation.results: {exc}", file=sys.stderr)
        return 2
    command = COMMAND + (" --full" if args.full else "")
    write_document(out, result, command)
    if html:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render(result, "policytag: shipped model vs baselines"), encoding="utf-8")
    if out_json:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not args.quiet:
        print(f"evaluation.results: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
