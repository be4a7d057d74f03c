"""The packing policies' array ledger ranks and walks entries exactly as Gavel's rule says.

The rule, written out plainly over dicts (as Gavel's scheduler walks it): per
type in order, every entry (job or pair) gets priority allocation / share of
the type's time (allocation x 1e9 if it never ran there; 0 without allocation
or throughput), entries sorted by decreasing (priority, deficit, allocation),
ties in creation order; the lists are walked one after the other and an entry
runs when none of its jobs runs yet and its gang fits what is left of the type.
Entries not in the allocation hold their place but do not run; FIFO skips
entries of priority 0.
"""

from __future__ import annotations

import random

import pytest

from optsched.simulate.gavel_ledger import Ledger

TYPES = ("k80", "p100", "v100")


def rule(entries, alloc, in_alloc, time, deficit, idle, gang, capacity, worker, order, fifo):
    queue = []
    for wt in order:
        rows = []
        for key in entries:
            a = alloc[key][wt]
            if a == 0.0 or idle[key][wt]:
                if not fifo:
                    rows.append((0.0, deficit[key][wt], a, key))
                continue
            share = time[key][wt] / worker[wt] if worker[wt] > 0 else 0.0
            rows.append((a / share if share > 0 else a * 1e9, deficit[key][wt], a, key))
        rows.sort(key=lambda r: r[:3], reverse=True)
        queue += [(r[3], wt) for r in rows]
    left, seen, chosen = dict(capacity), set(), []
    for key, wt in queue:
        members = key if isinstance(key, tuple) else (key,)
        if left[wt] == 0 or any(m in seen for m in members) or idle[key][wt]:
            continue
        if gang[key] <= left[wt]:
            left[wt] -= gang[key]
            seen.update(members)
            if in_alloc[key]:
                chosen.append((key, wt))
    return chosen


def random_state(rng: random.Random, jobs: int):
    """A ledger and the same state as dicts: coarse values, so that ties are common."""
    ledger = Ledger(TYPES, 180.0, jobs)
    gang = {}
    entries = []
    for j in range(jobs):
        gang[j] = rng.choice((1, 1, 2, 4))
        entries.append(j)
        for o in range(j):
            if gang[o] == gang[j]:
                gang[(o, j)] = gang[j]
                entries.append((o, j))
    idle = {k: {t: rng.random() < 0.2 for t in TYPES} for k in entries}
    for k in entries:
        ledger.add(k, gang[k], [idle[k][t] for t in TYPES], 180.0 if isinstance(k, int) else 0.0)
    gone = set(rng.sample(range(jobs), jobs // 5))  # completed jobs leave with their pairs
    for k in list(entries):
        members = k if isinstance(k, tuple) else (k,)
        if any(m in gone for m in members):
            ledger.remove(k)
            entries.remove(k)
    alloc = {k: {t: rng.choice((0.0, 0.0, 0.25, 0.5, 1.0)) for t in TYPES} for k in entries}
    in_alloc = {k: rng.random() < 0.9 for k in entries}
    ledger.set_alloc({k: alloc[k] for k in entries if in_alloc[k]})
    for k in entries:
        if not in_alloc[k]:
            alloc[k] = dict.fromkeys(TYPES, 0.0)
    time = {k: {t: rng.choice((0.0, 180.0, 360.0, 540.0)) for t in TYPES} for k in entries}
    deficit = {k: {t: rng.choice((-360.0, 0.0, 360.0)) for t in TYPES} for k in entries}
    for k in entries:
        s = ledger.slot[k]
        ledger.time[s] = [time[k][t] for t in TYPES]
        ledger.deficit[s] = [deficit[k][t] for t in TYPES]
    state = (entries, alloc, in_alloc, time, deficit, idle, gang)
    return ledger, state


@pytest.mark.parametrize("fifo", [False, True])
@pytest.mark.parametrize("seed", range(40))
def test_ledger_walks_as_the_rule(seed: int, fifo: bool) -> None:
    rng = random.Random(seed)
    ledger, state = random_state(rng, rng.randint(2, 24))
    capacity = {t: rng.randint(0, 8) for t in TYPES}
    worker = {t: rng.choice((0.0, 720.0, 1440.0)) for t in TYPES}
    order = list(TYPES)
    rng.shuffle(order)
    want = rule(*state, capacity, worker, order, fifo)
    assert ledger.choose(order, capacity, worker, fifo) == want
    assert not ledger.seen.any()  # the scratch marks are cleared for the next round


def test_reset_charges_deficit_and_restarts_time() -> None:
    ledger = Ledger(TYPES, 180.0, 3)
    ledger.add(0, 1, [False] * 3, 180.0)
    ledger.add(1, 1, [False] * 3, 180.0)
    ledger.add((0, 1), 1, [False] * 3, 0.0)
    ledger.set_alloc({0: {"v100": 0.5}, (0, 1): {"k80": 1.0}})
    ledger.ran(0, "v100", 360.0)
    worker: dict[str, float] = {}
    ledger.reset(1000.0, worker)
    # job 0 should have run 0.5 x 1000 s on v100 and ran 360 s: deficit 500 - 360
    assert ledger.deficit[ledger.slot[0]].tolist() == [0.0, 0.0, 140.0]
    # the pair started at 0 s, not half a round: it ran -180 s "beyond" half, on each type
    assert ledger.deficit[ledger.slot[(0, 1)]].tolist() == [1180.0, 180.0, 180.0]
    assert ledger.time[ledger.live()].tolist() == [[180.0] * 3] * 3
    assert worker == dict.fromkeys(TYPES, 540.0)
