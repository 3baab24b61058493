"""A full audit of a log, from a ledger database or from a mirror of C2SP tlog-tiles (a folder).

The audit trusts nothing but the log's vkey. It reads every entry in order and recomputes from the entries
alone: every leaf hash, every tile (in a database, every stored hash of ``adamas.store.tree``; in a mirror,
every hash tile), and the root of the tree at the size of every checkpoint the log signed. It checks each
checkpoint's signature under the vkey, its origin, and its root against the recomputed one (``audit_tree``).
Unless ``opaque``, it also checks that each entry is a canonical Adamas envelope whose Ed25519 signature
verifies under a key registered by an earlier entry of the same log, leaf 0 being the genesis
(``audit_envelopes``). With ``replay``, every event is checked again by the ledger's own rules, from the log
alone, and on a database the state tables are compared with the replayed state (``replay``): this is what
lets an outsider check that the operator enforced the rules, not only that the log is append-only.

Faults are collected in the order the leaves are read (``audit_faults``), so the first fault names the first
bad leaf (or, when the entries and the tree were rewritten together, the first checkpoint that no longer
matches: that checkpoint's range of leaves holds the change).

Fault codes: ``audit.source`` (no log there), ``audit.log_key``, ``audit.size``, ``audit.leaf_missing``,
``audit.leaf_mismatch``, ``audit.bundle``, ``audit.tile_missing``,
``audit.tile_mismatch``, ``audit.envelope``, ``audit.unknown_key``, ``audit.signature``,
``audit.checkpoint_signature``, ``audit.checkpoint_origin``, ``audit.checkpoint_size``,
``audit.checkpoint_root``; replays add ``audit.replay_refused`` (with the rule's code),
``audit.state_differs``, ``audit.state_missing`` and ``audit.state_extra``. Usage errors raise
``InputError`` (``audit.usage``).
"""

from __future__ import annotations

import os

from adamas.errors import InputError
from adamas.ledger.audit_db import DatabaseAudit
from adamas.ledger.audit_faults import MAX_FAULTS, AuditFault, AuditReport, Progress
from adamas.ledger.audit_tiles import TilesAudit, TileSource
from adamas.ledger.replay import LoggedTime, Replay
from adamas.ledger.tile_source import open_tile_source
from adamas.log import Verifier

__all__ = ["MAX_FAULTS", "AuditFault", "AuditReport", "audit"]


def _tile_source(tiles: str | os.PathLike[str] | TileSource) -> TileSource:
    """A folder, or a served log's http(s) URL (with timeouts and retries), or a source already opened."""
    return open_tile_source(tiles) if isinstance(tiles, str | os.PathLike) else tiles


def audit(
    *,
    db: str | None = None,
    tiles: str | os.PathLike[str] | TileSource | None = None,
    vkey: str | None = None,
    opaque: bool = False,
    replay: bool = False,
    logged_time: LoggedTime | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> AuditReport:
    """Audit the log of a ledger database (``db``, a URL) or of a tlog-tiles mirror (``tiles``: a folder or
    any ``TileSource``).

    ``vkey``: the log's verifier key, the one thing trusted; required for a mirror, and for a database
    defaults to the key the database holds (which proves only that the database agrees with itself).
    ``opaque``: treat entries as opaque bytes (no envelope or signature checks), for any tlog-tiles log.
    ``replay``: check every event again with the rules, judged at ``logged_time(leaf, envelope)`` (default:
    the time its checkpoint was signed where the source keeps it, else its declared time; see
    ``adamas.ledger.replay``), and on a database compare the state tables with the replayed state.
    ``progress(done, total)`` is called as leaves are checked. ``jobs``: worker processes that parse and
    verify a database's envelopes (default: one per core; 1 checks them in this process); the faults are
    the same for any number.
    """
    if jobs is not None and jobs < 1:
        raise InputError("jobs must be at least 1", code="audit.usage", field="jobs")
    if (db is None) == (tiles is None):
        raise InputError("audit takes exactly one of a database or a tiles directory", code="audit.usage")
    if replay and opaque:
        raise InputError("a replay reads the entries as events: not with opaque", code="audit.usage")
    verifier = Verifier.from_vkey(vkey.strip()) if vkey is not None else None
    if tiles is not None and verifier is None:
        raise InputError("auditing a tiles directory needs the log's vkey", code="audit.usage", field="vkey")
    replayer = Replay(logged_time=logged_time) if replay else None
    try:
        if tiles is not None:
            assert verifier is not None
            source = _tile_source(tiles)
            feed = replayer.feed if replayer is not None else None
            try:
                report = TilesAudit(source, verifier, opaque, progress, feed).run()
            finally:
                close = getattr(source, "close", None)
                if close is not None and source is not tiles:
                    close()
        else:
            assert db is not None
            workers = jobs if jobs is not None else os.cpu_count() or 1
            report = DatabaseAudit(db, verifier, opaque, progress, replayer, jobs=workers).run()
        return replayer.conclude(report) if replayer is not None else report
    finally:
        if replayer is not None:
            replayer.close()
