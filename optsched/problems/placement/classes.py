"""Placement on a real cluster's scale: solve over GPU types, then unfold onto GPU ids.

The full model (:mod:`.cpsat`) gives every multi-GPU job a GPU count per
server, and every pair of them a link per server. On Philly's 552 servers
with a few hundred jobs that is hundreds of thousands of variables, and most
of them only tell apart servers that are alike: all 8-GPU P40 servers give a
job the same throughput at the same spread, as the formulation already
requires (:meth:`.formulation.Formulation._check_uniform`). So this method:

1. **Solves the round over the servers' classes.** Every job chooses a GPU type
   and a shape (spread level, and where rates depend on the split, servers
   used and GPUs on the fullest) exactly as in the full model, co-located
   pairs too, with the same objective, but its GPUs are counted only against
   its type's total (a pair once), as the full model already does for one-GPU
   jobs. Units that need a server to themselves (more than half of the
   largest server) are at most the type's servers that can hold them. Every
   placement of the full model is a solution here with the same value, so
   this model's proven bound is a proven bound of the round. Without servers,
   jobs of one type, gang, weight and pool are interchangeable, so the model
   counts them (:class:`CountModel`: how many of a class take each option,
   alone or paired with a class), with pairs per class pair, not per job pair
   (Philly's 800-job round: a few thousand counts against 230,000 pair
   variables). The fairness objective (``min_throughput``) needs every job's
   value and keeps one variable per job (:class:`ClassModel`).
2. **Unfolds** the choice onto concrete servers: units (a job, or a pair on one
   GPU set) from the most spread and largest down, each on the servers that
   fit it best (fewest free GPUs that still fit, in one rack or across racks
   as its level says). Where GPU counts divide the server sizes (Philly's 1,
   2, 4, 8, 16 ... on 2- and 8-GPU servers) nothing fragments and every unit
   unfolds at its shape, so the unfolded placement has the classes' value.
   A unit that does not fit runs at its best option that still fits, or not
   at all. When that lost value, the full model starts from the unfolded
   placement for the time left (where it has at most :data:`FULL_MODEL_MAX`
   GPU-count variables) and the better placement and the tighter bound are
   kept; the gap to the bound says what is left.

The front door re-checks the unfolded placement against the throughput model,
so the objective reported is the checker's, and the bound step 1's.
"""

from __future__ import annotations

from typing import Any

from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from .cpsat import SCALE, _CpModel
from .formulation import LEVELS, Formulation, PlacementModel
from .heuristics import density_greedy
from .instance import PlacementInstance, PlacementObjective
from .solution import PlacementSolution

Shape = tuple[int, ...]


class ClassModel(PlacementModel):
    """The formulation with GPUs counted per type only: no server variables."""

    def server_jobs(self) -> list[int]:
        """No job gets GPU counts per server: the unfolding picks them."""
        return []

    def level(self) -> None:
        """Units needing a server to themselves fit the type's servers that hold them:
        per type and size ``g`` above half its largest server, jobs at level 0 of at
        least ``g`` GPUs less the type's pairs of them are at most those servers."""
        f, c = self.f, self.f.cluster
        for t, servers in f.servers.items():
            sizes = [c.servers[s].num_gpus for s in servers]
            big = sorted({job.num_gpus for job in self.inst.jobs if 2 * job.num_gpus > max(sizes)})
            for g in big:
                hold = sum(size >= g for size in sizes)
                jobs = [
                    v
                    for j in self.jobs
                    if self.inst.jobs[j].num_gpus >= g
                    for v in self._u(j, level=0, t=t)
                ]
                pairs = [
                    v
                    for q, v in zip(f.pairs, self.p)
                    if q.gpu_type == t and self.inst.jobs[q.a].num_gpus >= g
                ]
                if len(jobs) > hold:
                    self.add(self.total(jobs) - self.total(pairs) <= hold)

    def gpus_in_use(self, t: str | None = None) -> list[Any]:
        jobs = self.inst.jobs
        items: list[Any] = [
            jobs[j].num_gpus * v for (j, tt, _), v in self.u.items() if t in (None, tt)
        ]
        items += [
            -jobs[q.a].num_gpus * v for q, v in zip(self.f.pairs, self.p) if t in (None, q.gpu_type)
        ]
        return items

    def capacity(self) -> None:
        for t in self.f.cluster.gpu_types:
            items = self.gpus_in_use(t)
            if items:
                self.add(self.total(items) <= self.f.cluster.capacity(t))


