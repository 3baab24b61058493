"""Worlds that exercise the ledger: scripted scenarios with deterministic keys and times."""

from __future__ import annotations

from adamas.sim.world import Actor, World, demo_world

__all__ = ["Actor", "World", "demo_world"]
