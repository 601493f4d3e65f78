"""The evaluation harness: how good a model is per theme, how sure we are, whether it beats the simple
alternatives, and where it fails.

    from classifier.harness import Config, run
    result = run(Config(data="corpora/geopolitics", model="models/geopolitics",
                        systems=["model", "prior", "tfidf", "zeroshot", "knn", "logreg"],
                        protocols=["heldout", "cv", "curve"]))

The command line is ``policytag evaluate`` (see ``evaluation/README.md``). The repository's own studies built
on it (RESULTS.md, the ablation, the active-learning study) live in the top-level ``evaluation/`` folder.
"""

from __future__ import annotations

__all__ = ["Config", "run"]


def __getattr__(name: str):
    if name in __all__:  # lazy: importing the package must stay cheap
        from classifier.harness import harness

        return getattr(harness, name)
    raise AttributeError(name)
