"""The ledger's transparency log: its signing key, its stored Merkle tree and every checkpoint it signed.

The sequencer appends the leaves of a batch to the stored tree (``adamas.store.tree``) and signs a checkpoint
over the new tree inside the batch's own transaction, so an accepted event, its leaf and a checkpoint that
covers it commit together or not at all. Before it signs, the new root is read back from the stored tiles
and the previous checkpoint is verified and proven consistent with it: the log never signs two trees of
which one does not extend the other (a corrupted tree stops ingest instead of being signed).

The Ed25519 key is a C2SP signed-note key named after the log's origin line, kept in ``adamas_meta`` with
the origin (docs/adr/0003-log-key-in-the-ledger-database.md).

Error codes: InputError ``log.origin`` (an origin that cannot be a key name); ConflictError
``log.origin_mismatch``; NotFoundError ``log.no_checkpoint``, ``log.no_key``; StorageError
``log.root_mismatch``, ``log.checkpoint_order``; VerificationError from ``adamas.log`` when the stored
previous checkpoint does not verify or is not consistent with the stored tree.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection, Engine, insert, select

from adamas.errors import ConflictError, InputError, NotFoundError, StorageError
from adamas.log import (
    Checkpoint,
    Signer,
    Verifier,
    consistency_proof,
    inclusion_proof,
    open_checkpoint,
    sign_checkpoint,
    tree_root,
    verify_consistency,
)
from adamas.log.note import check_key_name
from adamas.store.database import HEAD, begin_write
from adamas.store.schema import log_checkpoints, meta
from adamas.store.tree import Growth, StoredHashReader, append_leaves

if TYPE_CHECKING:
    from adamas.ledger.outcome import Outcome

# Receipts and the logged line are imported where a batch is signed: a read-only ledger holds its log
# without them (CLI start-up, issue 14).

__all__ = ["META_ORIGIN", "META_SKEY", "Logged", "TransparencyLog", "default_origin"]

META_ORIGIN: Final = "log_origin"
META_SKEY: Final = "log_skey"


def default_origin() -> str:
    """An origin line for a ledger created without ``--origin``: unique, and plainly not a real URL."""
    return f"adamas.local/{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Logged:
    """A batch's leaves appended and signed: the tree growth and the signed checkpoint note."""

    growth: Growth
    note: str


