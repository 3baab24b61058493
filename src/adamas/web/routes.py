"""The pages (HTML, server-rendered) and their JSON twins under /v1.

Page routes catch ``AdamasError`` and answer an HTML error page with the status the API would give; the
JSON twins let it reach the API's problem+json handlers. Every page sends a Content-Security-Policy that
allows nothing but this server.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adamas.api.deps import LedgerDep
from adamas.api.errors import status_of
from adamas.api.routes._common import problems
from adamas.errors import AdamasError
from adamas.ledger.certificate_doc import certificate_view, country_name
from adamas.web import context, reads
from adamas.web.bundle import certificate_bundle, lot_bundle
from adamas.web.svg import bar_chart, lineage_graph, origin_map
from adamas.web.templating import render

__all__ = ["api_router", "pages_router"]

pages_router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["pages"])

CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
LotId = Annotated[str, Path(max_length=256)]
Number = Annotated[str, Path(max_length=64)]
CountryCode = Annotated[str, Path(max_length=8)]
Filter = Annotated[str | None, Query(max_length=64)]


def _page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    response = HTMLResponse(render(template, request=request, **values), status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _error(request: Request, error: AdamasError) -> HTMLResponse:
    status, title = status_of(error)
    return _page(request, "error.html", status, title=title, error=context.safe(error))


def _blank(value: str | None) -> str | None:
    return value if value else None


# --- pages ------------------------------------------------------------------------------------------------


@pages_router.get("/", response_class=HTMLResponse)
def home(request: Request, ledger: LedgerDep) -> Response:
    """The ledger at a glance and a search box."""
    data = context.overview(ledger)
    activity = data["activity"]
    chart = bar_chart(
        "Events logged, by kind", activity["periods"], context.activity_groups(activity["types"])
    )
    return _page(request, "home.html", data=data, chart=chart, twin="/v1/overview")


@pages_router.get("/search", response_class=HTMLResponse)
def search(request: Request, ledger: LedgerDep, q: Annotated[str, Query(max_length=256)] = "") -> Response:
    """Straight to the lot, certificate or participant named exactly; otherwise a list of matches."""
    term = q.strip()
    found = reads.find(ledger, term) if term else {"lots": [], "certificates": [], "participants": []}
    exact = [f"/lots/{quote(x['id'], safe='')}" for x in found["lots"] if x["id"] == term] + [
        f"/certificates/{x['number']}" for x in found["certificates"] if x["number"] == term.upper()
    ]
    exact += [f"/participants/{quote(x['id'], safe='')}" for x in found["participants"] if x["id"] == term]
    if len(exact) == 1:
        return RedirectResponse(exact[0], status_code=303)
    return _page(request, "search.html", q=term, found=found)


@pages_router.get("/lots/{lot_id}", response_class=HTMLResponse)
def lot_page(request: Request, ledger: LedgerDep, lot_id: LotId) -> Response:
    """A lot's passport, with the Verify button."""
    try:
        trace = ledger.trace(lot_id, direction="backward")
        data = context.passport(ledger, lot_id, trace)
    except AdamasError as exc:
        return _error(request, exc)
    carats = {o["site"]: Decimal(o["carats"]) for o in data["origin"]}
    site_map = origin_map(reads.sites(ledger, carats), carats=carats)
    return _page(
        request,
        "lot.html",
        data=data,
        graph=lineage_graph(trace),
        site_map=site_map,
        bundle=f"/v1/lots/{quote(lot_id, safe='')}/verification",
        twin=f"/v1/lots/{quote(lot_id, safe='')}/passport",
    )


@pages_router.get("/certificates/verify", response_class=HTMLResponse)
def certificate_qr(
    request: Request, number: Annotated[str, Query(max_length=64)], leaf: int | None = None
) -> Response:
    """Where a printed certificate's QR code leads (``?number=...&leaf=...``): its page."""
    target = f"/certificates/{quote(number.strip().upper(), safe='')}"
    return RedirectResponse(target + (f"?leaf={leaf}" if leaf is not None else ""), status_code=303)


@pages_router.get("/certificates/{number}", response_class=HTMLResponse)
def certificate_page(
    request: Request, ledger: LedgerDep, number: Number, leaf: int | None = None
) -> Response:
    """A certificate's Annex I fields, its lots, and its verification against the log."""
    try:
        with ledger.read_engine.connect() as conn:
            view = certificate_view(conn, number)
    except AdamasError as exc:
        return _error(request, exc)
    return _page(
        request,
        "certificate.html",
        cert=view,
        data=view.to_json(),
        leaf=leaf,
        country_name=country_name,
        log=context.log_state(ledger),
        bundle=f"/v1/certificates/{view.number}/verification",
        twin=f"/v1/certificates/{view.number}",
    )