class _CpClassModel(ClassModel, _CpModel):
    """:class:`ClassModel` with CP-SAT's linking and scaled coefficients."""


class CountModel:
    """The classes' model over jobs alike: counts instead of one variable per job.

    Without servers, jobs of one job type, gang, weight and GPU-type pool are
    interchangeable, so only how many of them take each option matters:
    ``A[c,o]`` jobs of class ``c`` alone on option ``o`` (a type and shape), and
    ``P[c,d,o]`` pairs of a ``c`` and a ``d`` job sharing one GPU set there. The
    constraints are the per-job model's, summed over a class: a class runs at most
    its jobs (a pair of one class takes two), a type's GPUs hold its units (a
    pair's once), and units needing a server of their own are at most the type's
    servers that hold them (counted exactly here, pairs once). Each count's
    objective coefficient is the per-job one, so the optima are equal, with
    pairs enumerated per class pair instead of per job pair.
    """

    def __init__(self, f: Formulation) -> None:
        from ortools.sat.python import cp_model

        self.f = f
        inst = f.instance
        self.m = cp_model.CpModel()
        m = self.m
        jobs = inst.jobs
        index: dict[tuple[Any, ...], int] = {}
        self.members: list[list[int]] = []
        for j, job in enumerate(jobs):
            alike = (job.job_type, job.num_gpus, job.weight, inst.pools[job.id])
            if alike not in index:
                index[alike] = len(self.members)
                self.members.append([])
            self.members[index[alike]].append(j)
        self.options: list[dict[tuple[str, Shape], float]] = [{} for _ in self.members]
        head = {c: group[0] for c, group in enumerate(self.members)}
        of_job = {j: c for c, group in enumerate(self.members) for j in group}
        for (j, t, lv), value in f.options.items():
            if head[of_job[j]] == j:
                self.options[of_job[j]][t, lv] = value
        n = [len(group) for group in self.members]
        self.alone = {
            (c, o): m.new_int_var(0, n[c], f"A_{c}_{o[0]}_{'_'.join(map(str, o[1]))}")
            for c in range(len(n))
            for o in self.options[c]
        }
        self.pair_value: dict[tuple[int, int, tuple[str, Shape]], float] = {}
        self.together: dict[tuple[int, int, tuple[str, Shape]], Any] = {}
        if inst.space_sharing:
            model = inst.model
            for c in range(len(n)):
                jc = jobs[head[c]]
                for d in range(c, len(n)):
                    jd = jobs[head[d]]
                    if jd.num_gpus != jc.num_gpus or (c == d and n[c] < 2):
                        continue
                    most = n[c] // 2 if c == d else min(n[c], n[d])
                    for (t, lv), vc in self.options[c].items():
                        vd = self.options[d].get((t, lv))
                        if vd is None:
                            continue
                        fc = model.interference(jc.job_type, jd.job_type, t, jc.num_gpus)
                        fd = model.interference(jd.job_type, jc.job_type, t, jc.num_gpus)
                        if fc is None or fd is None:
                            continue
                        key = (c, d, (t, lv))
                        self.pair_value[key] = jc.weight * vc * fc + jd.weight * vd * fd
                        self.together[key] = m.new_int_var(0, most, f"P_{c}_{d}_{t}")
        runs: list[list[Any]] = [[] for _ in n]  # a class runs at most its jobs
        for (c, _), v in self.alone.items():
            runs[c].append(v)
        for (a, b, _), v in self.together.items():
            runs[a].append(v)
            runs[b].append(v)  # a pair of one class takes two of its jobs
        for c, items in enumerate(runs):
            if items:
                m.add(sum(items) <= n[c])
        c_ = f.cluster
        for t in c_.gpu_types:  # a type's GPUs hold its units
            units = self._units(t, lambda lv: True)
            if units:
                m.add(sum(jobs[head[c]].num_gpus * v for c, v in units) <= c_.capacity(t))
        for t, servers in f.servers.items():  # units needing a server to themselves
            sizes = [c_.servers[s].num_gpus for s in servers]
            for g in sorted({job.num_gpus for job in jobs if 2 * job.num_gpus > max(sizes)}):
                big = [
                    v for c, v in self._units(t, lambda lv: lv[0] == 0)
                    if jobs[head[c]].num_gpus >= g
                ]  # fmt: skip
                if big:
                    m.add(sum(big) <= sum(size >= g for size in sizes))
        self.head = head

    def _units(self, t: str, shape_ok: Any) -> list[tuple[int, Any]]:
        """``(class, count)`` of every unit on type ``t`` whose shape passes ``shape_ok``
        (a pair by its first class)."""
        out = [(c, v) for (c, (tt, lv)), v in self.alone.items() if tt == t and shape_ok(lv)]
        out += [(a, v) for (a, _, (tt, lv)), v in self.together.items() if tt == t and shape_ok(lv)]
        return out

    def objective(self) -> int:
        """Adds the objective (scaled by ``SCALE``); returns the bound's widening in
        scaled units (half a unit per job)."""
        inst, jobs = self.f.instance, self.f.instance.jobs
        if inst.objective is PlacementObjective.GPUS_USED:
            self.m.maximize(
                sum(jobs[self.head[c]].num_gpus * v for t in self.f.cluster.gpu_types
                    for c, v in self._units(t, lambda lv: True))
            )  # fmt: skip
            return 0
        terms = [
            round(jobs[self.head[c]].weight * self.options[c][o] * SCALE) * v
            for (c, o), v in self.alone.items()
        ]
        terms += [round(self.pair_value[k] * SCALE) * v for k, v in self.together.items()]
        self.m.maximize(sum(terms))
        return len(jobs)

    def hint(self, solution: PlacementSolution) -> None:
        """Counts of a placement (its jobs' options and pairs)."""
        f, inst = self.f, self.f.instance
        of_job = {j: c for c, group in enumerate(self.members) for j in group}
        by_set: dict[tuple[int, ...], list[int]] = {}
        for jid, gpus in solution.assignment.items():
            if gpus:
                by_set.setdefault(tuple(gpus), []).append(inst.job_index[jid])
        alone: dict[Any, int] = {}
        together: dict[Any, int] = {}
        for gpus, js in by_set.items():
            _, t, lv = f.key(js[0], gpus)
            if len(js) == 1:
                one = (of_job[js[0]], (t, lv))
                alone[one] = alone.get(one, 0) + 1
            else:
                a, b = sorted((of_job[js[0]], of_job[js[1]]))
                together[a, b, (t, lv)] = together.get((a, b, (t, lv)), 0) + 1
        for one, v in self.alone.items():
            self.m.add_hint(v, alone.get(one, 0))
        for two, v in self.together.items():
            self.m.add_hint(v, together.get(two, 0))

    def choice(self, value: Any) -> tuple[dict[int, tuple[str, Shape]], dict[int, int]]:
        """The counts handed out to concrete jobs: job -> option, and partners."""
        nxt = [iter(group) for group in self.members]
        choice: dict[int, tuple[str, Shape]] = {}
        partner: dict[int, int] = {}
        for (a, b, o), v in self.together.items():
            for _ in range(value(v)):
                x, y = next(nxt[a]), next(nxt[b])
                choice[x] = choice[y] = o
                partner[x], partner[y] = y, x
        for (c, o), v in self.alone.items():
            for _ in range(value(v)):
                choice[next(nxt[c])] = o
        return choice, partner


