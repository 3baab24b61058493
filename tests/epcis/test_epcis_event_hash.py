"""The CBV 2.0 event hash reproduces GS1's published vectors: every pre-hash line and every hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from epcis_worlds import VECTORS

from adamas.epcis import event_hash, prehash
from adamas.epcis.digital_link import check_digit, normalise
from adamas.epcis.hashing import document_namespaces
from adamas.errors import InputError

HASH_VECTORS = VECTORS / "hash_vectors"


def _cases() -> list[tuple[str, int]]:
    out = []
    for path in sorted(HASH_VECTORS.glob("*.jsonld")):
        count = len([line for line in path.with_suffix(".hashes").read_text().splitlines() if line.strip()])
        out.extend((path.stem, i) for i in range(count))
    return out


def _event(name: str, position: int) -> tuple[dict[str, object], dict[str, str]]:
    document = json.loads((HASH_VECTORS / f"{name}.jsonld").read_text(encoding="utf-8"))
    body = document["epcisBody"]
    events = body.get("eventList") or [body["event"]]
    return events[position], document_namespaces(document["@context"])


def _line(path: Path, position: int) -> str:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][position].strip()


def test_every_vector_file_is_used() -> None:
    stems = {p.stem for p in HASH_VECTORS.iterdir()}
    assert len(stems) == 10
    assert len(_cases()) == 25


@pytest.mark.parametrize(("name", "position"), _cases())
def test_prehash_matches_the_published_line(name: str, position: int) -> None:
    event, namespaces = _event(name, position)
    assert prehash(event, namespaces) == _line(HASH_VECTORS / f"{name}.prehashes", position)


@pytest.mark.parametrize(("name", "position"), _cases())
def test_event_hash_matches_the_published_hash(name: str, position: int) -> None:
    event, namespaces = _event(name, position)
    assert event_hash(event, namespaces) == _line(HASH_VECTORS / f"{name}.hashes", position)


def test_hash_ignores_event_id_record_time_and_error_declaration() -> None:
    event, namespaces = _event("epcisDocWithSingleEvent", 0)
    declared = {
        **event,
        "eventID": "urn:uuid:1",
        "recordTime": "2030-01-01T00:00:00Z",
        "errorDeclaration": {"declarationTime": "2030-01-01T00:00:00Z", "reason": "incorrect_data"},
    }
    assert event_hash(declared, namespaces) == event_hash(event, namespaces)


def test_hash_changes_with_any_hashed_field() -> None:
    event, namespaces = _event("epcisDocWithSingleEvent", 0)
    assert event_hash({**event, "bizStep": "receiving"}, namespaces) != event_hash(event, namespaces)
    assert event_hash({**event, "eventTime": "2022-02-16T20:33:31.117-06:00"}, namespaces) != event_hash(
        event, namespaces
    )


def test_same_instant_in_any_zone_hashes_alike() -> None:
    event, namespaces = _event("epcisDocWithSingleEvent", 0)
    assert event_hash({**event, "eventTime": "2022-02-17T02:33:31.116Z"}, namespaces) == event_hash(
        event, namespaces
    )


def test_event_without_type_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        prehash({"eventTime": "2022-02-17T02:33:31.116Z"})
    assert caught.value.code == "epcis.bad_event"
    assert caught.value.field == "type"


@pytest.mark.parametrize(
    ("uri", "canonical"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        ("urn:epc:id:sscc:4012345.0000000333", "https://id.gs1.org/00/040123450000003338"),
        ("urn:epc:id:sgln:4012345.00011.0", "https://id.gs1.org/414/4012345000115"),
        ("urn:epc:id:pgln:4012345.00000", "https://id.gs1.org/417/4012345000009"),
        ("urn:epc:class:lgtin:4054739.099914.20160711", "https://id.gs1.org/01/04054739999148/10/20160711"),
        ("https://example.com/gtin/4012345999990/ser/XYZ?x=1", "https://id.gs1.org/01/04012345999990/21/XYZ"),
        ("https://id.gs1.org/01/04012345999990/10/L1/21/S1", "https://id.gs1.org/01/04012345999990/21/S1"),
        ("urn:adamas:lot:JW-2026-0001", None),
        ("urn:epc:id:sgtin:0614141.10734.2017", None),
        ("geo:50.9,6.9", None),
    ],
)
def test_gs1_identifiers_normalise_to_canonical_digital_link(uri: str, canonical: str | None) -> None:
    assert normalise(uri) == canonical


def test_check_digit_of_keys_in_the_vectors() -> None:
    # GTIN 10614141073464 and GLN 4012345000009, as the published pre-hashes spell them.
    assert check_digit("1061414107346") == "4"
    assert check_digit("401234500000") == "9"