@pages_router.get("/countries/{cc}", response_class=HTMLResponse)
def country_page(request: Request, ledger: LedgerDep, cc: CountryCode) -> Response:
    """A country's flows over time, its footprint, its sites and the flags that concern it."""
    try:
        data = context.country(ledger, cc)
    except AdamasError as exc:
        return _error(request, exc)
    periods = data["periods"]
    charts = [
        bar_chart(f"{name.capitalize()} (carats per quarter)", periods, {name: values}, unit=" ct")
        for name, values in data["carats"].items()
    ]
    site_map = origin_map(reads.sites(ledger, country=data["country"]), highlight=data["country"], carats={})
    return _page(
        request,
        "country.html",
        data=data,
        charts=charts,
        site_map=site_map,
        twin=f"/v1/countries/{data['country']}",
    )


@pages_router.get("/flags", response_class=HTMLResponse)
def flags_page(
    request: Request,
    ledger: LedgerDep,
    *,
    detector: Filter = None,
    country: Filter = None,
    severity: Filter = None,
    status: Filter = None,
) -> Response:
    """The monitor's console."""
    filters = {
        "detector": _blank(detector),
        "country": _blank(country),
        "severity": _blank(severity),
        "status": _blank(status),
    }
    try:
        data = context.monitor(ledger, **filters)
    except AdamasError as exc:
        return _error(request, exc)
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
    return _page(request, "flags.html", data=data, twin="/v1/monitor" + (f"?{query}" if query else ""))


@pages_router.get("/participants/{participant_id}", response_class=HTMLResponse)
def participant_page(request: Request, ledger: LedgerDep, participant_id: LotId) -> Response:
    """A participant, its keys and its latest events."""
    try:
        data = context.participant(ledger, participant_id)
    except AdamasError as exc:
        return _error(request, exc)
    return _page(
        request, "participant.html", data=data, twin=f"/v1/participants/{quote(participant_id, safe='')}"
    )


# --- JSON twins -------------------------------------------------------------------------------------------


@api_router.get("/v1/overview", responses=problems(), summary="The home page's figures")
def get_overview(ledger: LedgerDep) -> dict[str, Any]:
    """Tree size, newest cosigned checkpoint, witnesses, events per month by type, open flags by detector."""
    return context.overview(ledger)


@api_router.get("/v1/lots/{lot_id}/passport", responses=problems(400, 404), summary="A lot's passport")
def get_passport(ledger: LedgerDep, lot_id: LotId) -> dict[str, Any]:
    """Everything the passport page shows: lot, lineage, origin, sites, custody timeline, risk."""
    return context.passport(ledger, lot_id)


@api_router.get(
    "/v1/lots/{lot_id}/verification", responses=problems(400, 404), summary="A lot's verification bundle"
)
def get_lot_bundle(ledger: LedgerDep, lot_id: LotId) -> dict[str, Any]:
    """Checkpoint, witnesses, every envelope of the lineage with its inclusion proof, the signers' keys."""
    return lot_bundle(ledger, lot_id)


@api_router.get(
    "/v1/certificates/{number}/verification",
    responses=problems(400, 404),
    summary="A certificate's verification bundle",
)
def get_certificate_bundle(ledger: LedgerDep, number: Number) -> dict[str, Any]:
    """The verification bundle of a certificate's issue (and confirmation or voiding) events."""
    return certificate_bundle(ledger, number)


@api_router.get("/v1/countries/{cc}", responses=problems(400), summary="A country's page")
def get_country(ledger: LedgerDep, cc: CountryCode) -> dict[str, Any]:
    """Production, imports and exports per quarter, the footprint, the sites and the flags of a country."""
    return context.country(ledger, cc)


@api_router.get("/v1/monitor", responses=problems(400), summary="The monitor's console")
def get_monitor(
    ledger: LedgerDep,
    *,
    detector: Filter = None,
    country: Filter = None,
    severity: Filter = None,
    status: Filter = None,
) -> dict[str, Any]:
    """Flags filtered by detector, country, severity and status, with the log's and witnesses' state."""
    return context.monitor(
        ledger,
        detector=_blank(detector),
        country=_blank(country),
        severity=_blank(severity),
        status=_blank(status),
    )