def solve_classes(instance: PlacementInstance, options: SolveOptions) -> MethodOutput:
    f = Formulation(instance)
    start = options.warm_start or density_greedy(instance)
    counted = instance.objective is not PlacementObjective.MIN_THROUGHPUT
    if counted:  # jobs alike as counts; the fairness objective needs each job's value
        model: Any = CountModel(f)
        widen = model.objective()
        model.hint(start)
    else:
        model = _CpClassModel(f)
        widen = model.scaled_objective()
        _, u, paired = f.from_solution(start)
        model.hint({}, u, paired)
    solver, status = cpsat.run(model.m, options)
    scale = 1 if instance.objective is PlacementObjective.GPUS_USED else SCALE
    params = cpsat.parameters(
        options,
        solver,
        objective_scale=scale,
        scaling_rule="objective coefficients x 1e9, rounded; bound widened by 0.5e-9 per job",
        model="server classes (GPUs per type"
        + (", jobs alike as counts" if counted else "")
        + "), unfolded onto servers",
    )
    if not status.has_solution:
        return MethodOutput(status, None, None, cpsat.VERSION, params, start=start)
    bound = (solver.best_objective_bound + widen) / scale
    if counted:
        choice, partner = model.choice(solver.value)
    else:
        choice = {j: (t, lv) for (j, t, lv), v in model.u.items() if solver.value(v)}
        partner = {}
        for q, v in zip(f.pairs, model.p):
            if solver.value(v):
                partner[q.a], partner[q.b] = q.b, q.a
    solution, moved = unfold(f, choice, partner)
    params["unfolded_off_shape"] = moved
    if moved:
        solution, bound = _finish_on_servers(f, solution, bound, options, params)
    return MethodOutput(status, solution, bound, cpsat.VERSION, params)


