"""Small inline-SVG charts for the HTML report: no plotting library, no external files.

Each function returns one ``<svg>`` element as a string. Hovering a mark shows its exact value
(an SVG ``<title>``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7F7F7F", "#000000", "#8C564B", "#BCBD22")
FONT = "font-family='system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif'"


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _num(v: float) -> str:
    return f"{v:.1f}"


class Frame:
    """A plotting area inside an SVG of ``width`` x ``height`` with margins, mapping data to pixels."""

    def __init__(
        self,
        width: int,
        height: int,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
        margin: tuple[int, int, int, int] = (20, 20, 45, 55),
        xlog: bool = False,
    ):
        self.width, self.height = width, height
        self.top, self.right, self.bottom, self.left = margin
        self.xlim, self.ylim, self.xlog = xlim, ylim, xlog
        self.parts: list[str] = []

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        if self.xlog:
            v, lo, hi = math.log10(max(v, 1e-9)), math.log10(lo), math.log10(hi)
        span = (hi - lo) or 1.0
        return self.left + (v - lo) / span * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        span = (hi - lo) or 1.0
        return self.height - self.bottom - (v - lo) / span * (self.height - self.top - self.bottom)

    def add(self, part: str) -> None:
        self.parts.append(part)

    def axes(
        self,
        xticks: Sequence[float],
        yticks: Sequence[float],
        xlabel: str = "",
        ylabel: str = "",
        xfmt=lambda v: f"{v:g}",
        yfmt=lambda v: f"{v:g}",
    ) -> None:
        x0, x1 = self.left, self.width - self.right
        y0, y1 = self.height - self.bottom, self.top
        for t in yticks:
            yy = self.y(t)
            self.add(f"<line x1='{x0}' x2='{x1}' y1='{_num(yy)}' y2='{_num(yy)}' stroke='#e5e5e5'/>")
            self.add(
                f"<text x='{x0 - 6}' y='{_num(yy + 4)}' text-anchor='end' font-size='11' fill='#444'>{yfmt(t)}</text>"
            )
        for t in xticks:
            xx = self.x(t)
            self.add(f"<line x1='{_num(xx)}' x2='{_num(xx)}' y1='{y0}' y2='{y1}' stroke='#f0f0f0'/>")
            self.add(
                f"<text x='{_num(xx)}' y='{y0 + 15}' text-anchor='middle' font-size='11' fill='#444'>{xfmt(t)}</text>"
            )
        self.add(f"<rect x='{x0}' y='{y1}' width='{x1 - x0}' height='{y0 - y1}' fill='none' stroke='#999'/>")
        if xlabel:
            self.add(
                f"<text x='{(x0 + x1) / 2:.1f}' y='{self.height - 8}' text-anchor='middle' font-size='12'>"
                f"{escape(xlabel)}</text>"
            )
        if ylabel:
            cy = (y0 + y1) / 2
            self.add(
                f"<text x='14' y='{cy:.1f}' text-anchor='middle' font-size='12' transform='rotate(-90 14 {cy:.1f})'>"
                f"{escape(ylabel)}</text>"
            )

    def line(
        self, points: Sequence[tuple[float, float]], stroke: str, width: float = 2, dash: str = "", title: str = ""
    ) -> None:
        if not points:
            return
        d = " ".join(f"{_num(self.x(a))},{_num(self.y(b))}" for a, b in points)
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.add(f"<polyline points='{d}' fill='none' stroke='{stroke}' stroke-width='{width}'{extra}>{tip}</polyline>")

    def band(self, lower: Sequence[tuple[float, float]], upper: Sequence[tuple[float, float]], fill: str) -> None:
        pts = list(lower) + list(reversed(upper))
        d = " ".join(f"{_num(self.x(a))},{_num(self.y(b))}" for a, b in pts)
        self.add(f"<polygon points='{d}' fill='{fill}' fill-opacity='0.15' stroke='none'/>")

    def dot(self, a: float, b: float, fill: str, r: float = 3.5, title: str = "") -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.add(f"<circle cx='{_num(self.x(a))}' cy='{_num(self.y(b))}' r='{r}' fill='{fill}'>{tip}</circle>")

    def svg(self, title: str = "") -> str:
        label = f" aria-label='{escape(title)}'" if title else ""
        return (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.width}' height='{self.height}' "
            f"viewBox='0 0 {self.width} {self.height}' {FONT} role='img'{label}>" + "".join(self.parts) + "</svg>"
        )


def legend(names: Sequence[str], width: int = 900) -> str:
    """A row of colour keys, wrapping onto several lines when needed."""
    items, x, y = [], 0, 14
    for i, name in enumerate(names):
        w = 26 + 7 * len(name) + 18
        if x + w > width and x > 0:
            x, y = 0, y + 20
        items.append(
            f"<rect x='{x}' y='{y - 9}' width='16' height='10' fill='{color(i)}'/>"
            f"<text x='{x + 22}' y='{y}' font-size='12'>{escape(name)}</text>"
        )
        x += w
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{y + 8}' {FONT}>" + "".join(items) + "</svg>"
    )


def f1_dots(
    labels: Sequence[str], systems: dict[str, list[tuple[float | None, float | None, float | None]]], width: int = 900
) -> str:
    """Per-theme F1 of every system: a dot per system with its confidence interval as a whisker
    (F1 None: the theme has no paragraph in the test set)."""
    names = list(systems)
    band = max(22, 8 * len(names) + 8)
    left = 10 + 7 * max((len(t) for t in labels), default=5)
    height = 30 + band * len(labels) + 45
    fr = Frame(width, height, (0, 1), (0, 1), margin=(20, 20, 45, left))
    for j, t in enumerate(labels):
        top = fr.top + j * band
        if j % 2 == 0:
            fr.add(
                f"<rect x='{fr.left}' y='{top}' width='{width - fr.left - fr.right}' height='{band}' fill='#f7f7f7'/>"
            )
        fr.add(
            f"<text x='{fr.left - 8}' y='{top + band / 2 + 4:.1f}' text-anchor='end' font-size='12'>{escape(t)}</text>"
        )
    for v in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        xx = fr.x(v)
        fr.add(f"<line x1='{_num(xx)}' x2='{_num(xx)}' y1='{fr.top}' y2='{height - fr.bottom}' stroke='#ddd'/>")
        fr.add(
            f"<text x='{_num(xx)}' y='{height - fr.bottom + 15}' text-anchor='middle' font-size='11' fill='#444'>"
            f"{v:g}</text>"
        )
    fr.add(
        f"<text x='{(fr.left + width - fr.right) / 2:.1f}' y='{height - 10}' text-anchor='middle' font-size='12'>"
        "F1 (dot) with 95% bootstrap interval (whisker)</text>"
    )
    for j, _t in enumerate(labels):
        if all(systems[name][j][0] is None for name in names):
            fr.add(
                f"<text x='{fr.left + 8}' y='{fr.top + j * band + band / 2 + 4:.1f}' font-size='11' fill='#777'>"
                "no paragraph with this theme in the test set</text>"
            )
    for i, name in enumerate(names):
        for j, (f1, lo, hi) in enumerate(systems[name]):
            if f1 is None:
                continue
            cy = fr.top + j * band + 6 + (i + 0.5) * (band - 12) / len(names)
            c = color(i)
            if lo is not None and hi is not None:
                fr.add(
                    f"<line x1='{_num(fr.x(lo))}' x2='{_num(fr.x(hi))}' y1='{cy:.1f}' y2='{cy:.1f}' stroke='{c}' "
                    "stroke-width='1.6'/>"
                )
            tip = f"{name} · {labels[j]}: F1 {f1:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None else "")
            fr.add(
                f"<circle cx='{_num(fr.x(f1))}' cy='{cy:.1f}' r='3.6' fill='{c}'><title>{escape(tip)}</title></circle>"
            )
    return fr.svg("per-theme F1 with confidence intervals")


def curves(
    series: dict[str, Sequence[tuple[float, float]]],
    xlabel: str,
    ylabel: str,
    width: int = 440,
    height: int = 340,
    diagonal: bool = False,
    title: str = "",
    markers: bool = False,
    xlim: tuple[float, float] = (0, 1),
    ylim: tuple[float, float] = (0, 1),
    small: bool = False,
) -> str:
    """Lines on a unit square: precision-recall curves, reliability diagrams."""
    margin = (26 if title else 10, 12, 34 if small else 45, 40 if small else 55)
    fr = Frame(width, height, xlim, ylim, margin=margin)
    ticks = (0, 0.5, 1) if small else (0, 0.2, 0.4, 0.6, 0.8, 1.0)
    fr.axes(ticks, ticks, xlabel, "" if small else ylabel)
    if not any(series.values()):
        fr.add(
            f"<text x='{(fr.left + width - fr.right) / 2:.1f}' y='{height / 2:.1f}' text-anchor='middle' "
            "font-size='11' fill='#777'>no positive in the test set</text>"
        )
    if diagonal:
        fr.line([(0, 0), (1, 1)], "#999", 1, "4 3")
    for i, (name, pts) in enumerate(series.items()):
        fr.line(pts, color(i), 1.6 if small else 2, title=name)
        if len(pts) == 1 and not markers:
            fr.dot(*pts[0], color(i), 3.5, f"{name}: {pts[0][0]:.2f}, {pts[0][1]:.2f}")
        if markers:
            for a, b in pts:
                fr.dot(a, b, color(i), 3, f"{name}: {a:.2f} → {b:.2f}")
    if title:
        fr.add(f"<text x='{fr.left}' y='16' font-size='12' font-weight='600'>{escape(title)}</text>")
    return fr.svg(title or ylabel)


def learning(series: dict[str, Sequence[dict]], width: int = 900, height: int = 380) -> str:
    """Mean macro-F1 by training size (log scale) with a ±1 sd band per system."""
    sizes = sorted({r["size"] for rows in series.values() for r in rows})
    if not sizes:
        return ""
    lo, hi = sizes[0], sizes[-1]
    lo, hi = (lo / 1.2, hi * 1.2) if lo != hi else (lo / 2, hi * 2)
    ymax = min(1.0, max((r["mean"] + r["sd"] for rows in series.values() for r in rows), default=1) + 0.05)
    fr = Frame(width, height, (lo, hi), (0, ymax), xlog=True)
    fr.axes(
        sizes,
        [v / 10 for v in range(0, int(ymax * 10) + 1)],
        "training paragraphs (log scale)",
        "macro-F1 on the test set",
        xfmt=lambda v: f"{int(v)}",
        yfmt=lambda v: f"{v:.1f}",
    )
    for i, (name, rows) in enumerate(series.items()):
        rows = sorted(rows, key=lambda r: r["size"])
        c = color(i)
        fr.band(
            [(r["size"], max(0, r["mean"] - r["sd"])) for r in rows],
            [(r["size"], min(1, r["mean"] + r["sd"])) for r in rows],
            c,
        )
        fr.line([(r["size"], r["mean"]) for r in rows], c, 2, title=name)
        for r in rows:
            fr.dot(
                r["size"],
                r["mean"],
                c,
                3.5,
                f"{name}, n={r['size']}: {r['mean']:.3f} ± {r['sd']:.3f} ({r['runs']} runs)",
            )
    return fr.svg("learning curve")


def heatmap(
    labels: Sequence[str],
    matrix: Sequence[Sequence[float]],
    row_totals: Sequence[float] | None = None,
    cell: int = 34,
    row_label: str = "gold",
    col_label: str = "predicted",
) -> str:
    """Counts as shades of blue by their share of the row total (default: the row sum), each cell showing
    its count."""
    n = len(labels)
    left = 12 + 7 * max(len(t) for t in labels)
    top = 12 + 5 * max(len(t) for t in labels)
    longest = max(len(t) for t in labels)
    width = int(max(left + n * cell + 5 * longest + 10, left + n * cell / 2 + 190))
    height = top + n * cell + 40
    parts = []
    for i in range(n):
        total = (row_totals[i] if row_totals is not None else sum(matrix[i])) or 1
        for j in range(n):
            v = matrix[i][j]
            share = min(1.0, v / total)
            shade = int(255 - 200 * share)
            fill = f"rgb({shade},{int(255 - 130 * share)},255)" if v else "#fafafa"
            x, y = left + j * cell, top + i * cell
            ink = "#fff" if share > 0.55 else "#222"
            tip = f"gold {labels[i]} → predicted {labels[j]}: {int(v)} of {int(total)} ({share:.0%})"
            parts.append(
                f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='{fill}' stroke='#fff'>"
                f"<title>{escape(tip)}</title></rect>"
            )
            if v:
                parts.append(
                    f"<text x='{x + cell / 2}' y='{y + cell / 2 + 4}' text-anchor='middle' font-size='10' "
                    f"fill='{ink}' pointer-events='none'>{int(v)}</text>"
                )
        parts.append(
            f"<text x='{left - 6}' y='{top + i * cell + cell / 2 + 4}' text-anchor='end' font-size='11'>"
            f"{escape(labels[i])}</text>"
        )
    for j in range(n):
        x = left + j * cell + cell / 2 + 4
        parts.append(
            f"<text x='{x}' y='{top - 6}' font-size='11' transform='rotate(-50 {x} {top - 6})'>"
            f"{escape(labels[j])}</text>"
        )
    parts.append(
        f"<text x='{left + n * cell / 2}' y='{height - 12}' text-anchor='middle' font-size='12'>"
        f"{escape(col_label)} (columns); rows: {escape(row_label)}</text>"
    )
    for i in range(n):  # diagonal outline
        parts.append(
            f"<rect x='{left + i * cell}' y='{top + i * cell}' width='{cell}' height='{cell}' fill='none' "
            "stroke='#333' stroke-width='1'/>"
        )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {FONT} role='img' "
        f"aria-label='confusion heatmap'>" + "".join(parts) + "</svg>"
    )
