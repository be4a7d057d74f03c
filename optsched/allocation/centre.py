"""The interior-point allocation of packed max-min fairness: the one Gavel's solver returns.

An LP's optimum is often a whole face, and Gavel's rounds depend on which point
of it the allocation is: which pairs get time, and how much each job gets
beyond the bottleneck. Gavel solves its per-job LP (one variable per job and
per pair of jobs, per GPU type) with an interior-point method (ECOS through
cvxpy), which ends at the end of the LP's central path as its
predictor-corrector steps approach it: a point inside the optimal face, where
every variable that can be positive is. A simplex vertex is another point of
the same face; with space sharing the two send the simulation elsewhere (on
Gavel's 300-job trace, 3.26 h average JCT from a vertex against Gavel's
2.82 h).

This module follows the same central path without building the per-job LP.
The per-job LP is symmetric under permuting jobs of one class, so its central
path is too: every point of it treats a class's jobs alike, with one value
per class and type (``s_ct``, a job alone) and one per class pair and type
(``y_pdt``, one particular pair's time). In those variables each of the
per-job LP's inequalities appears as many times as it has copies, so the
barrier is the class-level barrier with each term weighted by its number of
copies: ``n_c`` per job row and per ``s_ct >= 0``, ``n_c n_d`` (``n_c (n_c - 1) /
2`` within a class) per pair variable, 1 per GPU type. :func:`central_packed`
follows that weighted central path (``g_i lambda_i = w_i mu``) with a
primal-dual predictor-corrector method, as ECOS does, until the duality gap is
``1e-9`` of the objective: the per-job LP's central path at the cost of the
class LP. On Gavel's inputs of 16 and 32 jobs every job's and every pair's
time matches ECOS's to 1e-7. (Where the optimal face is degenerate enough,
interior-point solvers end at different points: on a one-job toy ECOS and
Clarabel differ by 0.02.)
As in Gavel's LP, every pair of one gang size has its variables, also on types
where it has no throughput.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from scipy.linalg import LinAlgWarning, cho_factor, cho_solve, lu_factor, lu_solve

from .lp import Allocation, Class, classes_of, pair_rates
from .problem import AllocProblem, equal_share

#: Relative duality gap at which the path is followed no further.
GAP = 1e-9
#: Relative gap below which a step that double precision cannot compute ends the path.
STALL_GAP = 1e-7
#: Conjugate-gradient steps on a Newton system, and their relative residual.
PCG_STEPS, PCG_TOL = 30, 1e-11


class _Singular(Exception):
    """A Newton system singular to working precision."""


def central_packed(problem: AllocProblem, memo: dict[Any, Any] | None = None) -> Allocation:
    """Packed max-min fairness (``max_min_fairness_packed``) at the central path's end.
    ``memo`` keeps solutions by class counts (a simulator meets the same counts again)."""
    start = time.perf_counter()
    classes, class_of = classes_of(problem, False, False)
    rows = _Rows(problem, classes)
    key = tuple((cl.job_type, cl.scale, cl.weight, cl.n) for cl in classes)
    if memo is not None and key in memo:
        v = memo[key]
    else:
        v = rows.solve()
        if memo is not None:
            memo[key] = v
    out = rows.allocation(v, class_of)
    from .lp import check

    bad = check(out)  # sets the objective, recomputed from the allocation
    if bad:
        raise RuntimeError(f"central packed allocation fails its check: {bad[0]}")
    out.wall_s = time.perf_counter() - start
    return out


class CentralPacked:
    """:func:`central_packed` round after round, solved once per set of class counts."""

    def __init__(self) -> None:
        self.memo: dict[Any, Any] = {}

    def allocate(self, problem: AllocProblem) -> Allocation:
        return central_packed(problem, self.memo)


class _Rows:
    """The weighted inequalities ``g = b - A v >= 0`` over ``v = (s, y, z)``."""

    def __init__(self, problem: AllocProblem, classes: list[Class]) -> None:
        self.problem, self.classes = problem, classes
        types = problem.types
        T, C = len(types), len(classes)
        n = np.array([cl.n for cl in classes], dtype=float)
        g = equal_share(problem)
        norm = np.array([cl.weight * float(cl.throughput @ g) / cl.scale for cl in classes])
        pairs = [
            (c, d)
            for c in range(C)
            for d in range(c, C)
            if classes[c].scale == classes[d].scale and (c != d or classes[c].n >= 2)
        ]
        self.pairs = pairs
        P = len(pairs)
        N = C * T + P * T + 1
        self.N, self.T, self.C, self.P = N, T, C, P
        m = 2 * C + T
        # rows: each class's time (C), each type's GPUs (T), each class's fairness
        # (thr_c >= norm_c z, C); columns: s_ct (c T + t), y_pt (C T + p T + t), z
        pa = np.array([c for c, _ in pairs], dtype=int)
        pb = np.array([d for _, d in pairs], dtype=int)
        cross = pa != pb
        mult = np.where(cross, n[pa] * n[pb], n[pa] * (n[pa] - 1) / 2)
        # a job of one class has this many partners in pair p (the other class's jobs)
        part_a = np.where(cross, n[pb], n[pa] - 1)
        part_b = n[pa]
        scale = np.array([cl.scale for cl in classes], dtype=float)
        ks = np.arange(T)
        s_col = np.arange(C)[:, None] * T + ks  # (C, T)
        y_col = C * T + np.arange(P)[:, None] * T + ks  # (P, T)
        B = np.zeros((m, N))
        B[np.arange(C)[:, None], s_col] = 1.0
        B[pa[:, None], y_col] = part_a[:, None]
        B[pb[cross][:, None], y_col[cross]] = part_b[cross][:, None]
        B[C + ks[None, :], s_col] = (scale * n)[:, None]
        B[C + ks[None, :], y_col] = (scale[pa] * mult)[:, None]
        fair = C + T
        thr = np.array([cl.throughput for cl in classes], dtype=float).reshape(C, T)
        B[fair + np.arange(C)[:, None], s_col] = -thr
        rate_a = np.array([pair_rates(problem, classes[c], classes[d]) for c, d in pairs])
        rate_b = np.array([pair_rates(problem, classes[d], classes[c]) for c, d in pairs])
        if P:
            B[fair + pa[:, None], y_col] = -(part_a[:, None] * rate_a)
            B[fair + pb[cross][:, None], y_col[cross]] = -(part_b[cross][:, None] * rate_b[cross])
        B[fair + np.arange(C), N - 1] = norm
        self.B = B
        self.b = np.concatenate([np.ones(C), [float(problem.gpus[t]) for t in types], np.zeros(C)])
        self.w = np.concatenate([n, np.ones(T), n])
        self.w_pos = np.concatenate([np.repeat(n, T), np.repeat(mult, T)])
        self.partners = {(int(c), p): float(x) for p, (c, x) in enumerate(zip(pa, part_a))}
        self.partners.update(
            {(int(d), p): float(x) for p, (d, x) in enumerate(zip(pb, part_b)) if cross[p]}
        )
        self.mult = mult.tolist()
        self.iterations = 0

    def start(self) -> np.ndarray:
        """A strictly feasible point: a small equal time for every variable, and ``z``
        below every class's normalised throughput."""
        B, b = self.B, self.b
        v = np.zeros(self.N)
        use = B[:, :-1].sum(axis=1)  # rows' use at all-ones
        lim = [b[i] / use[i] for i in range(len(b)) if use[i] > 0 and b[i] > 0]
        v[:-1] = 0.5 * min(lim)
        fair = B[:, -1] > 0
        lhs = -(B[fair, :-1] @ v[:-1])
        v[-1] = float(np.min(lhs / B[fair, -1])) - 1.0
        return v

    def solve(self) -> np.ndarray:
        """A weighted primal-dual interior-point method (Mehrotra's predictor-corrector,
        as ECOS's), until the duality gap is ``GAP`` of the objective."""
        B, b, w, wp = self.B, self.b, self.w, self.w_pos
        W = float(w.sum() + wp.sum())
        v = self.start()
        g = b - B @ v
        lam = w / g  # dual of the rows, and of x >= 0: centred at mu = 1
        sig = wp / v[:-1]
        c = np.zeros(self.N)
        c[-1] = 1.0
        for _ in range(100):
            self.iterations += 1
            x = v[:-1]
            mu = (g @ lam + x @ sig) / W
            rd = c - B.T @ lam
            rd[:-1] += sig
            if mu * W <= GAP * max(1.0, abs(v[-1])) and np.linalg.norm(rd) <= 1e-9:
                break
            try:
                (dv, dg, dl, ds), H = self._newton(v, g, lam, sig, rd, 0.0, None)  # predictor
                ap, ad = self._steps(v, g, lam, sig, dv, dg, dl, ds)
                aff = ((g + ap * dg) @ (lam + ad * dl) + (x + ap * dv[:-1]) @ (sig + ad * ds)) / W
                centre = (aff / mu) ** 3
                second = (dg * dl, dv[:-1] * ds)
                (dv, dg, dl, ds), _ = self._newton(v, g, lam, sig, rd, centre * mu, second, H)
                ap, ad = self._steps(v, g, lam, sig, dv, dg, dl, ds)
                nv, nlam, nsig = v + ap * dv, lam + ad * dl, sig + ad * ds
                ng = b - B @ nv
                if not all(np.all(a > 0) for a in (ng, nv[:-1], nlam, nsig)):
                    raise _Singular  # a slack computed as 0 or less: precision is spent
            except _Singular:
                # the last steps are singular to working precision: the point is as close
                # to the path's end as double precision goes
                if mu * W > STALL_GAP * max(1.0, abs(v[-1])):
                    raise RuntimeError(
                        f"central packed allocation stalled at duality gap {mu * W:.3g}"
                    ) from None
                break
            v, lam, sig, g = nv, nlam, nsig, ng
        return v

    def _newton(
        self,
        v: np.ndarray,
        g: np.ndarray,
        lam: np.ndarray,
        sig: np.ndarray,
        rd: np.ndarray,
        mu: float,
        second: tuple[np.ndarray, np.ndarray] | None,
        H: Any = None,
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Any]:
        """The step to the weighted central point ``g lam = w mu``, ``x sig = w_x mu``, dual
        feasibility; ``second`` adds Mehrotra's second-order terms.

        The step solves ``M dv = r``, ``M = D + B^T E B`` (``D = sig / x`` on the times, 0
        on the free ``z``; ``E = lam / g``), an ``N x N`` system with far fewer rows in
        ``B`` than variables. Through the rows it is small: with ``u = E B dv``,
        ``dx = D^-1 (r_x - B_x^T u)``, and ``(u, -dz)`` solves the bordered system
        ``[[E^-1 + B_x D^-1 B_x^T, b_z], [b_z^T, 0]]`` of the rows and ``z``. Near the
        path's end that system loses accuracy where ``M`` does not, so it serves as the
        preconditioner of conjugate gradients on ``M`` itself (:meth:`_pcg`), which then
        converge in a step or two; only when they do not is ``M`` factorised. ``H``
        keeps the factorisation for the corrector."""
        B, w, wp = self.B, self.w, self.w_pos
        x = v[:-1]
        rl = w * mu - g * lam
        rs = wp * mu - x * sig
        if second is not None:
            rl = rl - second[0]
            rs = rs - second[1]
        rhs = rd - B.T @ (rl / g)
        rhs[:-1] += rs / x
        E, inv_d = lam / g, x / sig
        dv = None
        if H is None:  # factorised once, for the predictor and the corrector
            H = self._rows(g, lam, inv_d)
        if H[0] == "rows":
            dv = self._pcg(H[1], E, inv_d, sig / x, rhs)
            if dv is None:  # the rows' system has lost its accuracy: the full one
                H = ("full", None)
        if dv is None:
            if H[1] is None:
                M = (B * E[:, None]).T @ B
                M[np.arange(self.N - 1), np.arange(self.N - 1)] += sig / x
                try:
                    H = ("full", cho_factor(M))
                except np.linalg.LinAlgError:
                    H = ("full", _lu(M))
            F = H[1]
            dv = cho_solve(F, rhs) if isinstance(F[1], bool) else lu_solve(F, rhs)
            if not np.all(np.isfinite(dv)):
                raise _Singular
        dg = -(B @ dv)
        dl = (rl - lam * dg) / g
        ds = (rs - sig * dv[:-1]) / x
        return (dv, dg, dl, ds), H

    def _rows(self, g: np.ndarray, lam: np.ndarray, inv_d: np.ndarray) -> tuple[str, Any]:
        """The bordered system of the rows and ``z``, factorised (``("full", None)`` when
        it is singular to working precision)."""
        Bx, bz = self.B[:, :-1], self.B[:, -1]
        m = len(g)
        K = np.zeros((m + 1, m + 1))
        K[:m, :m] = (Bx * inv_d) @ Bx.T
        K[np.arange(m), np.arange(m)] += g / lam
        K[:m, m] = K[m, :m] = bz
        try:
            return ("rows", _lu(K))
        except _Singular:
            return ("full", None)

    def _pcg(
        self, F: Any, E: np.ndarray, inv_d: np.ndarray, D: np.ndarray, rhs: np.ndarray
    ) -> np.ndarray | None:
        """``(D + B^T E B) dv = rhs`` by conjugate gradients, preconditioned with the
        rows' system ``F``; None when they stop converging within ``PCG_STEPS``."""
        B = self.B
        Bx = B[:, :-1]
        h = np.empty(len(E) + 1)

        def precond(r: np.ndarray) -> np.ndarray:
            h[:-1] = Bx @ (inv_d * r[:-1])
            h[-1] = r[-1]
            got = lu_solve(F, h, check_finite=False)  # (u, -dz)
            out = np.empty_like(r)
            out[:-1] = inv_d * (r[:-1] - Bx.T @ got[:-1])
            out[-1] = -got[-1]
            return out

        def apply(p: np.ndarray) -> np.ndarray:
            out = B.T @ (E * (B @ p))
            out[:-1] += D * p[:-1]
            return out

        tol = PCG_TOL * float(np.linalg.norm(rhs))
        dv = precond(rhs)
        r = rhs - apply(dv)
        p: np.ndarray | None = None
        rz_old = 1.0
        for _ in range(PCG_STEPS):
            if not np.all(np.isfinite(r)):
                return None
            if np.linalg.norm(r) <= tol:
                return dv
            zr = precond(r)
            rz = float(r @ zr)
            p = zr if p is None else zr + (rz / rz_old) * p
            rz_old = rz
            Ap = apply(p)
            pAp = float(p @ Ap)
            if not (pAp > 0 and rz > 0):  # the preconditioner is no longer definite
                return None
            dv = dv + (rz / pAp) * p
            r = r - (rz / pAp) * Ap
        return None

    @staticmethod
    def _steps(
        v: np.ndarray,
        g: np.ndarray,
        lam: np.ndarray,
        sig: np.ndarray,
        dv: np.ndarray,
        dg: np.ndarray,
        dl: np.ndarray,
        ds: np.ndarray,
    ) -> tuple[float, float]:
        """The longest primal and dual steps (at most 1) that stay 1% inside."""

        def longest(now: np.ndarray, d: np.ndarray) -> float:
            neg = d < 0
            return float(np.min(-now[neg] / d[neg])) if neg.any() else np.inf

        ap = min(1.0, 0.99 * min(longest(v[:-1], dv[:-1]), longest(g, dg)))
        ad = min(1.0, 0.99 * min(longest(lam, dl), longest(sig, ds)))
        return ap, ad

    def allocation(self, v: np.ndarray, class_of: np.ndarray) -> Allocation:
        p, T, C = self.problem, self.T, self.C
        single = np.zeros((len(p.jobs), T))
        for c, cl in enumerate(self.classes):
            single[cl.members] = np.clip(v[c * T : (c + 1) * T], 0.0, None)
        shared: dict[tuple[int, int], np.ndarray] = {}
        for q, (c, d) in enumerate(self.pairs):
            yq = np.clip(v[C * T + q * T : C * T + (q + 1) * T], 0.0, None)
            shared[(c, d)] = self.partners[(c, q)] * yq
            if c != d:
                shared[(d, c)] = self.partners[(d, q)] * yq
        out = Allocation("max_min_fairness_packed", p, single, self.classes, class_of, shared)
        out.solver = "central path (class barrier)"
        return out


def _lu(A: np.ndarray) -> Any:
    """``lu_factor``, raising :class:`_Singular` (not warning) on an exactly singular or
    non-finite matrix."""
    if not np.all(np.isfinite(A)):
        raise _Singular
    with warnings.catch_warnings():
        warnings.simplefilter("error", LinAlgWarning)
        try:
            return lu_factor(A)
        except LinAlgWarning:
            raise _Singular from None
