"""Independent checker for placement solutions.

Recomputes the objective from the solution alone with the throughput model,
and reports every violated constraint with its size:

==================== ========================================================
kind                 size
==================== ========================================================
unknown_job          1 per job id not in the instance
gpu_out_of_range     1 per GPU index outside ``[0, num_gpus)``
duplicate_gpu        repeats of one GPU in one job's set
wrong_gpu_count      ``|assigned - num_gpus|``
mixed_gpu_types      distinct GPU types in the set minus 1
gpu_type_not_allowed 1 per job on a type it may not use
gpu_overcommitted    jobs on a GPU beyond its capacity (1, or 2 with sharing)
partial_overlap      GPUs two jobs share when their sets differ
pair_not_allowed     1 per co-located pair without an interference factor
strategy_not_valid   1 per recorded strategy the instance or placement rules out
==================== ========================================================

A job's throughput is that of the strategy the solution records for it, else
the one the instance's rule picks (``details["strategies"]`` names each).
"""

from __future__ import annotations

import math
from collections import defaultdict

from ...core import CheckReport, Violations
from ...errors import InputError
from .instance import NAME, PlacementInstance, PlacementObjective
from .solution import PlacementSolution


def check(instance: PlacementInstance, solution: PlacementSolution) -> CheckReport:
    cluster = instance.cluster
    model = instance.model
    bad = Violations()
    placed: dict[str, tuple[int, ...]] = {}
    structural = False
    for jid, gpus in solution.assignment.items():
        if jid not in instance.job_index:
            bad.add("unknown_job", 1, f"job {jid!r}")
            structural = True
            continue
        job = instance.jobs[instance.job_index[jid]]
        out = [g for g in gpus if not 0 <= g < cluster.num_gpus]
        for g in out:
            bad.add("gpu_out_of_range", 1, f"job {jid!r} GPU {g}")
        if out:
            structural = True
            continue
        bad.add("duplicate_gpu", len(gpus) - len(set(gpus)), f"job {jid!r}")
        bad.add(
            "wrong_gpu_count",
            abs(len(set(gpus)) - job.num_gpus),
            f"job {jid!r}: {len(set(gpus))} GPUs, needs {job.num_gpus}",
        )
        if not gpus:
            continue
        types = {cluster.gpu2type[g] for g in gpus}
        bad.add("mixed_gpu_types", len(types) - 1, f"job {jid!r}: {sorted(types)}")
        if len(types) > 1:
            structural = True
        for t in types - set(instance.pools[jid]):
            bad.add("gpu_type_not_allowed", 1, f"job {jid!r} on {t}")
        placed[jid] = tuple(sorted(set(gpus)))

    capacity = 2 if instance.space_sharing else 1
    on_gpu: dict[int, list[str]] = defaultdict(list)
    for jid, gpus in placed.items():
        for g in gpus:
            on_gpu[g].append(jid)
    partners: dict[str, set[str]] = defaultdict(set)
    for g, jids in sorted(on_gpu.items()):
        bad.add("gpu_overcommitted", len(jids) - capacity, f"GPU {g}: {', '.join(jids)}")
        for a in jids:
            partners[a].update(b for b in jids if b != a)
    partial: set[str] = set()
    if instance.space_sharing:
        seen_pairs: set[tuple[str, str]] = set()
        for a, bs in partners.items():
            for b in bs:
                pair = (min(a, b), max(a, b))
                if pair in seen_pairs or placed[a] == placed[b]:
                    continue
                seen_pairs.add(pair)
                partial.update(pair)
                bad.add(
                    "partial_overlap",
                    len(set(placed[a]) & set(placed[b])),
                    f"jobs {pair[0]!r} and {pair[1]!r}",
                )

    # Throughputs: a job's partner is the one job on exactly its GPU set. Jobs in a
    # broken arrangement (wrong size, mixed types, partial or triple sharing) get none.
    throughput: dict[str, float] = {}
    normalised: dict[str, float] = {}
    strategies: dict[str, str] = {}
    for jid in solution.strategies:
        if jid not in placed and jid in instance.job_index:
            bad.add("strategy_not_valid", 1, f"job {jid!r} does not run")
        elif jid not in instance.job_index:
            bad.add("unknown_job", 1, f"job {jid!r} (in strategies)")
    for jid, gpus in placed.items():
        job = instance.jobs[instance.job_index[jid]]
        if (
            len({cluster.gpu2type[g] for g in gpus}) > 1
            or len(gpus) != job.num_gpus
            or jid in partial
            or len(partners[jid]) > 1
            or (partners[jid] and not instance.space_sharing)
        ):
            continue
        partner = next(iter(partners[jid])) if partners[jid] else None
        partner_type = instance.jobs[instance.job_index[partner]].job_type if partner else None
        recorded = solution.strategies.get(jid)
        if recorded is not None:
            try:
                model.isolated(job.job_type, gpus, recorded)
            except InputError as exc:
                bad.add("strategy_not_valid", 1, f"job {jid!r}: {exc}")
                recorded = None
        try:
            thr = model.throughput(job.job_type, gpus, partner_type, recorded)
        except InputError:
            bad.add("pair_not_allowed", 1, f"job {jid!r} next to {partner!r}")
            continue
        strategies[jid] = recorded or model.strategy_for(job.job_type, gpus)
        throughput[jid] = thr
        normalised[jid] = thr / instance.reference[jid]

    if structural:
        objective = math.nan
    elif instance.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
        objective = sum(j.weight * normalised.get(j.id, 0.0) for j in instance.jobs)
    elif instance.objective is PlacementObjective.GPUS_USED:
        objective = float(len(on_gpu))
    else:
        objective = min(normalised.get(j.id, 0.0) for j in instance.jobs)
    details = {
        "jobs_placed": len(placed),
        "gpus_used": len(on_gpu),
        "throughput": throughput,
        "normalised_throughput": normalised,
        "strategies": strategies,
    }
    return CheckReport(NAME, objective, bad.freeze(), details)
