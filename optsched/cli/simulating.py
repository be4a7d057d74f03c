"""``optsched simulate`` and ``optsched policies``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import (
    EXIT_INFEASIBLE,
    EXIT_OK,
    add_command,
    emit,
    limit_seconds,
    nonnegative_int,
    positive_float,
    seconds,
    seed_number,
)

#: Cluster specs: a builder and its arguments, or a cluster JSON file.
CLUSTER_HELP = (
    "gavel:V:P:K[:G] (V100, P100, K80 counts; G GPUs per server, default 4), "
    "homogeneous:R:S:G[:TYPE] (racks, servers per rack, GPUs per server), "
    "nvswitch:R:S[:TYPE], pollux[:N] (Pollux's testbed preset, N nodes of 4 T4, default 16), "
    "philly (its real machine list), alibaba (openb's GPU nodes, from $OPTSCHED_DATA), "
    "or a cluster JSON file"
)


def parse_cluster(spec: str) -> Any:
    from ..model import Cluster, gavel, homogeneous, nvswitch_pod, philly, pollux

    p = Path(spec)
    if p.suffix == ".json" or p.is_file():
        from ..io import _load_json

        data = _load_json(p)
        if isinstance(data, dict) and "cluster" in data and "servers" not in data:
            data = data["cluster"]  # an instance file: its cluster
        try:
            return Cluster.from_dict(data)
        except InputError as exc:
            raise InputError(f"{p}: {exc}") from None
    name, _, rest = spec.partition(":")
    args = [a for a in rest.split(":")] if rest else []

    def ints(values: list[str], n: int) -> list[int]:
        try:
            out = [int(v) for v in values[:n]]
        except ValueError:
            raise InputError(f"--cluster {spec!r}: counts must be integers") from None
        if len(out) < n or any(v < 1 for v in out):
            raise InputError(f"--cluster {spec!r}: needs {n} counts >= 1 ({CLUSTER_HELP})")
        return out

    if name == "gavel":
        v, pc, k = ints(args, 3)
        per = ints(args[3:], 1)[0] if len(args) > 3 else 4
        return gavel({"v100": v, "p100": pc, "k80": k}, per)
    if name == "homogeneous":
        r, s, g = ints(args, 3)
        return homogeneous(r, s, g, args[3] if len(args) > 3 else "v100")
    if name == "nvswitch":
        r, s = ints(args, 2)
        return nvswitch_pod(r, s, args[2] if len(args) > 2 else "a100")
    if name == "pollux":
        return pollux(ints(args, 1)[0] if args else 16)
    if name == "philly" and not args:
        return philly()
    if name == "alibaba" and not args:
        from ..simulate.sources import alibaba_cluster

        return alibaba_cluster()
    raise InputError(f"--cluster must be {CLUSTER_HELP}; got {spec!r}")


def load_workload(args: argparse.Namespace, cluster: Any) -> Any:
    """A trace file, or a named source: ``philly``, ``helios``, ``itp``, ``alibaba`` (from
    ``$OPTSCHED_DATA``) or ``gavel-generated:LAM:N``."""
    from ..simulate.sources import TRACES, gavel_generated, trace_workload
    from ..simulate.workload import (
        detect_format,
        parse_measure,
        read_csv_workload,
        read_gavel_trace,
    )

    name = args.workload
    if name in TRACES:
        w = trace_workload(name, cluster, seed=args.seed)
    elif name.startswith("alibaba:"):  # an openb pod-list variant: gpuspec33, multigpu50
        w = trace_workload("alibaba", cluster, seed=args.seed, variant=name.partition(":")[2])
    elif name.startswith("gavel-generated:"):
        _, _, rest = name.partition(":")
        lam, _, n = rest.partition(":")
        try:
            lam_s, count = float(lam), int(n)
        except ValueError:
            raise InputError(
                f"workload must look like gavel-generated:LAM:N, got {name!r}"
            ) from None
        w = gavel_generated(lam_s, count, seed=args.seed)
    else:
        fmt = args.format or detect_format(name)
        if fmt == "csv":
            from ..throughput import ThroughputModel

            model = ThroughputModel(cluster)

            def alone(job_type: str, gpus: int, allowed: tuple[str, ...]) -> float:
                rates = [
                    model.consolidated(job_type, t, gpus)
                    for t in cluster.gpu_types
                    if (not allowed or t in allowed)
                    and model.runs_on(job_type, t)
                    and cluster.capacity(t) >= gpus
                ]
                if not rates:
                    raise InputError(f"{name}: {gpus} GPU(s) of {job_type!r} fit no GPU type")
                return max(rates)

            w = read_csv_workload(name, alone)
        else:
            w = read_gavel_trace(name, skip=args.skip)
    if args.measure:
        k, end = parse_measure(args.measure)
        w = w.with_measure(k, end)
    return w


def read_timeline(path: Path) -> list[Any]:
    """Events from a ``timeline.jsonl`` of ``simulate -o``."""
    from ..io import read_text
    from ..simulate.engine import Event

    text = read_text(path)
    events = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            d = json.loads(line)
            if isinstance(d, dict) and d.get("event") == "solve":
                continue  # a policy's record of a round solve, not an event
            events.append(
                Event(
                    float(d["t"]),
                    str(d["event"]),
                    str(d["job"]),
                    tuple(int(g) for g in d.get("gpus", ())),
                )
            )
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}: line {n} is not a timeline event") from None
    return events


def cmd_check_timeline(args: argparse.Namespace, workload: Any, cluster: Any) -> int:
    from ..simulate import check_timeline

    events = read_timeline(Path(args.check_timeline))
    model = None
    if args.semantics == "gavel":
        from ..simulate.gavel import packed_model

        model = packed_model(cluster)
    report, _ = check_timeline(
        workload,
        cluster,
        events,
        model=model,
        overhead=overhead_of(args.restart_overhead, cluster),
        until_measured=args.semantics == "gavel",
    )
    if args.json:
        emit({"timeline": args.check_timeline, **report.to_dict()})
    else:
        verdict = "feasible" if report.feasible else "INFEASIBLE"
        print(f"{args.check_timeline}: {verdict}; average JCT {_h(report.objective)}")
        for kind, (n, size) in report.by_kind().items():
            print(f"  {kind}: {n} violation(s), total size {size:.6g}")
    return EXIT_OK if report.feasible else EXIT_INFEASIBLE


def _overhead(text: str) -> float | str:
    if text == "model":
        return text
    try:
        return seconds(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be seconds >= 0 or model, got {text!r}") from None


def overhead_of(value: float | str, cluster: Any) -> Any:
    """The engine's restart overhead for ``--restart-overhead``."""
    from ..simulate.engine import constant_overhead, model_overhead

    if value == "model":
        from ..throughput import ThroughputModel

        return model_overhead(ThroughputModel(cluster))
    return constant_overhead(float(value)) if value else None


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..simulate import TimelineRejected, simulate

    cluster = parse_cluster(args.cluster)
    workload = load_workload(args, cluster)
    if args.check_timeline:
        return cmd_check_timeline(args, workload, cluster)
    from ..bench.run import Progress

    bar = Progress(len(workload.jobs), 0, enabled=not args.json)
    model = None
    if args.strategy != "ring" or args.spare_cpu:
        from ..throughput import ThroughputModel

        if args.semantics == "gavel":
            raise InputError("--strategy: Gavel's semantics keep Gavel's measured throughputs")
        model = ThroughputModel(cluster, strategy=args.strategy, spare_cpu_servers=args.spare_cpu)
    try:
        result = simulate(
            workload,
            cluster,
            args.policy,
            model=model,
            round_seconds=args.round,
            overhead=overhead_of(args.restart_overhead, cluster),
            rule=args.rule,
            seed=args.seed,
            semantics=args.semantics,
            progress=lambda done, n: bar.update(done, "jobs done"),
            bound=args.bound,
            round_time_limit=args.round_time_limit,
        )
    except TimelineRejected as exc:
        print(f"optsched: {exc}", file=sys.stderr)
        return EXIT_INFEASIBLE
    finally:
        bar.close()
    if args.out:
        write_outputs(Path(args.out), result)
    summary = result.to_dict()
    if args.json:
        emit(summary)
        return EXIT_OK
    s = summary
    print(
        f"{workload.name}: {result.policy} on {cluster.name} ({cluster.num_gpus} GPUs), "
        f"{s['semantics']} semantics; {s['measured_jobs']} of {s['jobs']} jobs measured; "
        "timeline checked"
    )
    print(
        f"  JCT mean {_h(s['avg_jct_s'])}, median {_h(s['median_jct_s'])}, "
        f"p99 {_h(s['p99_jct_s'])}; makespan {_h(s['makespan_s'])}; "
        f"queueing mean {_h(s['avg_queueing_s'])}"
    )
    util = ", ".join(f"{t} {u:.1%}" for t, u in s["utilisation"].items())
    print(
        f"  restarts {s['restarts']}; GPU-hours {s['gpu_hours']:.1f}; rho mean "
        f"{s['rho_mean']:.3g}, p99 {s['rho_p99']:.3g}, max {s['rho_max']:.3g}; utilisation {util}"
    )
    if "avg_jct_lb_s" in s:
        lp = s.get("avg_jct_lb_lp_s", math.nan)
        alone, fluid = s.get("avg_jct_lb_alone_s", math.nan), s.get("avg_jct_lb_fluid_s", math.nan)
        parts = [f"alone {_h(alone)}", f"fluid {_h(fluid)}"]
        parts.append(f"interval LP {_h(lp)}" if not math.isnan(lp) else "no interval LP")
        shared = "; capacities for space sharing" if s.get("bound_sharing") else ""
        print(
            f"  lower bounds: average JCT {_h(s['avg_jct_lb_s'])} (gap "
            f"{s['avg_jct_gap']:.1%}; {', '.join(parts)}), makespan {_h(s['makespan_lb_s'])} "
            f"(gap {s['makespan_gap']:.1%}){shared}"
        )
    if "solves" in s:
        print(
            f"  {s['solves']} round solves, {s['solves_optimal']} proven optimal; gap mean "
            f"{s['solve_gap_mean']:.2%}, max {s['solve_gap_max']:.2%}; {s['solve_s']:.1f} s "
            "solving"
        )
    print(
        f"  {s['wall_s']:.2f} s to simulate, {s['check_s']:.2f} s to check"
        + (f"; outputs in {args.out}" if args.out else "")
    )
    return EXIT_OK


