"""MILP (PuLP) model for placement; the constraints are stated in :mod:`.formulation`.

Same variables and constraint families as the CP-SAT model, with exact
real coefficients; ``q = u AND p`` and ``w = x P`` use the standard linearisations.
"""

from __future__ import annotations

from typing import Any

import pulp

from ...registry import register
from ...result import Status
from ...solvers import milp
from ...solvers.common import MethodOutput, SolveOptions
from .formulation import LEVELS, Formulation, objective_terms
from .heuristics import density_greedy
from .instance import FAMILY, PlacementInstance, PlacementObjective


class _MilpModel:
    def __init__(self, f: Formulation) -> None:
        self.f = f
        self.inst = f.instance
        self.m = pulp.LpProblem("placement", pulp.LpMaximize)
        self.jobs = range(len(self.inst.jobs))
        self.variables()
        self.run_once()
        self.gpus()
        self.used()
        self.level()
        self.pairs()
        self.capacity()

    def variables(self) -> None:
        f, c = self.f, self.f.cluster
        self.u = {k: pulp.LpVariable(f"u_{k[0]}_{k[1]}_{k[2]}", cat="Binary") for k in f.options}
        self.x: dict[tuple[int, int], Any] = {}
        self.y: dict[tuple[int, int], Any] = {}
        self.z: dict[tuple[int, int], Any] = {}
        self.cap: dict[tuple[int, int], int] = {}
        for j in f.multi:
            g = self.inst.jobs[j].num_gpus
            for s in f.job_servers(j):
                self.cap[j, s] = min(g, c.servers[s].num_gpus)
                self.x[j, s] = pulp.LpVariable(f"x_{j}_{s}", 0, self.cap[j, s], cat="Integer")
                self.y[j, s] = pulp.LpVariable(f"y_{j}_{s}", cat="Binary")
            for r in f.racks_of(f.job_servers(j)):
                self.z[j, r] = pulp.LpVariable(f"z_{j}_{r}", cat="Binary")
        self.p = [pulp.LpVariable(f"p_{i}", cat="Binary") for i in range(len(f.pairs))]

    def _u(self, j: int, level: int | None = None, t: str | None = None) -> list[Any]:
        return [v for (jj, tt, lv), v in self.u.items()
                if jj == j and level in (None, lv) and t in (None, tt)]

    def run_once(self) -> None:
        for j in self.jobs:
            self.m += pulp.lpSum(self._u(j)) <= 1

    def gpus(self) -> None:
        for j in self.f.multi:
            job = self.inst.jobs[j]
            for t in self.inst.pools[job.id]:
                on_t = pulp.lpSum(self.x[j, s] for s in self.f.servers[t])
                self.m += on_t == job.num_gpus * pulp.lpSum(self._u(j, t=t))

    def used(self) -> None:
        f = self.f
        for (j, s), x in self.x.items():
            self.m += x >= self.y[j, s]
            self.m += x <= self.cap[j, s] * self.y[j, s]
            self.m += self.y[j, s] <= self.z[j, f.cluster.server2rack[s]]
        for (j, r), z in self.z.items():
            self.m += z <= pulp.lpSum(self.y[j, s] for s in f.racks_of(f.job_servers(j))[r])

    def level(self) -> None:
        f = self.f
        for j in f.multi:
            u0, u1, u2 = (pulp.lpSum(self._u(j, level=lv)) for lv in LEVELS)
            servers = f.job_servers(j)
            ys = pulp.lpSum(self.y[j, s] for s in servers)
            zs = pulp.lpSum(self.z[j, r] for r in f.racks_of(servers))
            self.m += ys >= u0 + 2 * u1 + 2 * u2
            self.m += ys <= u0 + len(servers) * (u1 + u2)
            self.m += zs >= u0 + u1 + 2 * u2
            self.m += zs <= u0 + u1 + len(f.racks_of(servers)) * u2

    def pairs(self) -> None:
        f = self.f
        for j in self.jobs:
            mine = [v for q, v in zip(f.pairs, self.p) if j in (q.a, q.b)]
            if len(mine) > 1:
                self.m += pulp.lpSum(mine) <= 1
        self.shared: dict[tuple[int, int, int], Any] = {}
        for i, (q, v) in enumerate(zip(f.pairs, self.p)):
            for j in (q.a, q.b):
                self.m += v <= pulp.lpSum(self._u(j, t=q.gpu_type))
            if self.inst.jobs[q.a].num_gpus == 1:
                continue  # one-GPU pairs share a GPU picked after solving
            for s in f.servers[q.gpu_type]:
                g = self.cap[q.a, s]
                self.m += self.x[q.a, s] - self.x[q.b, s] <= g * (1 - v)
                self.m += self.x[q.b, s] - self.x[q.a, s] <= g * (1 - v)
                w = pulp.LpVariable(f"w_{i}_{s}", 0, g)
                self.m += w <= self.x[q.a, s]
                self.m += w <= g * v
                self.m += w >= self.x[q.a, s] - g * (1 - v)
                self.shared[q.a, q.b, s] = w

    def gpus_in_use(self, t: str | None = None) -> list[Any]:
        """Terms whose sum is the number of GPUs in use (of type ``t``, or all)."""
        c, f = self.f.cluster, self.f
        items: list[Any] = [x for (_, s), x in self.x.items() if t in (None, c.servers[s].gpu_type)]
        items += [-1 * w for (_, _, s), w in self.shared.items()
                  if t in (None, c.servers[s].gpu_type)]
        items += [v for (j, tt, _), v in self.u.items() if j in f.single and t in (None, tt)]
        items += [-1 * v for q, v in zip(f.pairs, self.p)
                  if self.inst.jobs[q.a].num_gpus == 1 and t in (None, q.gpu_type)]
        return items

    def capacity(self) -> None:
        c = self.f.cluster
        load: dict[int, list[Any]] = {}
        for (_, s), x in self.x.items():
            load.setdefault(s, []).append(x)
        for (_, _, s), w in self.shared.items():
            load.setdefault(s, []).append(-1 * w)
        for s, items in load.items():
            self.m += pulp.lpSum(items) <= c.servers[s].num_gpus
        for t in c.gpu_types:
            items = self.gpus_in_use(t)
            if items:
                self.m += pulp.lpSum(items) <= c.capacity(t)

    def objective(self) -> None:
        inst = self.inst
        if inst.objective is PlacementObjective.GPUS_USED:
            self.m += pulp.lpSum(self.gpus_in_use())
            return
        terms, qkeys = objective_terms(self.f)
        var: dict[tuple, Any] = {("u", *k): v for k, v in self.u.items()}
        for key in qkeys:
            _, idx, j, lv = key
            q = self.f.pairs[idx]
            both = pulp.LpVariable(f"q_{idx}_{j}_{lv}", cat="Binary")
            u, p = self.u[j, q.gpu_type, lv], self.p[idx]
            self.m += both <= u
            self.m += both <= p
            self.m += both >= u + p - 1
            var[key] = both
        if inst.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
            self.m += pulp.lpSum(inst.jobs[j].weight * coef * var[key]
                                 for j in self.jobs for coef, key in terms[j])
            return
        tau = pulp.LpVariable("tau", 0)
        for j in self.jobs:
            self.m += tau <= pulp.lpSum(coef * var[key] for coef, key in terms[j])
        self.m += tau

    def warm(self, counts: dict, u: dict, paired: dict) -> None:
        for k, v in self.u.items():
            v.setInitialValue(u.get(k, 0))
        for (j, s), v in self.x.items():
            v.setInitialValue(counts.get((j, s), 0))
            self.y[j, s].setInitialValue(int(counts.get((j, s), 0) > 0))
        for q, v in zip(self.f.pairs, self.p):
            v.setInitialValue(paired.get((q.a, q.b), 0))