class TransparencyLog:
    """The log of one ledger database: sign with its key, read its checkpoints, prove from its tree."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self._verifier = signer.verifier

    @property
    def origin(self) -> str:
        """The checkpoints' origin line (also the key's name)."""
        return self._signer.name

    @property
    def verifier(self) -> Verifier:
        """The log's public key as a note verifier."""
        return self._verifier

    @property
    def vkey(self) -> str:
        """The log's verifier key string (C2SP signed-note vkey)."""
        return self._verifier.vkey

    # --- the key ------------------------------------------------------------------------------------------

    @classmethod
    def ensure(cls, engine: Engine, *, origin: str | None, now_ns: int) -> TransparencyLog:
        """The ledger's log, creating its key (with ``origin``, or a default) if the database has none.

        A ledger migrated from before the log gets its key here, and a first checkpoint over the tree the
        migration built. ``origin`` given for a log that already has another one is a conflict.
        """
        if origin is not None:
            _check_origin(origin)
        with engine.connect() as conn:
            stored = _read_key(conn)
            current = stored is not None and latest_size(conn) == _head(conn)
        if stored is not None and current:
            return cls._matching(stored, origin)
        with begin_write(engine) as conn:
            head = _head(conn, lock=True)
            stored = _read_key(conn)
            if stored is None:
                signer = Signer.generate(origin or default_origin())
                conn.execute(
                    insert(meta),
                    [{"name": META_ORIGIN, "value": signer.name}, {"name": META_SKEY, "value": signer.skey}],
                )
                stored = signer
            log = cls._matching(stored, origin)
            if head and latest_size(conn) != head:
                log.sign(conn, head, tree_root(head, StoredHashReader(conn)), now_ns=now_ns)
        return log

    @classmethod
    def read(cls, engine: Engine, *, origin: str | None = None) -> TransparencyLog:
        """The log of a read-only database (a replica): its key as stored, nothing created or signed."""
        with engine.connect() as conn:
            stored = _read_key(conn)
        if stored is None:
            raise StorageError(
                "this read-only database has no log key yet; open its primary with this Adamas first",
                code="log.no_key",
            )
        return cls._matching(stored, origin)

    @classmethod
    def _matching(cls, signer: Signer, origin: str | None) -> TransparencyLog:
        if origin is not None and origin != signer.name:
            raise ConflictError(
                f"this ledger's log already has the origin {signer.name!r}",
                code="log.origin_mismatch",
                field="origin",
                expected=signer.name,
                actual=origin,
            )
        return cls(signer)

    # --- appending and signing ----------------------------------------------------------------------------

    def append(self, conn: Connection, head: int, leaf_hashes: Sequence[bytes], *, now_ns: int) -> Logged:
        """Append a batch's leaves (leaf ``head`` onwards) and sign the new tree in ``conn``'s transaction;
        ``now_ns`` is the batch's logged time, which the checkpoint carries as its ``logged`` line."""
        growth = append_leaves(conn, head, leaf_hashes)
        return Logged(growth, self.sign(conn, growth.new_size, growth.root, now_ns=now_ns, logged=True))

    def last_logged_ns(self, conn: Connection) -> int | None:
        """The time the newest checkpoint was signed at (the last batch's logged time), or None."""
        row = conn.execute(
            select(log_checkpoints.c.signed_ns).order_by(log_checkpoints.c.size.desc()).limit(1)
        ).scalar()
        return None if row is None else int(row)

    def sign(self, conn: Connection, size: int, root: bytes, *, now_ns: int, logged: bool = False) -> str:
        """Sign and store the checkpoint of the tree of ``size`` whose root the caller computed as ``root``;
        ``logged``: it carries ``now_ns`` as the logged time of the leaves it adds (``logged`` line).

        Refused (nothing is signed) unless the stored tiles give the same root and the previous checkpoint
        verifies under the log's key and is consistent with the new tree.
        """
        from adamas.ledger.logged_time import logged_line

        reader = StoredHashReader(conn)
        # The new root, recomputed from the stored tiles: what the log will prove from must be what it signs.
        stored_root = tree_root(size, reader)
        if stored_root != root:
            raise StorageError(
                f"the stored tree of size {size} does not have the root just computed for it",
                code="log.root_mismatch",
                expected=root.hex(),
                actual=stored_root.hex(),
            )
        previous = conn.execute(
            select(log_checkpoints.c.size, log_checkpoints.c.note)
            .order_by(log_checkpoints.c.size.desc())
            .limit(1)
        ).first()
        if previous is not None:
            # The previous checkpoint is one this key signed, and the new tree extends its tree.
            old, _ = open_checkpoint(
                previous.note.encode("utf-8"), origin=self.origin, verifiers=[self._verifier]
            )
            if old.size != previous.size or old.size >= size:
                raise StorageError(
                    f"cannot sign size {size} after a checkpoint of size {old.size}",
                    code="log.checkpoint_order",
                    expected=f"> {old.size}",
                    actual=size,
                )
            proof = consistency_proof(old.size, size, reader)
            verify_consistency(old.size, size, proof, old.root_hash, stored_root)
        extensions = (logged_line(now_ns),) if logged else ()
        checkpoint = Checkpoint(self.origin, size, root, extensions)
        note = sign_checkpoint(checkpoint, [self._signer]).decode("utf-8")
        conn.execute(insert(log_checkpoints).values(size=size, note=note, signed_ns=now_ns))
        return note

    # --- receipts -----------------------------------------------------------------------------------------

    def attach_receipts(self, conn: Connection, outcomes: Sequence[Outcome], logged: Logged | None) -> None:
        """Give each accepted and duplicate outcome its receipt.

        Accepted events are proven in the batch's new checkpoint, their proofs computed on first read from
        the tree levels the append kept; duplicates in that checkpoint or, if the batch added nothing, the
        newest one, from the stored tiles, now (the transaction still holds the tree they are proven in).
        """
        from adamas.ledger.receipts import Receipt

        if logged is not None:
            size, note = logged.growth.new_size, logged.note
        else:
            latest = self.latest(conn) if any(o.status == "duplicate" for o in outcomes) else None
            if latest is None:
                return
            size, note = latest
        reader: StoredHashReader | None = None
        growth = None if logged is None else logged.growth
        deferred = Receipt.deferred
        for o in outcomes:
            if o.index is None or o.leaf_hash is None:
                continue
            if o.status == "accepted" and growth is not None:
                receipt = deferred(o.index, o.leaf_hash, note, growth, logged_ns=o.logged_ns)
            elif o.status == "duplicate":
                reader = reader or StoredHashReader(conn)
                proof = inclusion_proof(o.index, size, reader)
                receipt = Receipt(o.index, o.leaf_hash, note, proof, logged_ns=o.logged_ns)
            else:
                continue
            # The outcome is still being built (nobody outside submit has seen it): this completes it.
            object.__setattr__(o, "receipt", receipt)

    # --- reading ------------------------------------------------------------------------------------------

    def latest(self, conn: Connection) -> tuple[int, str] | None:
        """The newest checkpoint: its tree size and signed note, or None before the first."""
        row = conn.execute(
            select(log_checkpoints.c.size, log_checkpoints.c.note)
            .order_by(log_checkpoints.c.size.desc())
            .limit(1)
        ).first()
        return None if row is None else (int(row.size), str(row.note))

    def checkpoint(self, conn: Connection, size: int | None = None) -> str:
        """The signed note of the checkpoint of ``size`` (default: the newest)."""
        if size is None:
            latest = self.latest(conn)
            if latest is None:
                raise NotFoundError("the log has signed no checkpoint yet", code="log.no_checkpoint")
            return latest[1]
        note = conn.execute(select(log_checkpoints.c.note).where(log_checkpoints.c.size == size)).scalar()
        if note is None:
            raise NotFoundError(
                f"the log signed no checkpoint of size {size}", code="log.no_checkpoint", field="size"
            )
        return str(note)

    def checked_size(self, conn: Connection, size: int | None, *, field: str) -> int:
        """``size``, or the newest checkpoint's size; it must be a size the tree has reached."""
        newest = latest_size(conn)
        if size is None:
            if not newest:
                raise NotFoundError("the log has signed no checkpoint yet", code="log.no_checkpoint")
            return newest
        if not 0 <= size <= newest:
            raise InputError(
                f"{field} {size} is not a size of this log (0 to {newest})",
                code="log.size_order",
                field=field,
                expected=f"0 <= {field} <= {newest}",
                actual=size,
            )
        return size


