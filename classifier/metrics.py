"""Scores of predictions against gold labels, as plain dicts ready for JSON."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def report(Y_true: np.ndarray, Y_pred: np.ndarray, ids: Sequence[str], multi_label: bool) -> dict[str, Any]:
    """Macro/micro/weighted F1 (+ samples F1, subset accuracy, Hamming loss for multi-label; accuracy for
    single-label) and per-label precision, recall, F1 and support. Single-label inputs are class indices."""
    from sklearn import metrics as m

    ids = list(ids)
    if not multi_label:
        labels = list(range(len(ids)))
        p, r, f, s = m.precision_recall_fscore_support(Y_true, Y_pred, labels=labels, zero_division=0)
        out = {"accuracy": float(m.accuracy_score(Y_true, Y_pred))}
        avg = dict(labels=labels, zero_division=0)
        present = sorted(set(np.asarray(Y_true).tolist()))
        out["macro_f1"] = float(m.f1_score(Y_true, Y_pred, average="macro", labels=present, zero_division=0))
    else:
        p, r, f, s = m.precision_recall_fscore_support(Y_true, Y_pred, zero_division=0)
        avg = dict(zero_division=0)
        out = {"macro_f1": float(m.f1_score(Y_true, Y_pred, average="macro", **avg)),
               "samples_f1": float(m.f1_score(Y_true, Y_pred, average="samples", **avg)),
               "subset_accuracy": float(m.accuracy_score(Y_true, Y_pred)),
               "hamming_loss": float(m.hamming_loss(Y_true, Y_pred))}
    out["micro_f1"] = float(m.f1_score(Y_true, Y_pred, average="micro", **avg))
    out["weighted_f1"] = float(m.f1_score(Y_true, Y_pred, average="weighted", **avg))
    out["n"] = int(len(Y_true))
    out["per_label"] = {t: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]), "support": int(s[j])}
                        for j, t in enumerate(ids)}
    return out


def markdown_table(result: dict[str, Any]) -> str:
    """Per-label table plus the headline numbers, for a terminal or a README."""
    lines = ["| theme | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for t, v in result["per_label"].items():
        lines.append(f"| {t} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    head = ", ".join(f"{k} {result[k]:.3f}" for k in ("macro_f1", "micro_f1", "samples_f1", "accuracy") if k in result)
    return "\n".join(lines) + f"\n\n{head} (n={result['n']})\n"
