"""The risk service's Python API (what ``adamas flags``, ``adamas risk`` and ``/v1/flags`` call).

Every function reads the ledger's tables; ``review`` and ``freeze`` sign events with the caller's key and
submit them through ``Ledger.submit`` like any other participant's events (the service writes no event
table itself). Results are JSON-ready through their ``to_json`` or as plain dicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import Connection, select

from adamas.errors import InputError, NotFoundError
from adamas.risk.flags import DETECTORS, RiskFlag
from adamas.risk.review import freeze_bodies, review_body, review_statuses, sign
from adamas.risk.taint import SEVERITY_WEIGHT, Taint, taint
from adamas.risk.taint import lineage as _lineage_of
from adamas.store import schema

if TYPE_CHECKING:
    from adamas.crypto import KeyPair
    from adamas.ledger import Ledger, Outcome

__all__ = ["FlagPage", "flag", "flags", "freeze", "lot_risk", "lot_taints", "review", "tainted_lineage"]

MAX_PAGE: Final = 1000


class FlagPage(list[RiskFlag]):
    """A page of flags; ``next_cursor`` continues after the last (None on the last page)."""

    next_cursor: str | None = None


def _with_status(conn: Connection, found: list[RiskFlag]) -> list[RiskFlag]:
    reviews = review_statuses(conn)
    return [f.with_status(*reviews[f.id]) if f.id in reviews else f for f in found]


def flags(
    ledger: Ledger,
    *,
    open_only: bool = False,
    detector: str | None = None,
    country: str | None = None,
    lot: str | None = None,
    participant: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> FlagPage:
    """Stored flags in id order, filtered; ``after`` (a cursor: the last id seen) and ``limit`` page them."""
    if detector is not None and detector not in DETECTORS:
        raise InputError(
            f"unknown detector {detector!r}; one of {', '.join(DETECTORS)}",
            code="risk.bad_detector",
            field="detector",
        )
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be 1 to {MAX_PAGE}", code="risk.bad_limit", field="limit")
    table, links = schema.risk_flags, schema.risk_flag_links
    stmt = select(table.c.body).order_by(table.c.id)
    if detector is not None:
        stmt = stmt.where(table.c.detector == detector)
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    for kind, value in (("country", country), ("lot", lot), ("participant", participant)):
        if value is not None:
            linked = select(links.c.flag).where(links.c.kind == kind, links.c.value == value)
            stmt = stmt.where(table.c.id.in_(linked))
    with ledger.engine.connect() as conn:
        found = _with_status(conn, [RiskFlag.from_stored(row.body) for row in conn.execute(stmt)])
    if open_only:
        found = [f for f in found if f.status == "open"]
    page = FlagPage(found[:limit] if limit is not None else found)
    if limit is not None and len(found) > limit:
        page.next_cursor = page[-1].id
    return page


def flag(ledger: Ledger, flag_id: str) -> RiskFlag:
    """One stored flag with its status; ``NotFoundError`` (``risk.flag_not_found``) when there is none."""
    with ledger.engine.connect() as conn:
        body = conn.execute(
            select(schema.risk_flags.c.body).where(schema.risk_flags.c.id == flag_id)
        ).scalar()
        if body is None:
            raise NotFoundError(
                f"there is no flag {flag_id}; run `adamas risk scan` to raise flags",
                code="risk.flag_not_found",
                field="flag",
            )
        return _with_status(conn, [RiskFlag.from_stored(body)])[0]


def _lineage_flags(ledger: Ledger, lots: list[str]) -> dict[str, RiskFlag]:
    links = schema.risk_flag_links
    ids: set[str] = set()
    with ledger.engine.connect() as conn:
        for start in range(0, len(lots), 500):
            stmt = select(links.c.flag).where(
                links.c.kind == "lot", links.c.value.in_(lots[start : start + 500])
            )
            ids.update(row.flag for row in conn.execute(stmt))
        rows = conn.execute(select(schema.risk_flags.c.body).where(schema.risk_flags.c.id.in_(sorted(ids))))
        found = _with_status(conn, [RiskFlag.from_stored(row.body) for row in rows])
    return {f.id: f for f in found}


def lot_risk(ledger: Ledger, lot_id: str) -> dict[str, Any]:
    """A lot's risk: score (0-1), taint, and the flags on its lineage with the share each taints."""
    trace = ledger.trace(lot_id, direction="backward")
    lineage = [n.lot.id for n in trace.nodes]
    found = _lineage_flags(ledger, lineage)
    with ledger.engine.connect() as conn:
        result = taint(conn, [lot_id], found)[lot_id]
    reasons: list[dict[str, Any]] = []
    for fid, share in sorted(result.by_flag.items(), key=lambda item: (-item[1], item[0])):
        f = found[fid]
        reasons.append(
            {
                "flag": fid,
                "detector": f.detector,
                "severity": f.severity,
                "status": f.status,
                "share": round(share, 4),
                "explanation": f.explanation,
            }
        )
    score = max((SEVERITY_WEIGHT[found[r["flag"]].severity] * r["share"] for r in reasons), default=0.0)
    compromised = any(n.compromised for n in trace.nodes)
    if compromised:
        score = max(score, SEVERITY_WEIGHT["high"])
    return {
        "lot": lot_id,
        "score": round(score, 4),
        "taint": result.to_json(),
        "compromised_key": compromised,
        "reasons": reasons,
    }