def latest_size(conn: Connection) -> int:
    """The size of the newest checkpoint (0 before the first)."""
    row = conn.execute(
        select(log_checkpoints.c.size).order_by(log_checkpoints.c.size.desc()).limit(1)
    ).scalar()
    return 0 if row is None else int(row)


def read_signer(conn: Connection) -> Signer:
    """The log's signer from ``adamas_meta`` (``NotFoundError(code="log.no_key")`` if it has none)."""
    signer = _read_key(conn)
    if signer is None:
        raise NotFoundError("this ledger has no log key", code="log.no_key")
    return signer


def _read_key(conn: Connection) -> Signer | None:
    query = select(meta.c.name, meta.c.value).where(meta.c.name.in_([META_ORIGIN, META_SKEY]))
    rows: dict[str, str] = {str(row[0]): str(row[1]) for row in conn.execute(query)}
    if META_SKEY not in rows:
        return None
    signer = Signer.from_skey(rows[META_SKEY])
    if rows.get(META_ORIGIN) != signer.name:
        raise StorageError(
            "the log's stored origin is not its key's name",
            code="log.no_key",
            expected=signer.name,
            actual=rows.get(META_ORIGIN),
        )
    return signer


def _head(conn: Connection, *, lock: bool = False) -> int:
    stmt = select(meta.c.value).where(meta.c.name == HEAD)
    return int(conn.execute(stmt.with_for_update() if lock else stmt).scalar_one())


def _check_origin(origin: str) -> None:
    try:
        check_key_name(origin, where="origin")
    except InputError as exc:
        raise InputError(
            f"origin {origin!r} must be one non-empty line without spaces or '+' (for example "
            "kp.example.org/log)",
            code="log.origin",
            field="origin",
        ) from exc
