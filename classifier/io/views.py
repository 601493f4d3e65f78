"""A self-contained HTML page of tagged articles: paragraphs with theme chips, a theme profile per article,
filters by theme, and a comparison of theme profiles across documents and sources.

Everything is rendered on the server side with escaped text; the page's small script only shows and
hides elements, so no article text ever reaches JavaScript or the DOM as markup.
"""
from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# white text reads on each
PALETTE = ("#3b6ea5", "#d9711c", "#c63d3f", "#2f8f89", "#3f8a3a", "#a8820a", "#8e5a9b", "#c2487a",
           "#7a5a45", "#5f6b7a", "#0f7c9c", "#6b8e23", "#b5562d", "#4b4fa8", "#8a6d00", "#3d7a5e")
NEAR_MARGIN = 0.15  # a theme this close below its threshold shows as a faint "near" chip,
NEAR_SHARE = 0.6    # if its score is also at least this share of the threshold (low thresholds stay quiet)
MAX_NEAR = 3        # at most this many per paragraph, closest first


@dataclass
class ThemeInfo:
    id: str
    name: str
    description: str = ""


@dataclass
class DocView:
    """One tagged document: its id, where it came from, and its paragraph records (as ``tag`` writes them)."""

    id: str
    records: list[dict[str, Any]]
    source: str = ""
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def source_of(location: str) -> str:
    """The group a document belongs to in the comparison: its records file, else its folder."""
    base = location.rsplit(":", 1)[0] if location.rsplit(":", 1)[-1].isdigit() else location
    if base in ("", "<stdin>"):
        return base or "-"
    path = Path(base)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".csv"):
        return path.name
    return path.parent.name or str(path.parent)


