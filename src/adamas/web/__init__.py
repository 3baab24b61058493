"""The web pages: server-rendered (Jinja2) HTML over the ``Ledger`` API and the risk service.

``mount(app)`` adds the pages, their JSON twins under /v1 and the vendored static assets (``static/``,
provenance in ``static/SOURCES.txt``) to the HTTP service. Pages read without JavaScript; only the
in-browser verification (``static/verify.js``) needs it. ``certificate_print`` renders the printed KP
certificate.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Serve the pages, their JSON twins and ``/static`` from ``app``."""
    # Imported here: adamas.api imports this package, and the CLI imports certificate_print alone.
    from fastapi import Depends
    from fastapi.staticfiles import StaticFiles

    from adamas.api.deps import access_policy
    from adamas.web.routes import api_router, pages_router

    static = resources.files("adamas.web").joinpath("static")
    app.include_router(api_router, dependencies=[Depends(access_policy)])
    app.include_router(pages_router, dependencies=[Depends(access_policy)])
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
