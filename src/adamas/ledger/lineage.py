"""Lineage reads sized for large ledgers: a whole trace in one joined query, a forward page in a few.

A trace is read with one statement: the recursive walk over ``lot_edges`` joined to each reached lot, its
holder, its making event and its shipment (plus the sites of the origins, and the one-row check for revoked
keys). The statements are plain SQL compiled once per dialect, so a trace spends no time building and
caching SQLAlchemy constructs (that was most of a backward trace's 1-2 ms), and the drivers reuse their
prepared statements (SQLite's statement cache, psycopg's automatic preparation).

A forward page is found best first in log order without walking the whole descendant set: a lot is always
made after its parents, so expanding the known lots in the order of their making events finds the
descendants in that order. Once ``limit + 1`` lots past the cursor are known, only lots made before the
last of them can still lead to one that belongs on the page, and only their children made before it are
read. The cost is the page and its frontier (plus the lots before the cursor), not the graph.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import Connection

from adamas.errors import NotFoundError
from adamas.ledger.views import EventRef, LotView, OriginShare, Trace, TraceNode
from adamas.model.values import cents_to_decimal, format_time_ns

__all__ = ["forward_page", "lot_views_by_id", "trace"]

_DECODE: Final = json.JSONDecoder().decode
_CHUNK: Final = 500
_MAX_ROUNDS: Final = 64
"""Expansion rounds of a forward page before it walks the whole graph in one query instead (a lineage
hundreds of steps deep, where one query per step would cost more than the walk)."""

_VIEW_COLUMNS: Final = (
    "l.id, l.kind, l.carats, l.stones, l.holder, l.state, l.origin, l.parents, l.value, l.shipment, "
    "l.details, l.event, p.country, ev.type, ev.time_ns, ev.seq, ev.logged_ns, ev.backfill, s.to_participant"
)
_VIEW_JOINS: Final = (
    "JOIN events ev ON ev.event_id = l.event "
    "LEFT JOIN participants p ON p.id = l.holder "
    "LEFT JOIN shipments s ON s.id = l.shipment"
)
# The walk's edges are the CTE's rows (UNION keeps each edge once, so a lot reached twice is walked once);
# each reached lot comes back with its view's columns, the root first with no edge and the revoked-key flag.
_REVOKED: Final = "(SELECT 1 FROM keys WHERE revoked_ns IS NOT NULL LIMIT 1)"
"""1 when any key was ever revoked (rare; with none, nothing can be compromised), as a column."""
_WALK: Final = {
    direction: (
        "WITH RECURSIVE reach(near, far) AS ("
        f"SELECT {near}, {far} FROM lot_edges WHERE {near} = ? "
        f"UNION SELECT e.{near}, e.{far} FROM lot_edges e JOIN reach r ON e.{near} = r.far) "
        f"SELECT NULL, {_VIEW_COLUMNS}, {_REVOKED} FROM lots l {_VIEW_JOINS} WHERE l.id = ? "
        f"UNION ALL SELECT r.near, {_VIEW_COLUMNS}, NULL "
        f"FROM reach r JOIN lots l ON l.id = r.far {_VIEW_JOINS}"
    )
    for direction, near, far in (("backward", "child", "parent"), ("forward", "parent", "child"))
}

_SQL: dict[tuple[str, str, int], str] = {}


def _sql(conn: Connection, name: str, template: str, count: int = 0) -> str:
    """``template`` for this connection's driver (``?`` placeholders become psycopg's ``%s``), with
    ``{ids}`` expanded to ``count`` placeholders; made once per dialect, statement and count."""
    key = (conn.dialect.name, name, count)
    found = _SQL.get(key)
    if found is None:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        text = template.replace("{ids}", ", ".join(["?"] * count))
        found = _SQL[key] = text.replace("?", mark)
    return found


def _rows(conn: Connection, name: str, template: str, params: Sequence[Any], count: int = 0) -> list[Any]:
    return list(conn.exec_driver_sql(_sql(conn, name, template, count), tuple(params)).fetchall())


def _chunked(conn: Connection, name: str, template: str, ids: Sequence[str], *extra: Any) -> list[Any]:
    """Rows of ``template`` (whose ``{ids}`` is an IN list) for every id, ``_CHUNK`` ids per statement."""
    out: list[Any] = []
    for i in range(0, len(ids), _CHUNK):
        batch = ids[i : i + _CHUNK]
        out.extend(_rows(conn, name, template, [*batch, *extra], len(batch)))
    return out


def _sites(conn: Connection, site_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(country, name) of each site, by id."""
    wanted = sorted(set(site_ids))
    rows = _chunked(conn, "sites", "SELECT id, country, name FROM sites WHERE id IN ({ids})", wanted)
    return {row[0]: (row[1], row[2]) for row in rows}


