"""The audit's envelope check: each entry is a canonical Adamas envelope whose Ed25519 signature verifies
under a key that an earlier entry of the same log registered (leaf 0 being the genesis, which brings the
administrator's keys). Nothing but the log is trusted; the rules themselves are the replay's
(``adamas.ledger.replay``).
"""

from __future__ import annotations

from collections.abc import Callable

from adamas.audit_lean import Lean, lean
from adamas.crypto.keys import verify_raw
from adamas.errors import AdamasError
from adamas.ledger.audit_faults import Faults
from adamas.model.events import Envelope, parse_envelope

__all__ = ["EnvelopeCheck", "OnEnvelope"]

OnEnvelope = Callable[[int, Envelope], None]
"""``on_envelope(leaf, envelope)``: an entry that passed the check, in leaf order (the replay's feed)."""


class EnvelopeCheck:
    """Checks that each entry is a canonical Adamas envelope signed by a key the log registered earlier."""

    def __init__(self, faults: Faults, on_envelope: OnEnvelope | None = None) -> None:
        self.faults = faults
        self.keys: dict[str, tuple[str, bytes]] = {}
        self.verified = 0
        self.on_envelope = on_envelope

    def check(self, index: int, entry: bytes) -> None:
        """Check leaf ``index``; hand every entry that is an envelope on to ``on_envelope``."""
        if self.on_envelope is None:
            custody = lean(entry)
            if custody is not None:
                self._custody(index, custody)
                return
        try:
            envelope = parse_envelope(entry)
        except AdamasError as exc:
            self.faults.add(
                "audit.envelope",
                f"leaf {index} is not an Adamas envelope: {exc.code}: {exc.message}",
                leaf=index,
            )
            return
        if envelope.leaf != entry:
            self.faults.add(
                "audit.envelope", f"leaf {index} is not its envelope's canonical form", leaf=index
            )
            return
        self._signed(index, envelope)
        if self.on_envelope is not None:
            self.on_envelope(index, envelope)

    def _custody(self, index: int, custody: Lean) -> None:
        """``_signed`` for an entry the lean check accepted: a custody event, which registers no key."""
        if index == 0:
            self.faults.add("audit.envelope", "leaf 0 is not the genesis event", leaf=index)
        self._verify(index, self.keys, custody)

    def _verify(self, index: int, keys: dict[str, tuple[str, bytes]], signed: Lean) -> bool:
        """Check leaf ``index``'s signature (``signed``: type, actor, key id, body, signature) under the key,
        which ``keys`` must give to the actor; count it, or record the fault."""
        _, actor, key, body, signature = signed
        owner = self._owner(index, keys, actor, key)
        return owner is not None and self._counted(index, key, verify_raw(owner[1], body, signature))

    def _owner(
        self, index: int, keys: dict[str, tuple[str, bytes]], actor: str, key: str
    ) -> tuple[str, bytes] | None:
        """The (owner, public key) ``keys`` give ``key`` if ``actor`` owns it; else None (fault recorded)."""
        owner = keys.get(key)
        if owner is None or owner[0] != actor:
            self.faults.add(
                "audit.unknown_key",
                f"leaf {index} is signed with key {key}, which no earlier leaf registered for {actor}",
                leaf=index,
            )
            return None
        return owner

    def _counted(self, index: int, key: str, verified: bool) -> bool:
        """Count leaf ``index`` as verified, or record that its signature under ``key`` does not verify."""
        if not verified:
            self.faults.add(
                "audit.signature", f"leaf {index}: the signature does not verify under key {key}", leaf=index
            )
            return False
        self.verified += 1
        return True

    def _signed(self, index: int, envelope: Envelope) -> None:
        event = envelope.event
        keys = self.keys
        if event.type == "genesis":
            admin = event.fields["administrator"]
            keys = {k.id: (admin.id, k.public_key) for k in admin.keys}
            if index != 0:
                self.faults.add("audit.envelope", f"leaf {index} is a second genesis event", leaf=index)
                return
        elif index == 0:
            self.faults.add("audit.envelope", "leaf 0 is not the genesis event", leaf=index)
        signed = (event.type, event.actor, event.key, envelope.body_bytes, envelope.signature)
        if not self._verify(index, keys, signed):
            return
        fields = event.fields
        if event.type in ("genesis", "participant.register"):
            spec = fields["administrator" if event.type == "genesis" else "participant"]
            for key in spec.keys:
                self.keys[key.id] = (spec.id, key.public_key)
        elif event.type == "key.add":
            self.keys[fields["new_key"].id] = (fields["participant"], fields["new_key"].public_key)
