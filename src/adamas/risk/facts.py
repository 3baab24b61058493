"""The facts the detectors and the statistics read, gathered from the log in log order.

Facts are read from the stored events (the signed bodies as logged, or a correction's replacement in their
place) and from the state tables that the ledger derived from them (lot origins and lineage). They grow
incrementally: ``Facts.extend`` reads only the events logged since the last call, so scanning after each
batch costs what the batch added, not the whole log. A correction in the new events rebuilds them from the
start, since it changes the past.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from adamas.model.values import MAX_MONEY, parse_hundredths, parse_time
from adamas.store import schema
from adamas.store.rows import chunks

__all__ = ["Arrival", "Attest", "Certificate", "Facts", "LotInfo", "Manufacture", "Movement", "Production"]


@dataclass(slots=True)
class LotInfo:
    """A lot as the risk reader sees it: kind, parents, origin by mine (hundredths) and by country."""

    id: str
    kind: str
    parents: tuple[str, ...]
    origin: dict[str, int]
    countries: dict[str, int]
    event: str


@dataclass(slots=True)
class Production:
    """A ``lot.register`` at a mine gate."""

    seq: int
    event: str
    time_ns: int
    lot: str
    site: str
    country: str
    actor: str
    carats: int
    value: int | None


@dataclass(slots=True)
class Arrival:
    """A ``lot.receive``: carats as weighed on arrival."""

    seq: int
    event: str
    time_ns: int
    carats: dict[str, int]
    seal_intact: bool


@dataclass(slots=True)
class Movement:
    """A ``lot.ship``, with the carats that left and the declared or certified value."""

    seq: int
    event: str
    time_ns: int
    shipment: str
    sender: str
    sender_country: str | None
    to: str
    to_country: str | None
    lots: tuple[str, ...]
    carats: dict[str, int]
    value: int | None
    certificate: str | None
    arrival: Arrival | None = None

    @property
    def cross_border(self) -> bool:
        """True when the goods leave one country for another."""
        return self.sender_country != self.to_country

    @property
    def total(self) -> int:
        """Carats that left (hundredths)."""
        return sum(self.carats.values())


@dataclass(slots=True)
class Manufacture:
    """A ``lot.manufacture``: rough carats in, polished carats out."""

    seq: int
    event: str
    time_ns: int
    actor: str
    rough: str
    rough_carats: int
    polished: tuple[str, ...]
    polished_carats: int


@dataclass(slots=True)
class Certificate:
    """A ``certificate.issue``."""

    seq: int
    event: str
    time_ns: int
    number: str
    issuer: str
    exporting: str
    importing: str
    carats: int
    value: int
    lots: tuple[str, ...]


@dataclass(slots=True)
class Attest:
    """An ``attest``, or a grading report that finds a stone not natural (``claim`` ``grade.not_natural``)."""

    seq: int
    event: str
    time_ns: int
    actor: str
    subject_kind: str
    subject_id: str
    claim: str
    statement: str
    evidence: tuple[dict[str, str], ...]


@dataclass
class Facts:
    """Everything the detectors need, in log order; ``seq`` is the next leaf to read."""

    seq: int = 0
    countries: dict[str, str | None] = field(default_factory=dict)
    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    lots: dict[str, LotInfo] = field(default_factory=dict)
    carats: dict[str, int] = field(default_factory=dict)
    productions: list[Production] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    shipments: dict[str, Movement] = field(default_factory=dict)
    manufactures: list[Manufacture] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    attests: list[Attest] = field(default_factory=list)
    splits: list[tuple[int, str, int, str, str, int, int]] = field(default_factory=list)
    """(seq, event, time_ns, actor, lot, parent carats, loss), for splits that declare a loss."""
    merges: list[tuple[int, str, int, str, str]] = field(default_factory=list)
    """(seq, event, time_ns, actor, lot made)."""
    event_times: dict[str, int] = field(default_factory=dict)
    event_actor: dict[str, str] = field(default_factory=dict)

    # --- reading ------------------------------------------------------------------------------------------

    def extend(self, conn: Connection, head: int) -> bool:
        """Read the events from ``self.seq`` up to ``head``; False when one is a correction (rebuild)."""
        ev = schema.events
        corrections = _corrections(conn)
        while self.seq < head:
            rows = conn.execute(
                select(ev.c.seq, ev.c.event_id, ev.c.type, ev.c.envelope)
                .where(ev.c.seq >= self.seq, ev.c.seq < head)
                .order_by(ev.c.seq)
                .limit(2000)
            ).all()
            if not rows:
                break
            if self.seq > 0 and any(r.type == "correct" for r in rows):
                return False
            bodies = []
            for row in rows:
                body = json.loads(bytes(row.envelope))["body"]
                if row.event_id in corrections:
                    replacement = corrections[row.event_id]
                    body = {**replacement, "id": body["id"]} if replacement is not None else None
                bodies.append((row.seq, body))
            self._load_lots(conn, _lot_ids(b for _, b in bodies if b is not None))
            for seq, body in bodies:
                if body is not None:
                    self._apply(seq, body)
            self.seq = rows[-1].seq + 1
        return True

    def _load_lots(self, conn: Connection, ids: set[str]) -> None:
        wanted = sorted(i for i in ids if i not in self.lots)
        sites = schema.sites
        lots = schema.lots
        for batch in chunks(wanted):
            for row in conn.execute(
                select(lots.c.id, lots.c.kind, lots.c.parents, lots.c.origin, lots.c.event).where(
                    lots.c.id.in_(batch)
                )
            ):
                origin = {k: int(v) for k, v in json.loads(row.origin).items()}
                self.lots[row.id] = LotInfo(
                    row.id, row.kind, tuple(json.loads(row.parents)), origin, {}, row.event
                )
        unknown = {s for i in wanted if i in self.lots for s in self.lots[i].origin if s not in self.sites}
        site_country: dict[str, str] = {}
        for batch in chunks(sorted(unknown)):
            for site_row in conn.execute(select(sites.c.id, sites.c.country).where(sites.c.id.in_(batch))):
                site_country[site_row.id] = site_row.country
        for lot_id in wanted:
            info = self.lots.get(lot_id)
            if info is None:
                continue
            for site, amount in info.origin.items():
                country = self.sites[site]["country"] if site in self.sites else site_country.get(site, "??")
                info.countries[country] = info.countries.get(country, 0) + amount

    def _apply(self, seq: int, body: dict[str, Any]) -> None:
        kind = body["type"]
        event = body["id"]
        time_ns = parse_time(body["time"], "time")
        self.event_times[event] = time_ns
        self.event_actor[event] = body["actor"]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, seq, event, time_ns, body)

    # --- helpers for detectors ----------------------------------------------------------------------------

    def country_of(self, participant: str) -> str | None:
        """A participant's country (None for the administrator)."""
        return self.countries.get(participant)

    def ancestors(self, lot_id: str) -> list[str]:
        """The lot and every lot it was made from, nearest first."""
        out, seen, stack = [], {lot_id}, [lot_id]
        while stack:
            current = stack.pop(0)
            out.append(current)
            info = self.lots.get(current)
            for parent in info.parents if info else ():
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return out

    def main_origin(self, lot_ids: Iterable[str]) -> str:
        """The origin country holding most carats of these lots (``mixed`` when none holds half)."""
        totals: dict[str, int] = {}
        for lot_id in lot_ids:
            info = self.lots.get(lot_id)
            for country, amount in (info.countries if info else {}).items():
                totals[country] = totals.get(country, 0) + amount
        whole = sum(totals.values())
        if not whole:
            return "unknown"
        country, amount = max(sorted(totals.items()), key=lambda item: item[1])
        return country if 2 * amount >= whole else "mixed"


