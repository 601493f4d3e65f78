"""The evaluation as one self-contained HTML page: tables, inline SVG charts and error analysis.

Everything is rendered from the JSON result, so a saved ``--json`` file can be turned into a report
later (``python -m classifier.harness.report_html result.json report.html``).
"""

from __future__ import annotations

import json
import re
import sys
from html import escape
from pathlib import Path
from typing import Any

from . import markdown as md
from . import svg

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#1d1d1f;background:#fff}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:36px 0 8px;padding-top:8px;border-top:1px solid #ddd}
h3{font-size:16px;margin:22px 0 6px}
p.note,.meta{color:#555;font-size:13px;line-height:1.45}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #eee;padding:8px 32px;font-size:13px;z-index:2}
nav a{margin-right:14px;color:#0b5cad;text-decoration:none}
table{border-collapse:collapse;font-size:13px;margin:8px 0 12px}
th,td{border-bottom:1px solid #e6e6e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.grid{display:flex;flex-wrap:wrap;gap:10px 18px}
.card{border:1px solid #eee;border-radius:6px;padding:6px}
details{margin:4px 0;border:1px solid #eee;border-radius:6px;padding:4px 10px}
details[open]{padding-bottom:10px}summary{cursor:pointer;font-weight:600;font-size:14px;padding:4px 0}
td.text{min-width:520px;max-width:760px;line-height:1.4}
td.chips{width:210px}
.chip{display:inline-block;background:#eef3fb;border-radius:10px;padding:0 7px;margin:1px 2px;font-size:11px;
white-space:nowrap}
.chip.miss{background:#fde8e8}.chip.extra{background:#fff3d6}
.kv td:first-child{color:#555;white-space:nowrap}
"""


def _table(markdown_table: str) -> str:
    """A pipe table from :mod:`classifier.harness.markdown` as HTML (numbers right-aligned, **bold** kept)."""
    rows = [r for r in markdown_table.strip().splitlines() if r.startswith("|")]
    if len(rows) < 2:
        return ""
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    head, body = cells[0], cells[2:]

    def fmt(c: str) -> str:
        c = escape(c)
        return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", c)

    out = ["<table><thead><tr>" + "".join(f"<th>{fmt(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in body:
        out.append(
            "<tr>"
            + "".join(
                f"<td class='num'>{fmt(c)}</td>" if re.match(r"^[*]*[-+–]?[\d.<]", c) else f"<td>{fmt(c)}</td>"
                for c in r
            )
            + "</tr>"
        )
    return "".join(out) + "</tbody></table>"


def _code(text: str) -> str:
    """Markdown `code` spans as HTML."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", escape(text))


def _chips(labels: list[str], other: list[str], cls: str) -> str:
    return (
        "".join(f"<span class='chip{(' ' + cls) if t not in other else ''}'>{escape(t)}</span>" for t in labels)
        or "<i>none</i>"
    )


def _errors(errors: dict[str, Any]) -> str:
    parts = [
        f"<p class='note'>System <b>{escape(errors['system'])}</b>. For each theme: the paragraphs it was given most "
        "confidently without the gold label (false positives, highest score first) and the gold paragraphs it "
        "missed most confidently (false negatives, lowest score first). Gold labels missing from the prediction are "
        "red, predicted labels not in the gold are yellow.</p>"
    ]
    for theme, e in errors["per_label"].items():
        n_fp, n_fn = (
            e.get("false_positives_total", len(e["false_positives"])),
            e.get("false_negatives_total", len(e["false_negatives"])),
        )
        body = []
        for kind, rows in (("False positives", e["false_positives"]), ("False negatives", e["false_negatives"])):
            if not rows:
                body.append(f"<p class='note'>{kind}: none.</p>")
                continue
            trs = "".join(
                f"<tr><td class='num'>{r['score']:.3f}</td><td>{escape(r['id'])}</td>"
                f"<td class='chips'>{_chips(r['gold'], r['predicted'], 'miss')}</td>"
                f"<td class='chips'>{_chips(r['predicted'], r['gold'], 'extra')}</td>"
                f"<td class='text'>{escape(r['text'])}</td></tr>"
                for r in rows
            )
            body.append(
                f"<h3>{kind}</h3><table><thead><tr><th>score</th><th>id</th><th>gold</th><th>predicted</th>"
                f"<th>text</th></tr></thead><tbody>{trs}</tbody></table>"
            )
        shown = (
            f" (most confident {max(len(e['false_positives']), len(e['false_negatives']))} shown)"
            if n_fp + n_fn
            else ""
        )
        parts.append(
            f"<details><summary>{escape(theme)} · {n_fp} false positives, {n_fn} false negatives{shown}"
            f"</summary>{''.join(body)}</details>"
        )
    return "".join(parts)


def _block(key: str, block: dict[str, Any], multi: bool, names: list[str]) -> str:
    title = md.PROTOCOL_TITLES[key]
    out = [f"<h2 id='{key}'>{title}</h2>", f"<p class='meta'>Test: {_code(md._set_line(block['test']))}"]
    if block.get("train"):
        out.append(f"<br>Training: {_code(md._set_line(block['train']))}")
    if block.get("train_note"):
        out.append(f"<br>{escape(block['train_note'])}")
    if block.get("pooled_note"):
        out.append(f"<br>{escape(block['pooled_note'])}")
    note = md.seen_note(block)
    if note:
        out.append(f"<br><strong>{escape(note)}</strong>")
    out.append("</p>")
    out.append("<h3>Leaderboard</h3>" + _table(md.cv_table(block) if key == "cv" else md.leaderboard(block, multi)))
    systems = block["systems"]
    labels = list(next(iter(systems.values()))["per_label"])
    dots = {
        n: [
            (
                systems[n]["per_label"][t]["f1"] if systems[n]["per_label"][t]["support"] else None,
                *(systems[n].get("ci", {}).get("per_label", {}).get(t, {}).get("f1") or (None, None)),
            )
            for t in labels
        ]
        for n in systems
    }
    out.append("<h3>F1 per theme, with 95% intervals</h3>" + svg.legend(list(systems)) + svg.f1_dots(labels, dots))
    out.append("<details><summary>F1 per theme: table</summary>" + _table(md.per_label_systems(block)) + "</details>")
    primary = block["primary"]
    out.append(
        f"<details><summary>{escape(primary)}: precision, recall, F1, AP per theme</summary>"
        + _table(md.per_label_table(systems[primary]))
        + f"<p class='note'>{escape(md.headline(systems[primary]))}</p></details>"
    )
    curves = block["curves"]
    out.append("<h3>Precision–recall</h3>" + svg.legend(list(systems)))
    out.append(
        "<div class='grid'><div class='card'>"
        + svg.curves({n: curves["pr"][n] for n in systems}, "recall", "precision", title="all themes (micro-averaged)")
        + "</div>"
    )
    out.append(
        "<div class='card'>"
        + svg.curves(
            {n: [(p["confidence"], p["frequency"]) for p in curves["reliability"][n]] for n in systems},
            "predicted probability",
            "observed frequency",
            diagonal=True,
            markers=True,
            title="reliability diagram" + (" (every theme × paragraph)" if multi else " (top label)"),
        )
        + "</div></div>"
    )
    grid = "".join(
        "<div class='card'>"
        + svg.curves(per, "recall", "precision", width=240, height=220, title=theme, small=True)
        + "</div>"
        for theme, per in curves["pr_per_label"].items()
    )
    out.append(f"<details open><summary>Precision–recall per theme</summary><div class='grid'>{grid}</div></details>")
    if "confusion" in block:
        c = block["confusion"]
        labels_c, matrix, totals = c["labels"], c["matrix"], c.get("gold_counts")
        if not multi:
            labels_c, matrix, totals = labels_c[:-1], [row[:-1] for row in matrix[:-1]], totals and totals[:-1]
        note = (
            "Cell (row, column): paragraphs with that gold theme that were given the column's theme; the diagonal "
            "is the theme found, other cells show which themes come with or instead of it; 'none' = no theme. "
            "Shades are shares of the paragraphs with the row's gold theme."
            if multi
            else "Confusion matrix: rows gold, columns predicted. Shades are shares of the row."
        )
        out.append(
            f"<h3 id='{key}-confusion'>Label confusion: {escape(c['system'])}</h3><p class='note'>{note}</p>"
            + svg.heatmap(labels_c, matrix, totals)
        )
    if "errors" in block:
        out.append(f"<h3 id='{key}-errors'>Error analysis</h3>" + _errors(block["errors"]))
    return "".join(out)


def render(result: dict[str, Any], title: str = "policytag evaluation") -> str:
    meta = result["meta"]
    multi = meta["codebook"]["multi_label"]
    protos = result["protocols"]
    names = [s["name"] for s in meta["systems"]]
    sections = [k for k in ("heldout", "cross_corpus", "cv", "learning_curve") if k in protos]
    nav = "".join(f"<a href='#{k}'>{md.PROTOCOL_TITLES.get(k, 'Learning curve')}</a>" for k in sections)
    nav += "<a href='#provenance'>Provenance</a>"
    cb = meta["codebook"]
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>Codebook <b>{escape(cb['name'])}</b> (version {escape(str(cb['version']))}): "
        f"{len(cb['ids'])} themes, "
        f"{'multi-label' if multi else 'single-label'}. Intervals: {int(meta['settings']['ci_level'] * 100)}% "
        f"bootstrap over {'documents' if meta['settings']['resampling_unit'] == 'group' else 'rows'} "
        f"({meta['settings']['bootstrap_resamples']} resamples); p-values: paired bootstrap of the macro-F1 difference."
        " Macro-F1 averages the themes present in the test set.</p>",
        "<table class='kv'>"
        + "".join(
            f"<tr><td>{escape(s['name'])}</td><td>{escape(s['description'])}"
            f"{(' ' + escape(json.dumps(s['params']))) if s['params'] else ''}</td></tr>"
            for s in meta["systems"]
        )
        + "</table>",
    ]
    for key in ("heldout", "cross_corpus", "cv"):
        if key in protos:
            body.append(_block(key, protos[key], multi, names))
    if "learning_curve" in protos:
        lc = protos["learning_curve"]
        body.append(
            "<h2 id='learning_curve'>Learning curve</h2>"
            f"<p class='meta'>Training subsets of {_code(md._set_line(lc['train']))}, seeds {lc['seeds']}; "
            f"tested on {_code(md._set_line(lc['test']))}. Line: mean; band: ±1 sd over seeds.</p>"
            + svg.legend(list(lc["summary"]))
            + svg.learning(lc["summary"])
            + _table(md.curve_table(lc))
        )
    body.append("<h2 id='provenance'>Provenance</h2>" + _provenance(meta, protos))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width,initial-scale=1'><title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><nav>{nav}</nav><main>{''.join(body)}</main></body></html>\n"
    )


def _provenance(meta: dict[str, Any], protos: dict[str, Any]) -> str:
    rows = []
    for key, block in protos.items():
        for part in ("test", "train"):
            d = block.get(part)
            if d:
                rows.append(
                    (f"{key} {part} data", f"{d['source']} [{d.get('split') or 'all rows'}] sha256 {d['sha256']}")
                )
    if "model" in meta:
        m = meta["model"]
        rows.append(
            (
                "model",
                f"{m['path']} manifest sha256 {m['manifest_sha256']}, head sha256 {m['head_sha256']}, "
                f"training hash {m['training_hash']} (n={m['n_train']})",
            )
        )
    for enc in meta["encoders"].values():
        rows.append(("encoder", f"{enc['name']} weights {enc['fingerprint']}, dimension {enc['dimension']}"))
    if "label_map" in meta:
        rows.append(("label map", f"{meta['label_map']['path']} sha256 {meta['label_map']['sha256']}"))
    rows.append(("seeds", str(meta["settings"]["seeds"])))
    rows.append(("libraries", ", ".join(f"{k} {v}" for k, v in meta["libraries"].items())))
    return (
        "<table class='kv'>"
        + "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
        + "</table>"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m classifier.harness.report_html RESULT.json REPORT.html", file=sys.stderr)
        return 2
    Path(argv[1]).write_text(render(json.loads(Path(argv[0]).read_text(encoding="utf-8"))), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