def lot_taints(ledger: Ledger, lot_ids: list[str]) -> dict[str, Taint]:
    """The taint of each of ``lot_ids`` from the stored flags on their lineages (one pass for all of them)."""
    with ledger.engine.connect() as conn:
        _, seen = _lineage_of(conn, lot_ids)
    found = _lineage_flags(ledger, sorted(seen))
    with ledger.engine.connect() as conn:
        return taint(conn, lot_ids, found)


def tainted_lineage(ledger: Ledger, flag_id: str, *, lot: str | None = None) -> list[dict[str, Any]]:
    """Every lot the flag names and every descendant (or ``lot`` and its descendants), with its share of
    tainted carats, its state and holder."""
    target = flag(ledger, flag_id)
    lots: dict[str, Any] = {}
    for lot_id in [lot] if lot is not None else target.lots:
        try:
            forward = ledger.trace(lot_id, direction="forward")
        except NotFoundError:
            continue
        for node in forward.nodes:
            lots.setdefault(node.lot.id, node.lot)
    with ledger.engine.connect() as conn:
        shares = taint(conn, sorted(lots), {target.id: target})
    return [
        {
            "lot": lot_id,
            "share": round(shares[lot_id].share, 4) if lot_id in shares else 0.0,
            "state": view.state,
            "holder": view.holder,
            "holder_country": view.holder_country,
        }
        for lot_id, view in sorted(lots.items())
    ]


def review(
    ledger: Ledger,
    flag_id: str,
    verdict: Literal["acknowledged", "dismissed"],
    *,
    key: KeyPair,
    actor: str,
    reason: str,
    now_ns: int | None = None,
) -> Outcome:
    """Sign and submit the ``attest`` that acknowledges or dismisses a flag (see ``adamas.risk.review``)."""
    body = review_body(flag(ledger, flag_id), verdict, reason)
    envelope = sign(body, key, actor, now_ns=ledger.clock() if now_ns is None else now_ns)
    (outcome,) = ledger.submit([envelope])
    return outcome


def freeze(
    ledger: Ledger,
    flag_id: str,
    *,
    key: KeyPair,
    actor: str,
    lot: str | None = None,
    now_ns: int | None = None,
) -> list[Outcome]:
    """Sign and submit ``lot.freeze`` for every live tainted lot of the flag's lineage (from ``lot`` when
    given), in ``proceed`` mode: a lot the actor may not freeze is refused alone, the others are frozen."""
    target = flag(ledger, flag_id)
    lineage = tainted_lineage(ledger, flag_id, lot=lot)
    if lot is not None and not any(item["lot"] == lot and item["share"] > 0 for item in lineage):
        raise InputError(f"lot {lot} is not tainted by flag {flag_id}", code="risk.not_tainted", field="lot")
    live = [item["lot"] for item in lineage if item["share"] > 0 and item["state"] in ("held", "in_transit")]
    if not live:
        raise InputError(
            f"flag {flag_id} names no lot that is held or in transit: nothing to freeze",
            code="risk.nothing_to_freeze",
            field="flag",
        )
    # Signed at the ledger's clock (docs/time.md): the one source of now, which a simulation may set.
    now = ledger.clock() if now_ns is None else now_ns
    envelopes = [sign(body, key, actor, now_ns=now) for body in freeze_bodies(target, live)]
    return ledger.submit(envelopes, mode="proceed")
