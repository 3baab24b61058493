"""Origin composition: carats by mine site, carried exactly through every transformation.

An origin is a mapping ``site id -> hundredths of a carat`` whose values sum to the lot's weight. Splitting
a lot apportions its origin between the parts (and the loss) so that, exactly:

* each part's origin sums to the part's carats, and
* for every mine, the parts' shares plus the loss's share equal the parent's carats from that mine.

The apportionment is proportional up to one hundredth per cell: each cell gets the floor of its exact
proportional share, and the few hundredths left over go to the cells with the largest remainders, in a fixed
order, so that the result is deterministic and any verifier recomputes the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from adamas.model.values import Hundredths

__all__ = ["Origin", "apportion", "mix"]

Origin = dict[str, Hundredths]


def mix(origins: Iterable[Mapping[str, Hundredths]]) -> Origin:
    """Add origins, as a merge or an assembly does."""
    out: Origin = {}
    for origin in origins:
        for site, amount in origin.items():
            out[site] = out.get(site, 0) + amount
    return dict(sorted(out.items()))


def apportion(origin: Mapping[str, Hundredths], parts: Sequence[Hundredths]) -> list[Origin]:
    """Split ``origin`` into one origin per entry of ``parts`` (hundredths summing to the origin's total).

    The caller includes any loss as a part of its own; zero parts get an empty origin.
    """
    total = sum(origin.values())
    if sum(parts) != total:
        raise ValueError(f"parts sum to {sum(parts)}, the origin to {total}")
    if any(p < 0 for p in parts):
        raise ValueError("parts must not be negative")
    sites = sorted(origin)
    if len(sites) == 1:
        (site,) = sites
        return [({site: p} if p else {}) for p in parts]
    # Floor of each exact share c_i * o_m / total, remembering the remainders.
    cells = [[0] * len(sites) for _ in parts]
    remainders: list[tuple[int, int, int]] = []
    row_need = list(parts)
    col_need = [origin[s] for s in sites]
    for i, part in enumerate(parts):
        for m, site in enumerate(sites):
            share, rest = divmod(part * origin[site], total)
            cells[i][m] = share
            row_need[i] -= share
            col_need[m] -= share
            if rest:
                remainders.append((-rest, i, m))
    # Hand out the leftover hundredths by largest remainder, keeping every row and column total exact.
    remainders.sort()
    for _, i, m in remainders:
        if row_need[i] > 0 and col_need[m] > 0:
            cells[i][m] += 1
            row_need[i] -= 1
            col_need[m] -= 1
    # Rarely the greedy pass leaves a row short while the columns that could serve it have already given
    # to others; any remaining unit of the row can still come from any column with need left.
    for i in range(len(parts)):
        m = 0
        while row_need[i] > 0:
            while col_need[m] == 0:
                m += 1
            take = min(row_need[i], col_need[m])
            cells[i][m] += take
            row_need[i] -= take
            col_need[m] -= take
    return [{site: cells[i][m] for m, site in enumerate(sites) if cells[i][m]} for i in range(len(parts))]
