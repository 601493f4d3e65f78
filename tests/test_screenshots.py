"""The HTML view in a real browser at phone and desktop widths, through benchmarks/screenshots.py (skipped
without chromium): screenshots of the right size, and geometry a person would notice, measured in the page."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "screenshots.py"
spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
shots = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shots)
CHROMIUM = shots.find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


def check_phone(g: dict) -> None:
    assert (g["width"], g["height"]) == (390, 844)
    assert g["filter_cover"] < 0.12  # the sticky filter bar is one line of chips (43% of the screen before)
    assert g["overprinted"] == [] and g["page_overflow"] == 0  # heat maps scroll in their box; nothing overprints
    assert g["text_width"] >= 340 and g["profile_beside"] is False  # the profile goes above the text
    assert g["jump_clear"] is True


def check_desktop(g: dict) -> None:
    assert g["width"] == 1400 and g["overprinted"] == [] and g["page_overflow"] == 0
    assert g["profile_beside"] is True and g["text_width"] >= 800
    assert g["jump_clear"] is True


def test_screenshot_script_on_the_examples(tmp_path):
    out = tmp_path / "shots"
    run = subprocess.run([sys.executable, str(SCRIPT), "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shots.png_size(out / "view-390.png") == (390, 844)
    assert shots.png_size(out / "view-1400.png") == (1400, 900)
    geometry = json.loads((out / "geometry.json").read_text())
    check_phone(geometry["390"])
    check_desktop(geometry["1400"])
    assert "390px:" in run.stdout and "1400px:" in run.stdout


def test_time_chart_fits_a_phone(tmp_path):
    from classifier import load_codebook
    from classifier.io.views import DocView, render_html

    ids = load_codebook().ids
    docs = [DocView(f"wire.jsonl:{k}", [{"paragraph": i, "section": None, "text": f"Paragraph {i} of article {k}.",
                                         "themes": [ids[(k + i) % 5]], "scores": {t: 0.9 for t in ids},
                                         "meta": {"title": f"Article {k} " + "with a long title " * 3,
                                                  "date": f"2025-{k + 1:02d}-15"}} for i in range(3)])
            for k in range(12)]
    page = tmp_path / "chart.html"
    page.write_text(render_html(docs, load_codebook(), {t: 0.5 for t in ids}), encoding="utf-8")
    phone = shots.geometry(CHROMIUM, page, 390, 844)
    assert phone["chart"] is True
    check_phone(phone)