@register(FAMILY, "milp", "exact", "MILP (PuLP; CBC, or HiGHS with --solver highs) of the "
          "same formulation as cpsat")
def solve_milp(instance: PlacementInstance, options: SolveOptions) -> MethodOutput:
    f = Formulation(instance)
    model = _MilpModel(f)
    model.objective()
    start = options.warm_start or density_greedy(instance)
    model.warm(*f.from_solution(start))
    out = milp.solve(model.m, options, warm=True)
    params = {"solver": milp.solver_name(options)}
    if not out.status.has_solution:
        if out.status is Status.TIME_LIMIT:  # the start stands
            return MethodOutput(Status.FEASIBLE, start, out.bound, out.solver, params,
                                "no better solution within the limit; start returned")
        return MethodOutput(out.status, None, out.bound, out.solver, params, out.message)
    counts = {k: int(round(v.value() or 0)) for k, v in model.x.items()
              if round(v.value() or 0)}
    partner: dict[int, int] = {}
    for q, v in zip(f.pairs, model.p):
        if (v.value() or 0) > 0.5:
            partner[q.a], partner[q.b] = q.b, q.a
    single_type = {j: t for (j, t, _), v in model.u.items()
                   if j in f.single and (v.value() or 0) > 0.5}
    solution = f.to_solution(counts, partner, single_type)
    return MethodOutput(out.status, solution, out.bound, out.solver, params, out.message)
