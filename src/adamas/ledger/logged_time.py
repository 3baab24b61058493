"""Logged times from checkpoints: what anyone holding the signed checkpoints knows of when leaves were logged.

Each batch's checkpoint carries the ledger's clock when it accepted the batch as a C2SP tlog-checkpoint
extension line, ``logged <RFC 3339 UTC time>`` (extension lines are opaque to other verifiers). The logged
time of leaf ``i`` is the time on the first checkpoint whose tree size exceeds ``i``: the batch that added
the leaf. A checkpoint without the line (signed before Adamas recorded logged times) gives its leaves no
logged time (None): they are judged by their declared times, as they were when accepted.

Invariant checked here: logged times never decrease along the log (``log.logged_time_order``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Final

from adamas.errors import InputError, VerificationError
from adamas.log import Checkpoint
from adamas.model.values import format_time_ns, parse_time

__all__ = ["LOGGED_PREFIX", "LeafTimes", "checkpoint_logged_ns", "leaf_times", "logged_line"]

LOGGED_PREFIX: Final = "logged "


def logged_line(logged_ns: int) -> str:
    """The checkpoint extension line that carries a batch's logged time."""
    return LOGGED_PREFIX + format_time_ns(logged_ns)


def checkpoint_logged_ns(checkpoint: Checkpoint) -> int | None:
    """The logged time a checkpoint carries, or None if it has no ``logged`` line."""
    for line in checkpoint.extensions:
        if line.startswith(LOGGED_PREFIX):
            try:
                return parse_time(line.removeprefix(LOGGED_PREFIX), "logged")
            except InputError as exc:
                raise VerificationError(
                    f"checkpoint of size {checkpoint.size} has a malformed logged line {line!r}",
                    code="log.logged_time",
                    field="extensions",
                ) from exc
    return None


class LeafTimes:
    """Logged time per leaf index, from a log's checkpoints (any order; one per tree size)."""

    def __init__(self, points: Iterable[tuple[int, int | None]]) -> None:
        ordered = sorted(points)
        self._sizes = [size for size, _ in ordered]
        self._times = [logged for _, logged in ordered]
        last: int | None = None
        for size, logged in ordered:
            if logged is None:
                continue
            if last is not None and logged < last:
                raise VerificationError(
                    f"the checkpoint of size {size} says logged {format_time_ns(logged)}, before an earlier "
                    f"checkpoint's {format_time_ns(last)}: logged times never decrease",
                    code="log.logged_time_order",
                    field="extensions",
                    expected=f">= {format_time_ns(last)}",
                    actual=format_time_ns(logged),
                )
            last = logged

    def at(self, index: int) -> int | None:
        """The logged time of leaf ``index`` (None if no checkpoint with a logged line covers it first)."""
        position = bisect.bisect_right(self._sizes, index)
        if position == len(self._sizes):
            return None
        return self._times[position]


def leaf_times(checkpoints: Iterable[Checkpoint]) -> LeafTimes:
    """``LeafTimes`` from parsed (and already verified) checkpoints."""
    return LeafTimes((c.size, checkpoint_logged_ns(c)) for c in checkpoints)
