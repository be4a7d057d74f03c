import pytest

from optsched.cli import main
from optsched.errors import InputError
from optsched.throughput.comm import (
    cerebro_volumes,
    format_bytes,
    parse_bytes,
    ring_allreduce_time,
)

# Cerebro Table 2 (errata) example: k=20, |S|=20, p=10, m=1 GB, <D>=1 TB, |D|/b=1e5
EXPECTED = ["4.02 TB", "10.02 TB", "400.02 TB", "8 TB", "80 PB", "72 PB"]


def test_cerebro_table_row_for_row():
    rows = cerebro_volumes(20, 20, 10, 1e9, 1e12, 1e5)
    assert [format_bytes(r.bytes) for r in rows[:6]] == EXPECTED
    assert rows[0].bytes == 4.02e12
    assert rows[6].bytes == 4e12  # lower bound k m p |S|
    # PS is 10,000x BSP, all-reduce 9,000x, as the paper says
    assert rows[4].bytes / rows[3].bytes == pytest.approx(1e4)
    assert rows[5].bytes / rows[3].bytes == pytest.approx(9e3)


def test_comm_cli_prints_the_table(capsys):
    assert main(["comm"]) == 0
    out = capsys.readouterr().out
    for text in EXPECTED:
        assert text in out


def test_comm_cli_json_other_parameters(capsys):
    assert main(["comm", "--json", "-k", "1", "-S", "2", "-p", "4", "-m", "10MB"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["bytes"] == 1 * 10e6 * 4 * 2 + 10e6 * 2


def test_ring_allreduce_formula():
    # 2 (n-1)/n * M / B = 2 * 7/8 * 1e9 / 25e9
    assert ring_allreduce_time(1e9, 8, 25.0) == pytest.approx(0.07)
    assert ring_allreduce_time(1e9, 1, 25.0) == 0.0


def test_parse_bytes():
    assert parse_bytes("1GB", "m") == 1e9
    assert parse_bytes("2.5 tb", "m") == 2.5e12
    assert parse_bytes("1e6", "m") == 1e6
    with pytest.raises(InputError, match="comm: m must be a size"):
        parse_bytes("lots", "m")


def test_comm_cli_bad_size(capsys):
    assert main(["comm", "-m", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model-size" in err
