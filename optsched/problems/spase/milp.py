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

import pulp

from ...errors import InputError
from ...registry import register
from ...result import Status
from ...solvers import milp
from ...solvers.common import MethodOutput, SolveOptions
from .heuristics import earliest_finish, makespan, retime
from .instance import FAMILY, SpaseInstance, lower_bound

#: Largest model PuLP builds in reasonable time and memory on a 24 GiB machine.
MAX_CONSTRAINTS = 500_000


@register(FAMILY, "milp", "exact", "Saturn's SPASE MILP (PuLP; CBC, or HiGHS with "
          "--solver highs)")
def solve_milp(instance: SpaseInstance, options: SolveOptions) -> MethodOutput:
    c = instance.cluster
    tasks = instance.tasks
    warm = options.warm_start or earliest_finish(instance)
    horizon = makespan(instance, warm)
    ut = horizon + max(cfg.runtime for t in tasks for cfg in t.configs)
    T = range(len(tasks))
    N = range(len(c.servers))
    G = {n: list(range(c.servers[n].num_gpus)) for n in N}
    R = {(t, s): cfg.runtime for t in T for s, cfg in enumerate(tasks[t].configs)}
    need = {(t, s): cfg.num_gpus for t in T for s, cfg in enumerate(tasks[t].configs)}
    biggest = max(len(G[n]) for n in N)
    pairs = len(tasks) * (len(tasks) - 1) * sum(len(t.configs) for t in tasks) / len(tasks) \
        * c.num_gpus
    if pairs > MAX_CONSTRAINTS:
        raise InputError(f"milp: Saturn's model of this instance has about {int(pairs):,} "
                         f"no-overlap constraints, more than PuLP can build here "
                         f"({MAX_CONSTRAINTS:,}); use cpsat")

    prob = pulp.LpProblem("spase", pulp.LpMinimize)
    C = pulp.LpVariable("C", min(lower_bound(instance), horizon), horizon)
    B = {k: pulp.LpVariable(f"B_{k[0]}_{k[1]}", cat="Binary") for k in R}
    O = {(t, n): pulp.LpVariable(f"O_{t}_{n}", cat="Binary") for t in T for n in N}
    P = {(t, n, g): pulp.LpVariable(f"P_{t}_{n}_{g}", cat="Binary")
         for t in T for n in N for g in G[n]}
    I = {(t, n, g): pulp.LpVariable(f"I_{t}_{n}_{g}", 0, horizon)
         for t in T for n in N for g in G[n]}
    A = {(a, b): pulp.LpVariable(f"A_{a}_{b}", cat="Binary") for a in T for b in T if a != b}
    prob += C  # (1)
    for (t, s), r in R.items():  # (2)
        for n in N:
            for g in G[n]:
                prob += C >= I[t, n, g] + r - ut * (1 - B[t, s])
    for t in T:  # (3)
        prob += pulp.lpSum(B[t, s] for s in range(len(tasks[t].configs))) == 1
        prob += pulp.lpSum(O[t, n] for n in N) == 1
        for s in range(len(tasks[t].configs)):
            if need[t, s] > biggest:
                prob += B[t, s] == 0
    for (t, s), k in need.items():  # (4), (5)
        for n in N:
            used = pulp.lpSum(P[t, n, g] for g in G[n])
            ug = max(len(G[n]), k)
            prob += used >= k - ug * (2 - O[t, n] - B[t, s])
            prob += used <= k + ug * (2 - O[t, n] - B[t, s])
    for t in T:  # (6), (7)
        for n in N:
            prob += pulp.lpSum(P[t, n, g] for g in G[n]) <= len(G[n]) * O[t, n]
    for (t, s), k in need.items():  # (8), (9)
        for n in N:
            ui = horizon * len(G[n])
            avg = pulp.lpSum(I[t, n, g] for g in G[n]) * (1.0 / k)
            for g in G[n]:
                slack = ui * (3 - P[t, n, g] - B[t, s] - O[t, n])
                prob += avg <= I[t, n, g] + slack
                prob += avg >= I[t, n, g] - slack
    for t1, t2 in A:  # (10), (11)
        for n in N:
            for g in G[n]:
                both = P[t1, n, g] + P[t2, n, g]
                for s in range(len(tasks[t1].configs)):
                    prob += I[t1, n, g] <= I[t2, n, g] - R[t1, s] + ut * (
                        3 - both - B[t1, s] + A[t2, t1])
                for s in range(len(tasks[t2].configs)):
                    prob += I[t1, n, g] >= I[t2, n, g] + R[t2, s] - ut * (
                        4 - both - A[t2, t1] - B[t2, s])
    _set_initial(instance, warm, B, O, P, I, A, C)

    out = milp.solve(prob, options, warm=True)
    params = {"solver": milp.solver_name(options), "big_m_time": ut}
    if not out.status.has_solution:
        if out.status is Status.TIME_LIMIT:  # the warm start stands
            return MethodOutput(Status.FEASIBLE, warm, out.bound, out.solver, params,
                                "no better solution within the limit; warm start returned")
        return MethodOutput(out.status, None, out.bound, out.solver, params, out.message)
    plans = {}
    for t in T:
        s = max(range(len(tasks[t].configs)), key=lambda s: B[t, s].value() or 0.0)
        n = max(N, key=lambda n: O[t, n].value() or 0.0)
        gpus = [c.first_gpu[n] + g for g in G[n] if (P[t, n, g].value() or 0.0) > 0.5]
        start = min((I[t, n, g].value() or 0.0) for g in G[n]
                    if (P[t, n, g].value() or 0.0) > 0.5) if gpus else 0.0
        plans[tasks[t].id] = (s, gpus, start)
    return MethodOutput(out.status, retime(instance, plans), out.bound, out.solver, params,
                        out.message)


def _set_initial(instance, warm, B, O, P, I, A, C) -> None:  # type: ignore[no-untyped-def]
    c = instance.cluster
    index = {t.id: i for i, t in enumerate(instance.tasks)}
    for var in (*B.values(), *O.values(), *P.values(), *A.values()):
        var.setInitialValue(0)
    for var in I.values():
        var.setInitialValue(0.0)
    for tid, plan in warm.plans.items():
        t = index[tid]
        n = c.gpu2server[plan.gpus[0]]
        B[t, plan.config].setInitialValue(1)
        O[t, n].setInitialValue(1)
        for g in plan.gpus:
            P[t, n, g - c.first_gpu[n]].setInitialValue(1)
            I[t, n, g - c.first_gpu[n]].setInitialValue(plan.start)
    for (a, b), var in A.items():
        ta, tb = instance.tasks[a].id, instance.tasks[b].id
        # A[a, b] = 1 lets b run after a (constraints 10 and 11).
        var.setInitialValue(1 if warm.plans[tb].start >= warm.plans[ta].start else 0)
    C.setInitialValue(makespan(instance, warm))
