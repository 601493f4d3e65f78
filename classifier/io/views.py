"""A self-contained HTML page of tagged articles: paragraphs with theme chips, a theme profile per article,
filters by theme, a comparison of theme profiles across documents and sources, and (when documents carry
dates) the themes' share of paragraphs month by month.

Everything is rendered on the server side with escaped text; the page's small script only shows and
hides elements, so no article text ever reaches JavaScript or the DOM as markup. The layout reads on a
390 px phone as on a desktop: below ``NARROW`` pixels the columns stack and the filter chips scroll in one row.
"""
from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.io.formats import RECORD_SUFFIXES
from classifier.io.meta import month_of
from classifier.io.writers import paragraph_label

log = logging.getLogger(__name__)

# white text reads on each
PALETTE = ("#3b6ea5", "#d9711c", "#c63d3f", "#2f8f89", "#3f8a3a", "#a8820a", "#8e5a9b", "#c2487a",
           "#7a5a45", "#5f6b7a", "#0f7c9c", "#6b8e23", "#b5562d", "#4b4fa8", "#8a6d00", "#3d7a5e")
NEAR_MARGIN = 0.15  # a theme this close below its threshold shows as a faint "near" chip,
NEAR_SHARE = 0.6    # if its score is also at least this share of the threshold (low thresholds stay quiet)
MAX_NEAR = 3        # at most this many per paragraph, closest first
NARROW = 800        # px: below this width the profile stacks over the text and the filter chips scroll in one row
CELL = 34           # px: the least width of a heat-map column, so two-digit shares never overprint


@dataclass
class ThemeInfo:
    id: str
    name: str
    description: str = ""


@dataclass
class DocView:
    """One tagged document: its id, where it came from, and its paragraph records (as ``tag`` writes them).

    ``title`` and ``meta`` (``title``, ``date``, ``outlet``, ``author``, ``url``) override what the records'
    own ``meta`` says."""

    id: str
    records: list[dict[str, Any]]
    source: str = ""
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 document``, ``2 documents``: the count with its noun in the right number."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def source_of(location: str) -> str:
    """The group a document belongs to in the comparison: its records file, else its folder."""
    base = location.rsplit(":", 1)[0] if location.rsplit(":", 1)[-1].isdigit() else location
    if base in ("", "<stdin>"):
        return base or "-"
    path = Path(base)
    if path.suffix.lower() in RECORD_SUFFIXES:  # a feed: its rows are its documents
        return path.name
    return path.parent.name or str(path.parent)


def profile(records: Sequence[dict[str, Any]], theme_ids: Sequence[str]) -> dict[str, float]:
    """Share of the paragraphs that carry each theme."""
    n = len(records)
    return {t: (sum(t in r["themes"] for r in records) / n if n else 0.0) for t in theme_ids}


def doc_meta(doc: DocView) -> dict[str, str]:
    """The document's metadata: the first record's ``meta`` (every record of a document carries the same),
    overridden by the view's own ``meta`` and ``title``; empty values are dropped."""
    meta: dict[str, Any] = {}
    for rec in doc.records[:1]:
        if isinstance(rec.get("meta"), dict):
            meta.update(rec["meta"])
    meta.update(doc.meta or {})
    if doc.title:
        meta["title"] = doc.title
    return {str(k): str(v) for k, v in meta.items() if v not in (None, "")}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _color(j: int) -> str:
    return PALETTE[j] if j < len(PALETTE) else f"hsl({(j * 47) % 360} 55% 50%)"


def _shade(share: float, color: str) -> str:
    alpha = 0.08 + 0.85 * share if share > 0 else 0.0
    ink = ";color:#fff" if alpha > 0.6 else ""
    return f"background: color-mix(in srgb, {color} {alpha * 100:.0f}%, white){ink}"


