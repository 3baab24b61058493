"""The verification bundle: everything a browser needs to check a lot's lineage (or a certificate) against
the log on its own: the cosigned checkpoint, the witnesses' keys, every envelope with its inclusion proof,
and the signers' public keys with the events that registered them.

The browser trusts none of it but the log's key printed on the page (and the witness keys it lists):
``static/verify.js`` re-derives every hash and checks every signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from adamas.errors import NotFoundError
from adamas.ledger import Ledger
from adamas.ledger.certificate_doc import certificate_view
from adamas.ledger.views import StoredEvent

__all__ = ["MAX_EVENTS", "certificate_bundle", "checkpoint_size", "lot_bundle"]

# A lineage reaching further than this is checked with `adamas log audit`, not in a phone's browser.
MAX_EVENTS: Final = 2000


def checkpoint_size(note: str) -> int:
    """The tree size a checkpoint note commits to (its second line)."""
    return int(note.split("\n", 2)[1])


def _bundle(ledger: Ledger, subject: dict[str, str], event_ids: Iterable[str]) -> dict[str, Any]:
    note = ledger.cosigned_checkpoint()
    size = checkpoint_size(note)
    wanted = list(dict.fromkeys(event_ids))[:MAX_EVENTS]
    stored: dict[str, StoredEvent] = {e: ledger.event(e) for e in wanted}
    keys: dict[str, dict[str, Any]] = {}
    # The signers' keys, the events that registered them, and so on up to the genesis (whose signer
    # registered itself): every key the browser uses was itself logged.
    seen: set[str] = set()
    while todo := sorted({e.actor for e in stored.values()} - seen):
        for actor in todo:
            seen.add(actor)
            try:
                participant = ledger.participant(actor)
            except NotFoundError:
                continue
            registered = participant.registered_by
            if registered is not None and registered.id not in stored:
                stored[registered.id] = ledger.event(registered.id)
            for key in participant.keys:
                keys[key.id] = {
                    "id": key.id,
                    "participant": actor,
                    "public_key": key.public_key,
                    "registered_by": None if registered is None else registered.id,
                }
    provable = sorted((e for e in stored.values() if e.index < size), key=lambda e: e.index)
    return {
        "subject": subject,
        "log": {"origin": ledger.origin, "vkey": ledger.vkey},
        "checkpoint": note,
        "size": size,
        "witnesses": [{"name": w.name, "vkey": w.vkey} for w in ledger.witnesses()],
        "keys": sorted(keys.values(), key=lambda k: k["id"]),
        "events": [
            {
                "index": e.index,
                "id": e.id,
                "type": e.type,
                "actor": e.actor,
                "envelope": e.envelope.decode("utf-8"),
                "proof": [h.hex() for h in ledger.prove(e.index, size=size)],
            }
            for e in provable
        ],
        "pending": sorted(e.id for e in stored.values() if e.index >= size),
        "truncated": len(dict.fromkeys(event_ids)) > MAX_EVENTS,
    }


def lot_bundle(ledger: Ledger, lot_id: str) -> dict[str, Any]:
    """The bundle of every event that touched the lot or any lot it came from."""
    trace = ledger.trace(lot_id, direction="backward")
    ids: list[str] = []
    for node in trace.nodes:
        ids.extend(entry.id for entry in ledger.history(node.lot.id))
    return _bundle(ledger, {"kind": "lot", "id": lot_id}, ids)


def certificate_bundle(ledger: Ledger, number: str) -> dict[str, Any]:
    """The bundle of a certificate's issue event (and its confirmation or voiding, when logged)."""
    with ledger.read_engine.connect() as conn:
        view = certificate_view(conn, number)
    ids = [e for e in (view.event, view.confirmed_event, view.void_event) if e is not None]
    return _bundle(ledger, {"kind": "certificate", "id": view.number}, ids)
