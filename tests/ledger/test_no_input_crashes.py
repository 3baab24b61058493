"""No input crashes anything (issue 8, section 4): each bad input is refused with a code naming the field,
nothing of it is written, and in ``proceed`` mode the good envelopes of the same batch are still accepted,
on both backends alike. The bounds are those of docs/limits.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from adamas import InputError, Ledger
from adamas.cli import app
from adamas.crypto import canonicalize, save_private_key
from adamas.ledger.ledger import MAX_BATCH
from adamas.model.events import MAX_DEPTH
from adamas.model.signing import sign_body
from adamas.sim import World
from adamas.store import schema
from conftest import basic_world

runner = CliRunner()


def _lot(lot_id: str, *, carats: str = "1.00", stones: int = 1, value: str = "1.00") -> dict[str, Any]:
    return {
        "id": lot_id,
        "kind": "rough_parcel",
        "carats": carats,
        "stones": stones,
        "value": {"amount": value, "currency": "USD"},
        "site": "mine-a",
    }


def _register(world: World, lot: dict[str, Any], **header: Any) -> dict[str, Any]:
    envelope = world.sign("miner", "lot.register", record=False, lot=lot)
    if not header:
        return envelope
    body = {**envelope["body"], **header}
    body.pop("key")
    return sign_body(body, world.actor("miner").key)


def _raw(envelope: dict[str, Any], old: str, new: str) -> str:
    """The envelope as text with one piece of it replaced (the signature no longer matters: it is refused
    before any signature is checked)."""
    text = json.dumps(envelope)
    assert old in text
    return text.replace(old, new, 1)


def _deep(world: World) -> str:
    nested = "[" * 10_000 + '"x"' + "]" * 10_000
    return _raw(_register(world, _lot("DEEP-1")), '"mine-a"', nested)


BAD: dict[str, tuple[Callable[[World], Any], str, str | None]] = {
    "year_1": (lambda w: _register(w, _lot("T-1"), time="0001-01-01T00:00:00Z"), "time.out_of_range", "time"),
    "year_9999": (
        lambda w: _register(w, _lot("T-2"), time="9999-12-31T23:59:59Z"),
        "time.out_of_range",
        "time",
    ),
    "before_1970": (
        lambda w: _register(w, _lot("T-3"), time="1969-12-31T23:59:59Z"),
        "time.out_of_range",
        "time",
    ),
    "at_2200": (
        lambda w: _register(w, _lot("T-4"), time="2200-01-01T00:00:00Z"),
        "time.out_of_range",
        "time",
    ),
    "carats_beyond_the_bound": (
        lambda w: _register(w, _lot("C-1", carats="100000000.01")),
        "value.out_of_range",
        "lot.carats",
    ),
    "value_beyond_the_bound": (
        lambda w: _register(w, _lot("V-1", value="1000000000000.01")),
        "value.out_of_range",
        "lot.value.amount",
    ),
    "stones_beyond_the_bound": (
        lambda w: _register(w, _lot("S-1", stones=10**9 + 1)),
        "event.schema",
        "lot.stones",
    ),
    "stones_beyond_64_bits": (
        lambda w: _raw(_register(w, _lot("S-2")), '"stones": 1', f'"stones": {2**70}'),
        "event.schema",
        "lot.stones",
    ),
    "json_nested_ten_thousand_deep": (_deep, "envelope.too_deep", None),
    "lone_surrogate_in_free_text": (
        lambda w: _raw(
            w.sign(
                "bw-authority",
                "participant.status",
                record=False,
                participant="trader",
                status="active",
                reason="ok",
            ),
            '"reason": "ok"',
            '"reason": "bad \\ud800 text"',
        ),
        "event.schema",
        "reason",
    ),
    "lone_surrogate_in_a_member_name": (
        lambda w: _raw(_register(w, _lot("U-1")), '"site": "mine-a"', '"\\udc00": "mine-a"'),
        "event.schema",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_input_is_refused_and_the_good_ones_kept(
    db_url: str, open_ledger: Callable[[str], Ledger], case: str
) -> None:
    make, code, field = BAD[case]
    world = basic_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    before = ledger.size
    bad = make(world)
    good = _register(world, _lot("GOOD-1"))
    outcomes = ledger.submit([bad, good], mode="proceed")
    assert [o.status for o in outcomes] == ["refused", "accepted"], [o.to_json() for o in outcomes]
    error = outcomes[0].error
    assert error is not None
    assert error.code == code
    if field is not None:
        assert error.field == field
    json.dumps(outcomes[0].to_json())  # the refusal itself can be printed
    assert ledger.size == before + 1
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.events)).scalar_one() == before + 1


@pytest.mark.parametrize(
    ("what", "inputs", "field"),
    [
        ("carats", [("M-1", "100000000.00", 1), ("M-2", "100000000.00", 1)], "lot M-SUM carats"),
        (
            "stones",
            [("M-1", "1.00", 10**9), ("M-2", "1.00", 10**9), ("M-3", "1.00", 10**9)],
            "lot M-SUM stones",
        ),
    ],
)
def test_a_merge_beyond_the_bounds_is_refused_alike_on_both_backends(
    db_url: str,
    open_ledger: Callable[[str], Ledger],
    what: str,
    inputs: list[tuple[str, str, int]],
    field: str,
) -> None:
    world = basic_world()
    for lot_id, carats, stones in inputs:
        world.produce("miner", lot_id, "mine-a", carats, stones=stones)
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events)), what
    world.merge("miner", [lot_id for lot_id, _, _ in inputs], "M-SUM")
    merge = world.events[-1]
    good = _register(world, _lot("GOOD-2"))
    outcomes = ledger.submit([merge, good], mode="proceed")
    assert [o.status for o in outcomes] == ["refused", "accepted"], [o.to_json() for o in outcomes]
    assert outcomes[0].error is not None
    assert (outcomes[0].error.code, outcomes[0].error.field) == ("value.out_of_range", field)
    with pytest.raises(Exception) as caught:
        ledger.lot("M-SUM")
    assert getattr(caught.value, "code", None) == "lot.not_found"


def test_a_batch_beyond_the_bound_is_refused_whole(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world = basic_world()
    ledger = open_ledger(db_url)
    with pytest.raises(InputError) as caught:
        ledger.submit([*world.events, *(["{}"] * MAX_BATCH)], mode="proceed")
    assert caught.value.code == "batch.too_large"
    assert ledger.size == 0


# --- the command line: submit and sign ------------------------------------------------------------------


def test_submit_and_sign_refuse_json_nested_thousands_deep(tmp_path: Path) -> None:
    nested = "[" * 10_000 + "{}" + "]" * 10_000
    text = '{"v": 1, "type": "lot.register", "lot": ' + nested + "}"
    (tmp_path / "deep.json").write_text(text)
    world = basic_world()
    save_private_key(tmp_path / "miner.pem", world.actor("miner").key)
    result = runner.invoke(app, ["sign", str(tmp_path / "deep.json"), "--key", str(tmp_path / "miner.pem")])
    assert result.exit_code == 2, result.output
    assert "error: envelope.too_deep" in result.output
    envelope = '{"body": ' + text + ', "sig": "x"}'
    (tmp_path / "deep.jsonl").write_text(envelope + "\n")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url, create=True) as ledger:
        assert all(o.ok for o in ledger.submit(world.events))
    result = runner.invoke(app, ["submit", str(tmp_path / "deep.jsonl"), "--db", url, "--mode", "proceed"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout.splitlines()[0])["code"] == "envelope.too_deep"
    assert "Traceback" not in result.output
    assert MAX_DEPTH == 32


def test_sign_refuses_a_lone_surrogate_and_a_contradicting_key_header(tmp_path: Path) -> None:
    world = basic_world()
    save_private_key(tmp_path / "miner.pem", world.actor("miner").key)
    cases = {
        "surrogate": '{"v": 1, "type": "participant.status", "reason": "bad \\ud800"}',
        "key": json.dumps({"v": 1, "type": "lot.register", "key": world.actor("trader").key.id}),
    }
    for name, text in cases.items():
        (tmp_path / f"{name}.json").write_text(text)
        result = runner.invoke(
            app, ["sign", str(tmp_path / f"{name}.json"), "--key", str(tmp_path / "miner.pem")]
        )
        assert result.exit_code == 2, (name, result.output)
        assert "error: event.schema" in result.output, name
        assert "Traceback" not in result.output
    assert "is being signed with key" in result.output
    # The same body with the signing key's own id signs.
    (tmp_path / "own.json").write_text(
        json.dumps({"v": 1, "type": "lot.register", "key": world.actor("miner").key.id})
    )
    result = runner.invoke(app, ["sign", str(tmp_path / "own.json"), "--key", str(tmp_path / "miner.pem")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["body"]["key"] == world.actor("miner").key.id
    assert canonicalize(json.loads(result.stdout)) == result.stdout.strip().encode()
