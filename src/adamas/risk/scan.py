"""Running the detectors over a ledger and keeping their flags: ``scan``, and reading flags back.

``scan(ledger)`` reads what was logged since the last scan (the leaf it reached is kept in ``risk_scan``),
runs every detector and stores the flags it has not stored before; a flag found again keeps its id and its
first sighting (``raised_at``, the log size when it was first raised) and takes the newest figures. A flag
once raised stays raised: it records that the log, at that size, crossed a threshold. ``scan(ledger,
full=True)`` forgets every stored flag and recomputes them from the whole log. Only the risk tables are
written here; the log and the ledger's state are only read.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import StorageError
from adamas.ledger import Ledger
from adamas.risk.config import DEFAULTS, Thresholds
from adamas.risk.context import load_context
from adamas.risk.detectors import DETECTOR_FUNCTIONS
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.store import schema
from adamas.store.database import HEAD, begin_write

__all__ = ["ScanResult", "compute_flags", "load_facts", "scan", "scanned_to"]

SCANNED: Final = "scanned"
_FACTS: weakref.WeakKeyDictionary[Ledger, Facts] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a scan did: the leaves it covered and the flags it added or refreshed."""

    from_leaf: int
    to_leaf: int
    new: tuple[str, ...]
    updated: tuple[str, ...]
    total: int

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "from_leaf": self.from_leaf,
            "to_leaf": self.to_leaf,
            "new": list(self.new),
            "updated": list(self.updated),
            "total": self.total,
        }


def _head(conn: Connection) -> int:
    return int(conn.execute(select(schema.meta.c.value).where(schema.meta.c.name == HEAD)).scalar_one())


def scanned_to(conn: Connection) -> int:
    """The log size the last scan reached (0 before any)."""
    value = conn.execute(select(schema.risk_scan.c.value).where(schema.risk_scan.c.name == SCANNED)).scalar()
    return int(value) if value is not None else 0


def load_facts(ledger: Ledger, conn: Connection, head: int) -> Facts:
    """The ledger's facts up to ``head``, kept between calls on the same ledger object."""
    facts = _FACTS.get(ledger)
    if facts is None or facts.seq > head or not facts.extend(conn, head):
        facts = Facts()
        facts.extend(conn, head)
    _FACTS[ledger] = facts
    return facts


def compute_flags(facts: Facts, conn: Connection, cfg: Thresholds = DEFAULTS) -> dict[str, RiskFlag]:
    """Every flag the detectors raise over ``facts``, by id (a later duplicate id keeps the first)."""
    ctx = load_context(conn, extra_high_risk=cfg.high_risk_countries)
    out: dict[str, RiskFlag] = {}
    for detect in DETECTOR_FUNCTIONS.values():
        for flag in detect(facts, cfg, ctx):
            out.setdefault(flag.id, flag)
    return out


def scan(ledger: Ledger, *, full: bool = False, cfg: Thresholds = DEFAULTS) -> ScanResult:
    """Run the detectors over what was logged since the last scan (or the whole log) and store new flags.

    The detectors run on a read connection, so ingest is never held up by a scan; the flags are then
    written in one short transaction that compares them with what is stored at that moment.
    """
    try:
        with ledger.engine.connect() as conn:
            head = _head(conn)
            start = 0 if full else scanned_to(conn)
            if start == head and not full:
                total = len(conn.execute(select(schema.risk_flags.c.id)).all())
                return ScanResult(start, head, (), (), total)
            if full:
                _FACTS.pop(ledger, None)
            facts = load_facts(ledger, conn, head)
            found = compute_flags(facts, conn, cfg)
        with begin_write(ledger.engine) as conn:
            if full:
                conn.execute(delete(schema.risk_flag_links))
                conn.execute(delete(schema.risk_flags))
            stored = {
                row.id: row.body
                for row in conn.execute(select(schema.risk_flags.c.id, schema.risk_flags.c.body))
            }
            new = [f for fid, f in found.items() if fid not in stored]
            changed = [f for fid, f in found.items() if fid in stored and stored[fid] != f.stored()]
            _store(conn, new, changed, head)
            if scanned_to(conn) <= head:
                _remember(conn, head)
            return ScanResult(
                start,
                head,
                tuple(sorted(f.id for f in new)),
                tuple(sorted(f.id for f in changed)),
                len(stored) + len(new),
            )
    except SQLAlchemyError as exc:
        raise StorageError(f"the risk scan could not be stored: {exc.__class__.__name__}: {exc}") from exc


def _links(flag: RiskFlag) -> list[dict[str, str]]:
    rows = [{"flag": flag.id, "kind": "lot", "value": v} for v in flag.lots]
    rows += [{"flag": flag.id, "kind": "participant", "value": v} for v in flag.participants]
    rows += [{"flag": flag.id, "kind": "country", "value": v} for v in flag.countries]
    return rows


def _store(conn: Connection, new: list[RiskFlag], changed: list[RiskFlag], head: int) -> None:
    table = schema.risk_flags
    if new:
        conn.execute(
            insert(table),
            [
                {
                    "id": f.id,
                    "detector": f.detector,
                    "severity": f.severity,
                    "subject_kind": f.subject_kind,
                    "subject_id": f.subject_id,
                    "period": f.period,
                    "raised_at": head,
                    "body": f.stored(),
                }
                for f in new
            ],
        )
    for f in changed:
        conn.execute(update(table).where(table.c.id == f.id).values(severity=f.severity, body=f.stored()))
        conn.execute(delete(schema.risk_flag_links).where(schema.risk_flag_links.c.flag == f.id))
    links = [row for f in [*new, *changed] for row in _links(f)]
    for start in range(0, len(links), 1000):
        conn.execute(insert(schema.risk_flag_links), links[start : start + 1000])


def _remember(conn: Connection, head: int) -> None:
    table = schema.risk_scan
    if conn.execute(select(table.c.name).where(table.c.name == SCANNED)).first() is None:
        conn.execute(insert(table).values(name=SCANNED, value=str(head)))
    else:
        conn.execute(update(table).where(table.c.name == SCANNED).values(value=str(head)))
