"""The pure domain core: event values, state records, origin arithmetic and the hard rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adamas._lazy import lazy_exports

if TYPE_CHECKING:
    from adamas.model.events import Envelope, Event, parse_body, parse_envelope
    from adamas.model.origin import Origin, apportion, mix
    from adamas.model.records import Flag, Key, Lot, Participant, Shipment, Site
    from adamas.model.rules import apply, authenticate
    from adamas.model.state import MemoryState, State

# Imported on first use (PEP 562): a module that needs only values or records (the read path) does not
# import every event type and rule (CLI start-up, issue 14).
_LAZY = {
    "Envelope": "adamas.model.events",
    "Event": "adamas.model.events",
    "Flag": "adamas.model.records",
    "Key": "adamas.model.records",
    "Lot": "adamas.model.records",
    "MemoryState": "adamas.model.state",
    "Origin": "adamas.model.origin",
    "Participant": "adamas.model.records",
    "Shipment": "adamas.model.records",
    "Site": "adamas.model.records",
    "State": "adamas.model.state",
    "apply": "adamas.model.rules",
    "apportion": "adamas.model.origin",
    "authenticate": "adamas.model.rules",
    "mix": "adamas.model.origin",
    "parse_body": "adamas.model.events",
    "parse_envelope": "adamas.model.events",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "Envelope",
    "Event",
    "Flag",
    "Key",
    "Lot",
    "MemoryState",
    "Origin",
    "Participant",
    "Shipment",
    "Site",
    "State",
    "apply",
    "apportion",
    "authenticate",
    "mix",
    "parse_body",
    "parse_envelope",
]