def _corrections(conn: Connection) -> dict[str, dict[str, Any] | None]:
    out: dict[str, dict[str, Any] | None] = {}
    for row in conn.execute(select(schema.corrections).order_by(schema.corrections.c.id)):
        out[row.target] = json.loads(row.replacement) if row.replacement else None
    return out


def _lot_ids(bodies: Iterable[dict[str, Any]]) -> set[str]:
    ids: set[str] = set()
    for body in bodies:
        for name in ("lot", "lots", "into", "remainder"):
            value = body.get(name)
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, str):
                    ids.add(item)
                elif isinstance(item, dict) and isinstance(item.get("id"), str):
                    ids.add(item["id"])
    return ids


def _h(text: str) -> int:
    # Carats and money of bodies the ingest already bounded; money's bound is the larger of the two.
    return parse_hundredths(text, "carats", allow_zero=True, maximum=MAX_MONEY)


def _money(value: Any) -> int | None:
    return _h(value["amount"]) if isinstance(value, dict) else None


def _participant(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    p: dict[str, Any] = (
        body["participant"] if body["type"] == "participant.register" else body["administrator"]
    )
    f.countries[p["id"]] = p.get("country")
    f.roles[p["id"]] = frozenset(p.get("roles", ("administrator",)))


def _site(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    s = body["site"]
    capacity = s.get("annual_capacity")
    f.sites[s["id"]] = {
        "country": s["country"],
        "kind": s["kind"],
        "operator": s["operator"],
        "annual_capacity": _h(capacity) if capacity else None,
        "event": event,
    }


def _register(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    lot = body["lot"]
    carats = _h(lot["carats"])
    f.carats[lot["id"]] = carats
    site = f.sites.get(lot["site"], {})
    f.productions.append(
        Production(
            seq,
            event,
            time_ns,
            lot["id"],
            lot["site"],
            site.get("country", "??"),
            body["actor"],
            carats,
            _money(lot.get("value")),
        )
    )


def _split(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    for part in body["into"]:
        f.carats[part["id"]] = _h(part["carats"])
    loss = body.get("loss")
    if loss:
        f.splits.append(
            (seq, event, time_ns, body["actor"], body["lot"], f.carats.get(body["lot"], 0), _h(loss))
        )


def _merge(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    into = body["into"]
    carats = into.get("carats")
    f.carats[into["id"]] = _h(carats) if carats else sum(f.carats.get(i, 0) for i in body["lots"])
    f.merges.append((seq, event, time_ns, body["actor"], into["id"]))


def _ship(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    sender, to = body["actor"], body["to"]
    move = Movement(
        seq,
        event,
        time_ns,
        body["shipment"],
        sender,
        f.country_of(sender),
        to,
        f.country_of(to),
        tuple(body["lots"]),
        {i: f.carats.get(i, 0) for i in body["lots"]},
        _money(body.get("value")),
        body.get("certificate"),
    )
    if move.value is None and move.certificate:
        cert = next((c for c in reversed(f.certificates) if c.number == move.certificate), None)
        move.value = cert.value if cert is not None else None
    f.movements.append(move)
    f.shipments[move.shipment] = move


def _receive(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    weighed = {item["id"]: _h(item["carats"]) for item in body["lots"]}
    move = f.shipments.get(body["shipment"])
    if move is not None:
        move.arrival = Arrival(seq, event, time_ns, weighed, bool(body.get("seal_intact", True)))


def _manufacture(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    polished = [(p["id"], _h(p["carats"])) for p in body["into"]]
    for lot_id, carats in polished + [(r["id"], _h(r["carats"])) for r in body.get("remainder", [])]:
        f.carats[lot_id] = carats
    f.manufactures.append(
        Manufacture(
            seq,
            event,
            time_ns,
            body["actor"],
            body["lot"],
            f.carats.get(body["lot"], 0),
            tuple(i for i, _ in polished),
            sum(c for _, c in polished),
        )
    )


def _assemble(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    f.carats[body["into"]["id"]] = sum(f.carats.get(i, 0) for i in body["lots"])


def _grade(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    report = body["report"]
    if report.get("natural") is False:
        f.attests.append(
            Attest(
                seq,
                event,
                time_ns,
                body["actor"],
                "lot",
                body["lot"],
                "grade.not_natural",
                f"grading report {report.get('number')} finds the stone not natural",
                (),
            )
        )


def _attest(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    subject = body["subject"]
    f.attests.append(
        Attest(
            seq,
            event,
            time_ns,
            body["actor"],
            subject["kind"],
            subject["id"],
            body["claim"],
            body["statement"],
            tuple(body.get("evidence", ())),
        )
    )


def _certificate(f: Facts, seq: int, event: str, time_ns: int, body: dict[str, Any]) -> None:
    c = body["certificate"]
    f.certificates.append(
        Certificate(
            seq,
            event,
            time_ns,
            c["number"],
            body["actor"],
            c["exporting_country"],
            c["importing_country"],
            _h(c["carats"]),
            _h(c["value"]["amount"]),
            tuple(c["lots"]),
        )
    )


_HANDLERS = {
    "genesis": _participant,
    "participant.register": _participant,
    "site.register": _site,
    "lot.register": _register,
    "lot.split": _split,
    "lot.merge": _merge,
    "lot.ship": _ship,
    "lot.receive": _receive,
    "lot.manufacture": _manufacture,
    "lot.assemble": _assemble,
    "lot.grade": _grade,
    "attest": _attest,
    "certificate.issue": _certificate,
}
