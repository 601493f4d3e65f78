"""policytag: the product's name as an import; the same objects as the ``classifier`` package it re-exports.

    import policytag
    model = policytag.load_model()                # the shipped default model
    model.tag_article(open("article.txt").read())

Names resolve on first use, as in ``classifier``, so importing this package imports neither scikit-learn nor
torch.
"""
from __future__ import annotations

import classifier
from classifier import __all__, __version__

__all__ = [*__all__, "__version__"]


def __getattr__(name: str):
    if name in classifier.__all__:
        return getattr(classifier, name)
    raise AttributeError(f"module 'policytag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *classifier.__all__})
