"""Data that Adamas ships inside the package, read with ``importlib.resources`` (never from a checkout).

``kp/`` is the Kimberley Process data pack: production by country, participants, suspensions and
embargoes, mines; its ``SOURCES.txt`` and ``README.md`` give the provenance and licence of every file.

The pack is read through :class:`~importlib.resources.abc.Traversable` only (``joinpath``, ``read_bytes``),
never through a file-system path, so it reads the same from a source checkout, an installed wheel or a
zipped distribution. Every function that reads it takes an optional other folder with the same file
names (``adamas policy load-kp --data DIR``): a :class:`~pathlib.Path` is a ``Traversable`` too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from adamas.errors import InputError

__all__ = ["KP_FILES", "kp_data", "kp_pack", "kp_rows"]

KP_FILES: Final = (
    "diamond_mines.csv",
    "kp_participants.csv",
    "kp_production_by_country.csv",
    "kp_production_observations.csv",
    "kp_production_world_totals.csv",
    "kp_suspensions_embargoes.csv",
    "kp_trade_observations.csv",
)
"""The CSV files of the KP data pack (each documented in its ``README.md`` and ``SOURCES.txt``)."""


def kp_data() -> Traversable:
    """The KP data pack shipped with Adamas (a folder of CSV files)."""
    return files("adamas.data").joinpath("kp")


def kp_pack(data: Traversable | str | None = None) -> Traversable:
    """The KP data pack to read: the folder ``data`` (a path or a ``Traversable``) if given, else the
    packaged one (:func:`kp_data`)."""
    if data is None:
        return kp_data()
    return Path(data) if isinstance(data, str) else data


def kp_rows(
    name: str, *, data: Traversable | str | None = None, required: Sequence[str] = ()
) -> list[dict[str, str]]:
    """The rows of the pack's CSV file ``name`` (e.g. ``"diamond_mines.csv"``) as dicts of stripped strings.

    ``data`` is another pack folder (default: the packaged one). A file that cannot be read raises
    ``kp.no_data``; one that is not UTF-8 or lacks a column named in ``required`` raises ``kp.bad_data``.
    """
    resource = kp_pack(data).joinpath(name)
    try:
        raw = resource.read_bytes()
    except OSError as exc:  # FileNotFoundError, IsADirectoryError, PermissionError, ...
        raise InputError(
            f"cannot read {name} of the KP data pack at {kp_pack(data)}: {exc.strerror or exc}",
            code="kp.no_data",
            field="data",
        ) from exc
    try:
        # utf-8-sig: a pack edited in a spreadsheet often gains a byte-order mark before the first column.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text: {exc.reason}", code="kp.bad_data", field=name) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as exc:
        raise InputError(f"{name} is not CSV: {exc}", code="kp.bad_data", field=name) from exc
    if missing:
        raise InputError(f"{name} lacks the column(s) {', '.join(missing)}", code="kp.bad_data", field=name)
    return rows
