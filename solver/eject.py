"""Placement by ejection, as FET places activities: a block that does not fit takes the time and room
that push out the fewest (and least troubled) others, and those wait for their turn.

It reads the hard constraints from the CP-SAT model itself, so every rule that compiles to them is kept
without code of its own here:

- ``at_most_one`` over option literals: clashes of people and rooms, min-days windows, lessons that
  must not overlap;
- a sum of option literals at most ``k``: room pools, and options ruled out (``k = 0``);
- a weighted sum of option literals at most ``k``: counts of periods (periods per day, periods in a
  row), where a double lesson takes two places;
- an equality of two blocks' option sums: blocks that start at the same time or on the same day. Such
  blocks form a *unit*, placed and pushed out together.

Before pushing a block out, the search tries to move it to another start in a Kempe chain: it takes
the other start, whatever it then clashes with there takes its start, and so on, so that nothing is
left out (the classic move of exam timetabling).

A model with any other hard constraint (gap counts, days per week, ...) is refused (``Unsupported``):
CP-SAT's own searches handle those schools. Where it runs, it gives CP-SAT's neighbourhood searches
(``PlacementRepair``) a placement with few blocks left, at a few thousand moves a second. On GYR, FET's
largest example, 15-26 of 1,965 periods were left after 30 s (seeds 0-3); CP-SAT's search for the most
periods placed, and those neighbourhood searches after it, had 56 left after 240 s.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

from ortools.sat import cp_model_pb2

from .model import BuildStopped, Option, TimetableModel

KEMPE_SIZE = 20
"""Blocks at most in one Kempe chain (``EjectionSearch._swap``)."""

KEMPE_TRIES = 3
"""Other starts tried for each block in the way of one being placed (``EjectionSearch._make_room``): on
GYR, seeds 0-3, 30 s, 18, 15, 26 and 11 periods left against 23, 26, 23 and 9 pushing them out
instead (medians 16.5 and 23). 10 tries or chains of up to 60 blocks did no better."""

TABU_STEPS = 12
"""Moves during which a unit may not return to the start it was pushed out of (unless nothing is
pushed out there). On GYR, seed 0, 30 s, before the Kempe chains and the faster search of options: 27
periods left, against 43 with 4 moves, 56 with 100 and 91 with 400."""

REPORT_EVERY = 0.5
"""Seconds between progress lines."""


class Unsupported(ValueError):
    """The model has a hard constraint the ejection search does not read."""


def read_model(tm: TimetableModel) -> cp_model_pb2.CpModelProto:
    """``tm``'s CP-SAT model as a plain protobuf message, written out and read back.

    CP-SAT's Python model wraps its C++ message field by field: reading Shipena's 142,000 constraints
    through it took 1.24 s, against 0.10 s to write the model out and read it back and 0.13 s to read
    them from the copy."""
    fd, path = tempfile.mkstemp(suffix=".pb", prefix="timetable-model-")
    os.close(fd)
    try:
        if not tm.model.export_to_file(path):
            raise OSError(f"CP-SAT could not write its model to {path}")
        with open(path, "rb") as f:
            return cp_model_pb2.CpModelProto.FromString(f.read())
    finally:
        os.unlink(path)


class EjectionSearch:
    """Min-conflicts placement with ejection and a short tabu list, over ``tm``'s hard constraints.

    ``tm`` may be built with required or optional blocks; only its option literals are read."""

    def __init__(
        self, tm: TimetableModel, seed: int = 0, kempe_tries: int = KEMPE_TRIES, kempe_size: int = KEMPE_SIZE
    ):
        self.tm = tm
        self.random = random.Random(seed)
        self.kempe_tries = kempe_tries
        """Other starts tried for each block in the way (``KEMPE_TRIES``)."""
        self.kempe_size = kempe_size
        """Blocks at most in one Kempe chain (``KEMPE_SIZE``)."""
        # Reading the model is part of building the search: it stops where the model's build would
        # (``BuildStopped``; NehaleSS2017T1a at 15 s: seconds to read 470,000 options, after its time was up).
        blocks = tm.blocks
        self.blocks = blocks
        proto = read_model(tm)
        owner: dict[int, tuple[int, int]] = {}
        for i, b in enumerate(blocks):
            if i % 64 == 63:
                tm.check_stop()
            for j, o in enumerate(b.options):
                owner[o.var.index] = (i, j)
        placed = {b.placed.index for b in blocks if b.placed is not None}
        # opt_cons[i][j]: ids of the capacity constraints option j of block i takes part in, each as
        # many times as the places it takes there (a double lesson in a count of periods: twice).
        self.opt_cons: list[list[list[int]]] = [[[] for _ in b.options] for b in blocks]
        self.capacity: list[int] = []
        self.weighted = False
        """Whether an option takes more than one place in a constraint (see ``opt_cons``)."""
        # Option literal -> its list in ``opt_cons``.
        cons_of = {v: self.opt_cons[i][j] for v, (i, j) in owner.items()}

        def lists_of(literals: list[int]) -> list[list[int]]:
            try:
                return [cons_of[v] for v in literals]
            except KeyError:
                # A negated literal, or one of another variable than a placement.
                raise Unsupported("a clash over other variables than placements") from None

        banned: set[tuple[int, int]] = set()
        for j, var in enumerate(proto.variables):
            if j % 65536 == 65535:
                tm.check_stop()
            if j in owner and list(var.domain) == [0, 0]:
                banned.add(owner[j])
        links: list[tuple[int, set[int], int, set[int]]] = []
        for n, ct in enumerate(proto.constraints):
            if n % 4096 == 4095:
                tm.check_stop()
            if ct.enforcement_literal:
                raise Unsupported("a constraint with an enforcement literal")
            kind = ct.WhichOneof("constraint")
            if kind in ("at_most_one", "exactly_one"):
                lits = list(getattr(ct, kind).literals)
                if kind == "exactly_one":
                    if self._one_block(lits, owner):
                        continue  # a block's own placement
                    raise Unsupported("a period that must be busy")
                self._add_capacity(lists_of(lits), 1)
            elif kind == "linear":
                refs, coeffs, domain = list(ct.linear.vars), list(ct.linear.coeffs), list(ct.linear.domain)
                if any(v in placed for v in refs) or (domain == [1, 1] and self._one_block(refs, owner)):
                    continue  # a block's own placement
                if any(v < 0 or v not in owner for v in refs):
                    raise Unsupported("a linear constraint over other variables than placements")
                if not refs and any(lo <= 0 <= hi for lo, hi in zip(domain[::2], domain[1::2])):
                    continue  # nothing to count, and nothing broken
                if len(domain) == 2 and coeffs and min(coeffs) > 0 and domain[0] <= 0:
                    # A count: at most ``domain[1]`` places, each option taking its coefficient's worth.
                    weights: dict[int, int] = defaultdict(int)
                    for v, c in zip(refs, coeffs):
                        weights[v] += c
                    cap = domain[1]
                    banned.update(owner[v] for v, c in weights.items() if c > cap)
                    weights = {v: c for v, c in weights.items() if c <= cap}
                    if sum(weights.values()) > cap:
                        self._add_capacity(lists_of(list(weights)), cap, list(weights.values()))
                elif domain == [0, 0] and set(coeffs) == {1, -1}:
                    plus = {owner[v] for v, c in zip(refs, coeffs) if c == 1}
                    minus = {owner[v] for v, c in zip(refs, coeffs) if c == -1}
                    a, b = {i for i, _ in plus}, {i for i, _ in minus}
                    if len(a) != 1 or len(b) != 1:
                        raise Unsupported("an equality across more than two blocks")
                    links.append((a.pop(), {j for _, j in plus}, b.pop(), {j for _, j in minus}))
                else:
                    raise Unsupported("a linear constraint of another shape")
            elif kind == "bool_or" and not ct.bool_or.literals:
                raise Unsupported("a block without any possible time")
            else:
                raise Unsupported("a constraint of another kind")
        self.allowed = [
            [j for j in range(len(b.options)) if (i, j) not in banned] for i, b in enumerate(blocks)
        ]
        self._units(links)
        self.nobody = len(self.units)
        """The unit holding no place: ``occupant`` of a free constraint."""
        # Capacity-one constraints (clashes, min-days windows) and the others (room pools) of each
        # option: who holds a capacity-one constraint is one lookup (``occupant``).
        cap = self.capacity
        if all(k == 1 for k in cap):
            # No pool: every option's constraints are capacity-one (the lists are only read from here).
            self.single = self.opt_cons
            self.multi = [[()] * len(block) for block in self.opt_cons]
        else:
            self.single = [[[c for c in cons if cap[c] == 1] for cons in block] for block in self.opt_cons]
            self.multi = [
                [self._needs([c for c in cons if cap[c] != 1]) for cons in block] for block in self.opt_cons
            ]
        self.slots = [[o.slot for o in b.options] for b in blocks]
        # twin[i][j]: start -> the option of block i in the same room or pool as option j.
        self.twin: list[list[dict[tuple[int, int], int]]] = []
        for b in blocks:
            by_room: dict[tuple, dict[tuple[int, int], int]] = defaultdict(dict)
            for k, o in enumerate(b.options):
                by_room[(o.room, o.pool, o.real_rooms)].setdefault(o.slot, k)
            self.twin.append([by_room[(o.room, o.pool, o.real_rooms)] for o in b.options])
        self.starts = [list(dict.fromkeys(slots)) for slots in self.slots]
        """The distinct starts of each block's options, in their order (for Kempe chains)."""
        self.one_period = [
            len(m) == 1
            and blocks[m[0]].length == 1
            and not any(self._heavy(m[0], j) for j in self.allowed[m[0]])
            for m in self.units
        ]
        """Whether each unit is one block of one period, taking one place in each of its constraints: the
        only kind a Kempe chain moves."""
        self._reset()
        self.option_index = [{id(o): j for j, o in enumerate(b.options)} for b in blocks]
        self.allowed_set = [set(a) for a in self.allowed]
        self.steps = 0

    def _reset(self) -> None:
        """Nothing placed, no unit pushed out yet."""
        self.holders: list[list[int]] = [[] for _ in self.capacity]
        """Constraint id -> the blocks taking a place in it."""
        self.chosen: list[int | None] = [None] * len(self.blocks)
        self.weight = [1] * len(self.units)
        """How troubled each unit is: 1 plus the times it was pushed out."""
        self.unit_cost = [*self.periods, 0]
        """What pushing out each unit costs: its weight times its periods (nobody: 0)."""
        self.occupant = [self.nobody] * len(self.capacity)
        """Capacity-one constraint id -> the unit holding it (``nobody`` when free)."""
        self.slot_of: list[tuple[int, int] | None] = [None] * len(self.blocks)
        self.tabu: dict[tuple[int, int], int] = {}

    def _trouble(self, unit: int) -> None:
        """Count one more push-out (or wait) of ``unit``."""
        self.weight[unit] += 1
        self.unit_cost[unit] = self.weight[unit] * self.periods[unit]

    @staticmethod
    def _one_block(refs: list[int], owner: dict) -> bool:
        return all(v >= 0 and v in owner for v in refs) and len({owner[v][0] for v in refs}) == 1

    def _add_capacity(self, lists: list[list[int]], cap: int, weights: list[int] | None = None) -> None:
        """A capacity constraint: at most ``cap`` places, taken by the options whose ``opt_cons`` lists
        these are, one each or their ``weights``."""
        cid = len(self.capacity)
        self.capacity.append(cap)
        if weights is None:
            for cons in lists:
                cons.append(cid)
            return
        for cons, w in zip(lists, weights):
            cons.extend([cid] * w)
            self.weighted = self.weighted or w > 1

    def _units(self, links: list[tuple[int, set[int], int, set[int]]]) -> None:
        """Blocks joined by equalities form units; ``need[i]``: for each linked block k, the option sets
        (block i's side, block k's side) that must be taken together."""
        parent = list(range(len(self.blocks)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        self.need: dict[int, list[tuple[set[int], int, set[int]]]] = defaultdict(list)
        for a, sa, b, sb in links:
            parent[find(a)] = find(b)
            self.need[a].append((sa, b, sb))
            self.need[b].append((sb, a, sa))
        members: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.blocks)):
            members[find(i)].append(i)
        self.units = [sorted(m, key=lambda i: len(self.allowed[i])) for m in members.values()]
        self.unit_of = [0] * len(self.blocks)
        for u, m in enumerate(self.units):
            for i in m:
                self.unit_of[i] = u
        self.periods = [sum(self.blocks[i].length for i in m) for m in self.units]

    # ------------------------------------------------------------------ moves

    def _fits(self, i: int, assigned: dict[int, int]) -> list[int]:
        """Options of block ``i`` that keep every equality with the blocks of its unit ``assigned``."""
        options = self.allowed[i]
        for si, k, sk in self.need.get(i, ()):
            if k in assigned:
                inside = assigned[k] in sk
                options = [j for j in options if (j in si) == inside]
        return options

    @staticmethod
    def _needs(cons: list[int]) -> tuple[tuple[int, int], ...]:
        """(constraint id, places taken there) of an option's constraints ``cons`` (see ``opt_cons``)."""
        needs: dict[int, int] = {}
        for cid in cons:
            needs[cid] = needs.get(cid, 0) + 1
        return tuple(needs.items())

    def _heavy(self, i: int, j: int) -> bool:
        """Whether option ``j`` of block ``i`` takes more than one place in a constraint."""
        cons = self.opt_cons[i][j]
        return self.weighted and len(set(cons)) < len(cons)

    def _free(self, i: int, j: int) -> bool:
        """Whether option ``j`` of block ``i`` fits without pushing anyone out."""
        holders, capacity = self.holders, self.capacity
        if not self.weighted:
            return all(len(holders[cid]) < capacity[cid] for cid in self.opt_cons[i][j])
        return all(len(holders[cid]) + n <= capacity[cid] for cid, n in self._needs(self.opt_cons[i][j]))

    def _push_out(self, cid: int, extra: int, out: set[int], need: int = 1) -> int:
        """Add to ``out`` the units that must leave constraint ``cid`` for ``need`` more places in it,
        when the unit being placed takes ``extra`` places there already; the least troubled leave first
        (a pool of several rooms). Returns what they cost."""
        holders = self.holders[cid]
        over = len(holders) + extra + need - self.capacity[cid]
        if over <= 0:
            return 0
        unit_of, weight = self.unit_of, self.weight
        holds: dict[int, int] = defaultdict(int)
        for h in holders:
            holds[unit_of[h]] += 1
        over -= sum(n for u, n in holds.items() if u in out)
        cost = 0
        for u in sorted((u for u in holds if u not in out), key=lambda u: weight[u]):
            if over <= 0:
                break
            out.add(u)
            cost += weight[u] * self.periods[u]
            over -= holds[u]
        return cost

    def _cost(self, i: int, j: int, taken: dict[int, int], out: set[int]) -> None:
        """Add to ``out`` the units that option ``j`` of block ``i`` pushes out, given the unit's other
        blocks already ``taken`` (constraint id -> places they use)."""
        if not self.weighted:
            for cid in self.opt_cons[i][j]:
                self._push_out(cid, taken.get(cid, 0), out)
            return
        for cid, n in self._needs(self.opt_cons[i][j]):
            self._push_out(cid, taken.get(cid, 0), out, n)

    def _plan(self, unit: int) -> tuple[dict[int, int], set[int]] | None:
        """The cheapest way to place ``unit``: block -> option, and the units it pushes out."""
        blocks = self.units[unit]
        head, rest = blocks[0], blocks[1:]
        if not rest:
            return self._plan_one(unit, head)
        best, best_cost = None, None
        for j in self.allowed[head]:
            tabu = self.tabu.get((unit, j), -1) >= self.steps
            assigned = {head: j}
            out: set[int] = set()
            taken: dict[int, int] = defaultdict(int)
            self._cost(head, j, taken, out)
            for cid in self.opt_cons[head][j]:
                taken[cid] += 1
            ok = True
            for i in rest:
                options = self._fits(i, assigned)
                if not options:
                    ok = False
                    break
                pick, pick_out = None, None
                for k in options:
                    o: set[int] = set()
                    self._cost(i, k, taken, o)
                    if pick_out is None or len(o) < len(pick_out):
                        pick, pick_out = k, o
                        if not o:
                            break
                assigned[i] = pick
                out |= pick_out
                for cid in self.opt_cons[i][pick]:
                    taken[cid] += 1
            if not ok or (tabu and out):
                continue
            cost = (sum(self.weight[u] * self.periods[u] for u in out), self.random.random())
            if best_cost is None or cost < best_cost:
                best, best_cost = (assigned, out), cost
        return best

    def _plan_one(self, unit: int, i: int) -> tuple[dict[int, int], set[int]] | None:
        """``_plan`` of a unit of one block, the most common, with the units in each option's way read
        from ``occupant`` (German-100_and_0's step 1: about 4,400 moves a second against 3,500 with a loop
        over the option's constraints)."""
        tabu, steps, nobody = self.tabu, self.steps, self.nobody
        occupant, cost_of = self.occupant.__getitem__, self.unit_cost.__getitem__
        single, multi = self.single[i], self.multi[i]
        best, best_cost, ties = None, None, 0
        for j in self.allowed[i]:
            # The units in the way, gathered at C speed: nobody costs nothing.
            out = set(map(occupant, single[j]))
            cost = sum(map(cost_of, out))
            out.discard(nobody)
            for cid, n in multi[j]:
                cost += self._push_out(cid, 0, out, n)
            if best_cost is not None and cost > best_cost:
                continue
            if out and tabu.get((unit, j), -1) >= steps:
                continue
            # Among equal costs, each is picked with the same chance.
            if best_cost is None or cost < best_cost:
                best, best_cost, ties = (j, out), cost, 1
            else:
                ties += 1
                if self.random.random() * ties < 1:
                    best = (j, out)
        return ({i: best[0]}, best[1]) if best is not None else None

    def _put(self, i: int, j: int) -> None:
        """Block ``i`` takes its option ``j``."""
        self.chosen[i] = j
        self.slot_of[i] = self.slots[i][j]
        holders, occupant, unit = self.holders, self.occupant, self.unit_of[i]
        for cid in self.opt_cons[i][j]:
            holders[cid].append(i)
        for cid in self.single[i][j]:
            occupant[cid] = unit

    def _lift(self, i: int) -> None:
        """Block ``i`` (placed) leaves its option."""
        j = self.chosen[i]
        holders, occupant, nobody = self.holders, self.occupant, self.nobody
        for cid in self.opt_cons[i][j]:
            holders[cid].remove(i)
        for cid in self.single[i][j]:
            occupant[cid] = nobody
        self.chosen[i] = self.slot_of[i] = None

    def _take(self, assigned: dict[int, int]) -> None:
        for i, j in assigned.items():
            self._put(i, j)

    def _remove(self, unit: int, tabu: bool = True) -> None:
        head = self.units[unit][0]
        if tabu and self.chosen[head] is not None:
            self.tabu[(unit, self.chosen[head])] = self.steps + TABU_STEPS
        for i in self.units[unit]:
            if self.chosen[i] is not None:
                self._lift(i)

    def _swap(self, unit: int, there: tuple[int, int]) -> bool:
        """Move ``unit`` (one single period) to the start ``there``, and whatever it then clashes with at
        ``there`` to its start, and so on (a Kempe chain): every block stays placed and every rule kept.
        Whether it could.

        The search's most frequent step (German-100_and_0's step 1: nine chains tried a move, nine in ten
        of them failing), so it reads its lists once and moves blocks, not units."""
        units, chosen, slot_of, one_period = self.units, self.chosen, self.slot_of, self.one_period
        holders, capacity, unit_of, opt_cons = self.holders, self.capacity, self.unit_of, self.opt_cons
        twin, allowed, size = self.twin, self.allowed_set, self.kempe_size
        here = slot_of[units[unit][0]]
        target = {unit: there}
        queue, moves = [unit], {}
        while queue:
            w = queue.pop()
            if not one_period[w] or len(target) > size:
                return False
            i = units[w][0]
            to = target[w]
            k = twin[i][chosen[i]].get(to)
            if k is None or k not in allowed[i]:
                return False
            moves[w] = (i, k)
            for cid in opt_cons[i][k]:
                for h in holders[cid]:
                    x = unit_of[h]
                    if x in target:
                        continue
                    at = slot_of[h]
                    if at == to:
                        target[x] = here if at == there else there
                        queue.append(x)
                    elif capacity[cid] == 1:
                        # A longer block over that start, or another block of the lesson on that day:
                        # half and two fifths of the chains that fail on GYR.
                        return False
        old = [(i, chosen[i]) for i, _ in moves.values()]
        for i, _ in old:
            self._lift(i)
        done = []
        for i, k in moves.values():
            for cid in opt_cons[i][k]:
                if len(holders[cid]) >= capacity[cid]:
                    for d in done:
                        self._lift(d)
                    for was in old:
                        self._put(*was)
                    return False
            self._put(i, k)
            done.append(i)
        return True

    def _make_room(self, unit: int, assigned: dict[int, int], out: set[int]) -> bool:
        """Free the option ``assigned`` of a one-block ``unit`` by moving each unit in its way elsewhere
        in a Kempe chain (``_swap``) instead of pushing it out. Whether the option is free now; the
        chains that were made stay (they keep every rule)."""
        ((i, j),) = assigned.items()
        units, chosen, slot_of, sample = self.units, self.chosen, self.slot_of, self.random.sample
        for v in out:
            h = units[v][0]
            if len(units[v]) != 1 or chosen[h] is None:
                return False
            starts = self.starts[h]
            tries = sample(starts, min(self.kempe_tries, len(starts)))
            if not self.one_period[v]:
                continue  # a longer block never moves in a chain (the draw is kept: same searches)
            for there in tries:
                if there != slot_of[h] and self._swap(v, there):
                    break
        return self._free(i, j)

    # ------------------------------------------------------------------ search

    def run(
        self,
        start: dict[tuple[str, int], Option] | None,
        deadline: float,
        cancel: threading.Event | None = None,
        report: Callable[[str, int], None] | None = None,
        give_up: float | None = None,
        moves: int | None = None,
    ) -> tuple[dict[tuple[str, int], Option], int]:
        """From ``start`` (block key -> option; the blocks it places where their options allow stay),
        place the rest until every block is placed, ``deadline``, ``cancel``, ``give_up`` seconds
        without fewer periods left, or ``moves`` moves. Returns the placement with the fewest periods
        left, and that number."""
        self._reset()
        last_move = None if moves is None else self.steps + moves
        index = {b.key: i for i, b in enumerate(self.blocks)}
        wanted: dict[int, int] = {}
        for key, opt in (start or {}).items():
            i = index.get(key)
            j = None if i is None else self.option_index[i].get(id(opt))
            if j is not None and j in self.allowed_set[i]:
                wanted[i] = j
        kept: set[int] = set()
        for u, blocks in enumerate(self.units):
            if not all(i in wanted for i in blocks):
                continue
            assigned = {i: wanted[i] for i in blocks}
            if any(
                (assigned[i] in si) != (assigned[k] in sk)
                for i in blocks
                for si, k, sk in self.need.get(i, ())
            ):
                continue
            out: set[int] = set()
            taken: dict[int, int] = defaultdict(int)
            for i, j in assigned.items():
                self._cost(i, j, taken, out)
                for cid in self.opt_cons[i][j]:
                    taken[cid] += 1
            if not out:
                self._take(assigned)
                kept.add(u)
        # The rest, the most constrained first, wherever nothing is pushed out.
        left = sorted(
            (u for u in range(len(self.units)) if u not in kept),
            key=lambda u: (len(self.allowed[self.units[u][0]]), -self.periods[u]),
        )
        unplaced: set[int] = set()
        # Units without any possible start stay out; the rest are searched.
        never = {u for u in left if any(not self.allowed[i] for i in self.units[u])}
        for u in left:
            plan = None if u in never else self._plan(u)
            if plan is not None and not plan[1]:
                self._take(plan[0])
            elif u not in never:
                unplaced.add(u)
        missing = sum(self.periods[u] for u in unplaced | never)
        best, best_missing = list(self.chosen), missing
        last = improved = time.monotonic()
        while unplaced and time.monotonic() < deadline and not (cancel and cancel.is_set()):
            if give_up is not None and time.monotonic() - improved > give_up:
                break
            if last_move is not None and self.steps >= last_move:
                break
            self.steps += 1
            # At random: picking the most pushed-out first left more (GYR, seed 0, 30 s: 103 against 27).
            unit = self.random.choice(sorted(unplaced))
            plan = self._plan(unit)
            if plan is None:
                # No option at all (every one tabu and pushing out): wait.
                self._trouble(unit)
                continue
            assigned, out = plan
            if out and len(self.units[unit]) == 1:
                if self._make_room(unit, assigned, out):
                    out = set()
                else:
                    # The chains made moved others; what is in the way now is another set.
                    plan = self._plan(unit)
                    if plan is None:
                        self._trouble(unit)
                        continue
                    assigned, out = plan
            for u in out:
                self._remove(u)
                self._trouble(u)
                unplaced.add(u)
                missing += self.periods[u]
            self._take(assigned)
            unplaced.discard(unit)
            missing -= self.periods[unit]
            if missing < best_missing:
                best, best_missing = list(self.chosen), missing
                improved = time.monotonic()
            if report is not None and time.monotonic() - last > REPORT_EVERY:
                last = time.monotonic()
                report(f"periods left to place: {missing} (fewest {best_missing})", best_missing)
        placement = {
            self.blocks[i].key: self.blocks[i].options[j] for i, j in enumerate(best) if j is not None
        }
        return placement, best_missing

    def until_placed(
        self, deadline: float, restart: int, seeds: Iterator[int], cancel=None
    ) -> dict[tuple[str, int], Option] | None:
        """Every block placed, searching from nothing with each of ``seeds`` in turn for ``restart``
        moves at most; None at ``deadline`` or on ``cancel`` (anything with ``is_set()``)."""
        for seed in seeds:
            if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                break
            self.random.seed(seed)
            found, left = self.run(None, deadline, cancel, moves=restart)
            if not left:
                return found
        return None


