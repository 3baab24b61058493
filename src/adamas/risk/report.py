"""``adamas stats report``: a year's statistics and flags as one HTML page with SVG charts (matplotlib).

The page is self-contained apart from its SVG files next to it: production and exports by country (carats
and US$), $/ct by country, and the open flags by detector, then the tables of ``adamas stats`` and the flags
with their explanations, for a KP plenary to read. matplotlib runs headless (the Agg backend, SVG output).
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from adamas.errors import InputError
from adamas.ledger import Ledger
from adamas.risk.service import flags
from adamas.risk.stats import Statistics, statistics

__all__ = ["write_report"]

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.8em;display:block;overflow-x:auto}
td,th{border:1px solid #ccc;padding:.25em .5em}
td.n{text-align:right;font-variant-numeric:tabular-nums}h1,h2{font-weight:600}figure{margin:1em 0}"""


def _bar(path: Path, title: str, labels: list[str], values: list[float], unit: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(labels), 3) + 1.2))
    ax.barh(labels[::-1], values[::-1], color="#3b6ea5")
    ax.set_title(title)
    ax.set_xlabel(unit)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


def _rows(stats: Statistics) -> str:
    lines = stats.csv_rows()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in lines[0])
    body = "".join(
        "<tr>"
        + "".join(f"<td class={'n' if i > 1 else 't'}>{html.escape(v)}</td>" for i, v in enumerate(line))
        + "</tr>"
        for line in lines[1:]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(ledger: Ledger, year: int, out_dir: Path) -> list[Path]:
    """Write ``index.html`` and its charts into ``out_dir``; return the files written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create {out_dir}: {exc.strerror}", code="stats.unwritable", field="out"
        ) from exc
    stats = statistics(ledger, year)
    found = [f for f in flags(ledger) if (f.period or "").startswith(str(year))]
    rows = sorted((r for r in stats.rows if r.production.carats), key=lambda r: -r.production.carats)
    names = [r.country for r in rows]
    files = [
        _bar(
            out_dir / "production-carats.svg",
            f"Production {year}, carats",
            names,
            [r.production.carats / 100 for r in rows],
            "carats",
        ),
        _bar(
            out_dir / "production-value.svg",
            f"Production {year}, US$",
            names,
            [r.production.value / 100 for r in rows],
            "US$",
        ),
        _bar(
            out_dir / "usd-per-carat.svg",
            f"Production {year}, US$ per carat",
            names,
            [float(r.production.usd_per_carat or 0) for r in rows],
            "US$/ct",
        ),
    ]
    exporters = sorted((r for r in stats.rows if r.exports.carats), key=lambda r: -r.exports.carats)
    files.append(
        _bar(
            out_dir / "exports-carats.svg",
            f"Exports of rough {year}, carats",
            [r.country for r in exporters],
            [r.exports.carats / 100 for r in exporters],
            "carats",
        )
    )
    by_detector = Counter(f.detector for f in found if f.status != "dismissed")
    files.append(
        _bar(
            out_dir / "flags.svg",
            f"Flags raised about {year} (not dismissed)",
            sorted(by_detector),
            [by_detector[d] for d in sorted(by_detector)],
            "flags",
        )
    )
    flag_rows = "".join(
        f"<tr><td>{html.escape(f.id)}</td><td>{f.detector}</td><td>{f.severity}</td><td>{f.status}</td>"
        f"<td>{html.escape(f.subject_kind)} {html.escape(f.subject_id)}</td>"
        f"<td>{html.escape(f.explanation)}</td></tr>"
        for f in found
    )
    figures = "".join(f'<figure><img src="{p.name}" alt="{p.stem}"></figure>' for p in files)
    page = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Kimberley Process statistics {year}</title><style>{_STYLE}</style>
<h1>Kimberley Process statistics {year}</h1>
<p>Computed from the Adamas log (origin {html.escape(ledger.origin)}, {ledger.size} events) as Annex III asks:
production at the mine gate, exports and imports of rough across borders, with values and certificates.
Anyone can recompute every figure from a mirror of the log (<code>adamas stats --year {year}</code>).</p>
{figures}
<h2>By country</h2>{_rows(stats)}
<h2>Flags ({len(found)})</h2>
<table><tr><th>id</th><th>detector</th><th>severity</th><th>status</th><th>subject</th><th>explanation</th></tr>
{flag_rows}</table></html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return [index, *files]