#: The full model finishes an unfolding that fell short only up to this many GPU-count
#: variables (multi-GPU jobs x their servers); beyond, building it costs the limit.
FULL_MODEL_MAX = 50_000


def _finish_on_servers(
    f: Formulation,
    solution: PlacementSolution,
    bound: float,
    options: SolveOptions,
    params: dict[str, Any],
) -> tuple[PlacementSolution, float]:
    """When the unfolding lost value, the full model (:mod:`.cpsat`) starts from it for
    the time left, and stops once it meets the classes' bound: its best placement if
    better, and the tighter of the two bounds (both proven)."""
    from dataclasses import replace

    from ...core import Status
    from .checker import check
    from .cpsat import solve_cpsat

    left = options.remaining()
    size = sum(len(f.job_servers(j)) for j in f.multi)
    if (left is not None and left < 1.0) or size > FULL_MODEL_MAX:
        return solution, bound
    out = solve_cpsat(f.instance, replace(options, warm_start=solution), enough=bound)
    params["finished_by_full_model"] = True
    better = out.solution is not None and (
        check(f.instance, out.solution).objective > check(f.instance, solution).objective
    )
    if better:
        solution = out.solution
    if out.bound is not None and out.status in (Status.OPTIMAL, Status.FEASIBLE):
        bound = min(bound, out.bound)
    return solution, bound


