"""Fixtures shared by the tests: a private embedding cache, the shipped model, a small trained model."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import DATA, SEED_ARTICLE


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory) -> Path:
    """Tests never read or write the user's embedding cache."""
    path = tmp_path_factory.mktemp("embedding-cache")
    os.environ["POLICYTAG_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def shipped_model():
    from classifier import load_model
    return load_model()


@pytest.fixture(scope="session")
def mini_model():
    """A single-label model on the tiny team-written table (three themes, 24 rows)."""
    from classifier import ThemeClassifier
    from classifier.io.tables import Columns, read_labeled
    data = read_labeled(DATA / "mini.csv", Columns(label="label", single_label=True, group="doc"))
    return ThemeClassifier().fit(data.units, data.labels, groups=data.groups)


@pytest.fixture(scope="session")
def seed_article() -> str:
    if not SEED_ARTICLE.exists():
        pytest.skip("../shared/seeds is not beside this checkout")
    return SEED_ARTICLE.read_text(encoding="utf-8")