class _Either:
    """Set when the caller cancels or the other process has placed every block (its placement in
    ``found``, as (block, option) indices)."""

    def __init__(self, cancel: threading.Event | None, other):
        self.cancel = cancel
        self.other = other
        self.found: list[tuple[int, int]] | None = None

    def is_set(self) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            return True
        if self.found is None and self.other is not None and self.other.poll():
            try:
                self.found = self.other.recv()
            except (EOFError, OSError):
                pass  # it ended without a word: as if it found nothing
            self.other = None  # it has said all it will say
        return self.found is not None


class _Orphaned:
    """Set once the process that forked this one is gone (killed without a word, as a server can be):
    the search then ends, rather than hold a core, and whatever it inherited, until its deadline."""

    def __init__(self):
        self.parent = os.getppid()

    def is_set(self) -> bool:
        return os.getppid() != self.parent


def _place_elsewhere(
    search: EjectionSearch, deadline: float, restart: int, seeds: Iterator[int], out
) -> None:
    """The forked process of ``place_on_two_cores``: its placement, as (block, option) indices, or None."""
    found = search.until_placed(deadline, restart, seeds, _Orphaned())
    index = {b.key: i for i, b in enumerate(search.blocks)}
    try:
        out.send(
            None
            if found is None
            else [(index[k], search.option_index[index[k]][id(o)]) for k, o in found.items()]
        )
    except OSError:
        pass  # the caller is done already


