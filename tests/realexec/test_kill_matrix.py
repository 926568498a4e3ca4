"""The fault matrix's SIGKILL column (issue 5, item 1): the task process killed mid-step, on real Airflow.

For every mutating operation type the emulator holds the first call after applying it (a ``slow_response``
fault) and :class:`~tests.realexec.harness.CallKiller` SIGKILLs the process making that call, found by the
call's socket: a task runner of the LocalExecutor. Its supervisor reports the try failed, the scheduler
retries the task, and the retry must adopt what the killed try applied. The nine build operations are killed
in one interconnect run, ``ModifyAdminStatus`` in the teardown run that follows. For ``CreateVpnConnection``
the whole LocalExecutor worker (supervisor and runner) is killed instead: nothing reports that try, so the
scheduler's task heartbeat timeout must notice it (an event log entry says so).

Checked like the dag.test columns (``tests/faultmatrix.py``): the build succeeds and both pings pass,
0 duplicates by listing, 0 resources left after the teardown; and per row: the kill landed inside that
operation's call, the killed try failed, a later try of the same task succeeded, and the operation was not
applied more often than a fault-free run applies it (a ping's invocation excepted: its answer was lost, so
the retried ping invokes again). The rows join the matrix table printed at the end of the session.

Run alone: ``PYTHONPATH=. .venv/bin/python -m pytest tests/realexec/test_kill_matrix.py``.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests import faultmatrix
from tests.realexec.harness import INTERCONNECT_DAG, TEARDOWN_DAG, CallKiller, KilledCall, RealAirflow

pytestmark = [pytest.mark.slow, pytest.mark.faultmatrix]

RUN_TIMEOUT_S = 420
KILL_SCENARIOS = faultmatrix.scenarios([faultmatrix.SIGKILL])
# Operations applied again by the retry of a killed try: the retried ping task invokes its command again.
REAPPLIED_BY_RETRY = {"InvokeCommand": 1}
KILL_WORKER = frozenset({"CreateVpnConnection"})  # these rows kill the task's whole worker, not its runner


def _tries_by_ti_id(airflow: RealAirflow, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    """Every try of the run's task instances (finished tries from the history table), by try uuid."""
    tries = {}
    for table, id_column in (("task_instance_history", "task_instance_id"), ("task_instance", "id")):
        rows = airflow.db_rows(
            f"SELECT {id_column}, task_id, map_index, try_number, state FROM {table} WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        )
        for ti_id, task_id, map_index, try_number, state in rows:
            tries[uuid.UUID(str(ti_id)).hex] = {
                "task_id": task_id,
                "map_index": map_index,
                "try_number": try_number,
                "state": state,
            }
    return tries


def _final_try(tries: dict[str, dict[str, Any]], task_id: str, map_index: int) -> dict[str, Any]:
    same = [t for t in tries.values() if (t["task_id"], t["map_index"]) == (task_id, map_index)]
    return max(same, key=lambda t: t["try_number"])


def _run_with_kills(
    airflow: RealAirflow, dag_id: str, run_id: str, conf: dict[str, Any], scenarios: list[faultmatrix.Scenario]
) -> tuple[dict[str, Any], dict[str, KilledCall], list[str], tuple[float, float]]:
    """Hold each scenario's operation once, trigger the run, kill inside every held call, wait for the end."""
    faults = [f for s in scenarios for f in s.fault_config(client_timeout_s=0)["operation_faults"]]
    airflow.emulator_api("PUT", "/faults", json={"operation_faults": faults})
    began = time.time()
    with CallKiller(airflow, [s.operation for s in scenarios], kill_worker=KILL_WORKER) as killer:
        airflow.trigger(dag_id, run_id, conf)
        run = airflow.wait_for_run(dag_id, run_id, timeout=RUN_TIMEOUT_S)
    airflow.emulator_api("DELETE", "/faults")
    errors = killer.errors + [f"{op}: never called, so never killed" for op in sorted(killer.pending)]
    return run, killer.killed, errors, (began, time.time())


def _row(
    scenario: faultmatrix.Scenario,
    killed: KilledCall | None,
    tries: dict[str, dict[str, Any]],
    applied: Counter,
    run_problems: list[str],
    heartbeat_timeouts: set[str],
) -> faultmatrix.ScenarioResult:
    """One SIGKILL row: the run's own checks plus this operation's kill and retry."""
    result = faultmatrix.ScenarioResult(scenario, problems=list(run_problems))
    extra = applied[scenario.operation] - faultmatrix.FAULT_FREE_CALLS[scenario.operation]
    result.extra_calls = extra
    result.extra_by_operation = {scenario.operation: extra} if extra else {}
    if extra > REAPPLIED_BY_RETRY.get(scenario.operation, 0):
        result.problems.append(f"{scenario.operation} applied {extra} more time(s) than without the kill")
    if killed is None:
        result.problems.append("no call was killed")
        return result
    first = tries.get(uuid.UUID(killed.ti_id).hex)
    if first is None:
        result.problems.append(f"pid {killed.pids[-1]} ran no task instance of the run ({killed.ti_id})")
        return result
    final = _final_try(tries, first["task_id"], first["map_index"])
    label = first["task_id"] + (f"[{first['map_index']}]" if first["map_index"] >= 0 else "")
    result.attempts = final["try_number"]
    if first["state"] not in ("failed", "up_for_retry"):
        result.problems.append(f"the killed try {first['try_number']} of {label} ended {first['state']}")
    if final["try_number"] <= first["try_number"] or final["state"] != "success":
        result.problems.append(f"{label} was not retried to success (try {final['try_number']} {final['state']})")
    what = "runner" if killed.mode == "task" else "worker"
    pids = ",".join(map(str, killed.pids))
    result.notes.append(
        f"killed the {what} (pid {pids}) of {label} try {first['try_number']} {killed.into_call_s:.2f}s into the "
        f"call; try {final['try_number']} {final['state']}"
    )
    if killed.mode == "worker" and first["task_id"] not in heartbeat_timeouts:
        result.problems.append(f"no heartbeat-timeout event for {label}, whose worker was killed")
    return result


@pytest.mark.timeout(1200, method="signal")  # includes the harness start when this module runs alone
def test_sigkill_inside_every_mutating_call(airflow: RealAirflow, pytestconfig: pytest.Config) -> None:
    from include.jdcloud_vpn.conf import TeardownTarget

    airflow.reset_emulator()
    name = "rx-kills"
    conf = airflow.seeded_conf(name, ephemeral_probes=True)
    target = TeardownTarget(name=name, home_region=conf["home"]["region"], peer_region=conf["peer"]["region"])
    hook = airflow.hook()
    build = [s for s in KILL_SCENARIOS if s.phase == "build"]
    teardown = [s for s in KILL_SCENARIOS if s.phase == "teardown"]
    started = time.monotonic()

    build_run, build_kills, build_errors, build_window = _run_with_kills(
        airflow, INTERCONNECT_DAG, "rx_kill_matrix_build", conf, build
    )
    build_problems = [*build_errors]
    if build_run["state"] != "success":
        build_problems.append(f"build {build_run['state']}")
    report = faultmatrix.latest_report(Path(conf["report_dir"]), "interconnect")
    build_problems += faultmatrix.ping_problems(report)
    counts = faultmatrix.count_resources(hook, target)
    build_problems += faultmatrix.count_problems(counts)

    request = {**target.model_dump(), "report_dir": conf["report_dir"], "dry_run": False}
    teardown_run, teardown_kills, teardown_errors, teardown_window = _run_with_kills(
        airflow, TEARDOWN_DAG, "rx_kill_matrix_teardown", request, teardown
    )
    remaining = faultmatrix.leftovers(airflow.emulator_state(), target)
    run_problems = [*build_problems, *teardown_errors]
    if teardown_run["state"] != "success":
        run_problems.append(f"teardown {teardown_run['state']}")
    if remaining:
        run_problems.append(faultmatrix.leftover_problem(remaining))

    tries = {
        **_tries_by_ti_id(airflow, INTERCONNECT_DAG, "rx_kill_matrix_build"),
        **_tries_by_ti_id(airflow, TEARDOWN_DAG, "rx_kill_matrix_teardown"),
    }
    applied: Counter = Counter()
    for begin, end in (build_window, teardown_window):
        applied.update(r["operation"] for r in airflow.emulator_requests(since=begin) if r["time"] < end)
    kills = {**build_kills, **teardown_kills}
    events = airflow.api(
        "GET",
        "/api/v2/eventLogs",
        params={"dag_id": INTERCONNECT_DAG, "run_id": "rx_kill_matrix_build", "event": "heartbeat timeout"},
    ).json()["event_logs"]
    heartbeat_timeouts = {e["task_id"] for e in events}
    results = [
        _row(s, kills.get(s.operation), tries, applied, run_problems, heartbeat_timeouts) for s in KILL_SCENARIOS
    ]
    for result in results:
        faultmatrix.record(pytestconfig, result)

    print(
        f"\n[kill matrix] build {build_run['state']}, teardown {teardown_run['state']} in "
        f"{time.monotonic() - started:.1f}s; resources by listing after the build: {counts}; "
        f"left after the teardown: {len(remaining)}"
    )
    failed = [f"{r.id}: {r.outcome}" for r in results if not r.passed]
    assert not failed, "\n".join(failed)
    assert len(results) == len(faultmatrix.OPERATIONS) == 10
