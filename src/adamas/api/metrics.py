"""The service's Prometheus metrics, in a registry of its own (one per app, so apps never collide).

    adamas_events_accepted_total                 envelopes written to the log
    adamas_events_duplicate_total                envelopes already in the log (answered with their receipt)
    adamas_events_refused_total{code}            envelopes refused, by refusal code (``batch.aborted``: valid
                                                 envelopes of a refused atomic batch)
    adamas_batch_seconds                         histogram of batch acknowledgement time (parse to receipts)
    adamas_log_tree_size                         the log's size, read when scraped
    adamas_witness_cosignatures_total{witness}   cosignatures collected from each witness
    adamas_witness_failures_total{witness,reason}  witness requests that failed (down, refused, bad answer)
    adamas_after_batch_failures_total            after-batch callbacks that raised

The witness counters are for the cosignature collector: ``metrics.witness_cosigned(name)`` and
``metrics.witness_failed(name, reason)``. With several worker processes each keeps its own counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from adamas.errors import AdamasError
from adamas.ledger import Outcome

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters, histogram and gauges of one app."""

    def __init__(self, tree_size: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_accepted = Counter("adamas_events_accepted", "Envelopes written to the log.", registry=r)
        self.events_duplicate = Counter(
            "adamas_events_duplicate",
            "Envelopes already in the log, answered with their receipt.",
            registry=r,
        )
        self.events_refused = Counter(
            "adamas_events_refused", "Envelopes refused, by refusal code.", ["code"], registry=r
        )
        self.batch_seconds = Histogram(
            "adamas_batch_seconds",
            "Time to acknowledge a batch: parse, check, commit and receipts.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.tree_size = Gauge("adamas_log_tree_size", "Leaves in the log.", registry=r)

        def size() -> float:
            try:
                return float(tree_size())
            except AdamasError:
                return math.nan  # an unreachable database shows in /healthz; the scrape still answers

        self.tree_size.set_function(size)
        self.witness_cosignatures = Counter(
            "adamas_witness_cosignatures", "Cosignatures collected, by witness.", ["witness"], registry=r
        )
        self.witness_failures = Counter(
            "adamas_witness_failures",
            "Witness requests that failed, by witness and reason.",
            ["witness", "reason"],
            registry=r,
        )
        self.after_batch_failures = Counter(
            "adamas_after_batch_failures", "After-batch callbacks that raised.", registry=r
        )

    def batch(self, outcomes: Sequence[Outcome], seconds: float) -> None:
        """Count one batch's outcomes and its acknowledgement time."""
        accepted = duplicate = 0
        refused: dict[str, int] = {}
        for o in outcomes:
            if o.status == "accepted":
                accepted += 1
            elif o.status == "duplicate":
                duplicate += 1
            else:
                code = o.error.code if o.error is not None else "unknown"
                refused[code] = refused.get(code, 0) + 1
        if accepted:
            self.events_accepted.inc(accepted)
        if duplicate:
            self.events_duplicate.inc(duplicate)
        for code, count in refused.items():
            self.events_refused.labels(code=code).inc(count)
        self.batch_seconds.observe(seconds)

    def witness_cosigned(self, witness: str) -> None:
        """One cosignature collected from ``witness``."""
        self.witness_cosignatures.labels(witness=witness).inc()

    def witness_failed(self, witness: str, reason: str) -> None:
        """One request to ``witness`` failed (``reason``: unreachable, refused, bad_cosignature, ...)."""
        self.witness_failures.labels(witness=witness, reason=reason).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
