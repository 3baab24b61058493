"""Exports imported on first use (PEP 562), so that importing a package does not import all it offers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``: each name of ``table`` is imported from its
    module on first use and kept in the package's namespace, so later uses cost nothing."""
    namespace = sys.modules[package].__dict__

    def attribute(name: str) -> Any:
        if name in table:
            value = getattr(import_module(table[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def names() -> list[str]:
        return sorted(set(namespace) | set(table))

    return attribute, names
