"""Experiment: one pair of blend weights for all themes, or a pair per theme? And other ways to combine the heads.

    python -m evaluation.experiments.blend_weights [--seed N]    # about 20 minutes on 2 cores (embeddings cached)

The shipped blend is ``(1 - lex) x ((1 - s) x paragraph + s x best sentence) + lex x TF-IDF`` per theme. Until
this experiment ``fit`` refined ``s`` and ``lex`` theme by theme on out-of-fold F1 (``per_theme=True``). This
script fits the three parts once (the MLP paragraph head, the sentence head, the TF-IDF head) by grouped 5-fold
CV on the train split of ``corpora/geopolitics_all`` for out-of-fold scores, and on the whole train split to
score the test split, the stress set and (when ``../shared`` is beside the checkout) the seed article. Each rule
below then has its thresholds tuned on its own out-of-fold blend, as ``fit`` does:

- ``per-theme``: the weights refined theme by theme from the global pair (``per_theme=True``);
- ``global s/lex``: one pair for every theme, the out-of-fold best (``global_blend``; the new default);
- ``stacker``: a per-theme logistic regression on the three parts' log-odds, fitted on the out-of-fold scores;
- ``logit-mean``: the same weighted mean taken on log-odds; ``max``: ``max(paragraph, best sentence)``.

Measured 2026-12-07 on v1 + v2 before batch d (6,611 training paragraphs), macro-F1 on the test split / stress
set, two seeds (folds and network starts):

| rule | seed 0 | seed 1 |
|---|---|---|
| old default: the shipped model's selected pair (s 0.5, lex 0.75), refined per theme | 0.786 / 0.771 | 0.795 / 0.776 |
| per-theme, refined from the out-of-fold best pair | 0.789 / 0.778 | 0.794 / 0.780 |
| global, the out-of-fold best pair (0.5 / 0.5 both times) | 0.790 / 0.780 | 0.793 / 0.785 |
| stacker | 0.792 / 0.774 | 0.795 / 0.773 |
| logit-mean 0.5 / 0.5 | 0.787 / 0.777 | 0.793 / 0.781 |
| max, lex 0.5 | 0.788 / 0.776 | 0.788 / 0.772 |

Two things moved the stress set, written by writers the training data never saw: choosing the pair on the
out-of-fold scores of the sentence head that ships (model selection compares blends in which the paragraph head
scores the sentences) and then not refining it per theme (-0.002 and -0.005 on the stress set for per-theme
refinement, +0.001 and -0.001 on the test split, written by the training writers: what it fits is their style).
``fit`` now does both (``per_theme=False`` is the default). Every rule scored the 13-paragraph seed article at
micro-F1 0.38-0.58, too few paragraphs to rank them. The first row's seed-1 figure assumes the shipped model's
pair as the start; seed 1's own selection might have started elsewhere.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from evaluation.real_article import ARTICLE as SEED_ARTICLE
from evaluation.real_article import CODERS, micro_f1
from evaluation.real_article import LABELS as SEED_LABELS

ROOT = Path(__file__).resolve().parents[2]


def parts(seed: int) -> dict[str, np.ndarray]:
    """Out-of-fold and held-out scores of the three heads (P paragraph, B best sentence, L TF-IDF)."""
    from classifier import load_corpus, load_model
    from classifier.codebook import load_codebook
    from classifier.encoding.features import as_units, design, embed
    from classifier.heads.lexical import LexicalHead
    from classifier.heads.linear import Config, fit_sentence_head, make_folds, new_head, out_of_fold, sentence_head_oof
    from classifier.labels import encode_labels

    codebook = load_codebook(ROOT / "corpora" / "geopolitics_all" / "codebook.yaml")
    corpus = load_corpus(ROOT / "corpora" / "geopolitics_all")
    train, k = corpus["train"], len(codebook.ids)
    encoder = load_model().encoder_

    def embedded(texts):
        e = embed(encoder, as_units(texts), use_context=False, sentences=True)
        return design(e.units, e.context, False), design(e.windows, e.context[e.owner], False), e.owner

    _, Y = encode_labels(codebook, list(train["labels"]), len(train))
    texts = list(train["text"])
    Xp, Xs, owner = embedded(texts)
    folds = make_folds(len(Y), list(train["article_id"]), 5, seed)
    config = Config(False, None, None, 0.0, 0.5, "mlp")
    out = {"Y": Y, "P_oof": out_of_fold(Xp, Y, folds, True, config, seed, k)[0],
           "B_oof": sentence_head_oof(Xs, Y, owner, folds, config, seed, k, "all"), "L_oof": np.zeros((len(Y), k))}
    for a, b in folds:
        lexical = LexicalHead(multi_label=True, random_state=seed, n_classes=k).fit([texts[i] for i in a], Y[a])
        out["L_oof"][b] = lexical.predict_proba([texts[i] for i in b])
    paragraph = new_head(config, True, seed, k).fit(Xp, Y)
    sentence = fit_sentence_head(Xs, Y, owner, "all", new_head(config, True, seed, k))
    lexical = LexicalHead(multi_label=True, random_state=seed, n_classes=k).fit(texts, Y)
    held_out = {"test": corpus["test"], "stress": load_corpus(ROOT / "corpora" / "stress")["test"]}
    for name, rows in held_out.items():
        out[f"Y_{name}"] = encode_labels(codebook, list(rows["labels"]), len(rows))[1]
    if SEED_ARTICLE.is_file():
        held_out["seed"] = {"text": [r["text"] for r in load_model().tag_article(SEED_ARTICLE.read_text())]}
    for name, rows in held_out.items():
        Xp, Xs, owner = embedded(list(rows["text"]))
        best = np.zeros((len(Xp), k))
        np.maximum.at(best, owner, sentence.predict_proba(Xs))
        out.update({f"P_{name}": paragraph.predict_proba(Xp), f"B_{name}": best,
                    f"L_{name}": lexical.predict_proba(list(rows["text"]))})
    return out


def logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-4, 1 - 1e-4)
    return np.log(x / (1 - x))


def rules(r: dict[str, np.ndarray]) -> dict[str, object]:
    """Each combination rule as a function of a data set's name ("oof", "test", ...) to blended scores."""
    from sklearn.linear_model import LogisticRegression

    from classifier.heads.linear import global_blend, per_theme_blend
    from classifier.model import LEXICAL_GRID, THEME_SENTENCE_GRID

    def get(ds):
        return r[f"P_{ds}"], r[f"B_{ds}"], r[f"L_{ds}"]

    def weighted(s, lex, on_logits=False):
        def blend(ds):
            P, B, L = (logit(x) for x in get(ds)) if on_logits else get(ds)
            q = (1 - lex) * ((1 - s) * P + s * B) + lex * L
            return 1 / (1 + np.exp(-q)) if on_logits else q
        return blend

    Y, (P, B, L) = r["Y"], get("oof")
    s, lex = global_blend(P, B, L, Y, THEME_SENTENCE_GRID, LEXICAL_GRID)
    ws, wl, _ = per_theme_blend(P, B, L, Y, THEME_SENTENCE_GRID, LEXICAL_GRID, (s, lex))
    stackers = [LogisticRegression().fit(np.c_[logit(P[:, j]), logit(B[:, j]), logit(L[:, j])], Y[:, j])
                for j in range(Y.shape[1])]

    def stacked(ds):
        P, B, L = get(ds)
        return np.column_stack([m.predict_proba(np.c_[logit(P[:, j]), logit(B[:, j]), logit(L[:, j])])[:, 1]
                                for j, m in enumerate(stackers)])

    def maximum(ds):
        P, B, L = get(ds)
        return 0.5 * np.maximum(P, B) + 0.5 * L

    return {"per-theme": weighted(np.array(ws), np.array(wl)), f"global {s}/{lex}": weighted(s, lex),
            "stacker": stacked, "logit-mean 0.5/0.5": weighted(0.5, 0.5, on_logits=True), "max, lex 0.5": maximum}


def main() -> None:
    from classifier.heads.linear import tune_thresholds
    from classifier.scoring import macro_f1

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    r = parts(parser.parse_args().seed)
    coders, ids = None, None
    if "P_seed" in r:
        from classifier.codebook import load_codebook
        ids = load_codebook(ROOT / "corpora" / "geopolitics_all" / "codebook.yaml").ids
        rows = [json.loads(line) for line in SEED_LABELS.read_text().splitlines() if line.strip()]
        coders = [[set(row[c]) for row in rows] for c in CODERS]
    print("| rule | test split | stress set | seed article (micro-F1 vs coders A / B) |\n|---|---|---|---|")
    for name, blend in rules(r).items():
        t = tune_thresholds(blend("oof"), r["Y"])
        test, stress = (macro_f1(r[f"Y_{ds}"], blend(ds) >= t) for ds in ("test", "stress"))
        seed = "-"
        if coders is not None:
            pred = [{ids[j] for j in np.flatnonzero(row)} for row in blend("seed") >= t]
            seed = " / ".join(f"{micro_f1(coded, pred):.3f}" for coded in coders)
        print(f"| {name} | {test:.3f} | {stress:.3f} | {seed} |")


if __name__ == "__main__":
    main()
