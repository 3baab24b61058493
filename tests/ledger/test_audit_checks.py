"""Every check of ``audit`` broken by the attack it defends against (issue 8, section 5): a checkpoint of
another origin, two checkpoints of one size with different roots, a leaf 0 that is not the genesis, a second
genesis (which must not bring in trusted keys); and a forged signature sent down ``authenticate``'s own
verification, the path of an envelope signed by a key registered earlier in the same batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adamas import Ledger, audit
from adamas.ledger.export import checkpoint_path
from adamas.log import Checkpoint, Signer, sign_checkpoint
from adamas.sim import World
from adamas.store import schema
from conftest import basic_world
from log_helpers import ORIGIN, build_ledger, log_behind_the_rules


def _signer(ledger: Ledger) -> Signer:
    with ledger.engine.connect() as conn:
        skey = conn.execute(select(schema.meta.c.value).where(schema.meta.c.name == "log_skey")).scalar_one()
    return Signer.from_skey(skey)


def _codes(report: Any) -> list[tuple[str, int | None, int | None]]:
    return [(f.code, f.leaf, f.checkpoint) for f in report.faults]


@pytest.fixture
def mirror(sqlite_url: str, tmp_path: Path) -> tuple[Path, str, Signer]:
    """An exported ledger of 300 events (checkpoints at 100, 200, 300), its vkey and its log's signer."""
    with build_ledger(sqlite_url, 300) as ledger:
        ledger.export_tiles(tmp_path / "tiles")
        return tmp_path / "tiles", ledger.vkey, _signer(ledger)


def test_a_checkpoint_of_another_origin_is_named(mirror: tuple[Path, str, Signer]) -> None:
    directory, vkey, signer = mirror
    honest = Checkpoint.from_text((directory / checkpoint_path(200)).read_text().split("\n\n")[0] + "\n")
    # Signed with the log's own key, for the same tree, but naming another log.
    other = sign_checkpoint(Checkpoint("other.example/log", 200, honest.root_hash), [signer])
    (directory / checkpoint_path(200)).write_bytes(other)
    report = audit(tiles=directory, vkey=vkey)
    assert _codes(report) == [("audit.checkpoint_origin", None, 200)]
    assert "'other.example/log', not 'kp.example.org/log'" in report.faults[0].message


def test_two_checkpoints_of_one_size_with_different_roots_are_named(mirror: tuple[Path, str, Signer]) -> None:
    directory, vkey, signer = mirror
    forged = sign_checkpoint(Checkpoint(ORIGIN, 300, hashlib.sha256(b"another tree").digest()), [signer])
    (directory / checkpoint_path(300)).write_bytes(forged)
    report = audit(tiles=directory, vkey=vkey)
    assert _codes(report) == [("audit.checkpoint_root", None, 300)]
    assert report.faults[0].message == "two checkpoints of size 300 sign different roots"


def _genesis_world(admin: str = "admin", seed: str = "tests") -> World:
    world = World(seed=seed, admin_id=admin, id_prefix=f"{admin}-evt")
    world.genesis()
    return world


def test_a_leaf_0_that_is_not_the_genesis_is_named(
    db_url: str, open_ledger: Callable[[str], Ledger], tmp_path: Path
) -> None:
    world = basic_world()
    ledger = open_ledger(db_url)
    log_behind_the_rules(ledger, world.events[1:3])  # the authority's registration, without the genesis
    report = audit(db=db_url, replay=True)
    faults = [(f.code, f.leaf, f.rule) for f in report.faults]
    assert faults[0] == ("audit.envelope", 0, None)
    assert report.faults[0].message == "leaf 0 is not the genesis event"
    assert ("audit.replay_refused", 0, "ledger.no_genesis") in faults
    ledger.export_tiles(tmp_path / "tiles")
    mirror = audit(tiles=tmp_path / "tiles", vkey=ledger.vkey)
    assert (mirror.faults[0].code, mirror.faults[0].leaf) == ("audit.envelope", 0)


