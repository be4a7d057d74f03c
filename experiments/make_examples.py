"""Regenerate ``instances/examples/``: the hand-checked instances and solutions.

Run from the repository root: ``python experiments/make_examples.py``.
"""

from __future__ import annotations

from pathlib import Path

from optsched.io import write_instance, write_solution
from optsched.model import gavel
from optsched.model.topology import Cluster
from optsched.problems.hopper import HopperInstance, HopperSolution
from optsched.problems.placement import Job, PlacementInstance, PlacementSolution
from optsched.problems.spase import SpaseInstance, SpaseSolution, Task, TaskConfig, TaskPlan
from optsched.problems.timeslot import Run, TimeslotInstance, TimeslotJob, TimeslotSolution

OUT = Path(__file__).resolve().parent.parent / "instances" / "examples"
HOUR = 3600.0


def cerebro_fig5() -> None:
    """Cerebro (VLDB'20) Figure 5: configs A..E of 6, 3, 3, 3, 6 per epoch on 3 workers.

    One unit is a third of an epoch: A and E units take 2, B, C, D units take 1.
    Every worker's load is 2+1+1+1+2 = 7, so 7 is a lower bound, and the
    schedule below attains it.
    """
    per_epoch = {"A": 6, "B": 3, "C": 3, "D": 3, "E": 6}
    inst = HopperInstance(
        "cerebro_fig5",
        tuple(per_epoch),
        ("w1", "w2", "w3"),
        tuple((t / 3,) * 3 for t in per_epoch.values()),
    )
    write_instance(OUT / "cerebro_fig5.json", inst)
    starts = ((1, 5, 3), (0, 4, 6), (4, 1, 5), (3, 0, 2), (5, 2, 0))
    write_solution(
        OUT / "cerebro_fig5.optimal.solution.json",
        HopperSolution(tuple(tuple(float(s) for s in r) for r in starts)),
        instance=inst,
    )


def saturn_fig4() -> None:
    """Saturn (VLDB'24) Figure 4: 3 models on 2 servers x 4 GPUs; optimum 30 h.

    Optimal plan: C (FSDP, 4 GPUs, 24 h) on server 0; B (pipelining, 2 GPUs,
    30 h) and A (FSDP, 2 GPUs, 10 h) side by side on server 1. A 54 h plan
    (C then B on server 0, A on server 1) is feasible but not optimal.
    """
    cluster = Cluster.from_dict(
        {
            "name": "saturn-2x4",
            "racks": [{"id": "r0"}],
            "servers": [
                {"id": "n0", "rack": "r0", "gpu_type": "a100", "num_gpus": 4, "link": "nvswitch"},
                {"id": "n1", "rack": "r0", "gpu_type": "a100", "num_gpus": 4, "link": "nvswitch"},
            ],
        }
    )
    tasks = (
        Task(
            "A",
            (
                TaskConfig("fsdp", 2, 10 * HOUR),
                TaskConfig("pipelining", 3, 8 * HOUR),
                TaskConfig("fsdp", 4, 7 * HOUR),
            ),
        ),
        Task(
            "B",
            (
                TaskConfig("spilling", 1, 40 * HOUR),
                TaskConfig("pipelining", 2, 30 * HOUR),
                TaskConfig("fsdp", 3, 27 * HOUR),
                TaskConfig("pipelining", 4, 25 * HOUR),
            ),
        ),
        Task("C", (TaskConfig("fsdp", 4, 24 * HOUR),)),
    )
    inst = SpaseInstance("saturn_fig4", cluster, tasks)
    write_instance(OUT / "saturn_fig4.json", inst)
    optimal = SpaseSolution(
        {
            "C": TaskPlan(0, (0, 1, 2, 3), 0.0),
            "B": TaskPlan(1, (4, 5), 0.0),
            "A": TaskPlan(0, (6, 7), 0.0),
        }
    )
    write_solution(OUT / "saturn_fig4.optimal.solution.json", optimal, instance=inst)
    plan54 = SpaseSolution(
        {
            "C": TaskPlan(0, (0, 1, 2, 3), 0.0),
            "B": TaskPlan(1, (0, 1), 24 * HOUR),
            "A": TaskPlan(0, (4, 5), 0.0),
        }
    )
    write_solution(OUT / "saturn_fig4.54h.solution.json", plan54, instance=inst)


def placement_small() -> None:
    """A 12-GPU Gavel-style cluster (8 V100 in two servers, 4 K80), 5 jobs, sharing on."""
    cluster = gavel({"v100": 8, "k80": 4}, gpus_per_server=4, name="gavel-8v100-4k80")
    jobs = (
        Job("resnet50", "ResNet-50 (batch size 64)", 4, 2.0),
        Job("transformer", "Transformer (batch size 64)", 4),
        Job("lm", "LM (batch size 20)", 2, gpu_types=("v100",)),
        Job("resnet18", "ResNet-18 (batch size 64)", 1),
        Job("a3c", "A3C", 1, gpu_types=("k80", "v100")),
    )
    inst = PlacementInstance("placement_small", cluster, jobs, space_sharing=True)
    write_instance(OUT / "placement_small.json", inst)
    sol = PlacementSolution(
        {
            "resnet50": (0, 1, 2, 3),
            "transformer": (4, 5, 6, 7),
            "lm": (),  # does not run: both V100 servers are taken
            "resnet18": (8,),
            "a3c": (8,),
        }
    )
    write_solution(
        OUT / "placement_small.solution.json",
        PlacementSolution({k: v for k, v in sol.assignment.items() if v}),
        instance=inst,
    )


def timeslot_small() -> None:
    """Four jobs on 4 V100 + 4 K80 for 6 rounds of 360 s; makespan objective."""
    cluster = gavel({"v100": 4, "k80": 4}, gpus_per_server=4, name="gavel-4v100-4k80")
    jobs = (
        TimeslotJob("a", "ResNet-50 (batch size 32)", 2, work=5000.0),
        TimeslotJob("b", "ResNet-18 (batch size 64)", 1, work=20000.0, release=1),
        TimeslotJob("c", "LM (batch size 20)", 4, work=30000.0),
        TimeslotJob("d", "Transformer (batch size 32)", 2, work=3000.0, weight=2.0),
    )
    inst = TimeslotInstance("timeslot_small", cluster, jobs, num_slots=6)
    write_instance(OUT / "timeslot_small.json", inst)
    runs = [Run("a", s, "v100") for s in range(2)] + [Run("d", s, "v100") for s in range(2)]
    runs += [Run("c", s, "k80") for s in range(3)]
    runs += [Run("b", s, "v100") for s in range(2, 5)]
    write_solution(
        OUT / "timeslot_small.solution.json", TimeslotSolution(tuple(runs)), instance=inst
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cerebro_fig5()
    saturn_fig4()
    placement_small()
    timeslot_small()
    print(f"wrote {len(list(OUT.glob('*.json')))} files to {OUT}")


if __name__ == "__main__":
    main()
