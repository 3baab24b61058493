"""Verifying a KP certificate against the log: every rule of issue 4 re-checked from the stored events,
and each of the certificate's events proven included under the latest signed checkpoint.

This is what a customs officer's scan of the certificate's QR code runs: it trusts neither the state
tables nor the operator, only the events (whose signatures it checks again) and the log key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from adamas.crypto import verify
from adamas.errors import AdamasError, NotFoundError
from adamas.model.events import Envelope, parse_envelope
from adamas.model.kp import kp_participant, origin_by_country
from adamas.model.records import ROUGH_KINDS
from adamas.model.values import format_hundredths, format_time_ns
from adamas.store import schema
from adamas.store.rows import certificate_from_row, load, lot_from_row

if TYPE_CHECKING:
    from adamas.ledger.ledger import Ledger

__all__ = ["CertificateCheck", "CertificateVerdict", "verify_certificate"]


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """One re-checked rule: its name, whether it holds, and what was found."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class CertificateVerdict:
    """The outcome of verifying one certificate."""

    number: str
    valid: bool
    status: str
    checks: tuple[CertificateCheck, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "number": self.number,
            "valid": self.valid,
            "status": self.status,
            "checks": [c.to_json() for c in self.checks],
        }


class _Checks:
    def __init__(self) -> None:
        self.items: list[CertificateCheck] = []

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.items.append(CertificateCheck(name, ok, detail))


def _event(conn: Connection, event_id: str) -> tuple[int, bytes, Envelope] | None:
    row = conn.execute(
        select(schema.events.c.seq, schema.events.c.envelope).where(schema.events.c.event_id == event_id)
    ).first()
    if row is None:
        return None
    leaf = bytes(row.envelope)
    return row.seq, leaf, parse_envelope(leaf)


def _signed_by(conn: Connection, envelope: Envelope) -> tuple[bool, str]:
    """Re-verify an event's signature with the stored key of its actor, and that the key was valid then."""
    event = envelope.event
    row = conn.execute(select(schema.keys).where(schema.keys.c.id == event.key)).first()
    if row is None or row.participant != event.actor:
        return False, f"key {event.key} is not a key of {event.actor}"
    if not verify(bytes(row.public_key), envelope.body_bytes, envelope.sig):
        return False, f"the signature of {event.id} does not verify"
    if row.revoked_ns is not None and event.time_ns >= row.revoked_ns:
        return False, f"key {event.key} was revoked before {event.time}"
    return True, f"{event.id} signed by {event.actor} with key {event.key}"


