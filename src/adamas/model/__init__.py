"""The pure domain core: event values, state records, origin arithmetic and the hard rules."""

from __future__ import annotations

from adamas.model.events import Envelope, Event, parse_body, parse_envelope
from adamas.model.origin import Origin, apportion, mix
from adamas.model.records import Flag, Key, Lot, Participant, Shipment, Site
from adamas.model.rules import apply, authenticate
from adamas.model.state import MemoryState, State

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
