"""The Jinja2 environment of the pages: templates shipped in ``adamas/web/templates``, autoescaped."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from adamas import __version__

__all__ = ["render"]


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _label(value: str) -> str:
    return value.replace("_", " ")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adamas.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = _percent
    env.filters["label"] = _label
    env.globals["version"] = __version__
    return env


def render(template: str, **values: Any) -> str:
    """The page ``template`` rendered with ``values``."""
    return _environment().get_template(template).render(**values)
