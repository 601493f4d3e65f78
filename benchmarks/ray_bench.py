"""Ray engine benchmark: paragraphs per second of `policytag tag` with the local engine and with the Ray engine
(1 and 2 Tagger actors) on this machine, in one run; the row goes into benchmarks/README.md between the
``<!-- ray:start -->`` / ``<!-- ray:end -->`` markers.

    python benchmarks/ray_bench.py            # the geopolitics corpus articles, twice over (about 5 minutes on 2 cores)
    python benchmarks/ray_bench.py --quick    # ten articles, to check the harness (figures not meaningful)

Every configuration tags the same JSONL of articles with ``--no-cache`` (every paragraph is encoded), in a fresh
process. ``end to end`` is paragraphs over the whole command's wall time (model load, and for Ray the start of a
local cluster and its actors, included); ``steady`` counts from the first record written to the last (the output
file is polled), which leaves the fixed start-up cost and the first chunk out. The outputs
of all configurations must be byte-identical, or the benchmark fails. CPU only: a per-GPU figure needs a GPU
machine (``--gpus-per-actor 1``), and none is used here.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "geopolitics" / "paragraphs.jsonl"
README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- ray:start -->", "<!-- ray:end -->"
CONFIGS = {"local": [], "ray, 1 actor": ["--engine", "ray", "--actors", "1"],
           "ray, 2 actors": ["--engine", "ray", "--actors", "2"]}


def articles(limit: int | None, copies: int) -> list[dict]:
    """Corpus articles as documents (title, section headings, paragraphs); copy k marks every paragraph, so no
    copy's texts repeat another's and each is encoded afresh."""
    by_article: dict[str, list[dict]] = defaultdict(list)
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_article[row["article_id"]].append(row)
    docs = []
    for k in range(copies):
        for aid, rows in list(by_article.items())[:limit]:
            rows.sort(key=lambda r: r["paragraph"])
            parts, section = [rows[0].get("title") or aid], None
            for r in rows:
                if r.get("section") and r["section"] != section:
                    parts.append(section := r["section"])
                parts.append(r["text"] if k == 0 else f"{r['text']} (copy {k})")
            docs.append({"id": f"{aid}-{k}", "text": "\n\n".join(parts)})
    return docs


def policytag() -> list[str]:
    script = Path(sys.executable).with_name("policytag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "classifier.cli"]


def timed(args: list, out: Path, log: Path) -> dict:
    """One `policytag tag` run: its wall time, the paragraphs it wrote, and when the first and last were written
    (the output is polled; records are appended a whole document at a time)."""
    t0 = time.perf_counter()
    with open(log, "ab") as err:
        proc = subprocess.Popen([*policytag(), "tag", *map(str, args), "-o", str(out), "--force", "--no-cache", "-q"],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        first = last = None
        seen = first_n = 0
        while True:
            done = proc.poll() is not None
            n = _lines(out)
            if n > seen:
                last = time.perf_counter() - t0
                if first is None:
                    first, first_n = last, n
                seen = n
            if done:
                break
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): policytag tag {' '.join(map(str, args))}; "
                         f"see {log}")
    return {"paragraphs": seen, "wall_s": wall, "first_s": first, "last_s": last, "first_n": first_n}


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return fh.read().count(b"\n")
    except FileNotFoundError:
        return 0


def gpu_config(n: int) -> list[str]:
    """One actor per GPU, with chunks and encoder batches large enough to fill one."""
    return ["--engine", "ray", "--actors", str(n), "--gpus-per-actor", "1", "--chunk", "2048", "--batch-size", "256"]


def measure(work: Path, docs: list[dict], say, gpu_actors: int = 0) -> dict:
    full = work / "docs.jsonl"
    full.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    log = work / "stderr.log"
    results, outputs = {}, []
    configs = {**CONFIGS, **({f"ray, {gpu_actors} GPU actors": gpu_config(gpu_actors)} if gpu_actors else {})}
    for name, extra in configs.items():
        say(f"{name}: {len(docs)} articles")
        out = work / f"out-{len(outputs)}.jsonl"
        t = timed([full, *extra], out, log)
        outputs.append(out.read_bytes())
        span = t["last_s"] - t["first_s"]
        steady = (t["paragraphs"] - t["first_n"]) / span if span > 0 else float("nan")  # nan: one burst
        results[name] = {"paragraphs": t["paragraphs"], "wall_s": round(t["wall_s"], 1),
                         "first_output_s": round(t["first_s"], 1), "end_to_end": round(t["paragraphs"] / t["wall_s"], 1),
                         "steady": round(steady, 1)}
    cpu = outputs[:len(CONFIGS)]  # GPU records differ in float noise (and chunking): not compared
    results["identical"] = all(o == cpu[0] for o in cpu)
    if not results["identical"]:
        raise SystemExit("the engines wrote different records; see the outputs in " + str(work))
    return results


def row(r: dict, docs: int, quick: bool) -> str:
    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cells = " | ".join(f"{r[n]['end_to_end']:.0f} / {r[n]['steady']:.0f}" for n in CONFIGS)  # nan: too short
    starts = ", ".join(f"{r[n]['first_output_s']:.0f}" for n in CONFIGS)
    gpu = [f"{n}: {v['end_to_end']:.0f} / {v['steady']:.0f}" for n, v in r.items() if "GPU" in n]
    if gpu:
        starts += f" ({'; '.join(gpu)} paragraphs/s)"
    return (f"| {date.today()} | {cpus} CPUs, {platform.machine()}, load {load:.1f}{' (quick)' if quick else ''} | "
            f"{docs} articles, {r['local']['paragraphs']} paragraphs | {cells} | "
            f"{'yes' if r['identical'] else 'NO'} | {starts} |")


HEADER = """## Ray engine (`benchmarks/ray_bench.py`)