def profile(records: Sequence[dict[str, Any]], theme_ids: Sequence[str]) -> dict[str, float]:
    """Share of the paragraphs that carry each theme."""
    n = len(records)
    return {t: (sum(t in r["themes"] for r in records) / n if n else 0.0) for t in theme_ids}


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
.filters .row{display:flex;flex-wrap:wrap;gap:6px;align-items:center}
button.f{border:2px solid var(--c);background:#fff;color:#1d232b;border-radius:14px;padding:2px 10px;font:inherit;\
font-size:13px;cursor:pointer}
button.f.on{background:var(--c);color:#fff} \
button.clear{border:1px solid #999;background:#fafafa;border-radius:14px;padding:2px 10px;font-size:13px;cursor:pointer}
.status{margin-left:auto;font-size:13px;color:#555}
.scroll{overflow-x:auto} .scroll+h2{margin-top:16px}
table.cmp{border-collapse:collapse;width:100%;font-size:12px;table-layout:fixed} \
table.cmp th,table.cmp td{border:1px solid #e3e6ea;padding:3px 4px;text-align:center}
table.cmp thead th{vertical-align:bottom} table.cmp thead th.t{padding:6px 0}
table.cmp th.t span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block;\
border-right:4px solid var(--c);padding-right:3px}
table.cmp th.name{width:160px} table.cmp th.n{width:44px} table.cmp th.np{width:50px}
table.cmp th.name,table.cmp td.name{text-align:left;white-space:nowrap;max-width:220px;overflow:hidden;\
text-overflow:ellipsis}
table.cmp td.zero{color:#c3c8cf}
table.cmp thead th{font-weight:600}
table.cmp td.name a{color:#1d4f91;text-decoration:none}
article.doc{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin-bottom:18px;overflow:hidden}
article.doc>h2{margin:0;padding:12px 18px;font-size:18px;background:#eef1f5;border-bottom:1px solid #dde1e7}
article.doc>h2 small{font-weight:400;color:#555;font-size:13px;margin-left:8px}
.body{display:grid;grid-template-columns:1fr 300px;gap:0}
.pars{padding:8px 18px}
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
"""

SCRIPT = """
(function(){
  var on = new Set();
  var buttons = document.querySelectorAll('button.f');
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
    document.getElementById('status').textContent = on.size === 0 ? total + ' paragraphs' :
      shown + ' of ' + total + ' paragraphs in ' + docsShown + ' documents';
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
})();
"""


def _themes_of(codebook: Any, theme_ids: Sequence[str] | None) -> list[ThemeInfo]:
    if codebook is not None:
        return [ThemeInfo(t.id, t.name, t.description) for t in codebook.themes]
    return [ThemeInfo(t, t.replace("_", " ")) for t in theme_ids or []]


def _chip(key: str, theme: ThemeInfo, color: str, score: float | None, near: bool = False) -> str:
    s = f"<b>{score:.2f}</b>" if score is not None else ""
    cls = "chip near" if near else "chip"
    tip = f"{theme.name}: below its threshold" if near else theme.description or theme.name
    return f'<span class="{cls}" data-theme="{key}" style="--c:{color}" title="{_e(tip)}">{_e(theme.name)}{s}</span>'


def _compare_table(title: str, rows: list[tuple[str, str | None, int, int, dict[str, float]]],
                   themes: list[ThemeInfo], keys: list[str], colors: list[str]) -> str:
    head = "".join(f'<th class="t" style="--c:{c}" title="{_e(t.description)}"><span>{_e(t.name)}</span></th>'
                   for t, c in zip(themes, colors))
    body = []
    for name, anchor, n_docs, n_pars, shares in rows:
        label = f'<a href="#{anchor}">{_e(name)}</a>' if anchor else _e(name)
        cells = "".join(f'<td style="{_shade(shares[t.id], c)}" title="{_e(t.name)}: {shares[t.id]:.0%} of paragraphs">'
                        f"{shares[t.id] * 100:.0f}</td>" if shares[t.id] > 0 else '<td class="zero">·</td>'
                        for t, c in zip(themes, colors))
        body.append(f'<tr><td class="name" title="{_e(name)}">{label}</td><td>{n_docs}</td><td>{n_pars}</td>'
                    f'{cells}</tr>')
    return (f'<h2>{_e(title)}</h2><div class="scroll"><table class="cmp"><thead><tr><th class="name">name</th>'
            f'<th class="n">docs</th><th class="np" title="paragraphs">paras</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def render_html(docs: Sequence[DocView], codebook: Any = None, thresholds: dict[str, float] | None = None,
                title: str = "policytag", theme_ids: Sequence[str] | None = None) -> str:
    """The whole page as one string: no external files, scripts, fonts or network.

    ``codebook`` (or ``theme_ids``) fixes theme order and names; ``thresholds`` (theme -> threshold) adds
    faint "near" chips for themes scored just below their threshold.
    """
    themes = _themes_of(codebook, theme_ids or (sorted({t for d in docs for r in d.records for t in r["scores"]})
                                                 if docs and docs[0].records else []))
    ids = [t.id for t in themes]
    keys = [f"t{j}" for j in range(len(themes))]
    colors = [_color(j) for j in range(len(themes))]
    info = dict(zip(ids, zip(themes, keys, colors)))
    n_pars = sum(len(d.records) for d in docs)

    buttons = "".join(f'<button class="f" data-theme="{k}" data-id="{_e(t.id)}" style="--c:{c}" '
                      f'title="{_e(t.description)}">{_e(t.name)}</button>' for t, k, c in zip(themes, keys, colors))
    doc_rows = [(d.title or d.id, f"doc-{i}", 1, len(d.records), profile(d.records, ids)) for i, d in enumerate(docs)]
    by_source: dict[str, list[DocView]] = {}
    for d in docs:
        by_source.setdefault(d.source or "-", []).append(d)
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
             f'content="width=device-width, initial-scale=1"><title>{_e(title)}</title><style>{CSS}</style></head>'
             f'<body>',
             f"<header><h1>{_e(title)}</h1><p>{len(docs)} documents, {n_pars} paragraphs, {len(themes)} themes"
             f"{' (' + _e(codebook.name) + ')' if codebook is not None else ''}</p></header><main>",
             f'<section class="panel filters" aria-label="filters"><div class="row"><strong>Filter by theme:</strong>'
             f'{buttons}<button class="clear" id="clear">clear</button><span class="status" id="status"></span></div>'
             f"</section>"]
    parts.append('<section class="panel" id="compare">')
    if len(by_source) > 1:
        src_rows = [(name, None, len(group), sum(len(d.records) for d in group),
                     profile([r for d in group for r in d.records], ids)) for name, group in by_source.items()]
        parts.append(_compare_table("Theme profiles by source (% of paragraphs)", src_rows, themes, keys, colors))
    parts.append(_compare_table("Theme profiles by document (% of paragraphs)", doc_rows, themes, keys, colors))
    parts.append("</section>")
    for i, d in enumerate(docs):
        parts.append(_article(i, d, ids, info, thresholds or {}))
    parts.append(f"</main><script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _number(rec: dict[str, Any]) -> Any:
    n = rec.get("paragraph", "")
    return n + 1 if isinstance(n, int) and not isinstance(n, bool) else n


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


def _article(i: int, doc: DocView, ids: list[str], info: dict[str, tuple[ThemeInfo, str, str]],
             thresholds: dict[str, float]) -> str:
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
        scores = rec.get("scores", {})
        chips = [_chip(info[t][1], info[t][0], info[t][2], scores.get(t)) for t in rec["themes"] if t in info]
        near = [(t, s) for t, s in sorted(scores.items(), key=lambda kv: -kv[1])
                if t in info and t not in rec["themes"] and t in thresholds
                and max(thresholds[t] - NEAR_MARGIN, NEAR_SHARE * thresholds[t]) <= s < thresholds[t]]
        chips += [_chip(info[t][1], info[t][0], info[t][2], s, near=True) for t, s in near[:MAX_NEAR]]
        if not rec["themes"]:
            chips.insert(0, '<span class="chip none">no theme</span>')
        keys = " ".join(info[t][1] for t in rec["themes"] if t in info)
        pars.append(f'<div class="par" data-themes="{keys}"><span class="pn">¶{_e(_number(rec))}</span>'
                    f'{_with_evidence(rec, info)}<div class="chips">{"".join(chips)}</div></div>')
    pars.append("</div>")
    head = _e(doc.title or doc.id)
    sub = f"{_e(doc.source)} · " if doc.source else ""
    return (f'<article class="doc" id="doc-{i}"><h2>{head}<small>{sub}{len(doc.records)} paragraphs</small></h2>'
            f'<div class="body"><div class="pars">{"".join(pars)}</div><aside class="profile"><h3>Theme profile</h3>'
            f'{bars or "<p>no theme in any paragraph</p>"}</aside></div></article>')


def model_view(model: Any, docs: Sequence[DocView], title: str = "policytag") -> str:
    """The page for documents tagged by ``model``: its codebook order, names and thresholds."""
    thresholds = ({str(t): float(v) for t, v in zip(model.classes_, model.thresholds_)}
                  if model.head_.multi_label else None)
    return render_html(docs, getattr(model, "codebook_", None), thresholds, title)
