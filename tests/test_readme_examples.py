"""The python blocks of the README's API section run as written, in order, in one namespace."""
import os
import re

import pytest
from helpers import ROOT

from classifier import DEFAULT_MODEL_DIR

SECTION = re.compile(r"<!-- BEGIN API SECTION.*?-->(.*?)<!-- END API SECTION -->", re.S)
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def api_blocks() -> list[str]:
    match = SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no API section"
    return BLOCK.findall(match.group(1))


@pytest.fixture()
def workdir(tmp_path):
    """A scratch folder that sees the repository's data, so the examples' relative paths work and their
    output files land outside the checkout."""
    for name in ("tests", "corpora", "examples", "models"):
        (tmp_path / name).symlink_to(ROOT / name)
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def test_the_api_section_has_examples_for_each_integration():
    text = "\n".join(api_blocks())
    for needle in ("GridSearchCV", "cross_val_score", "make_pipeline", "tag_dataset", "tag_dataframe", "suggest",
                   "export_paragraphs", "read_annotations", "model_view"):
        assert needle in text


def test_readme_api_examples_run(workdir, capsys):
    blocks = api_blocks()
    namespace: dict = {"__name__": "readme"}
    exec(compile(blocks[0], "README.md:api[0]", "exec"), namespace)  # scikit-learn: needs only tests/data
    assert (list(namespace["pipe"].predict(["The frigate escorted tankers through the strait."]))
            == ["maritime_security"])
    if not (DEFAULT_MODEL_DIR / "manifest.json").exists():
        pytest.skip("the shipped model is not there yet; the other examples use it")
    for n, block in enumerate(blocks[1:], 1):
        exec(compile(block, f"README.md:api[{n}]", "exec"), namespace)
    assert set(namespace["tagged"].column_names) >= {"themes", "score_deterrence"}
    assert namespace["frame"]["pred_themes"].tolist() == namespace["tagged"]["themes"]
    assert len(namespace["chosen"]) == 3 and (workdir / "tasks.json").exists()
    assert namespace["got"].unlabeled == 3 and not namespace["got"].problems  # exported, not yet annotated
    assert "Theme profile" in (workdir / "article.html").read_text(encoding="utf-8")
    assert "labeled" in capsys.readouterr().out
