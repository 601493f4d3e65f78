"""Ray engine benchmark: paragraphs per second of `policytag tag` with the local engine and with the Ray engine
(1 and 2 Tagger actors) on this machine, in one run; the row goes into benchmarks/README.md between the
``<!-- ray:start -->`` / ``<!-- ray:end -->`` markers.

    python benchmarks/ray_bench.py            # the geopolitics corpus articles, twice over (about 5 minutes on 2 cores)
    python benchmarks/ray_bench.py --quick    # ten articles, to check the harness (figures not meaningful)

Every configuration tags the same JSONL of articles with ``--no-cache`` (every paragraph is encoded), in a fresh
process. ``end to end`` is paragraphs over the whole command's wall time (model load, and for Ray the start of a
local cluster and its actors, included). ``steady`` is measured in a second fresh process that first starts the
engine and loads the model and encoder (in every actor), then times tagging the whole input: the rate once
start-up is paid. The outputs
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
    """One `policytag tag` run: its wall time, the paragraphs it wrote, and when the first record was written
    (the output is polled)."""
    t0 = time.perf_counter()
    with open(log, "ab") as err:
        proc = subprocess.Popen([*policytag(), "tag", *map(str, args), "-o", str(out), "--force", "--no-cache", "-q"],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        first, seen = None, 0
        while True:
            done = proc.poll() is not None
            seen = _lines(out)
            if seen and first is None:
                first = time.perf_counter() - t0
            if done:
                break
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): policytag tag {' '.join(map(str, args))}; "
                         f"see {log}")
    return {"paragraphs": seen, "wall_s": wall, "first_s": first}


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return fh.read().count(b"\n")
    except FileNotFoundError:
        return 0


def gpu_config(n: int) -> list[str]:
    """One actor per GPU, with chunks and encoder batches large enough to fill one."""
    return ["--engine", "ray", "--actors", str(n), "--gpus-per-actor", "1", "--chunk", "2048", "--batch-size", "256"]


def steady(args: list[str]) -> dict:
    """Paragraphs per second once everything is loaded: in a fresh process, the engine is started and warmed up
    (the model and encoder loaded in every actor), then the whole input is tagged without writing."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--steady", *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"steady run failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def steady_worker(argv: list[str]) -> None:
    """The --steady subprocess: argv is the input file, then the configuration's `policytag tag` options."""
    from classifier import load_model
    from classifier.cli import build_parser
    from classifier.engines.local import tag_stream
    from classifier.io.readers import read_inputs

    args = build_parser().parse_args(["tag", *argv, "--no-cache"])
    items = list(read_inputs(args.inputs))
    if args.engine == "ray":
        from classifier.engines.ray_run import RaySession
        session = RaySession(address=args.address, actors=args.actors, gpus_per_actor=args.gpus_per_actor,
                             cache=None, batch_size=args.batch_size).start()
        session.wait_ready()
        stream = session.tag_stream(items, args.chunk)
    else:
        model = load_model(cache=None, batch_size=args.batch_size)
        model.predict_proba(["A probe paragraph to load the encoder."])
        stream = tag_stream(model, items, args.chunk)
    t = time.perf_counter()
    n = sum(len(res.records) for res in stream)
    print(json.dumps({"paragraphs": n, "seconds": time.perf_counter() - t}))


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
        s = steady([full, *extra])
        results[name] = {"paragraphs": t["paragraphs"], "wall_s": round(t["wall_s"], 1),
                         "first_output_s": round(t["first_s"], 1),
                         "end_to_end": round(t["paragraphs"] / t["wall_s"], 1),
                         "steady": round(s["paragraphs"] / s["seconds"], 1), "steady_s": round(s["seconds"], 1)}
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
the command's wall time; steady once the engine is up (model and encoder loaded in every actor), which leaves out
the fixed start: model load, and for Ray a local cluster and actors that each import torch. Each actor gets 1 CPU
and runs torch single-threaded; the local engine's torch uses every core. "Same records" compares the output files
byte for byte. The machine is shared: its load average at the end of the run is in the row, and figures move by
20-30% between runs. CPU only: the per-GPU figure (`--gpus-per-actor 1`, one actor per GPU) needs a GPU \
machine; none is used here.

| date | machine | input | local | ray, 1 actor | ray, 2 actors | same records | \
first record after (s): local, 1, 2 actors |
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
    ap.add_argument("--steady", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.steady:
        return steady_worker(args.steady)
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