def _views(conn: Connection, rows: Iterable[Any], offset: int) -> dict[str, LotView]:
    """Views of the lots in ``rows`` (the view's columns from position ``offset``), one per lot."""
    by_id: dict[str, Any] = {}
    for row in rows:
        by_id.setdefault(row[offset], row)
    origins = {lot_id: _DECODE(row[offset + 6]) for lot_id, row in by_id.items()}
    sites = _sites(conn, (site for origin in origins.values() for site in origin))
    out: dict[str, LotView] = {}
    for lot_id, row in by_id.items():
        (_, kind, carats, stones, holder, state, _, parents, value, shipment, details, event) = row[
            offset : offset + 12
        ]
        (country, etype, time_ns, seq, logged_ns, backfill, to) = row[offset + 12 : offset + 19]
        out[lot_id] = LotView(
            id=lot_id,
            kind=kind,
            carats=cents_to_decimal(carats),
            stones=stones,
            holder=holder,
            holder_country=country,
            state=state,
            parents=tuple(_DECODE(parents)),
            origin=_origin(origins[lot_id], sites),
            made_by=EventRef(
                event,
                etype,
                format_time_ns(time_ns),
                seq,
                None if logged_ns is None else format_time_ns(logged_ns),
                backfill,
            ),
            value=None if value is None else cents_to_decimal(value),
            shipment=shipment,
            in_transit_to=to if shipment is not None and state == "in_transit" else None,
            details=_DECODE(details) if details != "{}" else {},
        )
    return out


def _origin(origin: dict[str, int], sites: dict[str, tuple[str, str]]) -> tuple[OriginShare, ...]:
    out = []
    for site, amount in sorted(origin.items(), key=lambda item: (-item[1], item[0])):
        country, name = sites.get(site, (None, None))
        out.append(OriginShare(site, country, cents_to_decimal(amount), name))
    return tuple(out)


def lot_views_by_id(conn: Connection, lot_ids: Iterable[str]) -> dict[str, LotView]:
    """Views of the lots ``lot_ids`` that exist, by id: one joined statement per 500 lots, and the sites."""
    template = f"SELECT {_VIEW_COLUMNS} FROM lots l {_VIEW_JOINS} WHERE l.id IN ({{ids}})"
    return _views(conn, _chunked(conn, "views", template, sorted(set(lot_ids))), 0)


def depths(root: str, adjacent: dict[str, list[str]]) -> dict[str, int]:
    """Shortest distance from ``root`` of every lot in ``adjacent`` (breadth first, in memory)."""
    depth = {root: 0}
    frontier = [root]
    level = 0
    while frontier:
        level += 1
        found = []
        for node in frontier:
            for other in adjacent.get(node, ()):
                if other not in depth:
                    depth[other] = level
                    found.append(other)
        frontier = found
    return depth


def _bad(
    conn: Connection,
    root: str,
    made: dict[str, str],
    edges: Sequence[tuple[str, str]],
    *,
    direction: str,
    revoked: bool,
) -> set[str]:
    """The lots of a (sub)graph that rest on an event signed with a compromised key: made by one, or made
    from one along ``edges``; forward, every lot when the root itself rests on one. Revoked keys are rare:
    with none (``revoked`` false, read with the root), nothing is compromised."""
    if not revoked:
        return set()
    from adamas.ledger.queries import compromised_events, rests_on_compromised, spread_down

    bad_events = compromised_events(conn, made.values())
    bad = spread_down({lot for lot, event in made.items() if event in bad_events}, edges)
    if direction == "forward" and root not in bad and rests_on_compromised(conn, root):
        return set(made)
    return bad


