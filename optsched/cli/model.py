"""Commands on the throughput and communication model: ``comm``, ``throughput``."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict
from typing import Any

from ..throughput.layers import TIRESIAS_MODELS
from .common import (
    EXIT_OK,
    Parser,
    emit,
    nonnegative_int,
    positive_float,
    positive_int,
    seconds,
)


def cmd_comm(args: argparse.Namespace) -> int:
    from ..throughput.comm import cerebro_volumes, format_bytes, parse_bytes

    rows = cerebro_volumes(
        args.epochs,
        args.configs,
        args.workers,
        parse_bytes(args.model_size, "model-size"),
        parse_bytes(args.dataset_size, "dataset-size"),
        args.iters_per_epoch,
    )
    params = {
        "epochs": args.epochs,
        "configs": args.configs,
        "workers": args.workers,
        "model_bytes": parse_bytes(args.model_size, "model-size"),
        "dataset_bytes": parse_bytes(args.dataset_size, "dataset-size"),
        "iters_per_epoch": args.iters_per_epoch,
    }
    if args.json:
        emit(
            {
                "parameters": params,
                "rows": [
                    {
                        "approach": r.approach,
                        "formula": r.formula,
                        "bytes": r.bytes,
                        "human": format_bytes(r.bytes),
                    }
                    for r in rows
                ],
            }
        )
        return EXIT_OK
    print("Communication volume for model selection (Cerebro Table 2, errata version)")
    print("  " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
    width = max(len(r.approach) for r in rows)
    fwidth = max(len(r.formula) for r in rows)
    for r in rows:
        print(f"  {r.approach:<{width}}  {r.formula:<{fwidth}}  {format_bytes(r.bytes):>10}")
    return EXIT_OK


def cmd_throughput_validate(args: argparse.Namespace) -> int:
    from ..throughput.validate import report

    rep = report()
    if args.json:
        emit(rep)
        return EXIT_OK
    print("Throughput model: predicted vs measured (held out), relative error of throughput")
    print(
        f"  {'source':<11} {'variant':<11} {'model':<12} {'n':>5} {'mean':>7} {'median':>7} "
        f"{'p90':>7}"
    )
    for row in rep["rows"]:
        print(
            f"  {row['source']:<11} {row['variant']:<11} {row['model']:<12} {row['n']:>5} "
            f"{row['mape']:>7.1%} {row['median']:>7.1%} {row['p90']:>7.1%}"
        )
    fast = rep["spread_faster"]
    top = fast["entries"][0]
    by_type: dict[str, int] = {}
    for e in fast["entries"]:
        by_type[e["gpu_type"]] = by_type.get(e["gpu_type"], 0) + 1
    print(
        f"  Gavel measured {fast['count']} of {fast['of']} spread (unconsolidated) entries "
        f"faster than packed ({', '.join(f'{g} {n}' for g, n in sorted(by_type.items()))}; "
        f"at most {top['ratio'] - 1:+.1%}, {top['job_type']} on {top['num_gpus']} "
        f"{top['gpu_type']}): the model takes them as measured (--json lists them)"
    )
    fitted = rep["pollux_fitted_network_GBps"]
    print(
        "  Pollux fitted network bandwidth (GB/s, fitted without the model itself): "
        + ", ".join(f"{k} {v:.2f}" for k, v in fitted.items())
    )
    for name, fit in rep["testbeds"].items():
        tb = fit["preset"]
        extra = (
            f", {1e3 * tb['allreduce_latency_s']:.1f} ms per all-reduce, two-server rings "
            f"x{tb['two_server_factor']:.2f}"
            if tb["allreduce_latency_s"] or tb["two_server_factor"] != 1.0
            else ""
        )
        overlap = ", ".join(f"{m} {v:.2f}" for m, v in tb["overlap"].items())
        contention = ", ".join(f"{m} {v:.3f}" for m, v in tb["contention"].items())
        print(
            f"  {name} testbed preset: network {tb['network_GBps']:.4g} GB/s{extra}; overlap "
            f"{overlap} (others {tb['overlap_other']:.2f})"
            + (f"; contention {contention}" if contention else "")
            + f"; in-sample {fit['in_sample']['mape']:.1%}; {tb['held_out']}"
        )
    a = rep["assumptions"]
    print(
        f"  spec assumptions: Gavel network {a['gavel_network_GBps']} GB/s; Pollux PCIe "
        f"{a['pollux_pcie_GBps']} GB/s, network {a['pollux_network_spec_GBps']} GB/s"
    )
    return EXIT_OK


def cmd_throughput_strategies(args: argparse.Namespace) -> int:
    from ..throughput.comm import Network, parse_bytes, strategy_times

    net = Network(
        args.nodes, args.gpus, args.intra, args.net if args.nodes > 1 else math.inf,
        args.alpha, args.spare_cpu, args.switched,
    )  # fmt: skip
    if args.layers:
        return _layer_strategies(args, net)
    size = parse_bytes(args.model_size, "model-size")
    times = strategy_times(size, net)
    best = min(times, key=lambda s: times[s])
    if args.json:
        emit({"model_bytes": size, "network": asdict(net), "seconds": times, "best": best})
        return EXIT_OK
    print(
        f"Synchronising {args.model_size} over {args.nodes} server(s) x {args.gpus} GPU(s) "
        f"(intra {args.intra:g} GB/s, NIC {args.net:g} GB/s, alpha {args.alpha:g} s, "
        f"{args.spare_cpu} spare CPU server(s))"
    )
    for name, t in sorted(times.items(), key=lambda kv: kv[1]):
        print(f"  {name:<17} {1e3 * t:10.3f} ms{'  <- best' if name == best else ''}")
    return EXIT_OK


def _layer_strategies(args: argparse.Namespace, net: Any) -> int:
    """Per layer group of a Tiresias model: each strategy's time and the best."""
    from ..throughput.comm import best_group_strategy, best_strategy, format_bytes
    from ..throughput.layers import tiresias_layers

    groups = tiresias_layers(args.layers)
    rows: list[dict[str, Any]] = []
    for g in groups:
        best, seconds = best_group_strategy(g, net, args.batch)
        rows.append({"kind": g.kind, "bytes": g.size, "best": best, "seconds": seconds})
    whole_best, whole_s = best_strategy(sum(g.size for g in groups), net)
    per_layer = sum(r["seconds"] for r in rows)
    if args.json:
        emit(
            {
                "model": args.layers,
                "network": asdict(net),
                "groups": rows,
                "per_layer_s": per_layer,
                "whole_model": {"best": whole_best, "seconds": whole_s},
            }
        )
        return EXIT_OK
    print(
        f"{args.layers}: {len(rows)} listed tensors, {format_bytes(sum(g.size for g in groups))}, "
        f"over {net.nodes} server(s) x {net.gpus} GPU(s)"
        + (f", {args.batch} samples per worker" if args.batch else " (no --batch: no SFB)")
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["best"]] = counts.get(r["best"], 0) + 1
    for r in rows:
        if r["kind"] == "fc" or r["best"] != whole_best:
            print(f"  {r['kind']:<6} {format_bytes(r['bytes']):>10}  {r['best']}")
    used = ", ".join(f"{k} x{n}" for k, n in counts.items())
    print(
        f"  per layer: {1e3 * per_layer:.3f} ms ({used}); "
        f"whole model: {whole_best} {1e3 * whole_s:.3f} ms"
    )
    return EXIT_OK


