"""``optsched allocate``: one allocation of a Gavel policy, with its time and memory."""

from __future__ import annotations

import argparse
import resource
import sys
from typing import Any

from ..errors import InputError
from .common import EXIT_OK, add_command, count, emit, nonnegative_int, positive_int, seed_number


def peak_rss_mb() -> float:
    """The process's peak resident set so far, MB (``ru_maxrss`` is KB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def problem_of(args: argparse.Namespace) -> Any:
    from ..allocation import AllocJob, from_jobs, gavel_input

    if args.gavel_input is not None:
        if args.workload:
            raise InputError("give --gavel-input N or a WORKLOAD, not both")
        return gavel_input(args.gavel_input, args.seed)
    if not args.workload:
        raise InputError("give --gavel-input N (Gavel's generator) or a WORKLOAD and --cluster")
    from ..throughput import ThroughputModel
    from .simulating import load_workload, parse_cluster

    cluster = parse_cluster(args.cluster)
    workload = load_workload(args, cluster)
    jobs = [
        AllocJob(j.id, j.job_type, j.num_gpus, j.weight, j.work, 0.0) for j in workload.measured
    ]
    gpus = {t: cluster.capacity(t) for t in cluster.gpu_types}
    return from_jobs(jobs, gpus, ThroughputModel(cluster), workload.name)


def cmd_allocate(args: argparse.Namespace) -> int:
    from ..allocation import allocate
    from ..blas import one_thread

    problem = problem_of(args)
    with one_thread():
        a = allocate(
            problem,
            args.policy,
            solver=args.solver,
            pop=args.pop,
            seed=args.seed,
            aggregate=not args.per_job,
        )
    out = {
        "policy": args.policy,
        "input": problem.name,
        "jobs": len(problem.jobs),
        "gpus": dict(problem.gpus),
        "objective": a.objective,
        "lps": a.lps,
        "pop": a.parts,
        "solver": a.solver,
        "wall_s": a.wall_s,
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.json:
        emit(out)
    else:
        gpus = ", ".join(f"{g} {t}" for t, g in out["gpus"].items())
        print(f"{problem.name}: {args.policy}, {out['jobs']} jobs on {gpus}")
        print(
            f"  objective {a.objective:.10g}; {a.lps} LP(s) with {a.solver}"
            + (f", POP k = {a.parts}" if a.parts > 1 else "")
        )
        print(f"  {a.wall_s:.3f} s, peak memory {out['peak_rss_mb']:.0f} MB; allocation checked")
    return EXIT_OK


def register(sub: Any) -> None:
    from ..allocation import POLICIES
    from .simulating import CLUSTER_HELP

    sp = add_command(sub, "allocate", cmd_allocate, "one allocation of a Gavel LP policy")
    sp.add_argument(
        "workload",
        nargs="?",
        help="a workload (as for simulate): its measured jobs are the round's jobs",
    )
    sp.add_argument("--policy", required=True, choices=list(POLICIES), help="allocation policy")
    sp.add_argument(
        "--gavel-input",
        type=count,
        metavar="N",
        help="N jobs from Gavel's sweep_policy_runtimes.py generator (N // 4 GPUs per type)",
    )
    sp.add_argument("--cluster", default="gavel:36:36:36", help=CLUSTER_HELP)
    sp.add_argument("--seed", "-s", type=seed_number, default=2, help="generator seed")
    sp.add_argument(
        "--solver",
        default="glop",
        choices=("glop", "pdlp", "highs", "mathopt:highs", "scip", "cbc"),
        help="LP solver",
    )
    sp.add_argument(
        "--pop",
        type=positive_int,
        default=1,
        metavar="K",
        help="POP: split the jobs at random into K parts with 1/K of the GPUs each",
    )
    sp.add_argument(
        "--per-job",
        action="store_true",
        help="one LP row per job (and pair) instead of per class of alike jobs",
    )
    sp.add_argument("--measure", help="jobs K:L of the workload (default: all)")
    sp.add_argument("--skip", type=nonnegative_int, default=0, help="trace lines to skip")
    sp.add_argument("--format", choices=("gavel", "csv"), help="workload file format")
