"""A witness's own database: for each log origin, the latest checkpoint it cosigned, and evidence kept of
what it refused.

This is not a ledger database; a witness keeps it apart from any log it witnesses (SQLite by default, any
SQLAlchemy URL the store accepts).

Invariants:
- ``advance`` is a compare-and-swap: it moves an origin from exactly the (size, root) the caller verified
  against to the new one, or changes nothing and reports the state it found. Two requests checked against
  the same old state cannot both win, so a slower, smaller request can never roll the state back
  (tlog-witness: checking the old size and persisting the new checkpoint must be atomic);
- sizes only grow: ``advance`` refuses a new size below the old one whatever the caller checked;
- the first checkpoint of an origin is an insert, which the primary key makes atomic in the same way.

Error codes: StorageError ``witness.storage``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from adamas.errors import StorageError
from adamas.log import EMPTY_ROOT
from adamas.store.database import begin_write, normalize_url, open_engine

__all__ = ["LogState", "WitnessState", "state_url"]

metadata = MetaData()

witness_logs = Table(
    "witness_logs",
    metadata,
    Column("origin", String(255), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("updated_ns", BigInteger, nullable=False),
)

# Requests from a known log, signed by it, that were refused: possible proof of a log's misbehaviour
# (tlog-witness: "the witness MAY log the request even if the consistency proof doesn't verify").
witness_evidence = Table(
    "witness_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False, index=True),
    Column("code", String(64), nullable=False),
    Column("old_size", BigInteger, nullable=False),
    Column("request", LargeBinary, nullable=False),
    Column("received_ns", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class LogState:
    """What the witness holds for one log: the size and root it last cosigned (0 and the empty root if
    none), and that checkpoint's note."""

    origin: str
    size: int
    root: bytes
    note: str = ""


def state_url(location: str) -> str:
    """A database URL for ``location``: a URL as given, or a file path as a SQLite database."""
    if "://" in location:
        return normalize_url(location)
    return f"sqlite:///{location}"


class WitnessState:
    """The witness's table of logs, with compare-and-swap updates."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, location: str) -> WitnessState:
        """Open (creating if needed) the state database at ``location`` (a path or a URL)."""
        engine = open_engine(state_url(location))
        try:
            with begin_write(engine) as conn:
                metadata.create_all(conn)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StorageError(f"cannot open the witness state: {exc}", code="witness.storage") from exc
        return cls(engine)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def get(self, origin: str) -> LogState:
        """The state of ``origin`` (size 0 with the empty tree's root if it was never cosigned)."""
        try:
            with self._engine.connect() as conn:
                row = conn.execute(select(witness_logs).where(witness_logs.c.origin == origin)).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read the witness state: {exc}", code="witness.storage") from exc
        if row is None:
            return LogState(origin, 0, EMPTY_ROOT)
        return LogState(origin, int(row.size), bytes(row.root), str(row.note))

    def all(self) -> list[LogState]:
        """Every log the witness cosigned, by origin."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(witness_logs).order_by(witness_logs.c.origin)).all()
        return [LogState(r.origin, int(r.size), bytes(r.root), str(r.note)) for r in rows]

    def advance(self, old: LogState, new: LogState, *, now_ns: int) -> LogState | None:
        """Move ``old.origin`` from exactly ``old`` to ``new``; None on success, else the state found."""
        if new.size < old.size or new.origin != old.origin:
            return self.get(old.origin)
        values = {"size": new.size, "root": new.root, "note": new.note, "updated_ns": now_ns}
        try:
            with begin_write(self._engine) as conn:
                changed = conn.execute(
                    update(witness_logs)
                    .where(
                        witness_logs.c.origin == old.origin,
                        witness_logs.c.size == old.size,
                        witness_logs.c.root == old.root,
                    )
                    .values(**values)
                ).rowcount
                if changed == 0 and old.size == 0:
                    # Never cosigned (or cosigned only the empty tree, which the update matched).
                    conn.execute(insert(witness_logs).values(origin=new.origin, **values))
                    changed = 1
            if changed == 1:
                return None
        except IntegrityError:
            pass  # another request cosigned this origin's first checkpoint first
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot update the witness state: {exc}", code="witness.storage") from exc
        return self.get(old.origin)

    def keep_evidence(self, origin: str, code: str, old_size: int, request: bytes, *, now_ns: int) -> None:
        """Keep a refused request signed by the log ``origin``."""
        try:
            with begin_write(self._engine) as conn:
                conn.execute(
                    insert(witness_evidence).values(
                        origin=origin, code=code, old_size=old_size, request=request, received_ns=now_ns
                    )
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot keep evidence: {exc}", code="witness.storage") from exc

    def evidence(self, origin: str | None = None) -> list[tuple[str, str, int, bytes]]:
        """Refused requests kept: (origin, code, old size, request body), oldest first."""
        stmt = select(witness_evidence).order_by(witness_evidence.c.id)
        if origin is not None:
            stmt = stmt.where(witness_evidence.c.origin == origin)
        with self._engine.connect() as conn:
            return [(r.origin, r.code, int(r.old_size), bytes(r.request)) for r in conn.execute(stmt)]