def trace(conn: Connection, lot_id: str, *, direction: str) -> Trace:
    """The lineage graph from ``lot_id`` (backward to the mines, forward to every descendant): the walk and
    every lot's view in one statement, then the sites of the origins."""
    rows = _rows(conn, f"walk.{direction}", _WALK[direction], (lot_id, lot_id))
    if not rows or rows[0][0] is not None:
        raise NotFoundError(f"there is no lot {lot_id}", code="lot.not_found", field="lot")
    adjacent: dict[str, list[str]] = {}
    edges: list[tuple[str, str]] = []
    for row in rows[1:]:
        near, far = row[0], row[1]
        adjacent.setdefault(near, []).append(far)
        edges.append((far, near) if direction == "backward" else (near, far))
    edges.sort()
    depth = depths(lot_id, adjacent)
    views = _views(conn, rows, 1)
    made = {v.id: v.made_by.id for v in views.values()}
    bad = _bad(conn, lot_id, made, edges, direction=direction, revoked=rows[0][20] is not None)
    ordered = sorted(views.values(), key=lambda view: (depth[view.id], view.id))
    nodes = tuple(TraceNode(view, depth[view.id], view.id in bad) for view in ordered)
    return Trace(
        lot=lot_id,
        direction=direction,
        nodes=nodes,
        edges=tuple(edges),
        origin=views[lot_id].origin,
        mines=tuple(sorted(v.id for v in views.values() if v.made_by.type == "lot.register")),
    )


_ROOT: Final = (
    f"SELECT ev.seq, ev.event_id, {_REVOKED} "
    "FROM lots l JOIN events ev ON ev.event_id = l.event WHERE l.id = ?"
)
_CHILDREN: Final = (
    "SELECT e.parent, e.child, ev.seq, ev.event_id FROM lot_edges e JOIN lots l ON l.id = e.child "
    "JOIN events ev ON ev.event_id = l.event WHERE e.parent IN ({ids})"
)


def forward_page(
    conn: Connection, root: str, after: tuple[int, str] | None, limit: int
) -> tuple[list[TraceNode], list[tuple[str, str]], bool, LotView] | None:
    """The first ``limit`` descendants of ``root`` (the root itself included) in log order of the events
    that made them, after the key ``after`` (seq, lot id): the page's nodes, the edges leading to them,
    whether more follow, and the root's view. None when the lineage is too deep to expand step by step
    (the caller walks it whole)."""
    found = _rows(conn, "root", _ROOT, (root,))
    if not found:
        raise NotFoundError(f"there is no lot {root}", code="lot.not_found", field="lot")
    made: dict[str, tuple[int, str]] = {root: (int(found[0][0]), found[0][1])}
    parents: dict[str, list[str]] = {}
    expanded: set[str] = set()
    want = limit + 1
    for _ in range(_MAX_ROUNDS):
        # The horizon: the want-th known key past the cursor. No lot made after it can be on the page,
        # and only lots made before it can have children that are.
        past = [(seq, lot) for lot, (seq, _) in made.items() if after is None or (seq, lot) > after]
        horizon = heapq.nsmallest(want, past)[-1][0] if len(past) >= want else None
        todo = sorted(
            lot
            for lot, (seq, _) in made.items()
            if lot not in expanded and (horizon is None or seq < horizon)
        )
        if not todo:
            break
        expanded.update(todo)
        if horizon is None:
            rows = _chunked(conn, "children", _CHILDREN, todo)
        else:
            rows = _chunked(conn, "children.before", _CHILDREN + " AND ev.seq <= ?", todo, horizon)
        for parent, child, seq, event_id in rows:
            made.setdefault(child, (int(seq), event_id))
            parents.setdefault(child, []).append(parent)
    else:
        return None
    ordered = sorted((seq, lot) for lot, (seq, _) in made.items())
    # Shortest distances: every parent of a lot is made before it, so log order is a topological order,
    # and every parent of a lot on the page (all made before the horizon) has been expanded.
    depth = {root: 0}
    for _, lot in ordered:
        if lot != root:
            depth[lot] = 1 + min(depth[p] for p in parents[lot] if p in depth)
    keys = [key for key in ordered if after is None or key > after]
    page = [lot for _, lot in keys[:limit]]
    edges = sorted((p, c) for c in page for p in parents.get(c, ()))
    known_edges = [(p, c) for c, ps in parents.items() for p in ps]
    events = {lot: event for lot, (_, event) in made.items()}
    bad = _bad(conn, root, events, known_edges, direction="forward", revoked=found[0][2] is not None)
    views = lot_views_by_id(conn, [root, *page])
    nodes = [TraceNode(views[lot], depth[lot], lot in bad) for lot in page]
    return nodes, edges, len(keys) > limit, views[root]
