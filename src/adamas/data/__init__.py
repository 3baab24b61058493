"""Data that Adamas ships inside the package, read with ``importlib.resources`` (never from a checkout).

``kp/`` is the Kimberley Process data pack: production by country, participants, suspensions and
embargoes, mines; its ``SOURCES.txt`` and ``README.md`` give the provenance and licence of every file.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["kp_data"]


def kp_data() -> Traversable:
    """The KP data pack shipped with Adamas (a folder of CSV files)."""
    return files("adamas.data").joinpath("kp")
