"""Origin composition: carats by mine site, carried exactly through every transformation.

An origin is a mapping ``site id -> hundredths of a carat`` whose values sum to the lot's weight. Splitting
a lot apportions its origin between the parts (and the loss) so that, exactly:

* each part's origin sums to the part's carats, and
* for every mine, the parts' shares plus the loss's share equal the parent's carats from that mine.

The apportionment is proportional to the hundredth: each cell is its exact proportional share rounded down
or up (up only where the share is not whole), the larger remainders rounded up first, in a fixed order, so
that the result is deterministic and any verifier recomputes the same figures.
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
    # Hand out the leftover hundredths: each cell may take at most one more than its floor, and only if
    # its exact share was not whole. The exact shares themselves are a fractional way of doing so, hence an
    # integral one exists; largest remainders go first, and an augmenting path repairs what greed misses.
    remainders.sort()
    bumped: set[tuple[int, int]] = set()
    for _, i, m in remainders:
        if row_need[i] > 0 and col_need[m] > 0:
            bumped.add((i, m))
            row_need[i] -= 1
            col_need[m] -= 1
    open_cells = [(i, m) for _, i, m in remainders]
    for i in range(len(parts)):
        while row_need[i] > 0:
            _augment(i, open_cells, bumped, col_need)
            row_need[i] -= 1
    for i, m in bumped:
        cells[i][m] += 1
    return [{site: cells[i][m] for m, site in enumerate(sites) if cells[i][m]} for i in range(len(parts))]


def _augment(
    start: int, open_cells: list[tuple[int, int]], bumped: set[tuple[int, int]], col_need: list[int]
) -> None:
    """Give row ``start`` one more unit along an alternating path of open and bumped cells."""
    by_row: dict[int, list[int]] = {}
    by_col: dict[int, list[int]] = {}
    for i, m in open_cells:
        by_row.setdefault(i, []).append(m)
        by_col.setdefault(m, []).append(i)
    came_from: dict[tuple[str, int], tuple[str, int] | None] = {("r", start): None}
    queue: list[tuple[str, int]] = [("r", start)]
    while queue:
        kind, node = queue.pop(0)
        if kind == "r":
            for m in by_row.get(node, []):
                if (node, m) not in bumped and ("c", m) not in came_from:
                    came_from[("c", m)] = ("r", node)
                    if col_need[m] > 0:
                        _flip(("c", m), came_from, bumped)
                        col_need[m] -= 1
                        return
                    queue.append(("c", m))
        else:
            for i in by_col.get(node, []):
                if (i, node) in bumped and ("r", i) not in came_from:
                    came_from[("r", i)] = ("c", node)
                    queue.append(("r", i))
    raise AssertionError("no rounding keeps the totals exact; the exact shares guarantee one")


def _flip(
    end: tuple[str, int],
    came_from: dict[tuple[str, int], tuple[str, int] | None],
    bumped: set[tuple[int, int]],
) -> None:
    node: tuple[str, int] | None = end
    while node is not None:
        previous = came_from[node]
        if previous is None:
            return
        if node[0] == "c":
            bumped.add((previous[1], node[1]))
        else:
            bumped.discard((node[1], previous[1]))
        node = previous