def _h(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds / 3600:.3f} h"


def write_outputs(folder: Path, result: Any) -> None:
    """``jobs.csv``, ``timeline.jsonl`` and ``summary.json``, each written atomically."""
    from ..bench.rows import dumps
    from ..io import write_text

    write_text(folder / "jobs.csv", result.jobs.to_csv(index=False))
    lines = [dumps(e.to_dict()) + "\n" for e in result.timeline]
    lines += [dumps({"event": "solve", **s}) + "\n" for s in result.timeline.solves]
    write_text(folder / "timeline.jsonl", "".join(lines))
    write_text(
        folder / "summary.json", json.dumps(json.loads(dumps(result.to_dict())), indent=1) + "\n"
    )


def cmd_policies(args: argparse.Namespace) -> int:
    from importlib.metadata import entry_points

    from ..simulate.gavel import GAVEL_ONLY, GAVEL_POLICIES
    from ..simulate.policies import ENTRY_POINT_GROUP, POLICIES

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if args.json:
            emit({"name": ep.name, "summary": f"installed: {ep.value}", "origin": "entry point"})
        else:
            print(f"{ep.name:<22} installed plug-in ({ep.value})")

    for name, (pol, summary) in POLICIES.items():
        if args.json:
            emit(
                {
                    "name": name,
                    "summary": summary,
                    "preemptive": pol.preemptive,
                    "clairvoyant": pol.clairvoyant,
                    "gavel_semantics": name in GAVEL_POLICIES,
                }
            )
        else:
            flags = ", ".join(
                f
                for f, on in (("preemptive", pol.preemptive), ("clairvoyant", pol.clairvoyant))
                if on
            )
            gavel = " (also --semantics gavel)" if name in GAVEL_POLICIES else ""
            print(f"{name:<22} {summary}" + (f" [{flags}]" if flags else "") + gavel)
    from ..allocation.lp import POLICIES as LP_POLICIES

    for name in GAVEL_POLICIES:
        if name in POLICIES:
            continue
        if name in LP_POLICIES:
            summary = f"Gavel LP: {LP_POLICIES[name]} (rounds)"
        else:
            summary = GAVEL_ONLY[name]
        if args.json:
            emit({"name": name, "summary": summary, "preemptive": True, "clairvoyant": False,
                  "gavel_semantics": True, "default_semantics": False})  # fmt: skip
        else:
            print(f"{name:<22} {summary} [preemptive] (--semantics gavel only)")
    return EXIT_OK


