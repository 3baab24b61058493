"""The EPCIS 2.0 query interface, as a service: a subset of SimpleEventQuery over the ledger's events.

Supported parameters (EPCIS 2.0, 8.2.7.1; REST bindings' names): ``eventType``, ``GE_eventTime``,
``LT_eventTime``, ``GE_recordTime``, ``LT_recordTime``, ``EQ_action``, ``EQ_bizStep``, ``EQ_disposition``,
``EQ_bizLocation``, ``MATCH_epc``, ``MATCH_anyEPC``, ``EQ_eventID``, and the paging pair ``perPage`` /
``nextPageToken``. Multi-valued parameters are pipe-delimited (``EQ_bizStep=shipping|receiving``); CBV terms
match whether written as bare words or as URIs; EPCs match exactly (Adamas identifiers have no patterns).
Any other parameter is refused rather than silently ignored, so a consumer never mistakes an unfiltered
answer for a filtered one.

Events come in log order (the order of ``recordTime``). A page token names the last event returned and
the query it belongs to; since the log only grows, a token stays valid forever.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, or_, select

from adamas.epcis.export import indexed_events, leaves_where, lot_leaves, now_iso, record_time
from adamas.epcis.identifiers import CONTEXT, from_uri
from adamas.epcis.times import parse_instant
from adamas.errors import AdamasError, InputError
from adamas.ledger import Ledger
from adamas.store import schema

__all__ = ["EPCIS_VERSION", "EventQuery", "QueryError", "QueryPage", "query_document", "query_events"]

EPCIS_VERSION: Final = "2.0.0"
CBV_VERSION: Final = "2.0.0"
DEFAULT_PER_PAGE: Final = 30
MAX_PER_PAGE: Final = 1000
_MULTI: Final = (
    "eventType",
    "EQ_action",
    "EQ_bizStep",
    "EQ_disposition",
    "EQ_bizLocation",
    "MATCH_epc",
    "MATCH_anyEPC",
    "EQ_eventID",
)
_TIMES: Final = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
_PAGING: Final = ("perPage", "nextPageToken")
_ACTIONS: Final = frozenset({"ADD", "OBSERVE", "DELETE"})
_EVENT_TYPES: Final = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
)


class QueryError(InputError):
    """A query parameter EPCIS would answer with a QueryParameterException."""

    default_code = "epcis.query.bad_parameter"


def _cbv(value: str) -> str:
    """A CBV term as its bare word: ``https://ref.gs1.org/cbv/BizStep-shipping`` and ``shipping`` match."""
    for marker in ("https://ref.gs1.org/cbv/BizStep-", "https://ref.gs1.org/cbv/Disp-"):
        if value.startswith(marker):
            return value[len(marker) :]
    for marker in ("urn:epcglobal:cbv:bizstep:", "urn:epcglobal:cbv:disp:"):
        if value.startswith(marker):
            return value[len(marker) :]
    return value


