"""Saturn's SPASE MILP (Nagrecha and Kumar, PVLDB 17(4), Eq. 1-11; code's Eq. 6/7).

Same skeleton as the CP-SAT model. Variables: makespan ``C``; ``B[t,s]``
configuration; ``O[t,n]`` server; ``P[t,n,g]`` GPU ``g`` of server ``n``;
``A[t1,t2]`` order; ``I[t,n,g] >= 0`` start of ``t`` on that GPU.

* (2) ``C >= I_tng + R_ts - U_T (1 - B_ts)``
* (3) ``sum_s B_ts = 1``; ``sum_n O_tn = 1``
* (4, 5) ``sum_g P_tng = G_ts`` when ``O_tn = B_ts = 1`` (``+- U_G (2 - O_tn - B_ts)``)
* (6, 7) ``sum_g P_tng <= U_G O_tn``: no GPUs on other servers (Saturn's code
  uses ``O`` alone; the paper prints ``O + B``)
* (8, 9) gang start: ``(sum_g I_tng) / G_ts = I_tng`` for every used GPU
  (``+- U_I (3 - P_tng - B_ts - O_tn)``), which also drives unused GPUs of the
  server to start 0
* (10, 11) no overlap on a shared GPU, ordered by ``A[t2,t1]``:
  ``I_t1ng <= I_t2ng - R_t1s + U_T (3 - P_t1ng - P_t2ng - B_t1s + A_t2t1)`` and
  ``I_t1ng >= I_t2ng + R_t2s - U_T (4 - P_t1ng - P_t2ng - A_t2t1 - B_t2s)``

Saturn sets every big-M to ``1e10``; here each has the smallest valid value:
``U_T = H + max_ts R_ts`` with ``H`` the warm start's makespan (every start
lies in ``[0, H]``, and an inactive constraint may carry any configuration's
runtime), ``U_G`` the server's GPU count, ``U_I = H * GPU_n``. Configurations that fit
no server get ``B = 0``. The plan is re-timed on exact runtimes as in CP-SAT.
"""

from __future__ import annotations

from typing import Any

from ...core import Unsupported
from ...solvers import linear
from ...solvers.common import MethodOutput, SolveOptions, starting_from
from ...solvers.linear import LinearModel
from .heuristics import earliest_finish, makespan, retime
from .instance import SpaseInstance, lower_bound
from .solution import SpaseSolution

#: Largest model the Python back-ends build in reasonable time and memory on a
#: 24 GiB machine.
MAX_CONSTRAINTS = 500_000


def solve_milp(instance: SpaseInstance, options: SolveOptions) -> MethodOutput:
    c = instance.cluster
    tasks = instance.tasks
    warm = options.warm_start or earliest_finish(instance)
    horizon = makespan(instance, warm)
    ut = horizon + max(cfg.runtime for t in tasks for cfg in t.configs)
    pairs = (
        len(tasks) * (len(tasks) - 1) * sum(len(t.configs) for t in tasks) / len(tasks) * c.num_gpus
    )
    if pairs > MAX_CONSTRAINTS:
        raise Unsupported(
            f"milp: Saturn's model of this instance has about {int(pairs):,} "
            f"no-overlap constraints, more than the MILP back-ends build here "
            f"({MAX_CONSTRAINTS:,}); use cpsat"
        )

    solver = linear.solver_name(options)
    lm = linear.new_model("spase", options)
    with starting_from(warm):
        model = _Saturn(lm, instance, horizon, ut)
        model.eq2_makespan()
        model.eq3_one_choice()
        model.eq4_5_gpu_count()
        model.eq6_7_other_servers()
        model.eq8_9_gang_start()
        model.eq10_11_no_overlap()
    B, O, P, I, A, C = model.B, model.O, model.P, model.I, model.A, model.C
    _set_initial(lm, instance, warm, B, O, P, I, A, C)

    out = lm.solve(options)
    params = {"solver": solver, "big_m_time": ut}
    if not out.status.has_solution:
        return out.output(params, start=warm)
    plans = {}
    G = model.G
    for t in model.T:
        s = max(model.configs(t), key=lambda s: lm.value(B[t, s]))
        n = max(model.N, key=lambda n: lm.value(O[t, n]))
        gpus = [c.first_gpu[n] + g for g in G[n] if lm.value(P[t, n, g]) > 0.5]
        start = (
            min(lm.value(I[t, n, g]) for g in G[n] if lm.value(P[t, n, g]) > 0.5) if gpus else 0.0
        )
        plans[tasks[t].id] = (s, gpus, start)
    return out.output(params, retime(instance, plans))


