"""Server-rendered SVG: the lineage graph, bar charts over time, and the map of origin sites.

Every function returns markup (``markupsafe.Markup``) with every value escaped, sized by a ``viewBox`` so
that it scales to a phone's width; nothing needs a script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Final

from markupsafe import Markup, escape

from adamas.ledger.views import Trace
from adamas.web.reads import Site

__all__ = ["PALETTE", "bar_chart", "lineage_graph", "origin_map"]

PALETTE: Final = ("#1f6f8b", "#e0a458", "#7a9e7e", "#b5525c", "#6c5b7b", "#3d5a80", "#c06c84", "#99b898")
_NODE_W, _NODE_H, _GAP_X, _GAP_Y = 168, 52, 64, 18


def _fmt(value: Decimal) -> str:
    return f"{value:,.2f}"


def lineage_graph(trace: Trace) -> Markup:
    """The lineage of ``trace.lot`` (backward trace): mines on the left, the lot on the right, each lot a
    link to its passport, each edge labelled with the carats that can have passed along it."""
    lots = {n.lot.id: n for n in trace.nodes}
    parents: dict[str, list[str]] = {}
    for parent, child in trace.edges:
        if parent in lots and child in lots:
            parents.setdefault(child, []).append(parent)
    # Layer by the longest path from the traced lot, so that every edge points rightwards.
    layer: dict[str, int] = {trace.lot: 0}
    order = [trace.lot]
    for node in order:
        for parent in parents.get(node, []):
            if layer.get(parent, -1) < layer[node] + 1:
                layer[parent] = layer[node] + 1
                order.append(parent)
    depth = max(layer.values())
    columns: dict[int, list[str]] = {}
    for node in sorted(layer, key=lambda n: (layer[n], n)):
        columns.setdefault(layer[node], []).append(node)
    tallest = max(len(c) for c in columns.values())
    width = (depth + 1) * (_NODE_W + _GAP_X) - _GAP_X + 8
    height = tallest * (_NODE_H + _GAP_Y) - _GAP_Y + 8
    place: dict[str, tuple[int, int]] = {}
    for level, nodes in columns.items():
        top = (height - (len(nodes) * (_NODE_H + _GAP_Y) - _GAP_Y)) // 2
        for i, node in enumerate(nodes):
            place[node] = (4 + (depth - level) * (_NODE_W + _GAP_X), top + i * (_NODE_H + _GAP_Y))
    parts: list[str] = []
    for child, ps in parents.items():
        for parent in ps:
            (x1, y1), (x2, y2) = place[parent], place[child]
            x1, y1, y2 = x1 + _NODE_W, y1 + _NODE_H // 2, y2 + _NODE_H // 2
            mid = (x1 + x2) / 2
            carats = min(lots[parent].lot.carats, lots[child].lot.carats)
            parts.append(
                f'<path class="edge" d="M{x1} {y1} C{mid} {y1} {mid} {y2} {x2} {y2}"/>'
                f'<text class="edge-label" x="{mid}" y="{(y1 + y2) / 2 - 4}" text-anchor="middle">'
                f"{escape(_fmt(carats))} ct</text>"
            )
    for node, (x, y) in place.items():
        view = lots[node]
        lot = view.lot
        classes = "node" + (" root" if node == trace.lot else "") + (" bad" if view.compromised else "")
        label = node if len(node) <= 22 else node[:21] + "…"
        detail = f"{lot.kind.replace('_', ' ')} · {_fmt(lot.carats)} ct"
        parts.append(
            f'<a href="/lots/{escape(node)}" class="{classes}"><title>{escape(node)}: {escape(detail)}, '
            f"{escape(lot.state)}, held by {escape(lot.holder)}</title>"
            f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="6"/>'
            f'<text x="{x + 8}" y="{y + 20}" class="node-id">{escape(label)}</text>'
            f'<text x="{x + 8}" y="{y + 40}" class="node-detail">{escape(detail)}</text></a>'
        )
    return Markup(
        f'<svg class="lineage" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-label="Lineage of {escape(trace.lot)}: {len(place)} lots">{"".join(parts)}</svg>'
    )


def bar_chart(
    title: str, periods: Sequence[str], series: Mapping[str, Sequence[float]], *, unit: str = ""
) -> Markup:
    """Stacked bars, one per period, one colour per series, with a legend and the largest total marked."""
    width, height, left, bottom, top = 420, 210, 44, 30, 10
    totals = [sum(values[i] for values in series.values()) for i in range(len(periods))]
    peak = max(totals, default=0) or 1
    plot_w, plot_h = width - left - 8, height - bottom - top
    step = plot_w / max(len(periods), 1)
    bar = min(max(step * 0.7, 1), 48)
    parts = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top + 8}" text-anchor="end">'
        f"{escape(_short(peak)) if any(totals) else ''}</text>",
        f'<text class="tick" x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    label_every = max(1, -(-len(periods) // 5))
    for i, period in enumerate(periods):
        x = left + i * step + (step - bar) / 2
        y: float = top + plot_h
        for s, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / peak
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(period)} {escape(name)}: '
                    f"{escape(_short(values[i]))}{escape(unit)}</title></rect>"
                )
        if i % label_every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(period)}</text>'
            )
    legend = "".join(
        f'<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" '
        f'fill="{PALETTE[s % len(PALETTE)]}"/></svg>{escape(name)}</li>'
        for s, name in enumerate(series)
    )
    return Markup(
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">{"".join(parts)}</svg>'
        f'<ul class="legend">{legend}</ul></figure>'
    )


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:,.0f}" if value >= 100 else f"{value:g}"


@cache
def _country_paths() -> dict[str, str]:
    text = resources.files("adamas.web").joinpath("static/map/countries.json").read_text(encoding="utf-8")
    paths: dict[str, str] = json.loads(text)
    return paths


def origin_map(
    sites: Sequence[Site], *, highlight: str | None = None, carats: Mapping[str, Decimal]
) -> Markup:
    """The world (vendored Natural Earth outline) zoomed on ``sites``, each a dot sized by its carats, and
    ``highlight`` (a country code) outlined."""
    placed = [s for s in sites if s.lat is not None and s.lon is not None]
    xs = [s.lon + 180 for s in placed if s.lon is not None]
    ys = [90 - s.lat for s in placed if s.lat is not None]
    outline = _country_paths().get(highlight or "", "")
    if outline:
        numbers = [float(n) for n in outline.replace("M", " ").replace("L", " ").replace("Z", " ").split()]
        xs += numbers[0::2]
        ys += numbers[1::2]
    if xs:
        pad = 6.0
        x0, x1 = max(min(xs) - pad, 0), min(max(xs) + pad, 360)
        y0, y1 = max(min(ys) - pad, 0), min(max(ys) + pad, 180)
        # Keep a landscape frame at least 40 by 24 degrees, centred on the sites.
        w, h = max(x1 - x0, 40), max(y1 - y0, 24)
        x0, y0 = (x0 + x1 - w) / 2, (y0 + y1 - h) / 2
    else:
        x0, y0, w, h = 0.0, 0.0, 360.0, 180.0
    biggest = max((carats.get(s.id, Decimal(0)) for s in placed), default=Decimal(0)) or Decimal(1)
    dots = []
    for s in placed:
        assert s.lat is not None and s.lon is not None
        weight = float(carats[s.id] / biggest) ** 0.5 if s.id in carats else 0.5
        r = 0.35 + 0.9 * weight
        r *= w / 60
        dots.append(
            f'<circle class="site" cx="{s.lon + 180:.2f}" cy="{90 - s.lat:.2f}" r="{r:.2f}">'
            f"<title>{escape(s.name)} ({escape(s.country)}), {escape(_fmt(carats.get(s.id, Decimal(0))))} ct"
            f"</title></circle>"
        )
    shape = (
        f'<path class="country-outline" d="{escape(outline)}" stroke-width="{w / 300:.3f}"/>'
        if outline
        else ""
    )
    return Markup(
        f'<svg class="map" viewBox="{x0:.1f} {y0:.1f} {w:.1f} {h:.1f}" role="img" '
        f'aria-label="Map of {len(placed)} site(s)"><image href="/static/map/world.svg" x="0" y="0" '
        f'width="360" height="180"/>{shape}{"".join(dots)}</svg>'
    )
