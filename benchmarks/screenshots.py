"""The HTML view in a real headless browser: screenshots at phone and desktop widths, and measured geometry.

    python benchmarks/screenshots.py                       # tags the examples; refreshes docs/screenshots/
    python benchmarks/screenshots.py -o /tmp/shots         # anywhere else
    python benchmarks/screenshots.py --inputs feed.jsonl   # any inputs `tag` reads (dated ones add a time chart)

It runs ``policytag tag INPUTS --html view.html`` with the shipped model (or ``--model``), then opens the page in
chromium (``--chromium``, else ``chromium``/``chromium-browser`` on the PATH) once per width: one PNG of the first
screen (``view-390.png``, ``view-1400.png``), and once more inside a frame of exactly that size, where a small
probe script measures what a person would notice and writes it into the DOM for ``--dump-dom`` to carry back:

- ``filter_cover``: share of the screen's height the sticky filter bar covers (0 when it is not sticky);
- ``page_overflow``: pixels the page is wider than the screen (0: nothing to scroll sideways but the heat maps);
- ``overprinted``: heat-map and chart cells whose text does not fit in them;
- ``text_width``: the narrowest paragraph column of any article (the profile column must not squeeze it);
- ``profile_beside``: whether the theme profile sits beside the text (desktop) or under/over it (phone).
- ``jump_clear``: whether a jump to an article (the heat map's links) leaves its heading below the filter bar.

The PNGs and ``geometry.json`` (one object per width) go into ``-o`` (default ``docs/screenshots/``, the
committed ones); with ``--keep``
the page and its records too (``view.html``, ``records.jsonl``). Nothing is fetched from the network: the page
is self-contained.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ["examples/article.md", "tests/data/news_page.html"]
WIDTHS = {390: 844, 1400: 900}  # width: height (an iPhone 12-15 screen, a laptop)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--force-device-scale-factor=1"]

PROBE = """<script>
function probe(win, doc){  // measures the page inside the frame, whose viewport is exactly the asked size
  var W = win.innerWidth, H = win.innerHeight, g = {width: W, height: H};
  var f = doc.querySelector('.filters'), fs = win.getComputedStyle(f);
  g.filter_height = Math.round(f.getBoundingClientRect().height);
  g.filter_cover = fs.position === 'sticky' || fs.position === 'fixed' ? +(g.filter_height / H).toFixed(3) : 0;
  g.page_overflow = Math.max(0, doc.documentElement.scrollWidth - W);
  var over = [];
  doc.querySelectorAll('table.cmp td:not(.name), table.cmp th.n, table.cmp th.np').forEach(function(td){
    if (td.scrollWidth > td.clientWidth + 1) over.push(td.textContent);
  });
  doc.querySelectorAll('.chart svg text').forEach(function(t, i, all){  // axis labels must not collide
    var a = t.getBoundingClientRect();
    for (var j = i + 1; j < all.length; j++) {
      var b = all[j].getBoundingClientRect();
      if (a.right > b.left + 1 && b.right > a.left + 1 && a.bottom > b.top + 1 && b.bottom > a.top + 1)
        over.push(t.textContent + '/' + all[j].textContent);
    }
  });
  g.overprinted = over;
  var widths = [], beside = [];
  doc.querySelectorAll('article.doc').forEach(function(d){
    var p = d.querySelector('.pars').getBoundingClientRect();
    var q = d.querySelector('.profile').getBoundingClientRect();
    widths.push(Math.round(p.width));
    beside.push(q.left >= p.right - 1);
  });
  g.text_width = widths.length ? Math.min.apply(null, widths) : null;
  g.profile_beside = beside.length ? beside.every(Boolean) : null;
  g.chart = !!doc.querySelector('#timechart svg');
  var first = doc.querySelector('article.doc');  // a link from the heat map jumps to its article:
  if (first) {                                    // the heading must land below the sticky filter bar
    first.scrollIntoView();
    g.jump_clear = first.getBoundingClientRect().top >= f.getBoundingClientRect().bottom - 1;
    win.scrollTo(0, 0);
  }
  var pre = document.createElement('pre');
  pre.id = 'geometry';
  pre.textContent = JSON.stringify(g);
  document.body.appendChild(pre);
}
var frame = document.getElementById('page');
frame.addEventListener('load', function(){ probe(frame.contentWindow, frame.contentDocument); });
</script>"""


def find_chromium(path: str | None = None) -> str | None:
    """The chromium to drive: the one named, else the first on the PATH."""
    return path or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    data = path.read_bytes()[:24]
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    return struct.unpack(">II", data[16:24])


def _browser(chromium: str, args: list[str], profile: Path, timeout: float = 120) -> str:
    run = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                         timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(f"chromium failed ({run.returncode}): {run.stderr[-1000:]}")
    return run.stdout


def screenshot(chromium: str, page: Path, png: Path, width: int, height: int) -> Path:
    """The first screen of ``page`` at ``width`` x ``height`` CSS pixels (scale factor 1), as a PNG."""
    with tempfile.TemporaryDirectory() as profile:
        _browser(chromium, [f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri()],
                 Path(profile))
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot {png}")
    return png


def geometry(chromium: str, page: Path, width: int, height: int) -> dict:
    """What the probe measures on ``page`` at this viewport size (see the module's docstring). The page is put
    in a frame of exactly ``width`` x ``height`` (headless windows have a least width), and the probe reads it."""
    frame = (f'<!DOCTYPE html><html><body style="margin:0"><iframe id="page" style="border:0;width:{width}px;'
             f'height:{height}px" srcdoc="{html.escape(page.read_text(encoding="utf-8"), quote=True)}"></iframe>'
             f"{PROBE}</body></html>")
    with tempfile.TemporaryDirectory() as tmp:
        probed = Path(tmp) / "probed.html"
        probed.write_text(frame, encoding="utf-8")
        dom = _browser(chromium, ["--dump-dom", "--virtual-time-budget=5000", f"--window-size={width + 40},"
                                  f"{height + 40}", probed.as_uri()], Path(tmp) / "profile")
    m = re.search(r'<pre id="geometry">(.*?)</pre>', dom, re.S)
    if m is None:
        raise RuntimeError("the probe wrote no geometry (did the page's script fail?)")
    return json.loads(html.unescape(m.group(1)))


def shoot(chromium: str, page: Path, out: Path, widths: dict[int, int] = WIDTHS) -> dict[int, dict]:
    """Screenshots and geometry of ``page`` at each width, written into ``out``; the geometry comes back."""
    found = {}
    for width, height in widths.items():
        screenshot(chromium, page, out / f"view-{width}.png", width, height)
        found[width] = geometry(chromium, page, width, height)
    (out / "geometry.json").write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    return found


def tag(inputs: list[str], out: Path, model: str | None = None) -> Path:
    """``policytag tag INPUTS --html out/view.html`` (records beside it); the page's path. The default inputs
    are read from the repository root (so their names on the page are short), others from here."""
    out = out.resolve()
    page = out / "view.html"
    cmd = [sys.executable, "-m", "classifier.cli", "tag", *inputs, "-o", str(out / "records.jsonl"), "--force",
           "--html", str(page), "-q", *(["--model", model] if model else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run(cmd, cwd=ROOT if inputs == INPUTS else None, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"policytag tag failed ({run.returncode}): {run.stderr[-1000:]}")
    return page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default=str(ROOT / "docs" / "screenshots"),
                    help="folder for the PNGs and geometry.json (default: docs/screenshots)")
    ap.add_argument("--keep", action="store_true", help="also keep the page and its records (view.html, "
                    "records.jsonl) in the folder")
    ap.add_argument("--inputs", nargs="+", default=INPUTS, help="what to tag (default: the examples)")
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--chromium", default=None, help="the browser to drive (default: chromium on the PATH)")
    args = ap.parse_args(argv)
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("screenshots: chromium not found; install it (apt-get install chromium) or pass --chromium",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        found = shoot(chromium, tag(args.inputs, out if args.keep else Path(tmp), args.model), out)
    for width, g in found.items():
        print(f"{width}px: {out / f'view-{width}.png'}  filter bar covers {g['filter_cover']:.0%}, "
              f"text column {g['text_width']} px, profile {'beside' if g['profile_beside'] else 'stacked'}, "
              f"overflow {g['page_overflow']} px, overprinted {len(g['overprinted'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
