"""GS1 EPCIS 2.0 / CBV 2.0 for Adamas: export, import, the event hash and the query interface.

``export_document`` turns logged events into an EPCISDocument; ``import_document`` turns EPCIS events into
signed Adamas events; ``event_hash`` is the CBV 2.0 event hash; ``query_events`` answers SimpleEventQuery.
The mapping is documented in docs/epcis.md.
"""

from __future__ import annotations

from adamas.epcis.export import export_document, record_time
from adamas.epcis.hashing import event_hash, prehash
from adamas.epcis.identifiers import CONTEXT, NAMESPACE, from_uri, to_uri
from adamas.epcis.importer import ImportRefusal, ImportReport, import_document, to_bodies
from adamas.epcis.query import EventQuery, QueryError, QueryPage, query_document, query_events

__all__ = [
    "CONTEXT",
    "NAMESPACE",
    "EventQuery",
    "ImportRefusal",
    "ImportReport",
    "QueryError",
    "QueryPage",
    "event_hash",
    "export_document",
    "from_uri",
    "import_document",
    "prehash",
    "query_document",
    "query_events",
    "record_time",
    "to_bodies",
    "to_uri",
]
