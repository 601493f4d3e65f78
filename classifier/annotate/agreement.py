"""Inter-annotator agreement: per-theme Cohen's kappa and Krippendorff's alpha over theme decisions."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def krippendorff_alpha_nominal(data: Sequence[Sequence[Any]]) -> float:
    """Krippendorff's alpha (nominal) for a coders x units table; ``None`` marks a missing value.

    alpha = 1 - D_o / D_e from the coincidence matrix; units coded by fewer than two coders are skipped.
    """
    units = list(zip(*data))
    coincidence: Counter = Counter()
    for values in units:
        present = [v for v in values if v is not None]
        m = len(present)
        if m < 2:
            continue
        for i, a in enumerate(present):
            for j, b in enumerate(present):
                if i != j:
                    coincidence[(a, b)] += 1 / (m - 1)
    n_c: Counter = Counter()
    for (a, _), w in coincidence.items():
        n_c[a] += w
    n = sum(n_c.values())
    if n <= 1:
        return float("nan")
    observed = sum(w for (a, b), w in coincidence.items() if a != b)
    expected = sum(n_c[a] * n_c[b] for a in n_c for b in n_c if a != b) / (n - 1)
    return 1.0 if expected == 0 else 1 - observed / expected


def agreement(first: dict[str, list[str]], second: dict[str, list[str]], theme_ids: Sequence[str]) -> dict[str, Any]:
    """Per-theme Cohen's kappa (and raw agreement, positives per coder) plus alpha over every
    (paragraph, theme) yes/no decision, for the paragraphs both coders labeled."""
    from sklearn.metrics import cohen_kappa_score

    ids = sorted(set(first) & set(second))
    A = np.array([[t in first[i] for t in theme_ids] for i in ids], dtype=int)
    B = np.array([[t in second[i] for t in theme_ids] for i in ids], dtype=int)
    per_theme = {}
    for j, t in enumerate(theme_ids):
        same = A[:, j] == B[:, j]
        kappa = 1.0 if same.all() else float(cohen_kappa_score(A[:, j], B[:, j]))
        per_theme[t] = {"kappa": kappa, "agreement": float(same.mean()), "first": int(A[:, j].sum()),
                        "second": int(B[:, j].sum())}
    alpha = krippendorff_alpha_nominal([A.ravel().tolist(), B.ravel().tolist()])
    exact = float((A == B).all(axis=1).mean())
    return {"n": len(ids), "alpha": alpha, "exact_match": exact, "per_theme": per_theme}


def agreement_table(result: dict[str, Any]) -> str:
    lines = ["| theme | Cohen's kappa | raw agreement | positives (first coder) | positives (second coder) |",
             "|---|---:|---:|---:|---:|"]
    for t, v in result["per_theme"].items():
        lines.append(f"| {t} | {v['kappa']:.2f} | {v['agreement']:.2f} | {v['first']} | {v['second']} |")
    lines.append(f"\nKrippendorff's alpha (nominal, all paragraph x theme decisions): {result['alpha']:.2f}; "
                 f"paragraphs with identical label sets: {result['exact_match']:.0%} (n={result['n']})")
    return "\n".join(lines) + "\n"