CSS = """
*{box-sizing:border-box} mark.ev{background:#fff6cc;color:inherit;padding:0 1px} \
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232b;background:#f5f6f8}
header{background:#1d2a3a;color:#fff;padding:18px 28px} header h1{margin:0 0 4px;font-size:22px} \
header p{margin:0;opacity:.8}
main{max-width:1280px;margin:0 auto;padding:18px 28px}
.panel{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 18px;margin-bottom:18px}
.panel h2{font-size:17px;margin:0 0 10px}
.filters{position:sticky;top:0;z-index:5;box-shadow:0 2px 6px rgba(0,0,0,.06)}
.filters .row{display:flex;flex-wrap:wrap;gap:6px;align-items:center} .filters .btns{display:contents}
button.f{border:2px solid var(--c);background:#fff;color:#1d232b;border-radius:14px;padding:2px 10px;font:inherit;\
font-size:13px;cursor:pointer;white-space:nowrap;flex:none}
button.f .n{font-size:11px;font-weight:600;margin-left:5px;opacity:.7} button.f.on .n{opacity:.9}
button.f.on{background:var(--c);color:#fff} \
button.clear{border:1px solid #999;background:#fafafa;border-radius:14px;padding:2px 10px;font-size:13px;\
cursor:pointer;flex:none}
.status{margin-left:auto;font-size:13px;color:#555;white-space:nowrap}
.legend{font-size:13px;color:#333} .legend .keys{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}
.legend .keys>span{display:inline-flex;gap:6px;align-items:center} .legend details{margin-top:8px}
.legend summary{cursor:pointer;color:#1d4f91} .evkey{background:#fff6cc;border-bottom:2px solid #3b6ea5;padding:0 2px}
.thr{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:2px 18px;margin-top:6px}
.thr span{display:flex;justify-content:space-between;border-bottom:1px dotted #dde1e7}
.thr span i{font-style:normal;border-left:4px solid var(--c);padding-left:5px} .thr span.absent{color:#8a94a0}
.scroll{overflow-x:auto} .scroll+h2{margin-top:16px}
table.cmp{border-collapse:collapse;width:100%;font-size:12px;table-layout:fixed} \
table.cmp th,table.cmp td{border:1px solid #e3e6ea;padding:3px 4px;text-align:center}
table.cmp thead th{vertical-align:bottom} table.cmp thead th.t{padding:6px 0}
table.cmp th.t span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block;\
border-right:4px solid var(--c);padding-right:3px}
table.cmp th.name{width:200px} table.cmp th.n{width:44px} table.cmp th.np{width:50px}
table.cmp th.name,table.cmp td.name{text-align:left;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;\
position:sticky;left:0;background:#fff;z-index:1}
table.cmp td.zero{color:#c3c8cf}
table.cmp thead th{font-weight:600}
table.cmp td.name a{color:#1d4f91;text-decoration:none}
.chart p{font-size:12.5px;color:#555;margin:0 0 8px}
.sms{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px 18px}
.sm{border-top:3px solid var(--c);padding-top:4px} .sm svg{display:block;width:100%;height:auto}
.smh{display:flex;justify-content:space-between;gap:8px;font-size:12.5px}
.smh b{font-weight:600;color:#555;white-space:nowrap} .smh span{min-width:0;overflow-wrap:anywhere}
.ax{display:flex;justify-content:space-between;font-size:11px;color:#8a94a0}
.chart .grid{stroke:#dde1e7} .chart .top{stroke-dasharray:3 3} .chart .tl{fill:none;stroke-width:2}
.chart .area{opacity:.15} .chart .dim{opacity:.25}
article.doc{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin-bottom:18px;overflow:hidden}
article.doc>h2{margin:0;padding:12px 18px;font-size:18px;background:#eef1f5;border-bottom:1px solid #dde1e7;\
overflow-wrap:anywhere}
article.doc>h2 small{font-weight:400;color:#555;font-size:13px;margin-left:8px;display:inline-block}
.body{display:grid;grid-template-columns:minmax(0,1fr) 300px;gap:0}
.pars{padding:8px 18px;min-width:0;overflow-wrap:break-word}
.profile{border-left:1px solid #e3e6ea;padding:12px 14px;background:#fbfcfd;font-size:12.5px}
.profile h3{font-size:13px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#555}
.bar{display:grid;grid-template-columns:140px 1fr 36px;gap:6px;align-items:center;margin-bottom:4px}
.bar .track{background:#edf0f3;border-radius:3px;height:10px} .bar .fill{height:10px;border-radius:3px}
.bar .lab{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.par{padding:8px 0;border-bottom:1px dashed #e3e6ea} .par:last-child{border-bottom:0}
.sec{font-weight:600;color:#33475b;margin:10px 0 2px;font-size:14px}
.pn{color:#8a94a0;font-size:12px;margin-right:6px}
.chips{margin-top:4px;display:flex;flex-wrap:wrap;gap:4px}
.chip{font-size:12px;border-radius:11px;padding:1px 8px;color:#fff;background:var(--c);white-space:nowrap}
.chip b{font-weight:600;margin-left:4px;opacity:.9}
.chip.near{background:#fff;color:#444;border:1px dashed var(--c)}
.chip.none{background:#e9ecef;color:#666}
.hidden{display:none!important}
article.doc,section.panel{scroll-margin-top:var(--bar,110px)}  /* a jump to #doc-3 lands below the filter bar */
@media (max-width:%(narrow)dpx){
header{padding:12px 14px} header h1{font-size:18px} main{padding:10px 8px}
.panel{padding:10px 12px;margin-bottom:12px}
.filters{padding:6px 8px} .filters .row{gap:4px 8px}
.filters .btns{display:flex;gap:6px;flex:1 1 100%;overflow-x:auto;padding-bottom:3px}
.filters .row strong{display:none} .status{font-size:12px} button.clear{padding:0 10px}
table.cmp th.name{width:120px}
article.doc>h2{padding:10px 12px;font-size:16px} article.doc>h2 small{margin-left:0;display:block}
.body{grid-template-columns:minmax(0,1fr)} .pars{padding:6px 12px}
.profile{border-left:0;border-bottom:1px solid #e3e6ea;order:-1;padding:8px 12px}
.bar{grid-template-columns:minmax(90px,40%) 1fr 36px}
}
""".replace("%(narrow)d", str(NARROW))

