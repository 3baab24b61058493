"""The ledger as a witnessed log: the witnesses it asks to cosign its checkpoints (C2SP tlog-witness), the
cosignatures they return (tlog-cosignature), and the checkpoint served with them.

A collection round (``request_cosignatures``) runs outside any ingest transaction: it reads the newest
checkpoint, sends it to every witness with a consistency proof from the size that witness last cosigned,
verifies each answer against the witness's vkey and stores the cosignatures. A witness that is down, slow
or refuses never raises out of a round and never blocks ingest: its error and the time are recorded on its
row, and the next round tries again.

Invariants:
- a cosignature is stored only after it verified under the witness's configured key over the exact
  checkpoint text; ``cosigned_checkpoint`` verifies the stored lines again before serving them;
- a 409 answer names the size the witness holds: a size at most ours is retried once from that size (the
  witness lost its place, or another of our processes got there first); a larger size, or a 409 at the
  size sent (the witness cosigned another tree of that size), is recorded as an error: it is evidence of
  a fork, and retrying cannot fix it;
- HTTP requests run in parallel threads with timeouts; every database read and write happens on the
  calling thread.

Error codes: InputError ``witness.vkey``, ``witness.name_mismatch``, ``witness.url``; ConflictError
``witness.exists``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from adamas.errors import AdamasError, ConflictError, InputError
from adamas.ledger.transparency import TransparencyLog
from adamas.log import Cosignature, CosignatureVerifier, consistency_proof, open_note
from adamas.store.database import begin_write
from adamas.store.schema import log_cosignatures, log_witnesses
from adamas.store.tree import StoredHashReader
from adamas.witness.request import format_add_checkpoint

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "Collection",
    "WitnessStatus",
    "add_witness",
    "cosigned_checkpoint",
    "list_witnesses",
    "newest_cosigned_size",
    "request_cosignatures",
]

DEFAULT_TIMEOUT: Final = 10.0
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
_MAX_ROUNDS: Final = 3
_ERROR_TEXT: Final = 300


@dataclass(frozen=True)
class WitnessStatus:
    """A configured witness and what it last did: the size it last cosigned (0: none), when, and the last
    error (None once it cosigns again)."""

    name: str
    vkey: str
    url: str
    cosigned_size: int
    cosigned_ns: int | None = None
    attempt_ns: int | None = None
    last_error: str | None = None
    error_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "name": self.name,
            "vkey": self.vkey,
            "url": self.url,
            "cosigned_size": self.cosigned_size,
            "cosigned_ns": self.cosigned_ns,
            "attempt_ns": self.attempt_ns,
            "last_error": self.last_error,
            "error_ns": self.error_ns,
        }


@dataclass(frozen=True)
class Collection:
    """One witness's outcome in a round: the size it has cosigned, or the error recorded."""

    witness: str
    size: int
    error: str | None = None
    new: bool = False

    @property
    def ok(self) -> bool:
        """True when the witness has cosigned the checkpoint of ``size``."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "witness": self.witness,
            "ok": self.ok,
            "size": self.size,
            "new": self.new,
            "error": self.error,
        }


def _verifier(name: str, vkey: str) -> CosignatureVerifier:
    try:
        verifier = CosignatureVerifier.from_vkey(vkey.strip())
    except AdamasError as exc:
        raise InputError(
            f"not a witness vkey (type 0x04 cosignature key): {exc.message}",
            code="witness.vkey",
            field="vkey",
        ) from exc
    if verifier.name != name:
        raise InputError(
            f"the vkey is for {verifier.name!r}, not {name!r}",
            code="witness.name_mismatch",
            field="name",
            expected=verifier.name,
            actual=name,
        )
    return verifier


def add_witness(engine: Engine, name: str, vkey: str, url: str, *, now_ns: int) -> WitnessStatus:
    """Configure a witness (idempotent for the same vkey and URL; another one under the name conflicts)."""
    verifier = _verifier(name, vkey)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url!r} is not an http(s) URL", code="witness.url", field="url")
    with begin_write(engine) as conn:
        existing = _statuses(conn, name)
        if existing:
            if (existing[0].vkey, existing[0].url) != (verifier.vkey, url):
                raise ConflictError(
                    f"a witness named {name!r} is configured already with another key or URL",
                    code="witness.exists",
                    field="name",
                )
            return existing[0]
        conn.execute(
            insert(log_witnesses).values(
                name=name, vkey=verifier.vkey, url=url, added_ns=now_ns, cosigned_size=0
            )
        )
        return _statuses(conn, name)[0]


def list_witnesses(engine: Engine) -> list[WitnessStatus]:
    """Every configured witness, by name."""
    with engine.connect() as conn:
        return _statuses(conn)


def _statuses(conn: Connection, name: str | None = None) -> list[WitnessStatus]:
    stmt = select(log_witnesses).order_by(log_witnesses.c.name)
    if name is not None:
        stmt = stmt.where(log_witnesses.c.name == name)
    return [
        WitnessStatus(
            r.name, r.vkey, r.url, int(r.cosigned_size), r.cosigned_ns, r.attempt_ns, r.last_error, r.error_ns
        )
        for r in conn.execute(stmt)
    ]


# --- a collection round -----------------------------------------------------------------------------------


@dataclass
class _Ask:
    """One witness's progress through a round."""

    status: WitnessStatus
    verifier: CosignatureVerifier
    old: int
    result: Collection | None = None
    line: str | None = None
    timestamp: int = 0
    learned_size: int | None = None