def verify_certificate(ledger: Ledger, number: str) -> CertificateVerdict:
    """Re-check a certificate from the log; ``valid`` when every check holds."""
    checks = _Checks()
    seqs: list[tuple[str, int, bytes]] = []
    with ledger.read_engine.connect() as conn:
        row = conn.execute(select(schema.certificates).where(schema.certificates.c.id == number)).first()
        if row is None:
            raise NotFoundError(
                f"there is no certificate {number}", code="certificate.unknown", field="number"
            )
        cert = certificate_from_row(row)
        found = _event(conn, cert.event)
        if found is None:
            checks.add("issue event logged", False, f"event {cert.event} is not in the log")
            return CertificateVerdict(number, False, "unknown", tuple(checks.items))
        seq, leaf, issue = found
        seqs.append(("certificate.issue", seq, leaf))
        ok, detail = _signed_by(conn, issue)
        checks.add("issue signature", ok, detail)
        body = issue.event.fields["certificate"]
        same = (
            body["number"] == cert.number
            and body["carats"] == cert.carats
            and body["origin"] == cert.origin
            and tuple(body["lots"]) == cert.lots
            and body["exporter"] == cert.exporter
            and body["importer"] == cert.importer
            and body["shipment"] == cert.shipment
        )
        checks.add(
            "record matches the signed event",
            same,
            "the stored certificate says what the signed issue event says"
            if same
            else "the stored certificate differs from its signed issue event",
        )
        issuer = load(conn, schema.participants, [issue.event.actor], lambda r: r).get(issue.event.actor)
        authority = (
            issuer is not None
            and "authority" in issuer.roles.split(",")
            and (issuer.country == cert.exporting_country)
        )
        checks.add(
            "issued by the exporting country's authority",
            authority,
            f"{issue.event.actor} ({issuer.country if issuer else '?'}) for {cert.exporting_country}",
        )
        window = cert.issued_ns < cert.expires_ns
        checks.add(
            "validity",
            window,
            f"issued {format_time_ns(cert.issued_ns)}, expires {format_time_ns(cert.expires_ns)}",
        )
        lots = load(conn, schema.lots, cert.lots, lot_from_row)
        sites = load(conn, schema.sites, {s for lot in lots.values() for s in lot.origin}, lambda r: r)
        carats = sum(lot.carats for lot in lots.values())
        origin = origin_by_country(
            lots.values(), lambda site_id: sites[site_id].country if site_id in sites else None
        )
        checks.add(
            "lots exist and are rough",
            len(lots) == len(cert.lots) and all(lot.kind in ROUGH_KINDS for lot in lots.values()),
            f"{len(lots)} of {len(cert.lots)}",
        )
        checks.add(
            "carats add up",
            carats == cert.carats,
            f"lots {format_hundredths(carats)} ct, certificate {format_hundredths(cert.carats)} ct",
        )
        checks.add(
            "origin adds up",
            origin == cert.origin,
            ", ".join(f"{c} {format_hundredths(v)} ct" for c, v in sorted(origin.items())),
        )
        status = "issued"
        if cert.used_by is not None:
            status = "shipped"
            shipment = conn.execute(
                select(schema.shipments).where(schema.shipments.c.id == cert.used_by)
            ).first()
            ship = _event(conn, shipment.event) if shipment is not None else None
            if ship is None:
                checks.add("shipment", False, f"shipment {cert.used_by} has no logged event")
            else:
                seqs.append(("lot.ship", ship[0], ship[1]))
                fields = ship[2].event.fields
                ok = (
                    fields["certificate"] == number
                    and sorted(fields["lots"]) == sorted(cert.lots)
                    and ship[2].event.actor == cert.exporter
                    and fields["to"] == cert.importer
                    and ship[2].event.time_ns <= cert.expires_ns
                )
                checks.add(
                    "one shipment, the certified lots, before expiry",
                    ok,
                    f"{ship[2].event.id} at {ship[2].event.time} to {fields['to']}",
                )
                checks.add("shipment signature", *_signed_by(conn, ship[2]))
        if cert.confirmed_event is not None:
            status = "confirmed"
            confirm = _event(conn, cert.confirmed_event)
            if confirm is not None:
                seqs.append(("certificate.confirm", confirm[0], confirm[1]))
                confirmer = load(conn, schema.participants, [confirm[2].event.actor], lambda r: r).get(
                    confirm[2].event.actor
                )
                ok = (
                    confirmer is not None
                    and confirmer.country == cert.importing_country
                    and (kp_participant(confirmer.country) == kp_participant(cert.importing_country))
                )
                checks.add("confirmed by the importing country's authority", ok, f"{confirm[2].event.id}")
                checks.add("confirmation signature", *_signed_by(conn, confirm[2]))
        if cert.void_event is not None:
            status = "void"
            checks.add("not void", False, f"voided by {cert.void_event}")
    # Every event of the certificate is in the log, under the latest checkpoint signed by the log key.
    vkey = ledger.vkey
    for name, seq, leaf in seqs:
        try:
            ledger.receipt(seq).verify(vkey, envelope=leaf)
            checks.add(f"{name} included in the log", True, f"leaf {seq} under the latest checkpoint")
        except AdamasError as exc:
            checks.add(f"{name} included in the log", False, f"leaf {seq}: {exc.message}")
    valid = all(c.ok for c in checks.items)
    return CertificateVerdict(number, valid, status, tuple(checks.items))
