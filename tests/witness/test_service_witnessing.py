"""The HTTP service as a witnessed log: after a batch posted over HTTP, the service asks its witness (off
the request path), and ``/log/checkpoint`` carries the witness's cosignature, verifiable independently."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from witness_helpers import independent_verify, serving

from adamas.api import create_app as create_service
from adamas.crypto import canonicalize
from adamas.log import Cosigner, Verifier
from adamas.witness import Witness, WitnessState
from adamas.witness.http import create_app as create_witness_app
from log_helpers import ORIGIN, build_ledger, signed_events

NAME = "witness.example/w1"


@contextlib.contextmanager
def _witness(tmp_path: Path, log_vkey: str) -> Iterator[tuple[Witness, str]]:
    state = WitnessState.open(str(tmp_path / "witness.db"))
    witness = Witness(Cosigner.generate(NAME), {ORIGIN: [Verifier.from_vkey(log_vkey)]}, state)
    try:
        with serving(create_witness_app(witness)) as url:
            yield witness, url
    finally:
        state.close()


def test_the_served_checkpoint_carries_the_cosignature_of_the_batch_just_posted(
    db_url: str, tmp_path: Path
) -> None:
    with build_ledger(db_url, 100) as ledger:
        vkey = ledger.vkey
        with _witness(tmp_path, vkey) as (witness, url):
            ledger.add_witness(NAME, witness.vkey, url)
            app = create_service(db_url)
            with TestClient(app) as client:
                body = b"\n".join(canonicalize(e) for e in signed_events(110)[100:])
                answer = client.post(
                    "/v1/events", content=body, headers={"content-type": "application/jsonl"}
                )
                assert answer.status_code == 200, answer.text
                assert app.state.after_batch.wait_idle()
                deadline = time.monotonic() + 60
                while (note := client.get("/log/checkpoint").text).count("\n— ") < 2:
                    assert time.monotonic() < deadline, f"no cosignature served: {note!r}"
                    time.sleep(0.05)
                metrics = client.get("/metrics").text
    text, _, signatures = note.partition("\n\n")
    assert text.startswith(f"{ORIGIN}\n110\n")
    lines = [line + "\n" for line in signatures.splitlines() if line.startswith(f"— {NAME} ")]
    assert len(lines) == 1
    independent_verify(lines[0], witness.vkey, text + "\n")
    assert f'adamas_witness_cosignatures_total{{witness="{NAME}"}}' in metrics