def request_cosignatures(
    engine: Engine,
    log: TransparencyLog,
    *,
    now: Callable[[], int],
    client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Collection]:
    """One round: ask every witness to cosign the newest checkpoint; store what verifies; never raises for
    a witness's failure (see the module docstring)."""
    import httpx

    with engine.connect() as conn:
        latest = log.latest(conn)
        statuses = _statuses(conn)
        held = _held(conn, latest[0]) if latest else set()
    if latest is None or not statuses:
        return []
    size, note = latest
    asks: list[_Ask] = []
    for status in statuses:
        ask = _Ask(status, _verifier(status.name, status.vkey), min(status.cosigned_size, size))
        if status.cosigned_size == size and status.name in held:
            ask.result = Collection(status.name, size)
        asks.append(ask)
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
    try:
        for _ in range(_MAX_ROUNDS):
            pending = [a for a in asks if a.result is None]
            if not pending:
                break
            with engine.connect() as conn:
                reader = StoredHashReader(conn)
                bodies = [
                    format_add_checkpoint(
                        a.old, consistency_proof(a.old, size, reader) if a.old else [], note
                    )
                    for a in pending
                ]
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
                answers = list(pool.map(lambda a, b: _post(http, a.status.url, b), pending, bodies))
            for ask, answer in zip(pending, answers, strict=True):
                _settle(ask, answer, size, note)
    finally:
        if own_client:
            http.close()
    for ask in asks:
        if ask.result is None:
            ask.result = Collection(ask.status.name, ask.status.cosigned_size, "no answer after retries")
    _store(engine, asks, size, now())
    return [a.result for a in asks if a.result is not None]


def _post(client: httpx.Client, url: str, body: bytes) -> httpx.Response | str:
    """POST to ``<url>/add-checkpoint``: the response, or a description of the transport failure."""
    import httpx

    try:
        return client.post(
            url.rstrip("/") + "/add-checkpoint", content=body, headers={"content-type": "text/plain"}
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT] or type(exc).__name__