# ------------------------------------------------------------------ unfolding
class _Free:
    """Free GPU ids per server, and the servers of each type by rack."""

    def __init__(self, f: Formulation) -> None:
        c = f.cluster
        self.c = c
        self.gpus = {s: list(c.server_gpus(s)) for s in range(len(c.servers))}
        self.racks = {t: f.racks_of(servers) for t, servers in f.servers.items()}

    def take(self, counts: dict[int, int]) -> tuple[int, ...]:
        out: list[int] = []
        for s, k in counts.items():
            out += self.gpus[s][:k]
            del self.gpus[s][:k]
        return tuple(out)

    def place(self, t: str, g: int, shape: Shape) -> dict[int, int] | None:
        """GPUs per server for a ``g``-GPU unit of type ``t`` and ``shape``, best fit, or
        None if the free GPUs hold no such set."""
        level = shape[0]
        racks = self.racks[t]
        if level == 0:
            fits = [
                (len(self.gpus[s]), s)
                for group in racks.values()
                for s in group
                if len(self.gpus[s]) >= g
            ]
            return {min(fits)[1]: g} if fits else None
        pattern = _pattern(g, shape) if len(shape) == 3 else None
        if level == 1:
            best: tuple[int, dict[int, int]] | None = None
            for group in racks.values():
                got = self._spread(group, g, pattern)
                if got is not None:
                    room = sum(len(self.gpus[s]) for s in group)
                    if best is None or room < best[0]:
                        best = (room, got)
            return best[1] if best else None
        if len(racks) < 2:
            return None
        # across racks: the fullest server of each of the two roomiest racks first
        order = sorted(racks.values(), key=lambda grp: -sum(len(self.gpus[s]) for s in grp))
        heads = [max(grp, key=lambda s: len(self.gpus[s])) for grp in order[:2]]
        if any(not self.gpus[s] for s in heads):
            return None
        rest = sorted(
            (s for grp in order for s in grp if s not in heads), key=lambda s: -len(self.gpus[s])
        )
        return self._spread(heads + rest, g, pattern, keep=2)

    def _spread(
        self, servers: list[int], g: int, pattern: list[int] | None, keep: int = 0
    ) -> dict[int, int] | None:
        """``g`` GPUs over at least two of ``servers`` (the first ``keep`` always used):
        the fullest first, or exactly ``pattern`` (GPUs per server, largest first)."""
        room = {s: len(self.gpus[s]) for s in servers}
        rest = sorted((s for s in servers[keep:] if room[s]), key=lambda s: -room[s])
        free = list(servers[:keep]) + rest
        if pattern is not None:  # the roomiest servers, each holding its count
            chosen = sorted(free[: max(keep, len(pattern))], key=lambda s: -room[s])
            if len(chosen) != len(pattern) or any(room[s] < k for s, k in zip(chosen, pattern)):
                return None
            return dict(zip(chosen, pattern))
        if len(free) < 2 or sum(len(self.gpus[s]) for s in free) < g:
            return None
        out: dict[int, int] = {}
        left = g
        for s in free:
            reserve = 1 if len(out) + 1 < 2 else 0  # leave one GPU for a second server
            k = min(len(self.gpus[s]), left - reserve)
            if k <= 0:
                continue
            out[s] = k
            left -= k
            if left == 0:
                return out
        return None


def _pattern(g: int, shape: Shape) -> list[int]:
    """GPUs per server of a split shape ``(level, n, m)``: ``m`` on the first, then as
    many as the rest allow, at least one each."""
    _, n, m = shape
    counts, left = [m], g - m
    for i in range(1, n):
        take = min(m, left - (n - 1 - i))
        counts.append(take)
        left -= take
    return counts


def unfold(
    f: Formulation, choice: dict[int, tuple[str, Shape]], partner: dict[int, int]
) -> tuple[PlacementSolution, int]:
    """Concrete GPU ids for the classes' choice (job -> type, shape; co-located pairs),
    and how many jobs ran off their chosen shape (or not at all)."""
    inst = f.instance
    free = _Free(f)
    units = []
    for j, (t, shape) in choice.items():
        if partner.get(j, len(inst.jobs)) < j:
            continue  # the pair goes with its first job
        units.append((-shape[0], -inst.jobs[j].num_gpus, j, t, shape))
    units.sort()
    out: dict[str, tuple[int, ...]] = {}
    off: list[int] = []
    for _, _, j, t, shape in units:
        got = free.place(t, inst.jobs[j].num_gpus, shape)
        members = [j] + ([partner[j]] if j in partner else [])
        if got is None:
            off += members
            continue
        gpus = free.take(got)
        for m in members:
            out[inst.jobs[m].id] = gpus
    moved = 0
    for j in off:  # the best option that still fits, alone
        for _value, t, shape in sorted(
            ((v, t, lv) for (jj, t, lv), v in f.options.items() if jj == j), reverse=True
        ):
            got = free.place(t, inst.jobs[j].num_gpus, shape)
            if got is not None:
                out[inst.jobs[j].id] = free.take(got)
                break
        moved += 1
    solution: PlacementSolution = inst.annotate(out)
    return solution, moved


__all__ = ["LEVELS", "ClassModel", "CountModel", "solve_classes", "unfold"]
