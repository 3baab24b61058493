"""A C2SP tlog-witness@v1.0.0 witness: checks a log's new checkpoint against the last one it cosigned for
that log and, if the log only grew, cosigns it (tlog-cosignature@v1.0.1).

``Witness.add_checkpoint`` is the whole protocol without HTTP; each refusal is an ``AdamasError`` whose code
the witness's HTTP face (``adamas.witness.http``) maps to the spec's status. The checks run in the spec's
order:

1. the request is well formed (``witness.malformed``);
2. the checkpoint's origin is a log the witness is configured for (``witness.unknown_log``);
3. a signature by one of that log's trusted keys verifies (``witness.untrusted``); a known key whose
   signature fails is refused the same way, and signatures by other keys are ignored;
4. the old size is not beyond the checkpoint's size (``witness.old_size``);
5. the old size is the size the witness last cosigned for the log, 0 if none (``witness.size_mismatch``,
   carrying the witness's ``size``);
6. at the same size the root must be the same (``witness.root_mismatch``, also carrying ``size``: a split
   view); otherwise the consistency proof from the stored root to the new one verifies
   (``witness.bad_proof``);
7. the new state is stored by compare-and-swap from the exact state checked (a lost race is
   ``witness.size_mismatch`` with the size that won), and only then is the checkpoint cosigned.

A split view or a bad proof for a checkpoint the log did sign is kept as evidence in the witness's state.

Error codes: InputError ``witness.malformed``, ``witness.old_size``; NotFoundError ``witness.unknown_log``;
VerificationError ``witness.untrusted``, ``witness.bad_proof``; ConflictError ``witness.size_mismatch``,
``witness.root_mismatch``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from adamas.errors import AdamasError, ConflictError, InputError, NotFoundError, VerificationError
from adamas.log import Checkpoint, Cosigner, Verifier, open_note, verify_witness_consistency
from adamas.witness.request import parse_add_checkpoint
from adamas.witness.state import LogState, WitnessState

__all__ = ["Witness"]

Clock = Callable[[], int]
# Refusals of a checkpoint the log signed that no honest log can cause: kept as evidence.
_EVIDENCE = frozenset({"witness.root_mismatch", "witness.bad_proof"})


class Witness:
    """A witness: its cosigning key, the logs it trusts (origin -> their keys) and its state."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Mapping[str, Sequence[Verifier]],
        state: WitnessState,
        *,
        clock: Clock | None = None,
    ) -> None:
        if not logs:
            raise InputError(
                "a witness needs at least one log to witness", code="witness.no_logs", field="log"
            )
        self._cosigner = cosigner
        self._logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self._state = state
        self._clock: Clock = clock or time.time_ns

    @property
    def name(self) -> str:
        """The witness's key name."""
        return self._cosigner.name

    @property
    def vkey(self) -> str:
        """The witness's C2SP verifier key (signature type 0x04)."""
        return self._cosigner.verifier.vkey

    @property
    def origins(self) -> tuple[str, ...]:
        """The origins of the logs it witnesses."""
        return tuple(self._logs)

    @property
    def state(self) -> WitnessState:
        """The witness's state database."""
        return self._state

    def add_checkpoint(self, body: bytes) -> str:
        """Check an add-checkpoint request body and return the cosignature line(s), or raise the refusal."""
        request = parse_add_checkpoint(body)
        checkpoint = self._open(request.note)
        # 4. The old size MUST be equal to or lower than the checkpoint size.
        if request.old_size > checkpoint.size:
            raise InputError(
                f"old size {request.old_size} is beyond the checkpoint's size {checkpoint.size}",
                code="witness.old_size",
                field="old",
                expected=f"<= {checkpoint.size}",
                actual=request.old_size,
            )
        held = self._state.get(checkpoint.origin)
        try:
            self._check(held, request.old_size, request.proof, checkpoint)
            new = LogState(checkpoint.origin, checkpoint.size, checkpoint.root_hash, request.note.decode())
            # 7. Checking the old size and persisting the new checkpoint must be atomic.
            found = self._state.advance(held, new, now_ns=self._clock())
            if found is not None:
                raise _size_mismatch(request.old_size, found.size)
        except (ConflictError, VerificationError) as exc:
            if exc.code in _EVIDENCE:
                self._state.keep_evidence(
                    checkpoint.origin, exc.code, request.old_size, body, now_ns=self._clock()
                )
            raise
        return self._cosigner.cosign(checkpoint.to_text(), timestamp=self._clock() // 1_000_000_000)

    def _open(self, note: bytes) -> Checkpoint:
        """Steps 2 and 3: the origin is known and one of its keys signed the note."""
        text_end = note.rfind(b"\n\n")
        if text_end < 0:
            raise InputError(
                "the checkpoint is not a signed note", code="witness.malformed", field="checkpoint"
            )
        try:
            origin = note[: note.find(b"\n")].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                "the checkpoint is not UTF-8", code="witness.malformed", field="checkpoint"
            ) from exc
        keys = self._logs.get(origin)
        if keys is None:
            raise NotFoundError(
                f"this witness does not witness the log {origin!r}",
                code="witness.unknown_log",
                field="origin",
            )
        try:
            opened = open_note(note, keys)
        except VerificationError as exc:
            raise VerificationError(
                f"no trusted signature of {origin} verifies on the checkpoint ({exc.code})",
                code="witness.untrusted",
                field="checkpoint",
            ) from exc
        except AdamasError as exc:
            raise InputError(
                f"the checkpoint is not a signed note: {exc.message}",
                code="witness.malformed",
                field="checkpoint",
            ) from exc
        try:
            checkpoint = Checkpoint.from_text(opened.text)
        except AdamasError as exc:
            raise InputError(
                f"the note is not a checkpoint: {exc.message}", code="witness.malformed", field="checkpoint"
            ) from exc
        if checkpoint.origin != origin:
            raise InputError("the checkpoint's origin line is malformed", code="witness.malformed")
        return checkpoint

    @staticmethod
    def _check(held: LogState, old_size: int, proof: Sequence[bytes], checkpoint: Checkpoint) -> None:
        """Steps 5 and 6 against the state ``held``."""
        # 5. The old size MUST match the size of the latest checkpoint cosigned for the origin (or zero).
        if old_size != held.size:
            raise _size_mismatch(old_size, held.size)
        # 6. If the old size matches the checkpoint size, the root hashes MUST be identical.
        if checkpoint.size == held.size and checkpoint.root_hash != held.root:
            raise ConflictError(
                f"a checkpoint of size {held.size} with another root than the one cosigned: a split view",
                code="witness.root_mismatch",
                field="checkpoint",
                size=held.size,
                expected=held.root.hex(),
                actual=checkpoint.root_hash.hex(),
            )
        try:
            verify_witness_consistency(held.size, checkpoint.size, proof, held.root, checkpoint.root_hash)
        except AdamasError as exc:
            raise VerificationError(
                f"the consistency proof from {held.size} to {checkpoint.size} does not verify: {exc.message}",
                code="witness.bad_proof",
                field="proof",
            ) from exc

    def status(self) -> Iterable[LogState]:
        """What the witness holds for each log it cosigned."""
        return self._state.all()


def _size_mismatch(old_size: int, held: int) -> ConflictError:
    return ConflictError(
        f"old size {old_size} is not the size this witness last cosigned ({held})",
        code="witness.size_mismatch",
        field="old",
        size=held,
        expected=held,
        actual=old_size,
    )
