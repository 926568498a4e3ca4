"""The pure parts of ``scripts/bench.py`` (``make bench``): run overlap, failed tries, the as-run replay."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from include.jdcloud_emulator.critical_path import Step

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_script", REPO / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _run(run_id: str, start: str, end: str, state: str = "success") -> dict:
    return {
        "dag_run_id": run_id,
        "start_date": f"2026-12-01T10:00:{start}+00:00",
        "end_date": f"2026-12-01T10:00:{end}+00:00",
        "state": state,
    }


def test_measured_counts_overlap_and_failed_tries(bench: ModuleType) -> None:
    runs = [_run("a", "00", "30"), _run("b", "10", "40"), _run("c", "35", "50", "failed")]
    tis = {
        "a": [{"try_number": 1, "state": "success"}, {"try_number": 3, "state": "success"}],
        "c": [{"try_number": 2, "state": "failed"}],
    }
    measured = bench.Measured("d", runs, tis, [{"operation": "CreateBgw"}, {"operation": "CreateBgw"}])
    assert measured.wall_s == 50
    assert measured.max_concurrent_runs() == 2  # a and b overlap, c starts after a ended
    assert measured.failed_tries() == 2 + 1 + 1
    assert measured.api_calls() == {"CreateBgw": 2}


def test_the_replay_finds_the_idle_calls_on_the_as_run_chain(bench: ModuleType) -> None:
    """a is called at 1 s; b waits out 5 s (ends at 6); c could be called at 6 but is called at 10 (idle 4);
    the ping's path needs c and the slower-starting d (called at 0, 3 s): ready at 10; its invocation, sent at
    11, starts 2 s later, so the echo requests (2 s) begin at 13 (idle 3) and end at 15."""
    latencies = {"x": 1.0}
    steps = [
        Step("a", operations=("A",)),
        Step("b", ("a",), (("x", 5),)),
        Step("c", ("b",), operations=("C",)),
        Step("d", (), (("x", 3),), ("D",)),
        Step("invoke_ping_x", (), (("x", 2),), ("P",)),
        Step("ping_x", ("invoke_ping_x", "c", "d"), (("x", 2),)),
    ]
    start = 1000.0
    calls = {"a": 1001.0, "c": 1010.0, "d": 1000.0, "invoke_ping_x": 1011.0}
    replayed = bench.replay(steps, latencies, calls, start)
    assert replayed.ends == {"a": 1.0, "b": 6.0, "c": 10.0, "d": 3.0, "invoke_ping_x": 13.0, "ping_x": 15.0}
    chain = bench.as_run_chain(steps, latencies, replayed)
    assert [(e["step"], e["possible_s"], e["called_s"], e["idle_s"]) for e in chain] == [
        ("a", 0.0, 1.0, 1.0),
        ("b", 1.0, 1.0, 0.0),
        ("c", 6.0, 10.0, 4.0),
        ("ping_x", 10.0, 13.0, 3.0),
    ]


def test_step_call_times_map_calls_to_sides_by_region(bench: ModuleType) -> None:
    conf = {"home": {"region": "cn-north-1"}, "peer": {"region": "cn-east-2"}}

    def call(operation: str, region: str, at: float, status: int = 200) -> dict:
        return {"operation": operation, "path": f"/v1/regions/{region}/x", "time": at, "status": status}

    requests = [
        call("CreateVpnTunnel", "cn-north-1", 5),
        call("CreateBgw", "cn-east-2", 2, status=503),
        call("CreateBgw", "cn-east-2", 3),
        call("CreateVpnTunnel", "cn-north-1", 6),
        call("InvokeCommand", "cn-east-2", 9),
        call("DescribeBgws", "cn-north-1", 1),
    ]
    assert bench.step_call_times(conf, requests) == {
        "create_vpn_tunnel_home_1": 5,
        "create_vpn_tunnel_home_2": 6,
        "create_bgw_peer": 3,  # the first successful call
        "invoke_ping_peer_to_home": 9,
    }
