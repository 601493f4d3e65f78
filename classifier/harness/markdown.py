"""Markdown views of an evaluation result: a per-label table, a leaderboard, CV and learning-curve tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PROTOCOL_TITLES = {"heldout": "Held-out test", "cross_corpus": "Cross-corpus test", "cv": "Cross-validation"}


def _f(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(pair: Any) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"[{pair[0]:.3f}, {pair[1]:.3f}]"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def per_label_table(m: dict[str, Any]) -> str:
    """One system's per-theme precision, recall, F1 (with its interval), average precision and support."""
    ci = m.get("ci", {}).get("per_label", {})
    lines = [
        "| theme | precision | recall | F1 | F1 95% CI | AP | ROC-AUC | support |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for t, v in m["per_label"].items():
        lines.append(
            f"| {t} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {_ci(ci.get(t, {}).get('f1'))} "
            f"| {_f(v.get('ap'))} | {_f(v.get('roc_auc'))} | {v['support']} |"
        )
    return "\n".join(lines) + "\n"


def headline(m: dict[str, Any]) -> str:
    ci = m.get("ci", {})
    keys = (
        "macro_f1",
        "micro_f1",
        "weighted_f1",
        "samples_f1",
        "subset_accuracy",
        "accuracy",
        "hamming_loss",
        "ece",
        "brier",
    )
    parts = [f"{k} {m[k]:.3f}" + (f" {_ci(ci.get(k))}" if ci.get(k) else "") for k in keys if k in m]
    groups = ci.get("settings", {}).get("groups")
    return ", ".join(parts) + f" (n={m['n']}" + (f", {groups} groups" if groups else "") + ")\n"


def leaderboard(block: dict[str, Any], multi_label: bool) -> str:
    """Systems ranked by macro-F1, with intervals and the paired test against the primary system."""
    tests = {c["b"]: c for c in block.get("comparisons", [])}
    primary = block.get("primary")
    if multi_label:
        cols = [
            ("micro-F1", "micro_f1"),
            ("weighted-F1", "weighted_f1"),
            ("samples-F1", "samples_f1"),
            ("subset acc.", "subset_accuracy"),
            ("Hamming", "hamming_loss"),
        ]
    else:
        cols = [("accuracy", "accuracy"), ("weighted-F1", "weighted_f1")]
    cols += [("macro-AP", "macro_ap"), ("ECE", "ece"), ("Brier", "brier")]
    head = ["system", "macro-F1 (95% CI)", *[c[0] for c in cols], f"macro-F1 of {primary} minus this (95% CI, p)"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * len(cols) + "---|"]
    ranked = sorted(block["systems"].items(), key=lambda kv: -kv[1]["macro_f1"])
    for name, m in ranked:
        t = tests.get(name)
        delta = "" if name == primary or t is None else f"{t['difference']:+.3f} {_ci(t['ci'])} p={_p(t['p_value'])}"
        label = f"**{name}**" if name == primary else name
        lines.append(
            f"| {label} | {m['macro_f1']:.3f} {_ci(m.get('ci', {}).get('macro_f1'))} | "
            + " | ".join(_f(m.get(k)) for _, k in cols)
            + f" | {delta} |"
        )
    return "\n".join(lines) + "\n"


def per_label_systems(block: dict[str, Any]) -> str:
    """Per-theme F1 of every system side by side."""
    names = list(block["systems"])
    first = block["systems"][names[0]]["per_label"]
    lines = ["| theme | support | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for t, v in first.items():
        scores = [block["systems"][n]["per_label"][t]["f1"] for n in names]
        best = max(scores)
        cells = [f"**{s:.3f}**" if s == best and best > 0 else f"{s:.3f}" for s in scores]
        lines.append(f"| {t} | {v['support']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cv_table(block: dict[str, Any]) -> str:
    lines = [
        "| system | pooled out-of-fold macro-F1 (95% CI) | macro-F1 per fold: mean ± sd | min – max | micro-F1 |",
        "|---|---|---:|---|---:|",
    ]
    for name, m in sorted(block["systems"].items(), key=lambda kv: -kv[1]["macro_f1"]):
        s = m["fold_summary"]
        lines.append(
            f"| {name} | {m['macro_f1']:.3f} {_ci(m['ci'].get('macro_f1'))} | {s['mean']:.3f} ± {s['sd']:.3f} "
            f"| {s['min']:.3f} – {s['max']:.3f} | {m['micro_f1']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def curve_table(curve: dict[str, Any]) -> str:
    summary = curve["summary"]
    sizes = sorted({row["size"] for rows in summary.values() for row in rows})
    lines = ["| system | " + " | ".join(f"n={s}" for s in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for name, rows in summary.items():
        by = {r["size"]: r for r in rows}
        cells = [f"{by[s]['mean']:.3f} ± {by[s]['sd']:.3f}" if s in by else "" for s in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _set_line(d: dict[str, Any] | None) -> str:
    if not d:
        return "–"
    split = f" [{d['split']}]" if d.get("split") else " [all rows]"
    groups = f", {d['groups']} documents" if d.get("groups") else ""
    left = "; ".join(f"{n} {k.strip('()')}" if k.startswith("(") else f"label {k!r} ×{n}"
                     for k, n in (d.get("dropped_labels") or {}).items())
    return f"`{d['source']}`{split}: {d['n']} paragraphs{groups}" + (f" (left out: {left})" if left else "")


def seen_note(block: dict[str, Any]) -> str:
    """A warning when the saved model under test trained on some of the scored rows, or cannot tell (a model saved
    before models kept keys of their training rows); empty otherwise."""
    if "seen_in_training" not in block:  # no saved model under test
        return ""
    n = block["seen_in_training"]
    if n is None:
        return ("Unchecked: the saved model keeps no record of the rows it trained on (saved by an older "
                "policytag), so whether any scored paragraph was among them cannot be checked.")
    if not n:
        return ""
    return (f"Not held out: {n} of the {block['test']['n']} scored paragraphs are in the saved model's training "
            "data, so its figures here overstate how it does on new text.")


def summary(result: dict[str, Any]) -> str:
    """What the terminal shows: leaderboards (or one system's per-label table) for every protocol run."""
    multi = result["meta"]["codebook"]["multi_label"]
    protos = result["protocols"]
    several = len(result["meta"]["systems"]) > 1
    out = []
    for key in ("heldout", "cross_corpus", "cv"):
        if key not in protos:
            continue
        block = protos[key]
        title = PROTOCOL_TITLES[key] + (
            f" ({block['folds']} folds × {len(block['seeds'])} seeds)" if key == "cv" else ""
        )
        out.append(f"### {title}: {_set_line(block['test'])}\n")
        if key != "cv" and block.get("train"):
            out.append(f"trained on {_set_line(block['train'])}\n")
        note = seen_note(block)
        if note:
            out.append(f"**{note}**\n")
        if several:
            out.append(cv_table(block) if key == "cv" else leaderboard(block, multi))
        else:
            name = block["primary"]
            out.append(per_label_table(block["systems"][name]) + "\n" + headline(block["systems"][name]))
    if "learning_curve" in protos:
        out.append("### Learning curve: macro-F1 on the test set by training-set size (mean ± sd over seeds)\n")
        out.append(curve_table(protos["learning_curve"]))
    return "\n".join(out)


def document(result: dict[str, Any], command: str | None = None) -> str:
    """A complete Markdown report (RESULTS.md): data, systems, leaderboards, per-theme scores, provenance."""
    meta = result["meta"]
    multi = meta["codebook"]["multi_label"]
    protos = result["protocols"]
    lines = ["# Evaluation results", ""]
    if command:
        lines += [
            "Produced by one command (regenerate after changing the model, the corpus or the code):",
            "",
            "```sh",
            command,
            "```",
            "",
        ]
    cb = meta["codebook"]
    lines += [
        f"Codebook **{cb['name']}** v{cb['version']} ({len(cb['ids'])} themes, "
        f"{'multi-label' if multi else 'single-label'}). Intervals are {int(meta['settings']['ci_level'] * 100)}% "
        f"percentile bootstrap intervals over "
        f"{'documents' if meta['settings']['resampling_unit'] == 'group' else 'rows'} "
        f"({meta['settings']['bootstrap_resamples']} resamples); p-values come from a paired bootstrap of the "
        "macro-F1 difference on the same test set. Macro-F1 averages the themes present in the test set.",
        "",
    ]
    if "model" in meta:
        m = meta["model"]
        lines += [
            f"Model: `{m['path']}` (manifest sha256 `{(m['manifest_sha256'] or '')[:16]}`, trained on "
            f"{m['n_train']} paragraphs, training hash `{m['training_hash']}`, selected {m['selected']}).",
            "",
        ]
    lines += (
        ["Systems:", ""]
        + [
            f"- **{s['name']}**: {s['description']}" + (f" {s['params']}" if s["params"] else "")
            for s in meta["systems"]
        ]
        + [""]
    )
    for key in ("heldout", "cross_corpus", "cv"):
        if key not in protos:
            continue
        block = protos[key]
        lines += [f"## {PROTOCOL_TITLES[key]}", "", f"Test: {_set_line(block['test'])}."]
        if block.get("train"):
            lines.append(f"Training: {_set_line(block['train'])}.")
        if block.get("train_note"):
            lines.append(f"({block['train_note']})")
        lines.append("")
        lines.append(cv_table(block) if key == "cv" else leaderboard(block, multi))
        lines += ["### F1 per theme", "", per_label_systems(block)]
        primary = block["primary"]
        lines += [
            f"### {primary}: per-theme detail",
            "",
            per_label_table(block["systems"][primary]),
            "",
            headline(block["systems"][primary]),
        ]
    if "learning_curve" in protos:
        lc = protos["learning_curve"]
        lines += [
            "## Learning curve",
            "",
            f"Training subsets of {_set_line(lc['train'])}, seeds {lc['seeds']}; tested on {_set_line(lc['test'])}.",
            "",
            curve_table(lc),
        ]
    libs = meta["libraries"]
    lines += ["## Provenance", "", "| item | value |", "|---|---|"]
    for key in ("heldout", "cross_corpus", "cv"):
        if key in protos:
            t = protos[key]["test"]
            lines.append(f"| {key} test data sha256 | `{t['sha256'][:16]}` |")
    for _name, enc in meta["encoders"].items():
        lines.append(f"| encoder | {enc['name']} (weights `{enc['fingerprint']}`) |")
    lines.append("| libraries | " + ", ".join(f"{k} {v}" for k, v in libs.items()) + " |")
    lines.append(f"| seeds | {meta['settings']['seeds']} |")
    return "\n".join(lines) + "\n"


def preserved_sections(text: str) -> str:
    """Sections other tools keep in a report between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
    (e.g. ``python -m evaluation.ablation`` in RESULTS.md), verbatim, to go after the regenerated part."""
    found = re.finditer(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", text, flags=re.S)
    return "".join(f"\n{m.group(0)}\n" for m in found)


def write_document(path: str | Path, result: dict[str, Any], command: str | None = None) -> None:
    """Write :func:`document` to ``path``, keeping the marked sections other tools wrote there."""
    path = Path(path)
    kept = preserved_sections(path.read_text(encoding="utf-8")) if path.exists() else ""
    path.write_text(document(result, command) + kept, encoding="utf-8")
