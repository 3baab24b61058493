"""Kimberley Process reference data as signed policy events (``adamas policy load-kp``).

:func:`kp_policy_bodies` turns the KP data pack shipped in :mod:`adamas.data` (``kp_participants.csv``
and ``kp_suspensions_embargoes.csv``, sources in ``SOURCES.txt``), or another folder holding the same
files, into ``country.status`` and ``sanction.set`` bodies; :func:`load_kp` signs them with the
administrator's key and submits them. Every body has a fixed id (``kp-policy-...``) and a fixed ``time``
(its own effective date at 00:00:00Z), so the same data always gives byte-identical envelopes: loading
twice answers ``duplicate`` for each and writes nothing. A body whose content changed under the same id is
refused by the ledger (``event.duplicate_id``), never overwritten.

Mapping of ``kp_participants.csv`` (one ``country.status`` ``participant`` per row):

- a row on any of the three early lists (``on_list_2003_08_07_S51``, ``on_list_2003_10_31_S50``,
  ``on_list_gilcert_S52``) is a participant from the scheme's launch, 2003-01-01. The S52 list is undated,
  but it still lists Bulgaria and Romania apart from the European Community, so it predates 2007. The
  churn of August to October 2003 (S51's 23 dropped countries, some listed again by S50) is not modelled;
- any other row takes the date of its own dated evidence: ``reported_production_2022_S03`` gives
  2022-01-01 (Cameroon, Liberia, Mali), ``other_evidence`` gives its day (Uzbekistan, "admitted ... at the
  15 Nov 2024 plenary": 2024-11-15) or the year of the data it cites (Bangladesh 2006, Indonesia 2007).
  Only a row whose evidence says *admitted* is also recorded ``non_participant`` from 2003-01-01 until
  then; for the others the data says when they were known to take part, not when they joined, and a
  country with no recorded status counts as a participant;
- rows of EU member states (Bulgaria, Croatia, Hungary, Poland, Romania, Slovenia: "listed separately in
  2003 ... now covered by the EU participant") get no status of their own: a member state takes the
  standing of ``EU`` (:func:`adamas.model.kp.kp_participant`), so a status recorded for it would never be
  read. The ``EU`` row is a participant from 2003-01-01, Chinese Taipei (``TW``, "rough diamond-trading
  entity" meeting the minimum requirements) likewise.

Every other ISO 3166-1 code (the ``iso3166`` package) that is not an EU member state is recorded
``non_participant`` from 2003-01-01. The participants file says it is incomplete ("later members noted"):
a real participant missing from it (Turkey, Mexico, ...) must be set right with a later ``country.status``.

Mapping of ``kp_suspensions_embargoes.csv``, row by row (a row this module does not know is refused with
``kp.unmapped_row`` rather than silently skipped). A date given as a year is taken as its 1 January, a
month as its first day:

- CAR "KP temporary suspension", 2013-05-23: ``suspended``, no compliant zone;
- CAR "partial lifting: compliant zones framework", 2015-07-17: ``suspended`` again, still with no zone
  (the framework alone lets nothing out: exports only from declared zones);
- CAR "compliant zone declared: Berberati", 2016-05 (2016-05-01) and "compliant zones declared: Boda,
  Carnot, Nola", 2016-09-19: each a new ``suspended`` status with the cumulative ``compliant_zones``
  (``["Berberati"]``, then ``["Berberati", "Boda", "Carnot", "Nola"]``). A mine counts as inside a zone
  when its site's ``zone`` is exactly one of these names;
- CAR "suspension ended / readmitted", 2024-11-15: ``participant``;
- Venezuela "voluntary self-suspension", 2008 (2008-01-01): ``suspended`` with no zone (it "suspended
  export and import of rough diamonds"; no end date in the sources). Its 2005 row "stopped issuing KP
  export certificates" is no change of standing and is not mapped;
- Cote d'Ivoire "UN Security Council diamond embargo", 2005 (2005-01-01) to 2014-04-29: ``suspended``,
  then ``participant`` again. The embargo barred other states from importing its rough; ``suspended``
  also refuses production there and shipments into it, which goes beyond the embargo's letter;
- the Zimbabwe (Marange) rows are not mapped: they restrict one area inside a participant, and
  ``country.status`` can only suspend a whole country with listed exceptions;
- the observers' rows (Global Witness, IMPACT) are not countries and are not mapped;
- Russia, three ``sanction.set`` with origin ``RU`` and importing countries the G7 (``CA``, ``GB``, ``JP``,
  ``US`` and ``EU``, which covers France, Germany and Italy):

  - "G7 import restrictions (direct)", 2024-01-01 -> ``g7-ru-direct-2024-01-01``. A later threshold
    cannot lift an earlier sanction: a direct measure over every kind of lot would bar every Russian-mined
    polished stone forever, and the phased 1 ct and 0.5 ct steps would mean nothing. A lot's origin says
    where a stone was mined, not where it was cut, and polished Russian-mined stones reach the G7 through
    third-country cutting, which is the phased measure. So the direct measure covers rough and jewellery
    only, through the optional ``lot_kinds`` of ``sanction.set``, and leaves polished stones to the steps
    below;
  - "G7/EU phased restrictions (indirect, third-country processing)", 2024-03-01 ->
    ``g7-ru-1ct-2024-03-01``, ``min_stone_carats`` ``"1.00"`` (issue #4: "1 ct from 1 March 2024");
  - "G7 traceability-based verification & certification mechanism", 2024-09-01 ->
    ``g7-ru-0.5ct-2024-09-01``, ``min_stone_carats`` ``"0.50"`` (issue #4: "0.5 ct from 1 September
    2024"; the row itself dates the traceability mechanism that goes with it).

  A stone of exactly the threshold is barred ("0.5 carats and above").

Each ``reason`` cites the CSV row (file, participant, event) and its description or sources, shortened to
fit the 2,000 characters EVENTS.md allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import iso3166
from sqlalchemy import select

from adamas.data import kp_pack, kp_rows
from adamas.errors import AdamasError, InputError
from adamas.ledger.backfill import close_backfill, open_backfill
from adamas.model.records import EU_MEMBERS, EU_TERRITORIES
from adamas.model.signing import sign_body
from adamas.model.values import parse_time
from adamas.store import schema

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from adamas.crypto import KeyPair
    from adamas.ledger.ledger import Ledger
    from adamas.ledger.outcome import Outcome

__all__ = [
    "G7_IMPORTERS",
    "KP_DATA_FILES",
    "KP_POLICY_PREFIX",
    "KP_START",
    "RUSSIA_DIRECT_KINDS",
    "count_outcomes",
    "kp_policy_bodies",
    "load_kp",
    "signed_kp_policy",
]

KP_POLICY_PREFIX: Final = "kp-policy-"
"""Prefix of the ids of every event this module makes."""
KP_START: Final = date(2003, 1, 1)
"""The launch of the Kimberley Process Certification Scheme."""
KP_DATA_FILES: Final = ("kp_participants.csv", "kp_suspensions_embargoes.csv")
G7_IMPORTERS: Final = ("CA", "EU", "GB", "JP", "US")
"""Importing countries of the G7 measures: ``EU`` stands for France, Germany and Italy (and all members)."""
RUSSIA_DIRECT_KINDS: Final = ("rough_parcel", "rough_stone", "jewel")
"""``lot_kinds`` of the direct measure: rough and jewellery; polished is left to the phased steps."""
REASON_MAX: Final = 2_000
SUBMIT_CHUNK: Final = 100

Progress = Callable[[int, int], None]

_MONTHS: Final = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_DAY_MONTH_YEAR: Final = re.compile(r"\b(\d{1,2}) ([A-Z][a-z]{2})[a-z]* ((?:19|20)\d\d)\b")
_YEAR: Final = re.compile(r"\b((?:19|20)\d\d)\b")
_LISTS: Final = (
    ("on_list_2003_08_07_S51", "the 7 Aug 2003 participants list (S51)"),
    ("on_list_2003_10_31_S50", "the KP Chair's 31 Oct 2003 list (S50)"),
    ("on_list_gilcert_S52", "the undated early list S52"),
)


# --- reading the data pack ------------------------------------------------------------------------------


def _date(text: str, where: str) -> date:
    """``YYYY-MM-DD``, ``YYYY-MM`` (its first day) or ``YYYY`` (its 1 January)."""
    parts = text.split("-")
    try:
        if len(parts) == 3:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 2:
            return date(int(parts[0]), int(parts[1]), 1)
        if len(parts) == 1 and len(text) == 4:
            return date(int(text), 1, 1)
    except ValueError:
        pass
    raise InputError(f"{where}: {text!r} is not a date", code="kp.bad_data", field=where)


def _evidence_date(text: str) -> date | None:
    """The day named in an evidence note ("15 Nov 2024"), else 1 January of the first year it names."""
    match = _DAY_MONTH_YEAR.search(text)
    if match is not None and match.group(2).lower() in _MONTHS:
        return date(int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)))
    year = _YEAR.search(text)
    return date(int(year.group(1)), 1, 1) if year is not None else None


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _reason(*parts: str) -> str:
    text = " ".join(part.strip() for part in parts if part.strip())
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "\u2026"


def _sources(row: dict[str, str]) -> str:
    urls = [u.strip() for u in row.get("source_urls", "").split(" ; ") if u.strip()]
    return f"Sources: {'; '.join(urls)}." if urls else ""


# --- bodies -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Status:
    country: str
    status: str
    effective: date
    reason: str
    zones: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        when = _rfc3339(self.effective)
        out: dict[str, Any] = {
            "type": "country.status",
            "id": f"{KP_POLICY_PREFIX}{self.country.lower()}-{self.effective.isoformat()}-{self.status}",
            "time": when,
            "country": self.country,
            "status": self.status,
            "effective": when,
            "reason": _reason(self.reason),
        }
        if self.status == "suspended":
            out["compliant_zones"] = list(self.zones)
        return out


@dataclass(frozen=True, slots=True)
class _Sanction:
    id: str
    effective: date
    min_stone_carats: str | None
    reason: str
    lot_kinds: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        when = _rfc3339(self.effective)
        spec: dict[str, Any] = {
            "id": self.id,
            "origin_countries": ["RU"],
            "importing_countries": list(G7_IMPORTERS),
            "effective": when,
            "reason": _reason(self.reason),
        }
        if self.min_stone_carats is not None:
            spec["min_stone_carats"] = self.min_stone_carats
        if self.lot_kinds:
            spec["lot_kinds"] = list(self.lot_kinds)
        return {
            "type": "sanction.set",
            "id": f"{KP_POLICY_PREFIX}sanction-{self.id}",
            "time": when,
            "sanction": spec,
        }


def _participants(data: Traversable) -> tuple[list[_Status], set[str]]:
    """Statuses from ``kp_participants.csv`` and every code it names (EU members included)."""
    file = KP_DATA_FILES[0]
    rows = kp_rows(
        file,
        data=data,
        required=["participant", "iso2", "type", *(name for name, _ in _LISTS), "other_evidence"],
    )
    out: list[_Status] = []
    named: set[str] = set()
    for number, row in enumerate(rows, start=2):
        iso2, name = row["iso2"], row["participant"]
        where = f"{file} line {number}"
        if iso2 != "EU" and iso2 not in iso3166.countries_by_alpha2:
            raise InputError(f"{where}: {iso2!r} is not an ISO 3166-1 code", code="kp.bad_data", field=where)
        named.add(iso2)
        if iso2 in EU_MEMBERS:
            continue  # a member state takes the EU's standing
        cite = f"[kp_participants.csv: {name}]"
        lists = [label for column, label in _LISTS if row.get(column) == "1"]
        evidence = row.get("other_evidence", "")
        note = row.get("notes", "")
        if lists:
            what = "trading entity" if row["type"] == "trading_entity" else "participant"
            out.append(
                _Status(
                    iso2,
                    "participant",
                    KP_START,
                    f"KP {what} from the scheme's launch (1 Jan 2003): on {'; '.join(lists)}. {cite}",
                )
            )
            continue
        if row.get("reported_production_2022_S03") == "1":
            when: date | None = date(2022, 1, 1)
            because = "reported 2022 KP production (S03)"
        else:
            when = _evidence_date(evidence)
            because = evidence
        if when is None:
            raise InputError(
                f"{where}: no dated evidence says since when {name} takes part",
                code="kp.bad_data",
                field=where,
            )
        admitted = "admitted" in evidence.lower()
        if admitted:
            out.append(
                _Status(
                    iso2,
                    "non_participant",
                    KP_START,
                    f"Not a KP participant before its admission on {when.isoformat()} ({evidence}). {cite}",
                )
            )
        out.append(
            _Status(
                iso2,
                "participant",
                when,
                f"KP participant {'from' if admitted else 'at least from'} {when.isoformat()}: {because}"
                f"{'; ' + note if note else ''}. {cite}",
            )
        )
    return out, named


def _non_participants(named: set[str]) -> list[_Status]:
    out = []
    for code in sorted(iso3166.countries_by_alpha2):
        if code in named or code in EU_MEMBERS or code in EU_TERRITORIES:
            continue
        out.append(
            _Status(
                code,
                "non_participant",
                KP_START,
                f"{iso3166.countries_by_alpha2[code].apolitical_name} is not among the KP participants of "
                "kp_participants.csv (sources S50-S54, S03, S04, S07). That list is incomplete for members "
                "admitted later: record their admission with a newer country.status.",
            )
        )
    return out


_IGNORED: Final = {
    ("VEN", "stopped issuing KP export certificates"): "no change of KP standing",
    ("ZWE", "*"): "a measure on one area (Marange) inside a participant",
    ("", "*"): "an observer, not a country",
}
_SANCTIONS: Final = {
    "G7 import restrictions (direct)": ("g7-ru-direct-2024-01-01", None, RUSSIA_DIRECT_KINDS),
    "G7/EU phased restrictions (indirect, third-country processing)": ("g7-ru-1ct-2024-03-01", "1.00", ()),
    "G7 traceability-based verification & certification mechanism": ("g7-ru-0.5ct-2024-09-01", "0.50", ()),
}
_SANCTION_NOTES: Final = {
    "g7-ru-direct-2024-01-01": (
        "Ledger mapping: covers Russian-mined rough and jewellery (lot_kinds). A lot's origin says where it "
        "was mined, not where it was cut, so polished stones are left to the phased steps "
        "g7-ru-1ct-2024-03-01 and g7-ru-0.5ct-2024-09-01."
    ),
    "g7-ru-1ct-2024-03-01": (
        "Ledger mapping: Russian-mined rough, jewellery and polished stones of 1.00 ct and more "
        "(issue #4: 1 ct from 1 March 2024)."
    ),
    "g7-ru-0.5ct-2024-09-01": (
        "Ledger mapping: Russian-mined rough, jewellery and polished stones of 0.50 ct and more "
        "(issue #4: 0.5 ct from 1 September 2024; G7 leaders' statement of 6 Dec 2023)."
    ),
}


def _measures(data: Traversable, iso2_of: dict[str, str]) -> tuple[list[_Status], list[_Sanction]]:
    """Statuses and sanctions from ``kp_suspensions_embargoes.csv``."""
    file = KP_DATA_FILES[1]
    rows = kp_rows(
        file,
        data=data,
        required=[
            "participant",
            "iso3",
            "event",
            "start_date",
            "end_date",
            "scope",
            "description",
            "source_urls",
        ],
    )
    statuses: list[_Status] = []
    sanctions: list[_Sanction] = []
    zones: dict[str, tuple[str, ...]] = {}
    for number, row in enumerate(rows, start=2):
        iso3, event, name = row["iso3"], row["event"], row["participant"]
        where = f"{file} line {number}"
        cite = f"[kp_suspensions_embargoes.csv: {name}, {event!r}, {row['start_date'] or 'undated'}]"
        if (iso3, event) in _IGNORED or (iso3, "*") in _IGNORED:
            continue
        if iso3 == "RUS" and event in _SANCTIONS:
            sanction_id, threshold, kinds = _SANCTIONS[event]
            sanctions.append(
                _Sanction(
                    sanction_id,
                    _date(row["start_date"], where),
                    threshold,
                    f"{event}: {row['scope']}; {row['description']}. {_SANCTION_NOTES[sanction_id]} "
                    f"{cite} {_sources(row)}",
                    kinds,
                )
            )
            continue
        iso2 = iso2_of.get(iso3)
        start = _date(row["start_date"], where) if row["start_date"] else None
        if iso2 is None or start is None:
            raise InputError(f"{where}: no mapping for {name} {event!r}", code="kp.unmapped_row", field=where)
        text = f"{event} ({row['scope']}): {row['description']}. {cite} {_sources(row)}"
        lowered = event.lower()
        if lowered == "kp temporary suspension" or lowered.startswith("partial lifting"):
            zones[iso2] = ()
            statuses.append(_Status(iso2, "suspended", start, text, ()))
        elif lowered.startswith(("compliant zone declared:", "compliant zones declared:")):
            added = [z.strip() for z in event.split(":", 1)[1].split(",") if z.strip()]
            zones[iso2] = (*zones.get(iso2, ()), *(z for z in added if z not in zones.get(iso2, ())))
            statuses.append(_Status(iso2, "suspended", start, text, zones[iso2]))
        elif lowered.startswith("suspension ended"):
            zones.pop(iso2, None)
            statuses.append(_Status(iso2, "participant", start, text))
        elif lowered in ("voluntary self-suspension", "un security council diamond embargo"):
            statuses.append(_Status(iso2, "suspended", start, text, ()))
            if row["end_date"]:
                statuses.append(
                    _Status(iso2, "participant", _date(row["end_date"], where), f"End of the {text}")
                )
        else:
            raise InputError(f"{where}: no mapping for {name} {event!r}", code="kp.unmapped_row", field=where)
    return statuses, sanctions


def kp_policy_bodies(data_dir: Traversable | str | None = None) -> list[dict[str, Any]]:
    """The unsigned ``country.status`` and ``sanction.set`` bodies for the KP data pack in ``data_dir``
    (a folder or a ``Traversable``; default: the pack shipped with Adamas, :func:`adamas.data.kp_data`).

    Each body has its ``type``, a fixed ``id``, ``time`` (= its effective date at 00:00:00Z) and its fields;
    ``v``, ``actor`` and ``key`` are the signer's to add (:func:`load_kp`). Statuses come first, oldest
    first (country code within a day), then the sanctions by date. The same files always give the same
    bodies.
    """
    data = kp_pack(data_dir)
    participants, named = _participants(data)
    iso2_of = {
        row["iso3"]: row["iso2"]
        for row in kp_rows(KP_DATA_FILES[0], data=data, required=["iso3", "iso2"])
        if row["iso3"] and row["iso2"]
    }
    measures, sanctions = _measures(data, iso2_of)
    statuses = [*participants, *_non_participants(named), *measures]
    statuses.sort(key=lambda s: (s.effective, s.country))
    sanctions.sort(key=lambda s: (s.effective, s.id))
    bodies = [s.body() for s in statuses] + [s.body() for s in sanctions]
    seen: set[str] = set()
    for body in bodies:
        if body["id"] in seen:
            raise InputError(f"two policy events would share the id {body['id']}", code="kp.bad_data")
        seen.add(body["id"])
    return bodies


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def signed_kp_policy(
    data_dir: Traversable | str | None, key: KeyPair, *, actor: str = "admin"
) -> list[dict[str, Any]]:
    """The envelopes of :func:`kp_policy_bodies` (``None``: the packaged pack), signed by ``actor`` with
    ``key`` (deterministic)."""
    return [sign_body(body, key, actor=actor) for body in kp_policy_bodies(data_dir)]


def load_kp(
    ledger: Ledger,
    key: KeyPair,
    *,
    data_dir: Traversable | str | None = None,
    actor: str = "admin",
    progress: Progress | None = None,
) -> list[Outcome]:
    """Sign the KP policy of ``data_dir`` (default: the pack shipped with Adamas) as ``actor`` (the
    administrator) and submit it.

    Batches of 100 in ``proceed`` mode: one outcome per event, in order. Events already in the ledger come
    back ``duplicate``; anything refused (a key that is not the administrator's, say) carries its error.
    ``progress(done, total)`` is called after each batch.
    """
    envelopes = signed_kp_policy(data_dir, key, actor=actor)
    outcomes: list[Outcome] = []
    window = _history_window(ledger, key, envelopes, actor)
    try:
        for chunk in _chunks(envelopes, SUBMIT_CHUNK):
            for outcome in ledger.submit(chunk, mode="proceed"):
                outcomes.append(_shifted(outcome, len(outcomes)))
            if progress is not None:
                progress(len(outcomes), len(envelopes))
    finally:
        if window is not None:
            close_backfill(ledger, key, window=window, actor=actor)
    return outcomes


def _history_window(
    ledger: Ledger, key: KeyPair, envelopes: Sequence[dict[str, Any]], actor: str
) -> str | None:
    """Open a backfill window for the policy's dates if some of it is not logged yet (the KP's history
    reaches back to 2003, far past the backdating allowance); its id, or None when everything is logged
    already or nothing needs one. Only the administrator may open one: for anyone else, None (each event
    is then refused for what it is)."""
    with ledger.engine.connect() as conn:
        ids = [e["body"]["id"] for e in envelopes]
        logged = {
            row[0]
            for start in range(0, len(ids), 500)
            for row in conn.execute(
                select(schema.events.c.event_id).where(schema.events.c.event_id.in_(ids[start : start + 500]))
            )
        }
    times = [parse_time(e["body"]["time"], "time") for e in envelopes if e["body"]["id"] not in logged]
    if not times:
        return None
    try:
        outcome = open_backfill(
            ledger,
            key,
            start_ns=min(times),
            until_ns=max(times) + 1_000_000_000,
            reason="adamas policy load-kp: the Kimberley Process's recorded history",
            actor=actor,
        )
    except AdamasError:
        return None
    return outcome.event_id


def _shifted(outcome: Outcome, position: int) -> Outcome:
    """The outcome with its position in the whole load rather than in its batch."""
    return replace(outcome, position=position)


def count_outcomes(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """How many outcomes of each status (``accepted``, ``duplicate``, ``refused``, ``not_written``)."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts
