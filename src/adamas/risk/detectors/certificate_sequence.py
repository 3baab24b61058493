"""``certificate_sequence``: an issuer's certificate numbers repeating or breaking their sequence.

Numbers are split into a prefix and a trailing serial (``BW-2026-000123`` → ``BW-2026-``, 123). Within one
issuer and prefix, a serial seen before (under another spelling), a serial lower than one already issued, or
a jump of more than ``certificate_max_gap`` is what forged or recycled certificates look like.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.facts import Certificate, Facts
from adamas.risk.flags import RiskFlag, Severity
from adamas.risk.periods import period_of

__all__ = ["detect"]

_SERIAL = re.compile(r"^(.*?)(\d+)$")


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every certificate that repeats or breaks its issuer's sequence."""
    seen: dict[tuple[str, str], dict[int, Certificate]] = defaultdict(dict)
    for cert in facts.certificates:
        match = _SERIAL.match(cert.number)
        if match is None:
            continue
        prefix, serial = match.group(1), int(match.group(2))
        series = seen[(cert.issuer, prefix)]
        problem: tuple[Severity, str, str, Certificate | None] | None = None
        if serial in series:
            problem = (
                "high",
                "repeat",
                f"repeats serial {serial} of {series[serial].number}",
                series[serial],
            )
        elif series and serial < max(series):
            last = series[max(series)]
            problem = ("medium", "backward", f"comes after {last.number} in the issuer's sequence", last)
        elif series and serial - max(series) > cfg.certificate_max_gap:
            last = series[max(series)]
            problem = ("low", "gap", f"jumps {serial - max(series)} serials after {last.number}", last)
        series.setdefault(serial, cert)
        if problem is None:
            continue
        level, kind, what, other = problem
        yield RiskFlag.make(
            "certificate_sequence",
            level,
            ("certificate", cert.number),
            f"certificate {cert.number} issued by {cert.issuer} {what}",
            key=kind,
            period=period_of(cert.time_ns, "quarter"),
            lots=cert.lots,
            participants=[cert.issuer],
            countries=[cert.exporting, cert.importing],
            events=[cert.event, *([other.event] if other else [])],
            evidence={
                "figures": {"number": cert.number, "serial": serial, "problem": kind},
                "threshold": {"name": "certificate_max_gap", "value": cfg.certificate_max_gap},
                "norm": {"previous": other.number if other else None, "highest_serial": max(series)},
            },
        )
