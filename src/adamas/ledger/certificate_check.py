"""Verifying a KP certificate against the log: its status and every field derived from the signed events,
every rule of issue 4 re-checked, and each of its events proven included under the latest signed checkpoint.

This is what a customs officer's scan of the certificate's QR code runs. It trusts neither the operator nor
the certificate table: the certificate, its issuer's and confirmer's roles and countries, and the keys
(their owners and revocations) are read from the signed events, found by the exact bytes their canonical
JSON must hold and checked again after parsing. The stored certificate row is only compared, field by
field, with what the events say. The lots' carats and origin are read from the lots table, which
``adamas audit --replay`` checks against the log.

Status: ``voided`` (a void event), else ``confirmed`` (an import confirmation), else ``used`` (shipped
under it), else ``expired`` (past its expiry by the clock), else ``issued``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, literal, select

from adamas.crypto import verify
from adamas.errors import AdamasError, NotFoundError
from adamas.model.events import Envelope, parse_envelope
from adamas.model.kp import CERTIFICATE_MONTHS, origin_by_country
from adamas.model.kp import _months_later as months_later
from adamas.model.records import ROUGH_KINDS, Certificate
from adamas.model.values import format_hundredths, format_time_ns
from adamas.store import schema
from adamas.store.rows import certificate_to_row, load, lot_from_row

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


@dataclass(frozen=True, slots=True)
class _Logged:
    seq: int
    leaf: bytes
    envelope: Envelope

    @property
    def fields(self) -> dict[str, Any]:
        return self.envelope.event.fields


@dataclass(frozen=True, slots=True)
class _Signer:
    """A participant as its registering event says: country and roles."""

    country: str | None
    roles: tuple[str, ...]


class _Log:
    """The stored events, searched by the bytes their canonical JSON holds."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def containing(self, needle: bytes, types: tuple[str, ...]) -> list[_Logged]:
        """Events of ``types`` (by their signed body) whose envelope holds ``needle``, in log order."""
        envelope = schema.events.c.envelope
        if self.conn.dialect.name == "sqlite":
            found = func.instr(envelope, needle) > 0
        else:
            found = func.position(literal(needle, envelope.type).op("IN")(envelope)) > 0
        rows = self.conn.execute(
            select(schema.events.c.seq, envelope).where(found).order_by(schema.events.c.seq)
        )
        out = []
        for row in rows:
            leaf = bytes(row.envelope)
            try:
                parsed = parse_envelope(leaf)
            except AdamasError:
                continue  # an unreadable stored event is the audit's to name
            if parsed.event.type in types:
                out.append(_Logged(row.seq, leaf, parsed))
        return out

    def signer(self, participant_id: str) -> _Signer | None:
        """The participant as its ``participant.register`` event says (only those sign certificates)."""
        needle = b'"id":' + _json(participant_id) + b',"keys":['
        specs = (
            logged.fields["participant"] for logged in self.containing(needle, ("participant.register",))
        )
        spec = next((spec for spec in specs if spec.id == participant_id), None)
        return None if spec is None else _Signer(spec.country, tuple(spec.roles))

    def key(self, key_id: str) -> tuple[str, bytes, int | None] | None:
        """The key's owner and public key as registered (by ``participant.register`` or ``key.add``), and
        the earliest revocation logged for it by that owner."""
        needle = b'{"id":' + _json(key_id) + b',"public_key":"'
        owners = (
            pair
            for logged in self.containing(needle, ("participant.register", "key.add"))
            for pair in _keys_of(logged)
        )
        found = next(((owner, spec.public_key) for owner, spec in owners if spec.id == key_id), None)
        if found is None:
            return None
        revocations = [
            logged.fields["effective_ns"]
            for logged in self.containing(b'"key_id":' + _json(key_id), ("key.revoke",))
            if logged.fields["key_id"] == key_id and logged.fields["participant"] == found[0]
        ]
        return found[0], found[1], min(revocations, default=None)


def _keys_of(logged: _Logged) -> list[tuple[str, Any]]:
    """The keys an event registers, with their owner."""
    if logged.envelope.event.type == "participant.register":
        participant = logged.fields["participant"]
        return [(participant.id, spec) for spec in participant.keys]
    return [(logged.fields["participant"], logged.fields["new_key"])]


