"""The root ``adamas`` Typer application that every command group registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="adamas",
    help="Adamas: open, tamper-evident track-and-trace for natural diamonds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