SCRIPT = """
(function(){
  var on = new Set();
  var buttons = document.querySelectorAll('button.f'), bar = document.querySelector('.filters');
  function margin(){  // jumps to an article (#doc-3) stop below the sticky filter bar, however tall it wraps
    document.documentElement.style.setProperty('--bar', (bar.offsetHeight + 12) + 'px');
  }
  window.addEventListener('resize', margin);
  if (window.ResizeObserver) new ResizeObserver(margin).observe(bar);  // the bar grows when its counts line wraps
  margin();
  function plural(n, word){ return n + ' ' + word + (n === 1 ? '' : 's'); }
  function apply(){
    var shown = 0, total = 0, docsShown = 0;
    document.querySelectorAll('article.doc').forEach(function(doc){
      var any = false;
      doc.querySelectorAll('.par').forEach(function(p){
        total++;
        var ts = p.dataset.themes ? p.dataset.themes.split(' ') : [];
        var ok = on.size === 0 || ts.some(function(t){ return on.has(t); });
        p.classList.toggle('hidden', !ok);
        if (ok) { shown++; any = true; }
      });
      doc.querySelectorAll('.secgroup').forEach(function(g){
        g.classList.toggle('hidden', !g.querySelector('.par:not(.hidden)'));
      });
      doc.classList.toggle('hidden', !any);
      if (any) docsShown++;
    });
    document.querySelectorAll('.chart [data-theme]').forEach(function(x){
      x.classList.toggle('dim', on.size > 0 && !on.has(x.dataset.theme));
    });
    document.getElementById('status').textContent = on.size === 0 ? plural(total, 'paragraph') :
      shown + ' of ' + plural(total, 'paragraph') + ' in ' + plural(docsShown, 'document');
  }
  buttons.forEach(function(b){
    b.addEventListener('click', function(){
      var t = b.dataset.theme;
      if (on.has(t)) on.delete(t); else on.add(t);
      document.querySelectorAll('button.f[data-theme="' + t + '"]').forEach(function(x){ \
x.classList.toggle('on', on.has(t)); });
      apply();
    });
  });
  document.getElementById('clear').addEventListener('click', function(){
    on.clear(); buttons.forEach(function(b){ b.classList.remove('on'); }); apply();
  });
  var m = /^#themes=(.*)$/.exec(location.hash);  // a link can carry a filter: page.html#themes=id1,id2
  if (m) decodeURIComponent(m[1]).split(',').forEach(function(id){
    buttons.forEach(function(b){ if (b.dataset.id === id) { on.add(b.dataset.theme); b.classList.add('on'); } });
  });
  apply();
  margin();  // the counts line apply() writes can change the bar's height
})();
"""


def _themes_of(codebook: Any, theme_ids: Sequence[str] | None) -> list[ThemeInfo]:
    if codebook is not None:
        return [ThemeInfo(t.id, t.name, t.description) for t in codebook.themes]
    return [ThemeInfo(t, t.replace("_", " ")) for t in theme_ids or []]


