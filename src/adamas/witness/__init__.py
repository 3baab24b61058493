"""Witnessing: a C2SP tlog-witness that cosigns the checkpoints of logs it trusts, and a monitor that follows
a log served as C2SP tlog-tiles and raises an alarm on a fork or a rewritten tile.

``Witness`` is the protocol without HTTP (``adamas.witness.witness``); ``adamas.witness.http`` is its HTTP
face, the only place where its refusals become statuses; ``WitnessState`` is its own database;
``adamas.witness.monitor`` is the monitor. The ledger's side (asking witnesses to cosign its checkpoints) is
``adamas.ledger.witnesses``.
"""

from __future__ import annotations

from adamas.witness.request import AddCheckpoint, format_add_checkpoint, parse_add_checkpoint
from adamas.witness.state import LogState, WitnessState
from adamas.witness.witness import Witness

__all__ = [
    "AddCheckpoint",
    "LogState",
    "Witness",
    "WitnessState",
    "format_add_checkpoint",
    "parse_add_checkpoint",
]