@dataclass(frozen=True)
class EventQuery:
    """A parsed SimpleEventQuery: each filter is None when absent."""

    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)
    per_page: int = DEFAULT_PER_PAGE
    after: tuple[int, int] | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str | Sequence[str]]) -> EventQuery:
        """Parse REST query parameters; refuses unknown or malformed ones with a ``QueryError``."""
        filters: dict[str, tuple[str, ...]] = {}
        times: dict[str, int] = {}
        per_page = DEFAULT_PER_PAGE
        token: str | None = None
        for name, raw in params.items():
            values = [raw] if isinstance(raw, str) else list(raw)
            if len(values) != 1:
                raise QueryError(f"{name} is given more than once", field=name)
            value = values[0]
            if name in _MULTI:
                items = tuple(v for v in value.split("|") if v)
                if not items:
                    raise QueryError(f"{name} needs at least one value", field=name)
                if name == "EQ_action" and not _ACTIONS.issuperset(items):
                    raise QueryError("EQ_action takes ADD, OBSERVE or DELETE", field=name)
                filters[name] = items
            elif name in _TIMES:
                try:
                    times[name] = parse_instant(value, name)
                except AdamasError as exc:
                    raise QueryError(exc.message, field=name) from exc
            elif name == "perPage":
                if not value.isdigit() or not 1 <= int(value) <= MAX_PER_PAGE:
                    raise QueryError(f"perPage must be a whole number from 1 to {MAX_PER_PAGE}", field=name)
                per_page = int(value)
            elif name == "nextPageToken":
                token = value
            else:
                raise QueryError(
                    f"{name} is not a query parameter this repository supports",
                    code="epcis.query.unsupported_parameter",
                    field=name,
                )
        query = cls(filters, times, per_page)
        if token is not None:
            return cls(filters, times, per_page, _read_token(token, query.fingerprint()))
        return query

    def fingerprint(self) -> str:
        """A digest of the filters (not the page), binding page tokens to their query."""
        text = json.dumps([sorted(self.filters.items()), sorted(self.times.items())], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def matches(self, event: Mapping[str, Any], record_ns: int, event_ns: int) -> bool:
        """Whether one EPCIS event passes every filter (EPCIS 2.0, 8.2.7.1)."""
        checks: dict[str, Callable[[tuple[str, ...]], bool]] = {
            "eventType": lambda v: event.get("type") in v,
            "EQ_action": lambda v: event.get("action") in v,
            "EQ_bizStep": lambda v: "bizStep" in event and _cbv(event["bizStep"]) in {_cbv(x) for x in v},
            "EQ_disposition": lambda v: (
                "disposition" in event and _cbv(event["disposition"]) in {_cbv(x) for x in v}
            ),
            "EQ_bizLocation": lambda v: (event.get("bizLocation") or {}).get("id") in v,
            "MATCH_epc": lambda v: (
                not set(v).isdisjoint(event.get("epcList", []) + event.get("childEPCs", []))
            ),
            "MATCH_anyEPC": lambda v: not set(v).isdisjoint(_any_epcs(event)),
            "EQ_eventID": lambda v: event.get("eventID") in v,
        }
        if not all(checks[name](values) for name, values in self.filters.items()):
            return False
        bounds = {
            "GE_eventTime": lambda t: event_ns >= t,
            "LT_eventTime": lambda t: event_ns < t,
            "GE_recordTime": lambda t: record_ns >= t,
            "LT_recordTime": lambda t: record_ns < t,
        }
        return all(bounds[name](t) for name, t in self.times.items())


def _any_epcs(event: Mapping[str, Any]) -> list[str]:
    out = [event["parentID"]] if "parentID" in event else []
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        out.extend(event.get(name, []))
    return out


def _read_token(token: str, fingerprint: str) -> tuple[int, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        seq, k, bound = int(data["after"][0]), int(data["after"][1]), str(data["query"])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise QueryError(
            "nextPageToken is not a token this repository issued",
            code="epcis.query.bad_token",
            field="nextPageToken",
        ) from exc
    if bound != fingerprint:
        raise QueryError(
            "nextPageToken belongs to a different query", code="epcis.query.bad_token", field="nextPageToken"
        )
    return seq, k


def _write_token(after: tuple[int, int], fingerprint: str) -> str:
    data = json.dumps({"after": list(after), "query": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class QueryPage:
    """One page of a query's answer, and the token of the next page (None on the last)."""

    events: list[dict[str, Any]]
    next_page_token: str | None


def _lot_of(uri: str) -> str | None:
    """The Adamas lot an EPC names, or None: any other EPC matches nothing in this ledger."""
    try:
        return from_uri(uri, "lot", field="MATCH_epc")
    except AdamasError:
        return None


def _candidates(conn: Connection, query: EventQuery) -> list[int]:
    """Leaves whose EPCIS events may match: narrowed by the lots named, the times and the page, never
    wrongly (``matches`` decides)."""
    ev = schema.events
    conditions = []
    if query.after is not None:
        conditions.append(ev.c.seq >= query.after[0])
    if "GE_recordTime" in query.times:
        # Leaves logged before the last checkpoint signed earlier than the bound cannot match.
        cp = schema.log_checkpoints
        size = conn.execute(
            select(cp.c.size)
            .where(cp.c.signed_ns < query.times["GE_recordTime"])
            .order_by(cp.c.size.desc())
            .limit(1)
        ).scalar()
        if size is not None:
            conditions.append(ev.c.seq >= size)
    # A correction's events carry the corrected event's time, not the correction's: keep corrections.
    if "GE_eventTime" in query.times:
        conditions.append(or_(ev.c.time_ns >= query.times["GE_eventTime"], ev.c.type == "correct"))
    if "LT_eventTime" in query.times:
        conditions.append(or_(ev.c.time_ns < query.times["LT_eventTime"], ev.c.type == "correct"))
    # Events matching both MATCH_ parameters match MATCH_epc: its lots narrow enough.
    named = query.filters.get("MATCH_epc") or query.filters.get("MATCH_anyEPC")
    if not named:
        return leaves_where(conn, conditions)
    lots = [lot for lot in (_lot_of(uri) for uri in named) if lot is not None]
    # Certificates and attestations name lots in fields the lot index does not cover: always candidates.
    elsewhere = leaves_where(conn, [*conditions, or_(ev.c.type.like("certificate.%"), ev.c.type == "attest")])
    return sorted(set(leaves_where(conn, conditions, lot_leaves(conn, lots))) | set(elsewhere))


def query_events(ledger: Ledger, query: EventQuery) -> QueryPage:
    """One page of the EPCIS events that match ``query``, in log order."""
    page: list[dict[str, Any]] = []
    last: tuple[int, int] | None = None
    with ledger.engine.connect() as conn:
        seqs = _candidates(conn, query)
        # Map a little more than a page at a time: enough to fill it when most leaves match, few wasted.
        step = min(500, max(64, 2 * query.per_page))
        for start in range(0, len(seqs), step):
            chunk = seqs[start : start + step]
            times = record_time(conn, chunk)
            for seq, k, event in indexed_events(conn, chunk):
                if query.after is not None and (seq, k) <= query.after:
                    continue
                if not query.matches(
                    event, times.get(seq, 0), parse_instant(event["eventTime"], "eventTime")
                ):
                    continue
                if len(page) == query.per_page:
                    return QueryPage(page, _write_token(last, query.fingerprint()) if last else None)
                page.append(event)
                last = (seq, k)
    return QueryPage(page, None)


def query_document(page: QueryPage, *, query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An EPCISQueryDocument holding a page of events."""
    return {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": now_iso(),
        "epcisBody": {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": page.events}}},
    }
