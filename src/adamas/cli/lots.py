"""Look at lots: lot show, lot history, trace."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from adamas.cli._app import app
from adamas.cli._common import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    fail,
    open_ledger,
    out,
    print_json,
)
from adamas.errors import AdamasError
from adamas.ledger import LotView, Trace
from adamas.risk import lot_risk, lot_taints

lot_app = typer.Typer(help="Look at lots.", no_args_is_help=True)
app.add_typer(lot_app, name="lot")


def lot_table(view: LotView) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("lot", view.id)
    table.add_row("kind", view.kind)
    table.add_row("carats", f"{view.carats:.2f}")
    table.add_row("stones", "-" if view.stones is None else str(view.stones))
    table.add_row("holder", f"{view.holder} ({view.holder_country or '-'})")
    table.add_row("state", view.state + (f" to {view.in_transit_to}" if view.in_transit_to else ""))
    made = view.made_by
    logged = f", logged {made.logged}" if made.logged else ""
    backfill = f", backfilled under {made.backfill}" if made.backfill else ""
    table.add_row("made by", f"{made.type} {made.id} at {made.time} (leaf {made.index}{logged}{backfill})")
    if view.parents:
        table.add_row("parents", ", ".join(view.parents))
    table.add_row("origin", "; ".join(f"{o.carats:.2f} ct {o.site} ({o.country})" for o in view.origin))
    return table


@lot_app.command("show")
def lot_show(lot: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """The current state of a lot: kind, carats, holder, state and origin."""
    with open_ledger(db) as ledger:
        try:
            view = ledger.lot(lot)
            risk = lot_risk(ledger, lot)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json({**view.to_json(), "risk": risk})
    else:
        table = lot_table(view)
        # Risk from the stored flags (adamas risk scan): the tainted share and the flags behind it.
        table.add_row(
            "risk",
            f"score {risk['score']:.2f}, tainted {risk['taint']['share']:.1%}"
            + "".join(f"; {r['detector']} {r['flag']} ({r['share']:.0%})" for r in risk["reasons"]),
        )
        out.print(table)


@lot_app.command("history")
def lot_history(lot: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """Every event that touched a lot, oldest first."""
    with open_ledger(db) as ledger:
        try:
            entries = ledger.history(lot)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json([e.to_json() for e in entries])
        return
    table = Table("leaf", "time", "logged", "type", "actor", "event id")
    for e in entries:
        logged = (e.logged or "-") + (f" (backfilled: {e.backfill})" if e.backfill else "")
        table.add_row(str(e.index), e.time, logged, e.type, e.actor, e.id)
    out.print(table)


def trace_tree(trace: Trace, taints: dict[str, float] | None = None) -> Tree:
    nodes = {n.lot.id: n.lot for n in trace.nodes}
    tainted = taints or {}
    compromised = {n.lot.id for n in trace.nodes if n.compromised}
    children: dict[str, list[str]] = {}
    for parent, child in trace.edges:
        if trace.direction == "backward":
            children.setdefault(child, []).append(parent)
        else:
            children.setdefault(parent, []).append(child)

    def label(lot_id: str) -> str:
        v = nodes[lot_id]
        where = f" → {v.in_transit_to}" if v.in_transit_to else ""
        warning = " [bold red]⚠ rests on a compromised key[/]" if lot_id in compromised else ""
        share = tainted.get(lot_id, 0.0)
        taint = f" [bold yellow]⚑ tainted {share:.0%}[/]" if share > 0 else ""
        return (
            f"[bold]{v.id}[/] {v.kind} {v.carats:.2f} ct · {v.state} · {v.holder}{where} "
            f"[dim]{v.made_by.type}[/]{warning}{taint}"
        )

    tree = Tree(label(trace.lot))
    stack = [(tree, trace.lot, frozenset({trace.lot}))]
    while stack:
        branch, lot_id, seen = stack.pop()
        for nxt in sorted(children.get(lot_id, [])):
            if nxt in seen:
                continue
            sub = branch.add(label(nxt))
            stack.append((sub, nxt, seen | {nxt}))
    return tree


@app.command()
def trace(
    lot: str,
    db: DbOption = DEFAULT_DB,
    forward: Annotated[bool, typer.Option("--forward", help="Descendants instead of ancestors.")] = False,
    json_: JsonOption = False,
) -> None:
    """The lineage of a lot: back to every mine it came from (or --forward to every descendant)."""
    with open_ledger(db) as ledger:
        try:
            result = ledger.trace(lot, direction="forward" if forward else "backward")
            taints = {k: t.share for k, t in lot_taints(ledger, [n.lot.id for n in result.nodes]).items()}
        except AdamasError as exc:
            fail(exc)
    if json_:
        data = result.to_json()
        for node in data["nodes"]:
            node["taint"] = round(taints.get(node["id"], 0.0), 4)
        print_json(data)
        return
    out.print(trace_tree(result, taints))
    if not forward:
        table = Table("mine", "country", "carats", title=f"origin of {lot}")
        for share in result.origin:
            table.add_row(f"{share.site_name or share.site}", share.country or "-", f"{share.carats:.2f}")
        out.print(table)
