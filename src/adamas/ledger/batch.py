"""The state a batch sees: records loaded from the database once, changed in memory, written at the end.

``BatchState`` implements the rules' ``State`` port. Each event runs between ``begin_event`` and either
``end_event`` (kept) or ``undo_event`` (refused: every change it made is reverted), so that a refused event
leaves no trace even in ``proceed`` mode. ``write`` then stores all kept changes with one ``executemany``
per table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Final

from sqlalchemy import Connection, bindparam, or_, select, update

from adamas.model.events import Event, parse_envelope
from adamas.model.records import (
    Attestation,
    Backfill,
    Certificate,
    Correction,
    CountryStatus,
    Flag,
    Key,
    LedgerSettings,
    Lot,
    Participant,
    Sanction,
    Shipment,
    Site,
)
from adamas.model.values import MAX_CARATS, MAX_MONEY, MAX_STONES, check_stored
from adamas.store import schema
from adamas.store.bulk import insert_rows, update_rows
from adamas.store.rows import (
    TABLES,
    attestation_to_row,
    country_status_from_row,
    country_status_to_row,
    history_text,
    load,
    sanction_from_row,
    sanction_to_row,
)

__all__ = ["REGISTRY_KINDS", "BatchState", "Registry"]

_ABSENT: Final = object()
REGISTRY_KINDS: Final = ("participant", "key", "site")
Registry = dict[str, dict[str, Any]]
"""Records by kind and id, ``None`` for an id known to be absent."""


class BatchState:
    """A write-back cache of ledger state over one database transaction."""

    def __init__(self, conn: Connection, *, registry: Registry | None = None) -> None:
        self._conn = conn
        self._cache: dict[str, dict[str, Any]] = {kind: {} for kind in TABLES}
        self._stored: dict[str, set[str]] = {kind: set() for kind in TABLES}
        for kind, records in (registry or {}).items():
            self._cache[kind] = dict(records)
            self._stored[kind] = {record_id for record_id, record in records.items() if record is not None}
        self._dirty: dict[str, set[str]] = {kind: set() for kind in TABLES}
        self._undo: list[tuple[str, str, Any, bool]] = []
        self._touched: dict[str, None] = {}
        self._event_flags: list[Flag] = []
        self._admin: str | object | None = _ABSENT
        self.lot_leaves: dict[str, list[int]] = {}
        """The leaves of the batch's events that touched each lot (appended to its history at ``write``)."""
        self.flags: list[dict[str, Any]] = []
        self._statuses: dict[str, list[CountryStatus]] | None = None
        self._sanctions: list[Sanction] | None = None
        self._new_statuses: list[CountryStatus] = []
        self._new_sanctions: list[Sanction] = []
        self._new_attestations: list[Attestation] = []
        self._new_corrections: list[Correction] = []
        self.rows_written = 0
        """How many of the batch's event rows are already stored (a correction stores them early)."""
        self.stale = False
        """True once a correction rewrote the state tables underneath this cache."""
        self._signed: list[tuple[str, str, int]] = []
        self._seq = 0
        self._settings: LedgerSettings | None = None
        self._windows_loaded = False

    # --- loading ----------------------------------------------------------------------------------------

    def preload(self, kind: str, ids: Iterable[str]) -> None:
        """Load the records of ``kind`` with these ids (those not yet cached) in bulk."""
        cache = self._cache[kind]
        wanted = [i for i in ids if i not in cache]
        if not wanted:
            return
        table, convert, _ = TABLES[kind]
        found = load(self._conn, table, wanted, convert)
        for record_id in wanted:
            cache[record_id] = found.get(record_id)
        self._stored[kind].update(found)

    def _get(self, kind: str, record_id: str) -> Any:
        cache = self._cache[kind]
        if record_id not in cache:
            self.preload(kind, [record_id])
        return cache[record_id]

    def _put(self, kind: str, record_id: str, record: Any) -> None:
        previous = self._get(kind, record_id)
        self._undo.append((kind, record_id, previous, record_id in self._dirty[kind]))
        self._cache[kind][record_id] = record
        self._dirty[kind].add(record_id)
        if kind == "lot":
            self._touched[record_id] = None

    # --- the State port -----------------------------------------------------------------------------------

    def participant(self, participant_id: str) -> Participant | None:
        record: Participant | None = self._get("participant", participant_id)
        return record

    def key(self, key_id: str) -> Key | None:
        record: Key | None = self._get("key", key_id)
        return record

    def site(self, site_id: str) -> Site | None:
        record: Site | None = self._get("site", site_id)
        return record

    def lot(self, lot_id: str) -> Lot | None:
        record: Lot | None = self._get("lot", lot_id)
        return record

    def shipment(self, shipment_id: str) -> Shipment | None:
        record: Shipment | None = self._get("shipment", shipment_id)
        return record

    def administrator(self) -> str | None:
        if self._admin is _ABSENT:
            table = schema.participants
            row = self._conn.execute(
                select(table.c.id).where(table.c.roles.like("%administrator%")).limit(1)
            ).first()
            self._admin = row.id if row is not None else None
        return self._admin if isinstance(self._admin, str) else None

    def country_statuses(self, country: str) -> list[CountryStatus]:
        if self._statuses is None:
            # All of them in one query (a batch asks for most countries; the table holds a few rows per
            # country): one round trip instead of one per country.
            self._statuses = {}
            for row in self._conn.execute(select(schema.country_statuses)):
                self._statuses.setdefault(row.country, []).append(country_status_from_row(row))
        return list(self._statuses.get(country, ()))

    def sanctions(self) -> list[Sanction]:
        if self._sanctions is None:
            rows = self._conn.execute(select(schema.sanctions).order_by(schema.sanctions.c.id)).all()
            self._sanctions = [sanction_from_row(row) for row in rows]
        return list(self._sanctions)

    def certificate(self, number: str) -> Certificate | None:
        record: Certificate | None = self._get("certificate", number)
        return record

    def events_signed_since(self, key_id: str, time_ns: int) -> list[str]:
        table = schema.events
        # Only what was logged before this event: a replay must flag what the first run flagged. Declared
        # or logged at or after the instant: a backdated declaration hides nothing.
        stmt = (
            select(table.c.event_id)
            .where(
                table.c.key_id == key_id,
                or_(table.c.time_ns >= time_ns, table.c.logged_ns >= time_ns),
                table.c.seq < self._seq,
            )
            .order_by(table.c.seq)
        )
        stored = [row.event_id for row in self._conn.execute(stmt)]
        batch = [event for event, key, when in self._signed if key == key_id and when >= time_ns]
        return list(dict.fromkeys(stored + batch))

    def event_logged(self, event_id: str) -> bool:
        if any(event == event_id for event, _, _ in self._signed):
            return True
        table = schema.events
        stmt = select(table.c.seq).where(table.c.event_id == event_id, table.c.seq < self._seq)
        return self._conn.execute(stmt).first() is not None

    def logged_event(self, event_id: str) -> Event | None:
        table = schema.events
        row = self._conn.execute(
            select(table.c.envelope, table.c.logged_ns, table.c.backfill).where(
                table.c.event_id == event_id, table.c.seq < self._seq
            )
        ).first()
        if row is None:
            return None
        event = parse_envelope(bytes(row.envelope)).event
        return replace(event, logged_ns=row.logged_ns, backfill=row.backfill)

    def settings(self) -> LedgerSettings:
        if self._settings is None:
            # The settings are fixed by the genesis event (leaf 0).
            table = schema.events
            row = self._conn.execute(select(table.c.envelope).where(table.c.seq == 0)).first()
            days = None
            if row is not None:
                days = parse_envelope(bytes(row.envelope)).event.fields.get("backdate_allowance_days")
            self._settings = LedgerSettings() if days is None else LedgerSettings(days * 86_400 * 10**9)
        return self._settings

    def put_settings(self, settings: LedgerSettings) -> None:
        self._settings = settings

    def backfills(self) -> list[Backfill]:
        if not self._windows_loaded:
            table, convert, _ = TABLES["backfill"]
            for row in self._conn.execute(select(table)):
                if row.id not in self._cache["backfill"]:
                    self._cache["backfill"][row.id] = convert(row)
                    self._stored["backfill"].add(row.id)
            self._windows_loaded = True
        return [w for w in self._cache["backfill"].values() if w is not None]

    def put_backfill(self, backfill: Backfill) -> None:
        self.backfills()
        self._put("backfill", backfill.id, backfill)

    def put_correction(self, correction: Correction) -> None:
        self._new_corrections.append(correction)
        self._undo.append(("correction", correction.event, None, False))

    def touch(self, lot_id: str) -> None:
        self._touched[lot_id] = None

    def put_attestation(self, attestation: Attestation) -> None:
        self._new_attestations.append(attestation)
        if attestation.subject_kind == "lot":
            self._touched[attestation.subject_id] = None  # the lot's history shows its evidence
        self._undo.append(("attestation", attestation.event, None, False))

    def put_country_status(self, status: CountryStatus) -> None:
        self.country_statuses(status.country)
        assert self._statuses is not None
        self._statuses.setdefault(status.country, []).append(status)
        self._new_statuses.append(status)
        self._undo.append(("status", status.country, None, False))

    def put_sanction(self, sanction: Sanction) -> None:
        known = self.sanctions()
        assert self._sanctions is not None
        self._sanctions = [*known, sanction]
        self._new_sanctions.append(sanction)
        self._undo.append(("sanction", sanction.id, None, False))

    def put_certificate(self, certificate: Certificate) -> None:
        self._put("certificate", certificate.number, certificate)

    def put_participant(self, participant: Participant) -> None:
        self._put("participant", participant.id, participant)
        if "administrator" in participant.roles:
            self._undo.append(("admin", "", self._admin, False))
            self._admin = participant.id

    def put_key(self, key: Key) -> None:
        self._put("key", key.id, key)

    def put_site(self, site: Site) -> None:
        self._put("site", site.id, site)

    def put_lot(self, lot: Lot) -> None:
        # Sums the rules compute (merges) stay within the bounds parsed values have, on both backends.
        check_stored(lot.carats, MAX_CARATS, f"lot {lot.id} carats")
        check_stored(lot.stones, MAX_STONES, f"lot {lot.id} stones")
        check_stored(lot.value, MAX_MONEY, f"lot {lot.id} value")
        self._put("lot", lot.id, lot)

    def put_shipment(self, shipment: Shipment) -> None:
        self._put("shipment", shipment.id, shipment)

    def flag(self, flag: Flag) -> None:
        self._event_flags.append(flag)

    # --- per-event transactions -----------------------------------------------------------------------------

    def begin_event(self, seq: int | None = None) -> None:
        """Start recording the changes of one event (to be logged at leaf ``seq``)."""
        if seq is not None:
            self._seq = seq
        if self._undo:
            self._undo = []
        if self._touched:
            self._touched = {}
        if self._event_flags:
            self._event_flags = []

    def end_event(self, seq: int, event_id: str, key_id: str, time_ns: int) -> None:
        """Keep the event's changes, recording the lots it touched and its flags under leaf ``seq``."""
        self._signed.append((event_id, key_id, time_ns))
        leaves = self.lot_leaves
        for lot_id in self._touched:
            if lot_id in leaves:
                leaves[lot_id].append(seq)
            else:
                leaves[lot_id] = [seq]
        for ordinal, flag in enumerate(self._event_flags):
            self.flags.append(
                {
                    "seq": seq,
                    "ordinal": ordinal,
                    "event": flag.event,
                    "code": flag.code,
                    "message": flag.message,
                    "lot": flag.lot,
                    "evidence": json.dumps(flag.evidence, sort_keys=True),
                }
            )
        self.begin_event()

    def undo_event(self) -> None:
        """Revert every change of the current event."""
        for kind, record_id, previous, was_dirty in reversed(self._undo):
            if kind == "admin":
                self._admin = previous
                continue
            if kind == "status":
                assert self._statuses is not None
                self._statuses[record_id].pop()
                self._new_statuses.pop()
                continue
            if kind == "correction":
                self._new_corrections.pop()
                continue
            if kind == "attestation":
                self._new_attestations.pop()
                continue
            if kind == "sanction":
                assert self._sanctions is not None
                self._sanctions.pop()
                self._new_sanctions.pop()
                continue
            self._cache[kind][record_id] = previous
            if not was_dirty:
                self._dirty[kind].discard(record_id)
        self.begin_event()

    def registry(self) -> Registry:
        """Participants, keys and sites as this state knows them (all committed after ``write``).

        A ledger keeps them for its next batch; they are few, and change only through events.
        """
        if self.stale:
            return {}
        return {kind: dict(self._cache[kind]) for kind in REGISTRY_KINDS}

    # --- writing ------------------------------------------------------------------------------------------

    def write(self) -> None:
        """Store every kept change: inserts and updates per table, lot edges, history and flags."""
        conn = self._conn
        edges: list[dict[str, str]] = []
        # Each lot's history gains the leaves of this batch's events that touched it: written with the lot's
        # row when the batch changed the lot (an update appends them to the stored history), or appended on
        # their own when an event only touched it (an attestation about it, a flag).
        touched_by = self.lot_leaves
        only_touched = [
            {"_id": lot_id, "appended": history_text(seqs)}
            for lot_id, seqs in touched_by.items()
            if lot_id not in self._dirty["lot"]
        ]
        if only_touched:
            lots = schema.lots
            conn.execute(
                update(lots)
                .where(lots.c.id == bindparam("_id"))
                .values(history=lots.c.history.concat(bindparam("appended"))),
                only_touched,
            )
        for kind, (table, _, to_row) in TABLES.items():
            new_rows, changed_rows = [], []
            for record_id in sorted(self._dirty[kind]):
                record = self._cache[kind][record_id]
                row = to_row(record)
                if kind == "lot":
                    row["history"] = history_text(touched_by.get(record_id, ()))
                if record_id in self._stored[kind]:
                    row["_id"] = record_id
                    changed_rows.append(row)
                else:
                    new_rows.append(row)
                    if kind == "lot":
                        edges.extend({"parent": p, "child": record_id} for p in record.parents)
            insert_rows(conn, table, new_rows)
            update_rows(conn, table, changed_rows)
            self._stored[kind].update(self._dirty[kind])
            self._dirty[kind].clear()
        insert_rows(conn, schema.lot_edges, edges)
        insert_rows(conn, schema.flags, self.flags)
        insert_rows(conn, schema.country_statuses, [country_status_to_row(s) for s in self._new_statuses])
        insert_rows(conn, schema.sanctions, [sanction_to_row(s) for s in self._new_sanctions])
        insert_rows(conn, schema.attestations, [attestation_to_row(a) for a in self._new_attestations])
        self._new_statuses = []
        self._new_sanctions = []
        self._new_attestations = []
        insert_rows(
            conn,
            schema.corrections,
            [
                {
                    "id": c.event,
                    "target": c.target,
                    "reason": c.reason,
                    "replacement": None
                    if c.replacement is None
                    else json.dumps(c.replacement, sort_keys=True),
                }
                for c in self._new_corrections
            ],
        )
        self._new_corrections = []
        self.lot_leaves = {}
        self.flags = []