def place_on_two_cores(
    search: EjectionSearch, deadline: float, restart: int, seed: int, cancel: threading.Event | None = None
) -> dict[tuple[str, int], Option] | None:
    """``EjectionSearch.until_placed`` in this process and, at once, with other seeds in a forked one: the
    first placement of every block either finds. The search is pure Python, so one process uses one
    core; where fork is not available, this process alone searches.

    German-100_and_0's step 1: a placement in 5 of 15 runs of seeds 0-14 (at 29,900-35,200 moves) and
    in none of 8 runs of 36,000 moves of seeds 1000-1007, so restarts every ``restart`` moves are a
    lottery that two processes draw from twice as fast."""
    ours = (seed * 1000 + a for a in itertools.count())
    theirs = (seed * 1000 + 500 + a for a in itertools.count())
    try:
        context = multiprocessing.get_context("fork")
        here, there = context.Pipe(duplex=False)
        other = context.Process(target=_place_elsewhere, args=(search, deadline, restart, theirs, there))
        other.start()
    except (ValueError, OSError, AssertionError):
        return search.until_placed(deadline, restart, ours, cancel)
    there.close()
    either = _Either(cancel, here)
    try:
        found = search.until_placed(deadline, restart, ours, either)
        if found is None and either.found is not None:
            blocks = search.blocks
            found = {blocks[i].key: blocks[i].options[j] for i, j in either.found}
        return found
    finally:
        other.kill()
        other.join()
        here.close()