def _json(value: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class _Checks:
    def __init__(self) -> None:
        self.items: list[CertificateCheck] = []

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.items.append(CertificateCheck(name, ok, detail))


def _signed_by(log: _Log, logged: _Logged) -> tuple[bool, str]:
    """The event's signature verifies under a key the log registered for its actor, not revoked then."""
    event = logged.envelope.event
    key = log.key(event.key)
    if key is None or key[0] != event.actor:
        return False, f"key {event.key} is not a key of {event.actor}"
    if not verify(key[1], logged.envelope.body_bytes, logged.envelope.sig):
        return False, f"the signature of {event.id} does not verify"
    if key[2] is not None and event.time_ns >= key[2]:
        return False, f"key {event.key} was revoked with effect {format_time_ns(key[2])}, before {event.time}"
    return True, f"{event.id} signed by {event.actor} with key {event.key}"


def _authority(log: _Log, actor: str, country: str) -> tuple[bool, str]:
    signer = log.signer(actor)
    ok = signer is not None and "authority" in signer.roles and signer.country == country
    roles = ",".join(signer.roles) if signer is not None else "not registered"
    return ok, f"{actor} ({signer.country if signer else '?'}, {roles}) for {country}"


def verify_certificate(ledger: Ledger, number: str, *, now_ns: int | None = None) -> CertificateVerdict:
    """Re-check a certificate from the log; ``valid`` when every check holds. ``now_ns``: the clock that
    judges expiry (default: now)."""
    checks = _Checks()
    seqs: list[tuple[str, _Logged]] = []
    clock = time.time_ns() if now_ns is None else now_ns
    with ledger.read_engine.connect() as conn:
        log = _Log(conn)
        quoted = _json(number)
        issues = [
            logged
            for logged in log.containing(b'"number":' + quoted, ("certificate.issue",))
            if logged.fields["certificate"]["number"] == number
        ]
        row = conn.execute(select(schema.certificates).where(schema.certificates.c.id == number)).first()
        if not issues:
            if row is None:
                raise NotFoundError(
                    f"there is no certificate {number}", code="certificate.unknown", field="number"
                )
            checks.add("issue event logged", False, f"no certificate.issue event for {number} is in the log")
            return CertificateVerdict(number, False, "unknown", tuple(checks.items))
        issue = issues[0]
        checks.add(
            "one issue event",
            len(issues) == 1,
            ", ".join(f"leaf {i.seq}" for i in issues),
        )
        seqs.append(("certificate.issue", issue))
        checks.add("issue signature", *_signed_by(log, issue))
        body = issue.fields["certificate"]
        checks.add(
            "issued by the exporting country's authority",
            *_authority(log, issue.envelope.event.actor, body["exporting_country"]),
        )
        window = body["issued_ns"] < body["expires_ns"] <= months_later(body["issued_ns"], CERTIFICATE_MONTHS)
        checks.add(
            "validity",
            window,
            f"issued {format_time_ns(body['issued_ns'])}, expires {format_time_ns(body['expires_ns'])}",
        )
        _check_lots(conn, checks, body)
        after = [
            logged
            for logged in log.containing(quoted, ("lot.ship", "certificate.confirm", "certificate.void"))
            if logged.seq > issue.seq
        ]
        ships = [
            s for s in after if s.envelope.event.type == "lot.ship" and s.fields.get("certificate") == number
        ]
        confirms = [
            c
            for c in after
            if c.envelope.event.type == "certificate.confirm" and c.fields["number"] == number
        ]
        voids = [
            v for v in after if v.envelope.event.type == "certificate.void" and v.fields["number"] == number
        ]
        status = "issued"
        if ships:
            status = "used"
            _check_ship(log, checks, seqs, body=body, ships=ships, number=number)
        elif clock > body["expires_ns"]:
            status = "expired"
            checks.add("unexpired", False, f"expired {format_time_ns(body['expires_ns'])}, never used")
        if confirms:
            status = "confirmed"
            confirm = confirms[0]
            seqs.append(("certificate.confirm", confirm))
            checks.add(
                "confirmed by the importing country's authority",
                *_authority(log, confirm.envelope.event.actor, body["importing_country"]),
            )
            checks.add(
                "confirmed after the shipment",
                bool(ships) and confirm.seq > ships[0].seq,
                f"{confirm.envelope.event.id} at leaf {confirm.seq}",
            )
            checks.add("confirmation signature", *_signed_by(log, confirm))
        if voids:
            status = "voided"
            checks.add("not void", False, f"voided by {voids[0].envelope.event.id} at leaf {voids[0].seq}")
        expected = _record(issue, ships, confirms, voids)
        stored = None if row is None else dict(row._mapping)
        differing = sorted(k for k in expected if stored is None or stored.get(k) != expected[k])
        checks.add(
            "record matches the signed events",
            not differing,
            "the stored certificate says what the signed events say"
            if not differing
            else "no certificate is stored"
            if stored is None
            else f"the stored certificate differs from the signed events in {', '.join(differing)}",
        )
        size = ledger.size
        count, highest = conn.execute(select(func.count(), func.max(schema.events.c.seq))).one()
        checks.add(
            "every logged event is stored",
            count == size and (highest is None or highest == size - 1),
            f"{count} events stored for a log of {size}",
        )
    # Every event of the certificate is in the log, under the latest checkpoint signed by the log key.
    vkey = ledger.vkey
    for name, logged in seqs:
        try:
            ledger.receipt(logged.seq).verify(vkey, envelope=logged.leaf)
            checks.add(f"{name} included in the log", True, f"leaf {logged.seq} under the latest checkpoint")
        except AdamasError as exc:
            checks.add(f"{name} included in the log", False, f"leaf {logged.seq}: {exc.message}")
    valid = all(c.ok for c in checks.items)
    return CertificateVerdict(number, valid, status, tuple(checks.items))


def _check_lots(conn: Connection, checks: _Checks, body: dict[str, Any]) -> None:
    wanted = list(body["lots"])
    lots = load(conn, schema.lots, wanted, lot_from_row)
    sites = load(conn, schema.sites, {s for lot in lots.values() for s in lot.origin}, lambda r: r)
    checks.add(
        "lots exist and are rough",
        len(lots) == len(wanted) and all(lot.kind in ROUGH_KINDS for lot in lots.values()),
        f"{len(lots)} of {len(wanted)}",
    )
    carats = sum(lot.carats for lot in lots.values())
    checks.add(
        "carats add up",
        carats == body["carats"],
        f"lots {format_hundredths(carats)} ct, certificate {format_hundredths(body['carats'])} ct",
    )
    origin = origin_by_country(
        lots.values(), lambda site_id: sites[site_id].country if site_id in sites else None
    )
    checks.add(
        "origin adds up",
        origin == body["origin"],
        ", ".join(f"{c} {format_hundredths(v)} ct" for c, v in sorted(origin.items())),
    )


def _check_ship(
    log: _Log,
    checks: _Checks,
    seqs: list[tuple[str, _Logged]],
    *,
    body: dict[str, Any],
    ships: list[_Logged],
    number: str,
) -> None:
    ship = ships[0]
    seqs.append(("lot.ship", ship))
    event = ship.envelope.event
    fields = ship.fields
    ok = (
        len(ships) == 1
        and fields["shipment"] == body["shipment"]
        and sorted(fields["lots"]) == sorted(body["lots"])
        and event.actor == body["exporter"]
        and fields["to"] == body["importer"]
    )
    checks.add(
        "one shipment of the certified lots, exporter to importer",
        ok,
        f"{event.id} ({fields['shipment']}) to {fields['to']}; {len(ships)} shipment(s) under {number}",
    )
    checks.add(
        "shipped before expiry",
        event.time_ns <= body["expires_ns"],
        f"shipped {event.time}, expires {format_time_ns(body['expires_ns'])}",
    )
    checks.add("shipment signature", *_signed_by(log, ship))


def _record(
    issue: _Logged, ships: list[_Logged], confirms: list[_Logged], voids: list[_Logged]
) -> dict[str, Any]:
    """The certificate row that the signed events make (as ``adamas.model.kp`` would store it)."""
    c = issue.fields["certificate"]
    confirmation: dict[str, Any] = {}
    if confirms:
        f = confirms[0].fields
        confirmation = {
            "received_carats": format_hundredths(f["received_carats"]),
            "parcels": f["parcels"],
            "seal_intact": f["seal_intact"],
        }
    record = Certificate(
        number=c["number"],
        issuer=issue.envelope.event.actor,
        exporter=c["exporter"],
        importer=c["importer"],
        exporting_country=c["exporting_country"],
        importing_country=c["importing_country"],
        origin=c["origin"],
        carats=c["carats"],
        value=c["value"],
        parcels=c["parcels"],
        hs_code=c["hs_code"],
        issued_ns=c["issued_ns"],
        expires_ns=c["expires_ns"],
        shipment=c["shipment"],
        lots=tuple(c["lots"]),
        event=issue.envelope.event.id,
        void_event=voids[0].envelope.event.id if voids else None,
        used_by=ships[0].fields["shipment"] if ships else None,
        confirmed_event=confirms[0].envelope.event.id if confirms else None,
        confirmation=confirmation,
    )
    return certificate_to_row(record)
