"""The public face of adamas.log: what it exports, and that every error code it raises is documented."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import adamas.log

LOG_PACKAGE = Path(adamas.log.__file__).parent
MODULES = sorted(p for p in LOG_PACKAGE.glob("*.py") if p.name != "__init__.py")


def _raised_codes(path: Path) -> set[str]:
    """Every string literal passed as ``code=`` in a module."""
    codes = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
            codes.add(str(node.value.value))
    return codes


def test_package_exports_are_unique_and_importable() -> None:
    assert len(adamas.log.__all__) == len(set(adamas.log.__all__))
    for name in adamas.log.__all__:
        assert hasattr(adamas.log, name), name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_exports_exist(path: Path) -> None:
    module = importlib.import_module(f"adamas.log.{path.stem}")
    for name in module.__all__:
        assert hasattr(module, name), name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_raised_error_code_is_listed_in_its_module_docstring(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    documented = set(re.findall(r"``((?:log|note)\.[a-z0-9_]+)``", docstring))
    assert _raised_codes(path) <= documented


def test_error_codes_are_dotted_and_namespaced() -> None:
    codes = set().union(*(_raised_codes(p) for p in MODULES))
    assert codes
    assert all(re.fullmatch(r"(log|note)\.[a-z0-9_]+", code) for code in codes), codes
