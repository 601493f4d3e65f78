"""Experiment, not shipped: score a paragraph partly by its best sentence ("sentence pooling").

    python -m evaluation.experiments.sentence_pooling      # about 3 minutes on 2 cores (embeddings cached)

Real analysis paragraphs often make a point in one clause (an ASEAN comparison tacked onto a paragraph about
Ukraine). Variants, all with the shipped recipe's C=4, lexical blend 0.5 and thresholds tuned on inner
out-of-fold scores, compared by grouped 5-fold CV x 3 seeds over all 1,400 corpus paragraphs:

- ``par``: the paragraph embedding (what ships);
- ``par+sent.W``: (1-W) x head(paragraph) + W x max over its sentences of head(sentence); costs a second encoding;
- ``mean``, ``mean+sent.W``: the paragraph embedding replaced by the mean of its sentence embeddings, so only
  sentences are encoded (about 8% slower than encoding paragraphs on this machine).

Measured 2026-11-25 (macro-F1, mean of 15 folds; difference to ``par``, folds won):
par 0.6972; par+sent.25 0.7016 (+0.0045, 12/15); par+sent.5 0.6999 (+0.0027, 9/15); mean 0.6983 (+0.0011, 9/15);
mean+sent.25 0.7011 (+0.0039, 12/15); mean+sent.5 0.7001 (+0.0030, 9/15). On the test split mean+sent.25
reached 0.666 against 0.641, and on the one real article (``evaluation.real_article``) sentence pooling moved
micro-F1 from 0.53 to about 0.55-0.57. A small, consistent gain; not in the default yet because it changes the
embedding basis of every model and eats into the throughput margin (see the closing notes).
"""
import re

import numpy as np

from classifier import load_model
from classifier.harness.metrics import evaluate
from classifier.heads.lexical import LexicalHead
from classifier.heads.linear import fit_head, make_folds, tune_thresholds
from classifier.io.tables import Columns, read_labeled

SENT = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[A-Z\"“‘(])")


def sentences(t):
    s = [x.strip() for x in SENT.split(t) if len(x.split()) >= 4]
    return s or [t]


if __name__ == "__main__":
    m = load_model()
    enc = m.encoder_
    d = read_labeled("corpora/geopolitics", Columns())
    _, Y = m._targets(d.labels, len(d))
    texts = d.texts
    groups = np.array(d.groups)
    P = enc.encode(texts)
    sents = [sentences(t) for t in texts]
    owner = np.repeat(np.arange(len(texts)), [len(s) for s in sents])
    S = enc.encode([x for s in sents for x in s])
    M = np.zeros_like(P)
    np.add.at(M, owner, S)
    M /= np.linalg.norm(M, axis=1, keepdims=True)
    VARIANTS = {"par": ("P", 0.0), "par+sent.25": ("P", 0.25), "par+sent.5": ("P", 0.5),
                "mean": ("M", 0.0), "mean+sent.25": ("M", 0.25), "mean+sent.5": ("M", 0.5)}

    def scores(head, base, idx, w):
        par = head.predict_proba(base[idx])
        if not w:
            return par
        sel = np.isin(owner, idx)
        remap = np.full(len(texts), -1)
        remap[idx] = np.arange(len(idx))
        sm = np.zeros_like(par)
        np.maximum.at(sm, remap[owner[sel]], head.predict_proba(S[sel]))
        return (1 - w) * par + w * sm

    def run(train, test, base, w):
        inner = make_folds(len(train), groups[train], 3, 0)
        oof = np.zeros((len(train), 12))
        lex_oof = np.zeros((len(train), 12))
        tt = [texts[i] for i in train]
        for a, b in inner:
            h = fit_head(base[train[a]], Y[train[a]], True, 4.0, None, 0, 12)
            oof[b] = scores(h, base, train[b], w)
            lexical = LexicalHead(n_classes=12).fit([tt[i] for i in a], Y[train[a]])
            lex_oof[b] = lexical.predict_proba([tt[i] for i in b])
        th = tune_thresholds(0.5 * oof + 0.5 * lex_oof, Y[train], 3)
        h = fit_head(base[train], Y[train], True, 4.0, None, 0, 12)
        lex = LexicalHead(n_classes=12).fit(tt, Y[train]).predict_proba([texts[i] for i in test])
        T = 0.5 * scores(h, base, test, w) + 0.5 * lex
        return evaluate(Y[test], T, T >= th, m.classes_, True)["macro_f1"]

    res = {k: [] for k in VARIANTS}
    for seed in (0, 1, 2):
        for train, test in make_folds(len(texts), list(groups), 5, seed):
            for k, (b, w) in VARIANTS.items():
                res[k].append(run(np.asarray(train), np.asarray(test), P if b == "P" else M, w))
    base = np.array(res["par"])
    for k, v in res.items():
        v = np.array(v)
        diff = v - base
        print(f"{k:14s} mean {v.mean():.4f}  diff vs par {diff.mean():+.4f} (sd of diff {diff.std(ddof=1):.4f}, "
              f"wins {int((diff > 0).sum())}/{len(diff)})")
