"""What each page shows, gathered from the ``Ledger`` API and the risk service.

Each function returns a plain dict that is both the template's context and, through ``jsonable``, the
page's JSON twin in the API; so a page never shows a figure its twin does not give.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from adamas.errors import AdamasError, InputError, NotFoundError
from adamas.ledger import Ledger
from adamas.ledger.certificate_doc import country_name
from adamas.ledger.views import HistoryEntry, ParticipantView, Trace
from adamas.model.records import EVIDENCE_LEVELS
from adamas.risk import DETECTORS, flags, lot_risk
from adamas.risk.stats import statistics
from adamas.web import reads
from adamas.web.bundle import checkpoint_size

__all__ = ["SEVERITIES", "activity_groups", "country", "monitor", "overview", "passport"]

# The home page's chart groups event types, so that its colours stay few.
_GROUPS: Final = (
    ("lot.", "lots"),
    ("certificate.", "certificates"),
    ("participant.", "participants and keys"),
    ("key.", "participants and keys"),
    ("site.", "sites"),
    ("attest", "attestations and corrections"),
    ("correct", "attestations and corrections"),
)


def activity_groups(types: dict[str, list[int]]) -> dict[str, list[float]]:
    """Counts per event type folded into a few groups (lots, certificates, participants, ...)."""
    out: dict[str, list[float]] = {}
    for kind, counts in types.items():
        group = next((g for prefix, g in _GROUPS if kind.startswith(prefix)), "administration")
        row = out.setdefault(group, [0.0] * len(counts))
        for i, n in enumerate(counts):
            row[i] += n
    return dict(sorted(out.items()))


SEVERITIES: Final = ("low", "medium", "high")
FLAG_STATUSES: Final = ("open", "acknowledged", "dismissed")


def log_state(ledger: Ledger) -> dict[str, Any]:
    """The newest checkpoint with its cosignatures, and every witness with how far behind it is."""
    note = ledger.cosigned_checkpoint()
    size = checkpoint_size(note)
    witnesses = []
    for w in ledger.witnesses():
        data = w.to_json()
        data["behind"] = size - w.cosigned_size
        data["cosigns_newest"] = w.cosigned_size >= size
        witnesses.append(data)
    return {
        "origin": ledger.origin,
        "vkey": ledger.vkey,
        "size": size,
        "checkpoint": note,
        "witnesses": witnesses,
    }


def overview(ledger: Ledger) -> dict[str, Any]:
    """Home: the log at a glance, events by type per month, open flags by detector."""
    days = reads.activity(ledger)
    # By day over a short log, by month over a long one.
    months: dict[str, Counter[str]] = days
    if len({d[:7] for d in days}) >= 3:
        months = {}
        for day, counts in days.items():
            months.setdefault(day[:7], Counter()).update(counts)
    types = sorted({t for counts in months.values() for t in counts})
    open_flags = Counter(f.detector for f in flags(ledger, open_only=True))
    return {
        "log": log_state(ledger),
        "activity": {"periods": list(months), "types": {t: [months[m][t] for m in months] for t in types}},
        "open_flags": {d: open_flags[d] for d in DETECTORS if open_flags[d]},
    }


@dataclass
class _Names:
    ledger: Ledger
    known: dict[str, ParticipantView | None]

    def get(self, participant: str) -> ParticipantView | None:
        if participant not in self.known:
            try:
                self.known[participant] = self.ledger.participant(participant)
            except NotFoundError:
                self.known[participant] = None
        return self.known[participant]


def _step(entry: HistoryEntry, lots: list[str], names: _Names, site_names: dict[str, str]) -> dict[str, Any]:
    body = entry.body
    who = names.get(entry.actor)
    level = entry_level = names.ledger.evidence("event", entry.id).level
    where = country_name(who.country) if who is not None and who.country else None
    site = body.get("lot", {}).get("site") if isinstance(body.get("lot"), dict) else None
    if site:
        where = f"{site_names.get(site, site)}, {where}" if where else site_names.get(site, site)
        site_level = names.ledger.evidence("site", site).level
        level = max(entry_level, site_level, key=EVIDENCE_LEVELS.index)
    to = body.get("to")
    receiver = names.get(to) if isinstance(to, str) else None
    return {
        "index": entry.index,
        "event": entry.id,
        "type": entry.type,
        "time": entry.time,
        "actor": entry.actor,
        "actor_name": who.name if who is not None else entry.actor,
        "where": where,
        "to": to if isinstance(to, str) else None,
        "to_name": receiver.name if receiver is not None else None,
        "certificate": body.get("certificate") if isinstance(body.get("certificate"), str) else None,
        "lots": lots,
        "evidence": level,
        "corrected_by": entry.corrected_by,
    }


def passport(ledger: Ledger, lot_id: str, trace: Trace | None = None) -> dict[str, Any]:
    """A lot's passport: the lot, its lineage (``trace``, when the caller has it already), origin by mine
    and by country, custody timeline, risk."""
    lot = ledger.lot(lot_id)
    trace = trace or ledger.trace(lot_id, direction="backward")
    site_list = reads.sites(ledger, [o.site for o in trace.origin])
    site_names = {s.id: s.name for s in site_list}
    total = sum((o.carats for o in trace.origin), Decimal(0)) or Decimal(1)
    by_country: dict[str, Decimal] = {}
    for o in trace.origin:
        by_country[o.country or "??"] = by_country.get(o.country or "??", Decimal(0)) + o.carats
    names = _Names(ledger, {})
    touched: dict[str, list[str]] = {}
    entries: dict[str, HistoryEntry] = {}
    for node in trace.nodes:
        for entry in ledger.history(node.lot.id):
            entries[entry.id] = entry
            touched.setdefault(entry.id, []).append(node.lot.id)
    timeline = [
        _step(e, sorted(touched[e.id]), names, site_names)
        for e in sorted(entries.values(), key=lambda e: e.index)
    ]
    holder = names.get(lot.holder)
    return {
        "lot": lot.to_json(),
        "holder_name": holder.name if holder is not None else lot.holder,
        "evidence": ledger.evidence("lot", lot_id).to_json(),
        "trace": trace.to_json(),
        "origin": [
            {**o.to_json(), "share": float(o.carats / total)}
            for o in sorted(trace.origin, key=lambda o: (-o.carats, o.site))
        ],
        "countries": [
            {"country": c, "country_name": country_name(c), "carats": f"{v:.2f}", "share": float(v / total)}
            for c, v in sorted(by_country.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "sites": [s.to_json() for s in site_list],
        "timeline": timeline,
        "risk": lot_risk(ledger, lot_id),
        "log": log_state(ledger),
    }


def country(ledger: Ledger, code: str) -> dict[str, Any]:
    """A country: production, imports and exports per quarter, its running footprint, sites and flags."""
    cc = code.strip().upper()
    if len(cc) != 2 or not cc.isalpha() or (country_name(cc) == cc and cc != "EU"):
        raise InputError(
            f"{code!r} is not an ISO 3166-1 alpha-2 country code", code="country.bad_code", field="cc"
        )
    span = reads.first_and_last_year(ledger)
    periods: list[str] = []
    flows: dict[str, list[float]] = {"production": [], "imports": [], "exports": []}
    for year in range(span[0], span[1] + 1) if span else ():
        rows = {r.period: r for r in statistics(ledger, year, granularity="quarter", country=cc).rows}
        for quarter in range(1, 5):
            period = f"{year}-Q{quarter}"
            row = rows.get(period)
            periods.append(period)
            for name, values in flows.items():
                values.append(getattr(row, name).carats / 100 if row is not None else 0.0)
    footprint, running = [], 0.0
    for i, period in enumerate(periods):
        change = flows["production"][i] + flows["imports"][i] - flows["exports"][i]
        running += change
        footprint.append({"period": period, "change": round(change, 2), "stock": round(running, 2)})
    found = flags(ledger, country=cc)
    return {
        "country": cc,
        "country_name": country_name(cc),
        "periods": periods,
        "carats": {k: [round(v, 2) for v in vs] for k, vs in flows.items()},
        "footprint": footprint,
        "sites": [s.to_json() for s in reads.sites(ledger, country=cc)],
        "flags": [f.to_json() for f in found],
    }


def monitor(
    ledger: Ledger,
    *,
    detector: str | None = None,
    country: str | None = None,
    severity: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The monitor's console: flags filtered by detector, country, severity and status; the log's state."""
    if severity is not None and severity not in SEVERITIES:
        raise InputError(
            f"severity is one of {', '.join(SEVERITIES)}", code="risk.bad_severity", field="severity"
        )
    if status is not None and status not in FLAG_STATUSES:
        raise InputError(
            f"status is one of {', '.join(FLAG_STATUSES)}", code="risk.bad_status", field="status"
        )
    found = flags(ledger, detector=detector, country=country.upper() if country else None)
    chosen = [
        f
        for f in found
        if (severity is None or f.severity == severity) and (status is None or f.status == status)
    ]
    return {
        "filters": {"detector": detector, "country": country, "severity": severity, "status": status},
        "detectors": list(DETECTORS),
        "severities": list(SEVERITIES),
        "statuses": list(FLAG_STATUSES),
        "flags": [f.to_json() for f in chosen],
        "log": log_state(ledger),
    }


def participant(ledger: Ledger, participant_id: str) -> dict[str, Any]:
    """A participant with its keys and its latest events."""
    view = ledger.participant(participant_id)
    page = ledger.participant_events(participant_id, limit=50)
    return {"participant": view.to_json(), "events": [e.to_json() for e in page.items]}


def safe(error: AdamasError) -> dict[str, Any]:
    """An error as the pages show it."""
    return {"code": error.code, "message": error.message, "field": error.field}