def _search_in_background(build, deadline: float, give_up: float, out) -> None:
    """The forked process of ``Background``: builds the search, says whether it reads the model, then
    sends its progress lines and, at the end, its placement as (block key, start, room, pool)."""

    def send(*message) -> None:
        try:
            out.send(message)
        except OSError:
            os._exit(0)  # the caller is gone

    try:
        search = build()
    except (Unsupported, BuildStopped) as exc:  # the caller goes on alone
        send("unsupported", str(exc) or type(exc).__name__)
        return
    send("built")
    found, left = search.run(
        None, deadline, _Orphaned(), lambda line, fewest: send("progress", line, fewest), give_up=give_up
    )
    send("done", [(key, o.slot, o.room, o.pool) for key, o in found.items()], left)


class Background:
    """An ejection search built and run in a forked process, on one core, while this one goes on: CP-SAT's
    second quick search and the ejection search each place files the other does not (15 s, seed 0, each
    run in place of the other: Shipena and RehobothHSY2016T2d by the ejection search alone; Yew-Chung
    2008-09-difficult, Van_RhynFinal, MAPS and CONCORDIA by the quick search alone).

    ``build`` returns the ``EjectionSearch`` (it may raise ``Unsupported``); the search starts from
    nothing and stops at ``deadline``, after ``give_up`` seconds without fewer periods left, or when
    stopped. Without fork, nothing runs and ``state`` is "unsupported"."""

    def __init__(self, build: Callable[[], EjectionSearch], deadline: float, give_up: float):
        self.state = "building"
        """building, unsupported, searching, done or stopped."""
        self.why = ""
        self.lines: list[tuple[str, int]] = []
        """Progress lines not yet read: (line, fewest periods left)."""
        self.placement: list[tuple] = []
        """At the end: (block key, start, room, pool) of every block placed."""
        self.left: int | None = None
        self._lock = threading.Lock()
        try:
            context = multiprocessing.get_context("fork")
            self._conn, there = context.Pipe(duplex=False)
            self._process = context.Process(
                target=_search_in_background, args=(build, deadline, give_up, there), daemon=True
            )
            self._process.start()
        except (ValueError, OSError, AssertionError):
            self.state, self.why, self._process = "unsupported", "no fork on this system", None
            return
        there.close()

    def poll(self, timeout: float = 0.0) -> None:
        """Read what the search has said, waiting up to ``timeout`` seconds for a first word."""
        with self._lock:
            if self._process is None:
                return
            try:
                while self._conn.poll(timeout):
                    timeout = 0.0
                    kind, *rest = self._conn.recv()
                    if kind == "unsupported":
                        self.state, self.why = kind, rest[0]
                    elif kind == "built":
                        self.state = "searching"
                    elif kind == "progress":
                        self.lines.append((rest[0], rest[1]))
                    else:
                        self.state, (self.placement, self.left) = "done", rest
            except (EOFError, OSError):
                if self.state in ("building", "searching"):
                    # It ended without a word (killed, out of memory): as if it read nothing.
                    self.state, self.why = "unsupported", "the search stopped without a result"
            if self.state in ("unsupported", "done"):
                self._end()

    def placed_all(self) -> bool:
        """Whether the search has ended with every block placed."""
        self.poll()
        return self.state == "done" and self.left == 0

    def wait(self, until: Callable[[], bool], step: float = 0.1) -> None:
        """Wait while the search is building (``until`` tells to stop waiting: a cancel)."""
        while self.state == "building" and not until():
            self.poll(step)

    def result(self, stop: Callable[[], bool], report: Callable[[str, int], None] | None = None) -> None:
        """Wait for the search to end, or ``stop`` to say so (a cancel: the search is then stopped),
        passing on its progress lines."""
        while self.state in ("building", "searching"):
            if stop():
                self.stop()
                return
            self.poll(0.1)
            # Only the latest line: those said during the quick search are old news.
            if self.lines and report is not None:
                report(*self.lines[-1])
            self.lines = []

    def stop(self) -> None:
        """Stop the search, wherever it is."""
        with self._lock:
            if self.state in ("building", "searching"):
                self.state = "stopped"
            self._end()

    def _end(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._conn.close()
            self._process = None