def _chip(key: str, theme: ThemeInfo, color: str, score: float | None, threshold: float | None = None,
          near: bool = False) -> str:
    s = f"<b>{score:.2f}</b>" if score is not None else ""
    cls = "chip near" if near else "chip"
    if threshold is not None and score is not None:
        tip = f"{theme.name}: {score:.2f} {'below' if near else 'at or above'} its threshold {threshold:.2f}"
    else:
        tip = f"{theme.name}: below its threshold" if near else theme.description or theme.name
    return f'<span class="{cls}" data-theme="{key}" style="--c:{color}" title="{_e(tip)}">{_e(theme.name)}{s}</span>'


def _compare_table(title: str, rows: list[tuple[str, str, str | None, int, int, dict[str, float]]],
                   themes: list[ThemeInfo], colors: list[str]) -> str:
    """A heat map of theme shares; rows are (name, full name shown on hover, anchor, documents, paragraphs,
    shares). Columns keep at least ``CELL`` px: on a narrow screen the table scrolls sideways instead."""
    head = "".join(f'<th class="t" style="--c:{c}" title="{_e(t.description)}"><span>{_e(t.name)}</span></th>'
                   for t, c in zip(themes, colors))
    body = []
    for name, full, anchor, n_docs, n_pars, shares in rows:
        label = f'<a href="#{anchor}">{_e(name)}</a>' if anchor else _e(name)
        cells = "".join(f'<td style="{_shade(shares[t.id], c)}" title="{_e(t.name)}: {shares[t.id]:.0%} of paragraphs">'
                        f"{shares[t.id] * 100:.0f}</td>" if shares[t.id] > 0 else '<td class="zero">·</td>'
                        for t, c in zip(themes, colors))
        body.append(f'<tr><td class="name" title="{_e(full)}">{label}</td><td>{n_docs}</td><td>{n_pars}</td>'
                    f'{cells}</tr>')
    least, most = 294 + CELL * len(themes), 294 + 80 * len(themes)  # few themes: no stretched columns
    return (f'<h2>{_e(title)}</h2><div class="scroll"><table class="cmp" style="min-width:{least}px;'
            f'max-width:{most}px">'
            f'<thead><tr><th class="name">name</th><th class="n">docs</th><th class="np" title="paragraphs">paras</th>'
            f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _legend(themes: list[ThemeInfo], colors: list[str], thresholds: dict[str, float] | None,
            counts: dict[str, int], top_k: int | None = None) -> str:
    """What the chips mean, and each theme's threshold (themes no paragraph carries are greyed)."""
    solid = f'<span class="chip sample" style="--c:{PALETTE[0]}">Theme<b>0.72</b></span>'
    dashed = f'<span class="chip near sample" style="--c:{PALETTE[0]}">Theme<b>0.41</b></span>'
    keys = [f"<span>{solid} assigned: its score is at or above the theme's threshold</span>" if thresholds else
            f"<span>{solid} assigned theme, with its score</span>"]
    if thresholds:
        keys.append(f"<span>{dashed} near: scored just below the theme's threshold (within {NEAR_MARGIN:.2f}), "
                    f"not assigned</span>")
    none = '<span class="chip none sample">no theme</span>'
    keys.append(f"<span>{none} no theme reached its threshold</span>" if thresholds else
                f"<span>{none} no theme assigned</span>")
    if top_k and thresholds:
        keys.append(f"<span>at most {plural(top_k, 'theme')} per paragraph, highest scores first</span>")
    keys.append('<span><span class="evkey">underlined text</span> the sentence that scored highest for a theme'
                '</span>')
    out = [f'<section class="panel legend" aria-label="legend"><div class="keys">{"".join(keys)}</div>']
    if thresholds:
        rows = "".join(f'<span class="{"" if counts.get(t.id) else "absent"}"><i style="--c:{c}">{_e(t.name)}</i>'
                       f'{thresholds[t.id]:.2f}</span>' for t, c in zip(themes, colors) if t.id in thresholds)
        out.append(f"<details open><summary>Each theme's threshold (greyed: on no paragraph here)</summary>"
                   f'<div class="thr">{rows}</div></details>')
    out.append("</section>")
    return "".join(out)


def _months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _time_chart(docs: Sequence[DocView], metas: list[dict[str, str]], themes: list[ThemeInfo], keys: list[str],
                colors: list[str]) -> str:
    """Share of paragraphs per theme, month by month: one small inline SVG chart per theme on a shared scale
    (overlaid lines hide each other; panels also reflow on a phone). No script, no network. Empty unless at
    least two documents carry a date with a month; months without documents break the lines."""
    by_month: dict[str, list[dict[str, Any]]] = {}
    docs_in: dict[str, int] = {}
    for d, meta in zip(docs, metas):
        month = month_of(meta.get("date"))
        if month is not None:
            by_month.setdefault(month, []).extend(d.records)
            docs_in[month] = docs_in.get(month, 0) + 1
    dated = sum(docs_in.values())
    if dated < 2:
        return ""
    months = _months_between(min(by_month), max(by_month))
    shares = {m: profile(recs, [t.id for t in themes]) for m, recs in by_month.items()}
    top = max((s for p in shares.values() for s in p.values()), default=0.0)
    ymax = min(1.0, max(0.25, -(-top * 4 // 1) / 4))  # the next quarter above the highest share
    w, h, pad = 240, 64, 5

    def x(i: int) -> float:
        return pad + (i * (w - 2 * pad) / (len(months) - 1) if len(months) > 1 else (w - 2 * pad) / 2)

    def y(v: float) -> float:
        return pad + (h - 2 * pad) * (1 - v / ymax)

    index = {m: i for i, m in enumerate(months)}
    runs: list[list[str]] = [[]]
    for m in months:  # a line per run of consecutive months with documents
        if m in by_month:
            runs[-1].append(m)
        elif runs[-1]:
            runs.append([])
    panels = []
    for t, key, c in zip(themes, keys, colors):
        if not any(shares[m][t.id] for m in by_month):
            continue  # on no dated paragraph: a flat line at zero says nothing
        svg = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{_e(t.name)}: share of paragraphs by month">',
               f'<line class="grid" x1="{pad}" x2="{w - pad}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
               f'<line class="grid top" x1="{pad}" x2="{w - pad}" y1="{y(ymax):.1f}" y2="{y(ymax):.1f}"/>']
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x(index[m]):.1f},{y(shares[m][t.id]):.1f}" for m in run)
                first, last = x(index[run[0]]), x(index[run[-1]])
                svg.append(f'<polygon class="area" fill="{c}" points="{first:.1f},{y(0):.1f} {pts} '
                           f'{last:.1f},{y(0):.1f}"/><polyline class="tl" stroke="{c}" points="{pts}"/>')
        for m in by_month:
            svg.append(f'<circle cx="{x(index[m]):.1f}" cy="{y(shares[m][t.id]):.1f}" r="3.5" fill="{c}"><title>'
                       f"{_e(t.name)}, {m}: {shares[m][t.id]:.0%} of {plural(len(by_month[m]), 'paragraph')} in "
                       f"{plural(docs_in[m], 'document')}</title></circle>")
        svg.append("</svg>")
        peak = max(shares[m][t.id] for m in by_month)
        panels.append(f'<div class="sm" data-theme="{key}" style="--c:{c}"><div class="smh"><span>{_e(t.name)}</span>'
                      f'<b title="highest share in a month">{peak:.0%}</b></div>{"".join(svg)}<div class="ax">'
                      f"<span>{months[0]}</span><span>{months[-1]}</span></div></div>")
    note = f" {plural(len(docs) - dated, 'document')} without a month in its date not shown." \
        if dated < len(docs) else ""
    return (f'<section class="panel chart" id="timechart"><h2>Themes over time</h2><p>Share of paragraphs per month, '
            f"{months[0]} to {months[-1]}, from {plural(dated, 'dated document')}; every panel runs from 0 to "
            f'{ymax:.0%}.{note}</p><div class="sms">{"".join(panels)}</div></section>')


def render_html(docs: Sequence[DocView], codebook: Any = None, thresholds: dict[str, float] | None = None,
                title: str = "policytag", theme_ids: Sequence[str] | None = None, top_k: int | None = None) -> str:
    """The whole page as one string: no external files, scripts, fonts or network.

    ``codebook`` (or ``theme_ids``) fixes theme order, names and colours; themes no paragraph carries are left
    out of the filters, heat maps and chart. ``thresholds`` (theme -> threshold) adds faint "near" chips for
    themes scored just below their threshold, and the legend lists them; ``top_k`` (a cap on themes per
    paragraph) is stated in the legend.
    """
    all_themes = _themes_of(codebook, theme_ids or (sorted({t for d in docs for r in d.records for t in r["scores"]})
                                                     if docs and docs[0].records else []))
    counts = {t.id: sum(t.id in r["themes"] for d in docs for r in d.records) for t in all_themes}
    all_ids = [t.id for t in all_themes]
    keys_all = [f"t{j}" for j in range(len(all_themes))]  # keys and colours follow the codebook, present or not
    colors_all = [_color(j) for j in range(len(all_themes))]
    info = dict(zip(all_ids, zip(all_themes, keys_all, colors_all)))
    present = [j for j, t in enumerate(all_themes) if counts[t.id]]
    themes = [all_themes[j] for j in present]
    keys = [keys_all[j] for j in present]
    colors = [colors_all[j] for j in present]
    ids = [t.id for t in themes]
    n_pars = sum(len(d.records) for d in docs)
    metas = [doc_meta(d) for d in docs]

    def tip(t: ThemeInfo) -> str:
        thr = f" (threshold {thresholds[t.id]:.2f})" if thresholds and t.id in thresholds else ""
        return f"{t.description or t.name}{thr}"

    buttons = "".join(f'<button class="f" data-theme="{k}" data-id="{_e(t.id)}" style="--c:{c}" title="{_e(tip(t))}">'
                      f'{_e(t.name)}<span class="n">{counts[t.id]}</span></button>'
                      for t, k, c in zip(themes, keys, colors))
    doc_rows = [(m.get("title") or d.id, _full_source(d, m), f"doc-{i}", 1, len(d.records), profile(d.records, ids))
                for i, (d, m) in enumerate(zip(docs, metas))]
    by_source: dict[str, list[DocView]] = {}
    for d in docs:
        by_source.setdefault(d.source or "-", []).append(d)
    codebook_name = f" ({_e(codebook.name)})" if codebook is not None else ""
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
             f'content="width=device-width, initial-scale=1"><title>{_e(title)}</title><style>{CSS}</style></head>'
             f'<body>',
             f"<header><h1>{_e(title)}</h1><p>{plural(len(docs), 'document')}, {plural(n_pars, 'paragraph')}, "
             f"{len(themes)} of {plural(len(all_themes), 'theme')}{codebook_name} present</p></header><main>",
             f'<section class="panel filters" aria-label="filters"><div class="row"><strong>Filter by theme:</strong>'
             f'<div class="btns">{buttons}</div><button class="clear" id="clear">clear</button>'
             f'<span class="status" id="status"></span></div>'
             f"</section>"]
    parts.append('<section class="panel" id="compare">')
    if len(by_source) > 1:
        src_rows = [(name, name, None, len(group), sum(len(d.records) for d in group),
                     profile([r for d in group for r in d.records], ids)) for name, group in by_source.items()]
        parts.append(_compare_table("Theme profiles by source (% of paragraphs)", src_rows, themes, colors))
    parts.append(_compare_table("Theme profiles by document (% of paragraphs)", doc_rows, themes, colors))
    parts.append("</section>")
    parts.append(_time_chart(docs, metas, themes, keys, colors))
    parts.append(_legend(all_themes, colors_all, thresholds, counts, top_k))
    for i, (d, m) in enumerate(zip(docs, metas)):
        parts.append(_article(i, d, m, ids, info, thresholds or {}))
    parts.append(f"</main><script>{SCRIPT}</script></body></html>")
    return "\n".join(p for p in parts if p)


def _full_source(doc: DocView, meta: dict[str, str]) -> str:
    """What a hover over a document's name shows: where it came from in full (its id, and its URL if known)."""
    return " · ".join(dict.fromkeys(v for v in (doc.id, meta.get("url")) if v))


def _with_evidence(rec: dict[str, Any], info: dict[str, tuple[ThemeInfo, str, str]]) -> str:
    """The paragraph's text, escaped, with each assigned theme's evidence sentence marked in that theme's colour
    (the themes a sentence carries in its title). Records without evidence come back as plain text."""
    text = rec["text"]
    spans: dict[str, list[str]] = {}
    for theme, sentence in (rec.get("evidence") or {}).items():
        if sentence and sentence in text and theme in info:
            spans.setdefault(sentence, []).append(theme)
    out, pos = [], 0
    for sentence, themes in sorted(spans.items(), key=lambda kv: text.find(kv[0])):
        start = text.find(sentence, pos)
        if start < 0:
            continue
        names = ", ".join(info[t][0].name for t in themes)
        color = info[themes[0]][2]
        out.append(_e(text[pos:start]))
        out.append(f'<mark class="ev" title="evidence for {_e(names)}" style="border-bottom:2px solid {color}">'
                   f'{_e(sentence)}</mark>')
        pos = start + len(sentence)
    out.append(_e(text[pos:]))
    return "".join(out)


def _chips(rec: dict[str, Any], info: dict[str, tuple[ThemeInfo, str, str]], thresholds: dict[str, float]) -> str:
    """Assigned themes strongest first, then up to ``MAX_NEAR`` near misses, closest first."""
    scores = rec.get("scores", {})
    assigned = sorted((t for t in rec["themes"] if t in info), key=lambda t: -scores.get(t, 0.0))
    chips = [_chip(info[t][1], info[t][0], info[t][2], scores.get(t), thresholds.get(t)) for t in assigned]
    near = [(t, s) for t, s in sorted(scores.items(), key=lambda kv: -kv[1])
            if t in info and t not in rec["themes"] and t in thresholds
            and max(thresholds[t] - NEAR_MARGIN, NEAR_SHARE * thresholds[t]) <= s < thresholds[t]]
    chips += [_chip(info[t][1], info[t][0], info[t][2], s, thresholds[t], near=True) for t, s in near[:MAX_NEAR]]
    if not rec["themes"]:
        chips.insert(0, '<span class="chip none">no theme</span>')
    return "".join(chips)


def _article(i: int, doc: DocView, meta: dict[str, str], ids: list[str],
             info: dict[str, tuple[ThemeInfo, str, str]], thresholds: dict[str, float]) -> str:
    shares = profile(doc.records, ids)
    bars = "".join(f'<div class="bar" title="{_e(info[t][0].name)}: {s:.0%} of paragraphs"><span class="lab">'
                   f'{_e(info[t][0].name)}</span><span class="track"><span class="fill" style="display:block;'
                   f'width:{s * 100:.0f}%;background:{info[t][2]}"></span></span><span>{s * 100:.0f}%</span></div>'
                   for t, s in sorted(shares.items(), key=lambda kv: -kv[1]) if s > 0)
    pars, section = ['<div class="secgroup">'], None
    for rec in doc.records:
        if rec.get("section") != section:
            pars.append('</div><div class="secgroup">')
            if rec.get("section"):
                pars.append(f'<div class="sec">{_e(rec["section"])}</div>')
        section = rec.get("section")
        keys = " ".join(info[t][1] for t in rec["themes"] if t in info)
        pars.append(f'<div class="par" data-themes="{keys}"><span class="pn">{_e(paragraph_label(rec))}</span>'
                    f'{_with_evidence(rec, info)}<div class="chips">{_chips(rec, info, thresholds)}</div></div>')
    pars.append("</div>")
    head = _e(meta.get("title") or doc.id)
    sub = [meta[k] for k in ("outlet", "date", "author") if meta.get(k)] + ([doc.source] if doc.source else [])
    sub.append(plural(len(doc.records), "paragraph"))
    return (f'<article class="doc" id="doc-{i}"><h2 title="{_e(_full_source(doc, meta))}">{head}'
            f'<small>{" · ".join(_e(s) for s in sub)}</small></h2>'
            f'<div class="body"><div class="pars">{"".join(pars)}</div><aside class="profile"><h3>Theme profile</h3>'
            f'{bars or "<p>no theme in any paragraph</p>"}</aside></div></article>')


def model_view(model: Any, docs: Sequence[DocView], title: str | None = None) -> str:
    """The page for documents tagged by ``model``: its codebook order, names and thresholds. The title says
    how many documents (``policytag: 1 document``) unless one is given."""
    from classifier.decision import cutoffs
    rule = model.resolve_rule()  # the rule the records were made with (policytag tag keeps the command line's)
    cut = cutoffs(model.classes_, model.thresholds_, model.head_.multi_label, rule)
    thresholds = None if cut is None else {str(t): float(v) for t, v in zip(model.classes_, cut)}
    return render_html(docs, getattr(model, "codebook_", None), thresholds,
                       title or f"policytag: {plural(len(docs), 'document')}",
                       top_k=rule.top_k if model.head_.multi_label else None)
