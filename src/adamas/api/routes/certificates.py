"""Kimberley Process certificates: the certificate, and its verification from the log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from adamas.api import links
from adamas.api.deps import LedgerDep
from adamas.api.models import Certificate, CertificateVerdict
from adamas.api.routes._common import problems
from adamas.ledger.certificate_check import verify_certificate
from adamas.ledger.certificate_doc import certificate_view

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])
Number = Path(max_length=64, description="The certificate number, e.g. BW-2026-000042.")


@router.get(
    "/{number}",
    response_model=Certificate,
    responses={**problems(400, 404), **links.CERTIFICATE_STATE},
    summary="A certificate",
)
def get_certificate(ledger: LedgerDep, number: str = Number) -> dict[str, Any]:
    """The certificate's Annex I fields, its lots and its status."""
    with ledger.read_engine.connect() as conn:
        return certificate_view(conn, number).to_json()


@router.get(
    "/{number}/verify",
    response_model=CertificateVerdict,
    responses=problems(400, 404),
    summary="Verify a certificate from the log",
)
def get_verdict(ledger: LedgerDep, number: str = Number) -> dict[str, Any]:
    """Every rule of the certificate re-checked from the signed events, each proven in the log; `valid`
    is false (with the failing checks) when any fails."""
    return verify_certificate(ledger, number.strip().upper()).to_json()
