"""CP-SAT model for placement; the constraints are stated in :mod:`.formulation`.

Integer scaling: objective coefficients (``w_j thr/ref``) are multiplied by
``SCALE = 10^9`` and rounded. A solution has at most two objective terms per
job (its choice and its co-location), each off by at most ``0.5 / SCALE``,
so the proven bound is widened by ``num_jobs / SCALE`` (``1 / SCALE`` per
job's ``n_j`` for ``min_throughput``) to stay valid for the exact objective.
"""

from __future__ import annotations

from typing import Any

from ortools.sat.python import cp_model

from ...registry import register
from ...result import Status
from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from .formulation import LEVELS, Formulation, objective_terms
from .heuristics import density_greedy
from .instance import FAMILY, PlacementInstance, PlacementObjective

SCALE = 10**9


class _CpModel:
    """Variables, constraint families and objective, in the formulation's order."""

    def __init__(self, f: Formulation) -> None:
        self.f = f
        self.inst = f.instance
        self.m = cp_model.CpModel()
        self.jobs = range(len(self.inst.jobs))
        self.variables()
        self.run_once()
        self.gpus()
        self.used()
        self.level()
        self.pairs()
        self.capacity()

    def variables(self) -> None:
        f, m, c = self.f, self.m, self.f.cluster
        self.u = {k: m.new_bool_var(f"u{k}") for k in f.options}
        self.x: dict[tuple[int, int], Any] = {}
        self.y: dict[tuple[int, int], Any] = {}
        self.z: dict[tuple[int, int], Any] = {}
        self.cap: dict[tuple[int, int], int] = {}
        for j in f.multi:
            g = self.inst.jobs[j].num_gpus
            for s in f.job_servers(j):
                self.cap[j, s] = min(g, c.servers[s].num_gpus)
                self.x[j, s] = m.new_int_var(0, self.cap[j, s], f"x{j}_{s}")
                self.y[j, s] = m.new_bool_var(f"y{j}_{s}")
            for r in f.racks_of(f.job_servers(j)):
                self.z[j, r] = m.new_bool_var(f"z{j}_{r}")
        self.p = [m.new_bool_var(f"p{q.a}_{q.b}_{q.gpu_type}") for q in f.pairs]

    def _u(self, j: int, level: int | None = None, t: str | None = None) -> list[Any]:
        return [v for (jj, tt, lv), v in self.u.items()
                if jj == j and level in (None, lv) and t in (None, tt)]

    def run_once(self) -> None:
        for j in self.jobs:
            self.m.add(sum(self._u(j)) <= 1)

    def gpus(self) -> None:
        for j in self.f.multi:
            job = self.inst.jobs[j]
            for t in self.inst.pools[job.id]:
                on_t = sum(self.x[j, s] for s in self.f.servers[t])
                self.m.add(on_t == job.num_gpus * sum(self._u(j, t=t)))

    def used(self) -> None:
        f, m = self.f, self.m
        for (j, s), x in self.x.items():
            m.add(x >= self.y[j, s])
            m.add(x <= self.cap[j, s] * self.y[j, s])
            m.add_implication(self.y[j, s], self.z[j, f.cluster.server2rack[s]])
        for (j, r), z in self.z.items():
            m.add(z <= sum(self.y[j, s] for s in f.racks_of(f.job_servers(j))[r]))

    def level(self) -> None:
        f, m = self.f, self.m
        for j in f.multi:
            u0, u1, u2 = (sum(self._u(j, level=lv)) for lv in LEVELS)
            servers = f.job_servers(j)
            ys = sum(self.y[j, s] for s in servers)
            zs = sum(self.z[j, r] for r in f.racks_of(servers))
            m.add(ys >= u0 + 2 * u1 + 2 * u2)
            m.add(ys <= u0 + len(servers) * (u1 + u2))
            m.add(zs >= u0 + u1 + 2 * u2)
            m.add(zs <= u0 + u1 + len(f.racks_of(servers)) * u2)

    def pairs(self) -> None:
        m, f = self.m, self.f
        for j in self.jobs:
            mine = [v for q, v in zip(f.pairs, self.p) if j in (q.a, q.b)]
            if len(mine) > 1:
                m.add(sum(mine) <= 1)
        self.shared: dict[tuple[int, int, int], Any] = {}
        for q, v in zip(f.pairs, self.p):
            for j in (q.a, q.b):
                m.add(v <= sum(self._u(j, t=q.gpu_type)))
            if self.inst.jobs[q.a].num_gpus == 1:
                continue  # one-GPU pairs share a GPU picked after solving
            for s in f.servers[q.gpu_type]:
                m.add(self.x[q.a, s] == self.x[q.b, s]).only_enforce_if(v)
                w = m.new_int_var(0, self.cap[q.a, s], f"w{q.a}_{q.b}_{s}")
                m.add(w == self.x[q.a, s]).only_enforce_if(v)
                m.add(w == 0).only_enforce_if(~v)
                self.shared[q.a, q.b, s] = w

    def gpus_in_use(self, t: str | None = None) -> list[Any]:
        """Terms whose sum is the number of GPUs in use (of type ``t``, or all)."""
        c, f = self.f.cluster, self.f
        items: list[Any] = [x for (_, s), x in self.x.items() if t in (None, c.servers[s].gpu_type)]
        items += [-w for (_, _, s), w in self.shared.items()
                  if t in (None, c.servers[s].gpu_type)]
        items += [v for (j, tt, _), v in self.u.items() if j in f.single and t in (None, tt)]
        items += [-v for q, v in zip(f.pairs, self.p)
                  if self.inst.jobs[q.a].num_gpus == 1 and t in (None, q.gpu_type)]
        return items

    def capacity(self) -> None:
        c = self.f.cluster
        load: dict[int, list[Any]] = {}
        for (_, s), x in self.x.items():
            load.setdefault(s, []).append(x)
        for (_, _, s), w in self.shared.items():
            load.setdefault(s, []).append(-w)
        for s, items in load.items():
            self.m.add(sum(items) <= c.servers[s].num_gpus)
        for t in c.gpu_types:
            items = self.gpus_in_use(t)
            if items:
                self.m.add(sum(items) <= c.capacity(t))

    def objective(self) -> int:
        """Adds the objective; returns the bound's widening in scaled units."""
        inst, m = self.inst, self.m
        if inst.objective is PlacementObjective.GPUS_USED:
            m.maximize(sum(self.gpus_in_use()))
            return 0
        terms, qkeys = objective_terms(self.f)
        var: dict[tuple, Any] = {("u", *k): v for k, v in self.u.items()}
        for key in qkeys:
            _, idx, j, lv = key
            q = self.f.pairs[idx]
            both = m.new_bool_var(f"q{idx}_{j}_{lv}")
            u, p = self.u[j, q.gpu_type, lv], self.p[idx]
            m.add_bool_and([u, p]).only_enforce_if(both)
            m.add_bool_or([~u, ~p, both])
            var[key] = both
        if inst.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
            m.maximize(sum(round(inst.jobs[j].weight * coef * SCALE) * var[key]
                           for j in self.jobs for coef, key in terms[j]))
            return len(inst.jobs)
        tau = m.new_int_var(0, 100 * SCALE, "tau")
        for j in self.jobs:
            m.add(tau <= sum(round(coef * SCALE) * var[key] for coef, key in terms[j]))
        m.maximize(tau)
        return 1

    def hint(self, counts: dict, u: dict, paired: dict) -> None:
        for k, v in self.u.items():
            self.m.add_hint(v, u.get(k, 0))
        for (j, s), v in self.x.items():
            self.m.add_hint(v, counts.get((j, s), 0))
            self.m.add_hint(self.y[j, s], int(counts.get((j, s), 0) > 0))
        for q, v in zip(self.f.pairs, self.p):
            self.m.add_hint(v, paired.get((q.a, q.b), 0))


