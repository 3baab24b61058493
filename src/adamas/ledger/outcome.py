"""What ``Ledger.submit`` answers for each envelope: a receipt or a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from adamas.errors import AdamasError
from adamas.ledger.receipts import Receipt
from adamas.model.values import format_time_ns

__all__ = ["Outcome", "Status"]

Status = Literal["accepted", "duplicate", "refused", "not_written"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The fate of one envelope of a batch, in submission order.

    ``accepted``: logged now at leaf ``index``. ``duplicate``: the identical envelope was logged before;
    ``index`` is the original leaf. ``refused``: ``error`` says why; nothing of it was written.
    ``not_written``: valid, but the atomic batch it belonged to was refused as a whole.
    Accepted and duplicate outcomes carry a ``receipt``: the leaf's inclusion proof in the checkpoint the
    batch was signed into (for a duplicate, the newest checkpoint).
    """

    position: int
    status: Status
    event_id: str | None = None
    index: int | None = None
    leaf_hash: bytes | None = None
    error: AdamasError | None = None
    receipt: Receipt | None = None
    logged_ns: int | None = None
    """The ledger's logged time of an accepted or duplicate event (None when unknown)."""
    backfill: str | None = None
    """The ``ledger.backfill`` window that admitted it past the backdating allowance, if any."""

    @property
    def ok(self) -> bool:
        """True when the event is in the log (now or from before)."""
        return self.status in ("accepted", "duplicate")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready receipt or refusal (a receipt's members ``index``, ``leaf_hash``, ``checkpoint`` and
        ``inclusion_proof`` sit beside ``status``, so the line itself is a verifiable receipt)."""
        out: dict[str, Any] = {"status": self.status, "position": self.position}
        if self.event_id is not None:
            out["id"] = self.event_id
        if self.receipt is not None:
            out.update(self.receipt.to_json())
        else:
            if self.index is not None:
                out["index"] = self.index
            if self.leaf_hash is not None:
                out["leaf_hash"] = self.leaf_hash.hex()
            if self.logged_ns is not None:
                out["logged"] = format_time_ns(self.logged_ns)
        if self.backfill is not None:
            out["backfill"] = self.backfill
        if self.error is not None:
            out.update(self.error.to_dict())
        return out