def test_a_second_genesis_is_named_and_brings_in_no_key(
    db_url: str, open_ledger: Callable[[str], Ledger], tmp_path: Path
) -> None:
    world = basic_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    rogue = _genesis_world("rogue", seed="rogue")
    # The rogue "administrator" registers a participant with the key its own genesis would have trusted.
    rogue.authority("ZW")
    log_behind_the_rules(ledger, rogue.events)
    second, registered = len(world.events), len(world.events) + 1
    report = audit(db=db_url, replay=True)
    faults = [(f.code, f.leaf, f.rule) for f in report.faults]
    assert faults[:2] == [("audit.envelope", second, None), ("audit.unknown_key", registered, None)]
    assert report.faults[0].message == f"leaf {second} is a second genesis event"
    rogue_key = rogue.actor("rogue").key.id
    assert report.faults[1].message == (
        f"leaf {registered} is signed with key {rogue_key}, which no earlier leaf registered for rogue"
    )
    assert ("audit.replay_refused", second, "actor.not_authorized") in faults
    assert ("audit.replay_refused", registered, "envelope.unknown_key") in faults
    assert report.envelopes == len(world.events)
    ledger.export_tiles(tmp_path / "tiles")
    mirror = audit(tiles=tmp_path / "tiles", vkey=ledger.vkey, replay=True)
    assert [(f.code, f.leaf, f.rule) for f in mirror.faults] == [
        ("audit.envelope", second, None),
        ("audit.unknown_key", registered, None),
        ("audit.replay_refused", second, "actor.not_authorized"),
        ("audit.replay_refused", registered, "envelope.unknown_key"),
    ]


def _forge(envelope: dict[str, Any]) -> dict[str, Any]:
    sig = envelope["sig"]
    return {"body": envelope["body"], "sig": ("B" if sig[0] == "A" else "A") + sig[1:]}


@pytest.mark.parametrize("forged", [True, False])
def test_a_forged_signature_by_a_key_registered_earlier_in_the_batch_is_refused(
    db_url: str, open_ledger: Callable[[str], Ledger], forged: bool
) -> None:
    world = basic_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    world.register("bw-authority", "newcomer", "BW", ["trader"])
    second = world.key_for("newcomer", 1)
    world.sign(
        "newcomer",
        "key.add",
        participant="newcomer",
        new_key={"id": second.id, "public_key": second.public_key_b64},
    )
    registration, signed = world.events[-2:]
    # The newcomer's key is unknown before the batch: its signature is checked inside authenticate.
    outcomes = ledger.submit([registration, _forge(signed) if forged else signed], mode="proceed")
    if forged:
        assert [o.status for o in outcomes] == ["accepted", "refused"]
        assert outcomes[1].error is not None
        assert (outcomes[1].error.code, outcomes[1].error.field) == ("envelope.bad_signature", "sig")
    else:
        assert [o.status for o in outcomes] == ["accepted", "accepted"], [o.to_json() for o in outcomes]


def test_a_forged_genesis_signature_is_refused(sqlite_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world = _genesis_world()
    ledger = open_ledger(sqlite_url)
    (outcome,) = ledger.submit([_forge(world.events[0])])
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.field) == ("envelope.bad_signature", "sig")
    (outcome,) = ledger.submit([world.events[0]])
    assert outcome.status == "accepted"


def test_a_forged_signature_logged_behind_the_rules_is_named_by_the_audit_and_the_replay(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world = basic_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    world.produce("miner", "LOT-F", "mine-a", "1.00", stones=1)
    log_behind_the_rules(ledger, [_forge(world.events[-1])])
    leaf = len(world.events) - 1
    report = audit(db=db_url, replay=True)
    faults = [(f.code, f.leaf, f.rule) for f in report.faults]
    assert faults[:2] == [
        ("audit.signature", leaf, None),
        ("audit.replay_refused", leaf, "envelope.bad_signature"),
    ]
    miner_key = world.actor("miner").key.id
    assert report.faults[0].message == f"leaf {leaf}: the signature does not verify under key {miner_key}"


def test_a_key_added_by_the_log_signs_what_follows(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world = basic_world()
    second = world.key_for("miner", 1)
    world.sign(
        "miner",
        "key.add",
        participant="miner",
        new_key={"id": second.id, "public_key": second.public_key_b64},
    )
    world.produce("miner", "LOT-PLAIN", "mine-a", "1.00", stones=1)
    lot = dict(world.events.pop()["body"]["lot"], id="LOT-NEW-KEY")
    world.sign("miner", "lot.register", key=second, lot=lot)
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    report = audit(db=db_url, replay=True)
    assert report.ok, report.to_json()
    assert (report.envelopes, report.replayed) == (len(world.events), len(world.events))
