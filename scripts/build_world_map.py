"""Build the web pages' world map from the world-atlas npm package (Natural Earth 1:110m countries).

Usage: ``npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz`` then
``python scripts/build_world_map.py package/countries-110m.json src/adamas/web/static/map``.

It decodes the TopoJSON arcs, projects them equirectangularly (x = lon + 180, y = 90 - lat, in degrees,
rounded to 0.1) and writes ``world.svg`` (every country as one path, drawn as the passport's background)
and ``countries.json`` (ISO 3166-1 alpha-2 code -> path data, to outline one country over it). Run once;
the outputs are committed with their provenance in SOURCES.txt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import iso3166


def _arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        out.append(points)
    return out


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> str:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    out = ""
    coords: list[str] = []
    last: tuple[float, float] | None = None
    for lon, lat in points:
        x, y = round(lon + 180, 1), round(90 - lat, 1)
        if last is not None and abs(x - last[0]) > 180:
            # A ring crossing the antimeridian (Fiji, Russia, Antarctica): lift the pen rather than draw a
            # line across the whole map.
            out += "M" + "L".join(coords) if len(coords) > 1 else ""
            coords = []
        if (x, y) != last:
            coords.append(f"{x:g} {y:g}")
            last = (x, y)
    if len(coords) > 2:
        out += "M" + "L".join(coords) + ("Z" if not out else "")
    return out


def build(source: Path, out_dir: Path) -> None:
    """Write ``world.svg`` and ``countries.json`` from the TopoJSON at ``source``."""
    topo = json.loads(source.read_text(encoding="utf-8"))
    arcs = _arcs(topo)
    paths: dict[str, str] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        polygons = geometry.get("arcs") or []
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        data = "".join(_ring(arcs, ring) for polygon in polygons for ring in polygon)
        country = iso3166.countries_by_numeric.get(str(geometry.get("id", "")))
        code = country.alpha2 if country else geometry["properties"]["name"]
        paths[code] = paths.get(code, "") + data
    body = "\n".join(f'<path id="{code}" d="{d}"/>' for code, d in sorted(paths.items()))
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 180" width="360" height="180">\n'
        "<!-- Natural Earth 1:110m Admin 0 countries (public domain) via world-atlas 2.0.2 (ISC); "
        "see SOURCES.txt -->\n"
        '<rect width="360" height="180" fill="#dfeaf2"/>\n'
        '<g fill="#f4f1ea" stroke="#9aa5ad" stroke-width="0.15">\n'
        f"{body}\n</g>\n</svg>\n"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "world.svg").write_text(svg, encoding="utf-8")
    (out_dir / "countries.json").write_text(json.dumps(paths, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