class _Saturn:
    """Saturn's variables (Table 2) and constraint families, one method per equation."""

    def __init__(self, lm: LinearModel, instance: SpaseInstance, horizon: float, ut: float) -> None:
        c = instance.cluster
        self.lm = lm
        self.tasks = instance.tasks
        self.T = range(len(self.tasks))
        self.N = range(len(c.servers))
        self.G = {n: list(range(c.servers[n].num_gpus)) for n in self.N}
        self.R = {
            (t, s): cfg.runtime for t in self.T for s, cfg in enumerate(self.tasks[t].configs)
        }
        self.need = {
            (t, s): cfg.num_gpus for t in self.T for s, cfg in enumerate(self.tasks[t].configs)
        }
        self.horizon, self.ut = horizon, ut
        self.C = lm.continuous("C", min(lower_bound(instance), horizon), horizon)
        self.B = {k: lm.binary(f"B_{k[0]}_{k[1]}") for k in self.R}
        self.O = {(t, n): lm.binary(f"O_{t}_{n}") for t in self.T for n in self.N}
        self.P = {
            (t, n, g): lm.binary(f"P_{t}_{n}_{g}")
            for t in self.T
            for n in self.N
            for g in self.G[n]
        }
        self.I = {
            (t, n, g): lm.continuous(f"I_{t}_{n}_{g}", 0, horizon)
            for t in self.T
            for n in self.N
            for g in self.G[n]
        }
        self.A = {(a, b): lm.binary(f"A_{a}_{b}") for a in self.T for b in self.T if a != b}
        lm.minimize(self.C)  # (1)

    def configs(self, t: int) -> range:
        return range(len(self.tasks[t].configs))

    def eq2_makespan(self) -> None:
        """(2) ``C >= I_tng + R_ts - U_T (1 - B_ts)``."""
        for (t, s), r in self.R.items():
            for n in self.N:
                for g in self.G[n]:
                    self.lm.add(self.C >= self.I[t, n, g] + r - self.ut * (1 - self.B[t, s]))

    def eq3_one_choice(self) -> None:
        """(3) ``sum_s B_ts = 1``, ``sum_n O_tn = 1``; configurations fitting no server off."""
        biggest = max(len(g) for g in self.G.values())
        for t in self.T:
            self.lm.add(self.lm.total(self.B[t, s] for s in self.configs(t)) == 1)
            self.lm.add(self.lm.total(self.O[t, n] for n in self.N) == 1)
            for s in self.configs(t):
                if self.need[t, s] > biggest:
                    self.lm.add(self.B[t, s] == 0)

    def eq4_5_gpu_count(self) -> None:
        """(4, 5) ``sum_g P_tng = G_ts +- U_G (2 - O_tn - B_ts)``."""
        for (t, s), k in self.need.items():
            for n in self.N:
                used = self.lm.total(self.P[t, n, g] for g in self.G[n])
                ug = max(len(self.G[n]), k)
                self.lm.add(used >= k - ug * (2 - self.O[t, n] - self.B[t, s]))
                self.lm.add(used <= k + ug * (2 - self.O[t, n] - self.B[t, s]))

    def eq6_7_other_servers(self) -> None:
        """(6, 7), code version: ``sum_g P_tng <= U_G O_tn``."""
        for t in self.T:
            for n in self.N:
                self.lm.add(
                    self.lm.total(self.P[t, n, g] for g in self.G[n])
                    <= len(self.G[n]) * self.O[t, n]
                )

    def eq8_9_gang_start(self) -> None:
        """(8, 9) ``(sum_g I_tng) / G_ts = I_tng +- U_I (3 - P_tng - B_ts - O_tn)``."""
        for (t, s), k in self.need.items():
            for n in self.N:
                ui = self.horizon * len(self.G[n])
                avg = self.lm.total(self.I[t, n, g] for g in self.G[n]) * (1.0 / k)
                for g in self.G[n]:
                    slack = ui * (3 - self.P[t, n, g] - self.B[t, s] - self.O[t, n])
                    self.lm.add(avg <= self.I[t, n, g] + slack)
                    self.lm.add(avg >= self.I[t, n, g] - slack)

    def eq10_11_no_overlap(self) -> None:
        """(10, 11) on every GPU both tasks hold, ``t1`` before ``t2`` unless ``A[t2,t1]``."""
        I, P, B, A, R, ut = self.I, self.P, self.B, self.A, self.R, self.ut
        for t1, t2 in A:
            for n in self.N:
                for g in self.G[n]:
                    both = P[t1, n, g] + P[t2, n, g]
                    for s in self.configs(t1):
                        self.lm.add(
                            I[t1, n, g]
                            <= I[t2, n, g] - R[t1, s] + ut * (3 - both - B[t1, s] + A[t2, t1])
                        )
                    for s in self.configs(t2):
                        self.lm.add(
                            I[t1, n, g]
                            >= I[t2, n, g] + R[t2, s] - ut * (4 - both - A[t2, t1] - B[t2, s])
                        )


def _set_initial(
    lm: LinearModel,
    instance: SpaseInstance,
    warm: SpaseSolution,
    B: dict[Any, Any],
    O: dict[Any, Any],
    P: dict[Any, Any],
    I: dict[Any, Any],
    A: dict[Any, Any],
    C: Any,
) -> None:
    """The warm start's values for every variable."""
    c = instance.cluster
    index = {t.id: i for i, t in enumerate(instance.tasks)}
    value: dict[Any, float] = dict.fromkeys((*B.values(), *O.values(), *P.values(), *A.values()), 0)
    value.update(dict.fromkeys(I.values(), 0.0))
    for tid, plan in warm.plans.items():
        t = index[tid]
        n = c.gpu2server[plan.gpus[0]]
        value[B[t, plan.config]] = 1
        value[O[t, n]] = 1
        for g in plan.gpus:
            value[P[t, n, g - c.first_gpu[n]]] = 1
            value[I[t, n, g - c.first_gpu[n]]] = plan.start
    for (a, b), var in A.items():
        ta, tb = instance.tasks[a].id, instance.tasks[b].id
        # A[a, b] = 1 lets b run after a (constraints 10 and 11).
        value[var] = 1 if warm.plans[tb].start >= warm.plans[ta].start else 0
    value[C] = makespan(instance, warm)
    for var, v in value.items():
        lm.start(var, v)
