"""Shared fixtures: a private embedding cache, the shipped model, a small trained model, sample articles."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED_ARTICLE = ROOT.parent / "shared" / "seeds" / "000_c3eb88e36b70f7ff.txt"
CORPUS = ROOT / "corpora" / "geopolitics"


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
    return ThemeClassifier(C=16.0, class_weight=None).fit(data.units, data.labels, groups=data.groups)


@pytest.fixture(scope="session")
def seed_article() -> str:
    if not SEED_ARTICLE.exists():
        pytest.skip("../shared/seeds is not beside this checkout")
    return SEED_ARTICLE.read_text(encoding="utf-8")


ARTICLE_TXT = """Allies Haggle Over the Bill for Eastern Air Defence

Defence ministers meeting in Brussels agreed that Germany will pay for forty percent of the new air-defence
belt, with the Netherlands and Norway splitting the rest and Poland providing the sites and crews.

Officials in Jakarta and Manila are watching closely: much as the Baltic states lean on a larger neighbour's
protection, Southeast Asian governments weigh how far to rely on Washington without losing ASEAN's own voice.
"""

ARTICLE_MD = """# Talks in Geneva

## Where things stand

The envoys met for a third round on **Tuesday**, trading drafts of a ceasefire map that would freeze the
front and open a corridor for prisoner exchanges. [Read more](https://example.org/x)

- A second paragraph in a list, about the navy escorting grain ships through the strait past mines.
"""

ARTICLE_HTML = """<html><head><title>Page</title><script>var x = "do not tag me";</script></head>
<body><nav>Home | World | Opinion</nav>
<h1>Coast guards clash at the shoal</h1>
<p>Two coast-guard cutters fired water cannon at a resupply boat near the reef on Sunday, the latest
incident in a long dispute over the shoal and the sea lanes around it.</p>
<p>Fishermen from nearby villages say the patrols have pushed them out of waters they have worked for generations.</p>
<footer>Copyright</footer></body></html>
"""


def write_articles(folder: Path) -> Path:
    """The three sample articles as a.txt, sub/b.md and c.html under ``folder`` (created)."""
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(ARTICLE_TXT)
    (folder / "sub" / "b.md").write_text(ARTICLE_MD)
    (folder / "c.html").write_text(ARTICLE_HTML)
    return folder