def cmd_throughput_types(args: argparse.Namespace) -> int:
    from ..throughput.jobtypes import default_catalog

    cat = default_catalog()
    for name, jt in cat.job_types.items():
        scales = cat.table.scale_factors(name)
        if args.json:
            emit({"name": name, **jt.to_dict(), "measured_scale_factors": list(scales)})
        else:
            times = ", ".join(f"{g} {1 / t:.3g}" for g, t in jt.compute_time.items())
            print(
                f"{name:<34} 1-GPU it/s: {times}; scale factors {list(scales)}; "
                f"{jt.model_bytes / 1e6:.1f} MB"
            )
    return EXIT_OK


def register(sub: Any) -> None:
    from .common import add_command

    sp = add_command(
        sub, "comm", cmd_comm, "communication volume of model selection (Cerebro Table 2)"
    )
    sp.add_argument("--epochs", "-k", type=positive_int, default=20, help="epochs k")
    sp.add_argument("--configs", "-S", type=positive_int, default=20, help="configs |S|")
    sp.add_argument("--workers", "-p", type=positive_int, default=10, help="workers p")
    sp.add_argument("--model-size", "-m", default="1GB", help="model size m, decimal units")
    sp.add_argument("--dataset-size", "-D", default="1TB", help="dataset size |D|")
    sp.add_argument(
        "--iters-per-epoch", type=positive_float, default=1e5, help="|D|/b, mini-batches per epoch"
    )
    tp = sub.add_parser(
        "throughput", help="the throughput model", description="the throughput model"
    )
    tsub = tp.add_subparsers(dest="subcommand", required=True, parser_class=Parser)
    for name, fn, help_text in (
        ("validate", cmd_throughput_validate, "predicted vs measured (Gavel, Pollux)"),
        ("types", cmd_throughput_types, "list the measured job types"),
    ):
        add_command(tsub, name, fn, help_text)
    st = add_command(
        tsub,
        "strategies",
        cmd_throughput_strategies,
        "time of each gradient synchronisation strategy on a network (ring, tree, ...)",
    )
    st.add_argument("--nodes", type=positive_int, default=1, help="servers (default 1)")
    st.add_argument("--gpus", type=positive_int, default=8, help="GPUs per server (default 8)")
    st.add_argument("--intra", type=positive_float, default=150.0, help="GB/s inside a server")
    st.add_argument("--net", type=positive_float, default=12.5, help="GB/s of a server's NIC")
    st.add_argument("--alpha", type=seconds, default=5e-6, help="s per message")
    st.add_argument("--spare-cpu", type=nonnegative_int, default=0, help="spare CPU servers")
    st.add_argument("--switched", action="store_true", help="GPUs of a server meet in a switch")
    st.add_argument("--model-size", "-m", default="100MB", help="gradient bytes, e.g. 100MB")
    st.add_argument(
        "--layers",
        choices=TIRESIAS_MODELS,
        help="per layer group of this model's tensors (Tiresias's table) instead",
    )
    st.add_argument("--batch", type=nonnegative_int, default=0, help="samples per worker (for SFB)")