@register(FAMILY, "cpsat", "exact", "CP-SAT: type x spread-level choices, GPU counts per server, "
          "co-location pairs; exact against the throughput model")
def solve_cpsat(instance: PlacementInstance, options: SolveOptions) -> MethodOutput:
    f = Formulation(instance)
    model = _CpModel(f)
    widen = model.objective()
    start = options.warm_start or density_greedy(instance)
    model.hint(*f.from_solution(start))
    solver, status = cpsat.run(model.m, options)
    scale = 1 if instance.objective is PlacementObjective.GPUS_USED else SCALE
    params = cpsat.parameters(options, objective_scale=scale,
                              scaling_rule="objective coefficients x 1e9, rounded; bound "
                                           "widened by 0.5e-9 per objective term")
    bound = None
    if status.has_solution:
        bound = (solver.best_objective_bound + widen) / scale
    if not status.has_solution:
        if status is Status.TIME_LIMIT:  # the start stands
            return MethodOutput(Status.FEASIBLE, start, bound, cpsat.VERSION, params,
                                "no solution found within the limit; start returned")
        return MethodOutput(status, None, bound, cpsat.VERSION, params)
    counts = {k: solver.value(v) for k, v in model.x.items() if solver.value(v)}
    partner: dict[int, int] = {}
    for q, v in zip(f.pairs, model.p):
        if solver.value(v):
            partner[q.a], partner[q.b] = q.b, q.a
    single_type = {j: t for (j, t, _), v in model.u.items() if j in f.single and solver.value(v)}
    solution = f.to_solution(counts, partner, single_type)
    return MethodOutput(status, solution, bound, cpsat.VERSION, params)