Paragraphs per second of `policytag tag --no-cache` on the same articles, **end to end / steady**: end to end over
the command's wall time; steady from its first written record to its last, which leaves out the fixed start (model
load, and for Ray a local cluster and its actors) and the first chunk. Each actor gets 1 CPU and runs
torch single-threaded; the local engine's torch uses every core. "Same records" compares the output files byte for
byte. CPU only: the per-GPU figure (`--gpus-per-actor 1`, one actor per GPU) needs a GPU machine; none is used here.

| date | machine | input | local | ray, 1 actor | ray, 2 actors | same records | first output after (s): local, 1, 2 actors |
|---|---|---|---:|---:|---:|---|---|
"""


def write_row(line: str) -> None:
    """Put the row between the Ray markers, keeping earlier rows; never touch the rest of the file."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if START not in text or END not in text:
        text = text.rstrip("\n") + ("\n\n" if text else "") + f"{START}\n{HEADER}{END}\n"
    head, rest = text.split(START, 1)
    body, tail = rest.split(END, 1)
    body = body if "| date |" in body else "\n" + HEADER
    README.write_text(f"{head}{START}{body.rstrip(chr(10))}\n{line}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="ten articles: checks the harness, figures not meaningful")
    ap.add_argument("--copies", type=int, default=2, help="copies of the corpus articles (default 2)")
    ap.add_argument("--no-readme", action="store_true", help="print the row, leave benchmarks/README.md alone")
    ap.add_argument("--gpu-actors", type=int, default=0, metavar="N", help="also run N actors with one GPU each "
                    "(needs a GPU machine and a CUDA build of torch)")
    args = ap.parse_args()
    docs = articles(10 if args.quick else None, 1 if args.quick else args.copies)
    say = lambda msg: print(f"ray_bench: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="policytag-raybench-") as tmp:
        r = measure(Path(tmp), docs, say, args.gpu_actors)
    line = row(r, len(docs), args.quick)
    print(json.dumps(r, indent=1))
    print(line)
    if not args.no_readme:
        write_row(line)
        say(f"wrote the row into {README}")


if __name__ == "__main__":
    main()