def _settle(ask: _Ask, answer: httpx.Response | str, size: int, note: str) -> None:
    name = ask.status.name
    if isinstance(answer, str):
        ask.result = Collection(name, ask.status.cosigned_size, f"unreachable: {answer}")
        return
    if answer.status_code == 200:
        try:
            # The client MAY concatenate the response to the checkpoint and verify it as a note.
            opened = open_note(note.encode("utf-8") + answer.content, [ask.verifier])
            signature = opened.signatures[0]
            ask.timestamp = Cosignature.from_note_signature(signature).timestamp
        except AdamasError as exc:
            ask.result = Collection(name, ask.status.cosigned_size, f"invalid cosignature: {exc.code}")
            return
        ask.line = signature.to_line()
        ask.result = Collection(name, size, new=True)
        return
    if answer.status_code == 409:
        text = answer.text.strip()
        if not text.isdigit() or not answer.headers.get("content-type", "").startswith(SIZE_CONTENT_TYPE):
            ask.result = Collection(name, ask.status.cosigned_size, f"HTTP 409 without a size: {text[:80]!r}")
            return
        theirs = int(text)
        ask.learned_size = theirs
        if theirs > size:
            ask.result = Collection(
                name, theirs, f"the witness holds size {theirs}, beyond this log's {size}: a fork?"
            )
        elif theirs == ask.old:
            ask.result = Collection(
                name, theirs, f"the witness holds another tree of size {theirs}: a split view?"
            )
        else:
            ask.old = theirs  # retry from the witness's size
        return
    text = answer.text.strip().splitlines()[0] if answer.text.strip() else ""
    ask.result = Collection(
        name, ask.status.cosigned_size, f"HTTP {answer.status_code}: {text[:_ERROR_TEXT]}"
    )


def _store(engine: Engine, asks: Sequence[_Ask], size: int, now_ns: int) -> None:
    """Record each witness's outcome in its own transaction; a cosignature stored meanwhile by another
    process of this ledger (the same line's primary key) is kept and this one dropped."""
    for ask in asks:
        try:
            with begin_write(engine) as conn:
                _store_one(conn, ask, size, now_ns, keep_line=True)
        except IntegrityError:
            with begin_write(engine) as conn:
                _store_one(conn, ask, size, now_ns, keep_line=False)


def _store_one(conn: Connection, ask: _Ask, size: int, now_ns: int, *, keep_line: bool) -> None:
    result = ask.result
    assert result is not None
    values: dict[str, Any] = {}
    if result.ok and ask.line is not None:
        if keep_line and ask.status.name not in _held(conn, size):
            conn.execute(
                insert(log_cosignatures).values(
                    size=size,
                    witness=ask.status.name,
                    line=ask.line,
                    timestamp=ask.timestamp,
                    received_ns=now_ns,
                )
            )
        values = {"cosigned_size": size, "cosigned_ns": now_ns, "last_error": None, "error_ns": None}
    elif not result.ok:
        values = {"last_error": result.error, "error_ns": now_ns}
        if ask.learned_size is not None:
            values["cosigned_size"] = ask.learned_size
    conn.execute(
        update(log_witnesses)
        .where(log_witnesses.c.name == ask.status.name)
        .values(attempt_ns=now_ns, **values)
    )


def _held(conn: Connection, size: int) -> set[str]:
    """The witnesses whose cosignature of ``size`` is stored."""
    rows = conn.execute(select(log_cosignatures.c.witness).where(log_cosignatures.c.size == size))
    return {str(r[0]) for r in rows}


# --- serving ----------------------------------------------------------------------------------------------


def cosigned_checkpoint(conn: Connection, log: TransparencyLog, size: int | None = None) -> str:
    """The signed checkpoint of ``size`` (default: the newest) with every stored cosignature line that
    verifies under its configured witness's key appended."""
    note = log.checkpoint(conn, size)
    if size is None:
        latest = log.latest(conn)
        assert latest is not None
        size = latest[0]
    rows = conn.execute(
        select(log_cosignatures.c.line, log_witnesses.c.name, log_witnesses.c.vkey)
        .join(log_witnesses, log_witnesses.c.name == log_cosignatures.c.witness)
        .where(log_cosignatures.c.size == size)
        .order_by(log_witnesses.c.name)
    ).all()
    lines = []
    for row in rows:
        try:
            open_note((note + row.line).encode("utf-8"), [_verifier(row.name, row.vkey)])
        except AdamasError:
            continue  # a line that no longer verifies (the witness's key was changed) is not served
        lines.append(row.line)
    return note + "".join(lines)


def newest_cosigned_size(conn: Connection, *, above: int = -1) -> int | None:
    """The newest tree size with a stored cosignature by a configured witness, larger than ``above``."""
    value = conn.execute(
        select(func.max(log_cosignatures.c.size))
        .join(log_witnesses, log_witnesses.c.name == log_cosignatures.c.witness)
        .where(log_cosignatures.c.size > above)
    ).scalar()
    return None if value is None else int(value)
