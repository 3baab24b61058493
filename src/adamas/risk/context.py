"""What the detectors need besides the facts: high-risk origins, compromised keys, the KP's own figures.

Loaded afresh at every scan (a few small queries): country standing and sanctions from the state tables,
events resting on a revoked key from ``events`` joined with ``keys``, and the published KP production of
each country and year from the data pack shipped with Adamas (``adamas.data.kp_data``).
"""

from __future__ import annotations

import csv
import functools
import io
import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from adamas.data import kp_data
from adamas.model.values import MAX_MONEY, parse_hundredths
from adamas.store import schema
from adamas.store.rows import history_seqs

__all__ = ["CompromisedEvent", "Context", "kp_published", "load_context"]


@dataclass(frozen=True, slots=True)
class CompromisedEvent:
    """An event signed by a key at or after the instant its revocation took effect."""

    event: str
    key: str
    participant: str
    time_ns: int
    lots: tuple[str, ...]


@dataclass
class Context:
    """High-risk origin countries (with why), compromised events, published KP production."""

    high_risk: dict[str, str] = field(default_factory=dict)
    compromised: list[CompromisedEvent] = field(default_factory=list)
    kp_production: dict[tuple[str, int], tuple[int, int | None]] = field(default_factory=dict)
    """(ISO2 country, year) -> (carats in hundredths, USD cents or None), as the KP published them."""


def load_context(conn: Connection, *, extra_high_risk: tuple[str, ...] = ()) -> Context:
    """The context of a scan, read from the ledger's tables and the data pack."""
    ctx = Context(kp_production=kp_published())
    statuses = schema.country_statuses
    for row in conn.execute(select(statuses).order_by(statuses.c.effective_ns, statuses.c.id)):
        if row.status in ("suspended", "non_participant"):
            ctx.high_risk[row.country] = f"KP status {row.status}: {row.reason}"
        else:
            ctx.high_risk.pop(row.country, None)
    for row in conn.execute(select(schema.sanctions).order_by(schema.sanctions.c.id)):
        for country in json.loads(row.origin_countries):
            ctx.high_risk.setdefault(country, f"sanctioned origin ({row.id}): {row.reason}")
    for country in extra_high_risk:
        ctx.high_risk.setdefault(country, "listed as high risk in the risk configuration")
    ev, keys = schema.events, schema.keys
    stmt = (
        select(ev.c.seq, ev.c.event_id, ev.c.key_id, ev.c.time_ns, keys.c.participant)
        .join(keys, keys.c.id == ev.c.key_id)
        .where(keys.c.revoked_ns.is_not(None), ev.c.time_ns >= keys.c.revoked_ns)
        .order_by(ev.c.seq)
    )
    rows = conn.execute(stmt).all()
    lots: dict[int, list[str]] = {}
    if rows:
        # The lots each of those events touched: the lots whose history holds its leaf (one pass over the
        # lots' histories, only when some key signed after its revocation).
        wanted = {r.seq for r in rows}
        for lot_row in conn.execute(select(schema.lots.c.id, schema.lots.c.history)):
            for seq in wanted.intersection(history_seqs(lot_row.history)):
                lots.setdefault(seq, []).append(lot_row.id)
    ctx.compromised = [
        CompromisedEvent(r.event_id, r.key_id, r.participant, r.time_ns, tuple(sorted(lots.get(r.seq, []))))
        for r in rows
    ]
    return ctx


@functools.cache
def _iso3_to_iso2() -> dict[str, str]:
    text = kp_data().joinpath("kp_participants.csv").read_text(encoding="utf-8")
    return {row["iso3"]: row["iso2"] for row in csv.DictReader(io.StringIO(text)) if row["iso2"]}


@functools.cache
def kp_published() -> dict[tuple[str, int], tuple[int, int | None]]:
    """Published KP production: (ISO2, year) -> (carats, USD) in hundredths, from the data pack."""
    text = kp_data().joinpath("kp_production_by_country.csv").read_text(encoding="utf-8")
    iso2 = _iso3_to_iso2()
    out: dict[tuple[str, int], tuple[int, int | None]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = iso2.get(row["iso3"])
        if not code or not row["volume_carats"] or "do not add" in row["note"]:
            continue
        # Published national figures, not event values: a country's year is bounded like money, not a lot.
        carats = parse_hundredths(row["volume_carats"], "volume_carats", allow_zero=True, maximum=MAX_MONEY)
        value = (
            parse_hundredths(row["value_usd"], "value_usd", allow_zero=True, maximum=MAX_MONEY)
            if row["value_usd"]
            else None
        )
        out[(code, int(row["year"]))] = (carats, value)
    return out
