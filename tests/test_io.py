import copy
import json

import jsonschema
import pytest

from optsched.errors import InputError
from optsched.io import (
    instance_from_dict,
    read_instance,
    read_solution,
    schema,
    solution_from_dict,
    write_instance,
    write_solution,
)

INSTANCES = ["cerebro_fig5", "saturn_fig4", "placement_small", "timeslot_small"]


@pytest.mark.parametrize("name", INSTANCES)
def test_instance_round_trip(examples, tmp_path, name):
    inst = read_instance(examples / f"{name}.json")
    assert instance_from_dict(inst.to_dict()) == inst
    write_instance(tmp_path / "x.json", inst)
    assert read_instance(tmp_path / "x.json") == inst
    assert json.loads((tmp_path / "x.json").read_text()) == inst.to_dict()


@pytest.mark.parametrize(
    "path",
    [
        "cerebro_fig5.optimal",
        "saturn_fig4.optimal",
        "saturn_fig4.54h",
        "placement_small",
        "timeslot_small",
    ],
)
def test_solution_round_trip(examples, tmp_path, path):
    sol = read_solution(examples / f"{path}.solution.json")
    assert solution_from_dict(sol.to_dict()) == sol
    write_solution(tmp_path / "s.json", sol, "x")
    assert read_solution(tmp_path / "s.json") == sol


def test_shipped_files_match_the_json_schema(examples):
    validator = jsonschema.Draft202012Validator(schema())
    files = sorted(examples.glob("*.json"))
    assert len(files) >= 9
    for f in files:
        validator.validate(json.loads(f.read_text()))


def test_schema_rejects_what_loaders_reject(examples):
    validator = jsonschema.Draft202012Validator(schema())
    data = json.loads((examples / "placement_small.json").read_text())
    data["jobs"][0]["num_gpus"] = 0
    assert not validator.is_valid(data)


def _placement(examples):
    return json.loads((examples / "placement_small.json").read_text())


def _timeslot(examples):
    return json.loads((examples / "timeslot_small.json").read_text())


BAD = [
    # (loader fixture, mutation, expected message fragment)
    (_placement, lambda d: d.update(version=2), "unsupported version 2"),
    (_placement, lambda d: d.update(format="other"), "format must be 'optsched-instance'"),
    (_placement, lambda d: d.update(family="chess"), "family must be one of"),
    (
        _placement,
        lambda d: d["jobs"][0].update(job_type="GPT-9"),
        "job 'resnet50': unknown job type 'GPT-9'",
    ),
    (
        _placement,
        lambda d: d["jobs"][0].update(gpu_types=["tpu"]),
        "job 'resnet50': unknown gpu type 'tpu'",
    ),
    (
        _placement,
        lambda d: d["jobs"][0].update(num_gpus=0),
        "job 'resnet50': num_gpus must be >= 1, got 0",
    ),
    (
        _placement,
        lambda d: d["jobs"][2].update(num_gpus=12),
        "job 'lm': num_gpus 12 fits no allowed GPU pool (v100)",
    ),
    (
        _placement,
        lambda d: d["jobs"][0].update(weight=-1),
        "job 'resnet50': weight must be > 0, got -1",
    ),
    (
        _placement,
        lambda d: d["jobs"].append(copy.deepcopy(d["jobs"][0])),
        "duplicate job id 'resnet50'",
    ),
    (
        _placement,
        lambda d: d["cluster"]["servers"][0].update(rack="gone"),
        "rack 'gone' does not exist",
    ),
    (_placement, lambda d: d.update(objective="speed"), "objective must be one of"),
    (_placement, lambda d: d.update(space_sharing="yes"), "space_sharing must be true or false"),
    (_placement, lambda d: d.update(extra=1), "unknown field 'extra'"),
    (_placement, lambda d: d.pop("jobs"), "missing field 'jobs'"),
    (_timeslot, lambda d: d["jobs"][0].update(work=-5.0), "job 'a': work must be > 0, got -5"),
    (
        _timeslot,
        lambda d: d["jobs"][0].update(work=float("nan")),
        "job 'a': work must be finite, got nan",
    ),
    (
        _timeslot,
        lambda d: d["jobs"][0].update(release=6),
        "job 'a': release must be < num_slots (6), got 6",
    ),
    (_timeslot, lambda d: d.update(slot_seconds=0), "slot_seconds must be > 0, got 0"),
    (
        _timeslot,
        lambda d: d.update(restart_overhead=400),
        "restart_overhead must be < slot_seconds",
    ),
    (_timeslot, lambda d: d.update(num_slots=1.5), "num_slots must be an integer, got 1.5"),
]


@pytest.mark.parametrize("load, mutate, message", BAD)
def test_bad_instances_get_one_line_errors(examples, load, mutate, message):
    data = load(examples)
    mutate(data)
    with pytest.raises(InputError) as err:
        instance_from_dict(data)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda d: d["times"][0].__setitem__(1, -1.0),
            "config 'A': times['w2'] must be >= 0, got -1",
        ),
        (
            lambda d: d["times"][0].__setitem__(1, float("inf")),
            "times['w2'] must be finite, got inf",
        ),
        (lambda d: d["times"].pop(), "times must have one row per config (5), got 4"),
        (
            lambda d: d["times"][2].pop(),
            "config 'C': times must have one entry per worker (3), got 2",
        ),
        (lambda d: d["workers"].__setitem__(1, "w1"), "duplicate worker id 'w1'"),
    ],
)
def test_bad_hopper(examples, mutate, message):
    data = json.loads((examples / "cerebro_fig5.json").read_text())
    mutate(data)
    with pytest.raises(InputError) as err:
        instance_from_dict(data)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda d: d["tasks"][2]["configs"][0].update(num_gpus=5),
            "task 'C': num_gpus 5 fits no server",
        ),
        (
            lambda d: d["tasks"][0]["configs"][0].update(runtime=0),
            "task 'A' config 0: runtime must be > 0",
        ),
        (lambda d: d["tasks"][1].update(configs=[]), "task 'B': configs must not be empty"),
        (lambda d: d["tasks"][1].update(id="A"), "duplicate task id 'A'"),
    ],
)
def test_bad_spase(examples, mutate, message):
    data = json.loads((examples / "saturn_fig4.json").read_text())
    mutate(data)
    with pytest.raises(InputError) as err:
        instance_from_dict(data)
    assert message in str(err.value)


def test_malformed_json_names_file_and_position(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"format": "optsched-instance",\n "version": 1,, }')
    with pytest.raises(InputError, match=r"bad.json: malformed JSON at line 2 column 15"):
        read_instance(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_instance(tmp_path / "nope.json")


def test_write_is_atomic(tmp_path):
    # a value JSON cannot hold makes the write fail before anything lands
    from optsched.io import write_json

    target = tmp_path / "out.json"
    with pytest.raises(ValueError):
        write_json(target, {"x": float("nan")})
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