def _round(text: str) -> float | None:
    if text.lower() in ("none", "0"):
        return None
    return positive_float(text)


def register(sub: Any) -> None:
    from ..model.state import RULES
    from ..simulate.policies import POLICIES

    sp = add_command(sub, "simulate", cmd_simulate, "replay a trace on a simulated cluster")
    sp.add_argument(
        "workload",
        help="a trace file (Gavel's 10-column format, or CSV with a header), or philly, "
        "helios, itp, alibaba (from $OPTSCHED_DATA) or gavel-generated:LAM:N (Poisson, mean "
        "gap LAM s, N jobs)",
    )
    sp.add_argument(
        "--policy",
        default="fifo",
        help=f"{', '.join(POLICIES)}, an installed policy, or module:function",
    )
    sp.add_argument("--cluster", default="gavel:36:36:36", help=CLUSTER_HELP)
    sp.add_argument("--rule", default="consolidated", choices=list(RULES), help="placement rule")
    sp.add_argument(
        "--round",
        type=_round,
        default=360.0,
        help="re-planning period, s, of preemptive policies that name no decision times "
        "(srtf and las name theirs); Gavel's round under --semantics gavel",
    )
    sp.add_argument(
        "--restart-overhead",
        type=_overhead,
        default=0.0,
        metavar="S|model",
        help="seconds without progress per start, or model: 10 s to relaunch plus a "
        "checkpoint of 3x the job type's weights read at 1.25 GB/s",
    )
    sp.add_argument(
        "--format",
        choices=("gavel", "csv"),
        help="workload file format (default: detected; csv has a header naming job_type)",
    )
    sp.add_argument("--measure", help="jobs K:L (half-open, by arrival) whose metrics count")
    sp.add_argument(
        "--skip", type=nonnegative_int, default=0, help="trace lines to skip at the top"
    )
    sp.add_argument("--seed", "-s", type=seed_number, default=0, help="random seed")
    sp.add_argument(
        "--strategy",
        choices=("ring", "best"),
        default="ring",
        help="gradient synchronisation: ring all-reduce, or each job's fastest strategy "
        "on the GPUs it gets (hierarchical, BytePS, ...)",
    )
    sp.add_argument(
        "--spare-cpu",
        type=nonnegative_int,
        default=0,
        help="CPU servers BytePS may sum on (with --strategy best)",
    )
    sp.add_argument(
        "--semantics",
        choices=("default", "gavel"),
        default="default",
        help="default: exact GPU sets, locality, restarts; gavel: Gavel's simulator "
        "(360 s rounds, type-level, no restart cost)",
    )
    sp.add_argument(
        "--round-time-limit",
        type=limit_seconds,
        metavar="S",
        help="solver time limit per round of the exact policies, in CP-SAT's deterministic "
        "seconds so that runs repeat (default 1)",
    )
    sp.add_argument(
        "--bound",
        action="store_true",
        help="also lower bounds on average JCT and makespan, and the run's gaps to them",
    )
    sp.add_argument("--out", "-o", help="write jobs.csv, timeline.jsonl and summary.json here")
    sp.add_argument(
        "--check-timeline",
        metavar="FILE",
        help="re-check a timeline.jsonl of this workload instead of simulating (exit 3 if bad)",
    )
    sp = add_command(sub, "policies", cmd_policies, "list the simulator's policies")
