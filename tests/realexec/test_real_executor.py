"""The interconnect DAG on real Airflow components (LocalExecutor, triggerer, supervisor log pipeline).

One harness (``tests/realexec/harness.py``, the ``airflow`` fixture of the package) serves every test: ~25 s to
start, then

1. secret hygiene: a full build; the PSK (generated into a Variable by the DAG), the access key and the
   secret key must appear in no artifact: task and trigger logs, component output, XCom, rendered
   template fields, the metadata DB, the reports, the emulator's request log and output;
2. mid-step kills: ``CreateVpnConnection`` is slowed on the emulator side; while each side's task is
   inside that call, the peer task's runner process is SIGKILLed (its supervisor reports it) and the home
   task's whole LocalExecutor worker (supervisor and runner) is SIGKILLed (the scheduler's heartbeat
   timeout detects it); both are retried, the run succeeds, and there is one VPN connection per side;
3. concurrency: two runs of the same new interconnect triggered at the same moment both succeed
   (``max_active_runs=1`` queues the second) and the emulator holds exactly one of each resource.

Run alone: ``PYTHONPATH=. .venv/bin/python -m pytest tests/realexec -m slow -s`` (``-s`` shows the tables).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from include.jdcloud_vpn import naming
from tests.realexec.harness import INTERCONNECT_DAG, HarnessError, RealAirflow, SecretScan

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 180
SLOW_CREATE_S = 4.0  # the emulator holds each of the two CreateVpnConnection calls this long


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def _states(airflow: RealAirflow, run_id: str) -> dict[str, tuple[str, int]]:
    return {
        f"{ti['task_id']}[{ti['map_index']}]" if ti["map_index"] >= 0 else ti["task_id"]: (
            ti["state"],
            ti["try_number"],
        )
        for ti in airflow.task_instances(INTERCONNECT_DAG, run_id)
    }


def _assert_success(airflow: RealAirflow, run: dict) -> None:
    if run["state"] != "success":
        failed = {k: v for k, v in _states(airflow, run["dag_run_id"]).items() if v[0] != "success"}
        pytest.fail(f"run {run['dag_run_id']} ended {run['state']}; tasks not successful: {failed}")


def _resource_counts(state: dict, name: str) -> dict[str, int]:
    """The interconnect's resources in the emulator, counted by listing (names are ``ic-<name>-<side>-<kind>``)."""
    name = f"{naming.PREFIX}-{name}-"
    bgw_ids = {b["bgwId"] for b in state["bgws"] if b["bgwName"].startswith(name)}
    connection_ids = {c["vpnConnectionId"] for c in state["vpnConnections"] if c["vpnConnectionName"].startswith(name)}
    return {
        "bgws": len(bgw_ids),
        "vpcAttachments": sum(1 for a in state["vpcAttachments"] if a["bgwId"] in bgw_ids),
        "customerGateways": sum(1 for c in state["customerGateways"] if c["customerGatewayName"].startswith(name)),
        "vpnConnections": len(connection_ids),
        "vpnTunnels": sum(1 for t in state["vpnTunnels"] if t["vpnConnectionId"] in connection_ids),
        "staticRoutes": sum(
            1 for r in state["bgwRoutes"] if r.get("bgwId") in bgw_ids and r.get("origin", "static") == "static"
        ),
    }


EXPECTED_CREATES = {  # one successful create per resource (plus the two ping commands)
    "CreateBgw": 2,
    "CreateVpcAttachment": 2,
    "CreateCustomerGateway": 2,
    "CreateVpnConnection": 2,
    "CreateVpnTunnel": 4,
    "CreateBgwRoute": 2,
    "CreateCommand": 2,
}
EXPECTED = {
    "bgws": 2,
    "vpcAttachments": 2,
    "customerGateways": 2,
    "vpnConnections": 2,
    "vpnTunnels": 4,
    "staticRoutes": 2,
}


def _successful_creates(airflow: RealAirflow, since: float) -> Counter:
    return Counter(
        r["operation"]
        for r in airflow.emulator_requests(since=since)
        if r["operation"].startswith("Create") and r["status"] == 200
    )


# ---------------------------------------------------------------------- 1. secret hygiene


@pytest.mark.timeout(420, method="signal")  # includes the harness start (first test of the module)
def test_secret_hygiene_with_real_task_runner(airflow: RealAirflow) -> None:
    airflow.reset_emulator()
    name, run_id = "rx-secrets", "rx_secret_hygiene"
    conf = airflow.seeded_conf(name)
    started = time.monotonic()
    airflow.trigger(INTERCONNECT_DAG, run_id, conf)
    run = airflow.wait_for_run(INTERCONNECT_DAG, run_id, timeout=RUN_TIMEOUT_S)
    print(f"\n[secrets] run {run_id}: {run['state']} in {time.monotonic() - started:.1f}s")
    _assert_success(airflow, run)

    psk = airflow.variable(f"jdcloud_vpn_psk_{name}")
    assert len(psk) >= 8, "the generated PSK is too short for the masker to act on"
    scan = SecretScan({"PSK": psk, "AK": airflow.access_key, "SK": airflow.secret_key})

    # Positive control: the PSK searched for is the one the tunnels use (the cloud stores it).
    state = airflow.emulator_state()
    control = scan.scan_texts("(control) emulator state", {"tunnels": json.dumps(state["vpnTunnels"])})
    assert control.hits["PSK"] == ["tunnels"], "the Variable's PSK is not the tunnels' PSK: the scan is meaningless"
    scan.rows.remove(control)

    logs = [p for p in airflow.logs_dir.rglob("*") if p.is_file()]
    run_logs = [p for p in logs if f"run_id={run_id}" in str(p)]
    scan.scan_files("task logs (files)", [p for p in run_logs if ".trigger." not in p.name], airflow.logs_dir)
    scan.scan_files("trigger logs (files)", [p for p in run_logs if ".trigger." in p.name], airflow.logs_dir)
    scan.scan_files("other Airflow logs (files)", [p for p in logs if p not in run_logs], airflow.logs_dir)
    scan.scan_files(
        "component stdout/stderr",
        [p for p in airflow.proc_dir.iterdir() if not p.name.startswith("emulator")],
        airflow.proc_dir,
    )

    tis = airflow.task_instances(INTERCONNECT_DAG, run_id)
    served_logs = {}
    for ti in tis:
        for attempt in range(1, ti["try_number"] + 1):
            suffix = f"/{ti['map_index']}" if ti["map_index"] >= 0 else ""
            path = f"/api/v2/dags/{INTERCONNECT_DAG}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{attempt}"
            response = airflow.api("GET", path, params={"map_index": ti["map_index"]} if suffix else None)
            served_logs[f"{ti['task_id']}[{ti['map_index']}] try {attempt}"] = response.text
    scan.scan_texts("task logs (REST API, as the UI shows)", served_logs, f"{len(served_logs)} logs")

    xcoms = airflow.xcom_values(INTERCONNECT_DAG, run_id)
    scan.scan_texts(
        "XCom values (REST API)",
        {f"{x['task_id']}[{x['map_index']}] {x['key']}": json.dumps(x["value"]) for x in xcoms},
    )
    scan.scan_texts(
        "rendered template fields (REST API)",
        {f"{ti['task_id']}[{ti['map_index']}]": json.dumps(ti["rendered_fields"]) for ti in tis},
    )
    scan.scan_texts("DAG run (REST API: conf, note)", {run_id: json.dumps(airflow.dag_run(INTERCONNECT_DAG, run_id))})

    db_tables = {}
    for (table,) in airflow.db_rows("SELECT name FROM sqlite_master WHERE type = 'table'"):
        rows = airflow.db_rows(f'SELECT * FROM "{table}"')
        db_tables[table] = "\n".join(
            " ".join(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in row) for row in rows
        )
    scan.scan_texts("metadata DB (every table, raw)", db_tables, f"{len(db_tables)} tables")

    reports = list((airflow.report_dir / name).glob("*"))
    assert reports, "the run wrote no report"
    scan.scan_files("reports", reports, airflow.report_dir)
    scan.scan_texts("emulator request log (/requests)", {"requests": json.dumps(airflow.emulator_requests())}, "1 log")
    scan.scan_files("emulator stdout/stderr", airflow.proc_dir.glob("emulator.*"), airflow.proc_dir)

    print(
        f"[secrets] PSK {len(psk)} chars (Variable jdcloud_vpn_psk_{name}), AK {len(airflow.access_key)} chars, "
        f"SK {len(airflow.secret_key)} chars; every value also searched JSON-escaped"
    )
    print(scan.table())
    for secret in ("PSK", "SK", "AK"):
        assert scan.total(secret) == 0, f"{secret} found in: {scan.where(secret)}"


# ---------------------------------------------------------------------- 2. mid-step worker kill


def _slow_down_creates(airflow: RealAirflow) -> str:
    """Make both CreateVpnConnection calls slow on the emulator side; return how.

    ``slow_response`` (an operation fault, when the emulator has them) commits the connection, then holds
    the answer ``SLOW_CREATE_S``: the kill lands after the commit, a lost response. The fallback, ``latency``,
    sleeps before committing; the emulator still commits once the killed client is gone.
    """
    if "operation_faults" in airflow.emulator_api("GET", "/faults"):
        fault = {"operation": "CreateVpnConnection", "kind": "slow_response", "count": 2, "delay_s": SLOW_CREATE_S}
        airflow.emulator_api("PATCH", "/faults", json={"operation_faults": [fault]})
        return "slow_response"
    airflow.emulator_api(
        "PATCH", "/faults", json={"latency_ms": SLOW_CREATE_S * 1000, "latency_operations": ["CreateVpnConnection"]}
    )
    return "latency"


def _connection_named(airflow: RealAirflow, connection_name: str) -> list[dict]:
    return [c for c in airflow.emulator_state()["vpnConnections"] if c["vpnConnectionName"] == connection_name]


def _kill_inside_create(
    airflow: RealAirflow, run_id: str, name: str, side: str, region: str, mode: str, slow: str
) -> dict:
    """Wait until the side's create_vpn_connection task (try 1) is inside its slow CreateVpnConnection
    call, then SIGKILL its task runner (``mode="task"``) or its whole worker (``"worker"``)."""
    task_id = f"vpn_connections.create_vpn_connection_{side}"
    connection_name = f"{naming.PREFIX}-{name}-{side}-vpn"
    ti = airflow.wait_for_ti(
        INTERCONNECT_DAG, run_id, task_id, lambda t: t["state"] == "running" and t["try_number"] == 1, timeout=120
    )
    since = _ts(ti["start_date"]) - 1
    deadline = time.monotonic() + 60
    if slow == "slow_response":  # committed, answer held: the connection exists while the task still waits
        while not _connection_named(airflow, connection_name):
            if time.monotonic() > deadline:
                raise HarnessError(f"{task_id} never created {connection_name}")
            time.sleep(0.05)
        time.sleep(0.3)
    else:  # the step lists the connections by name first (logged once answered); its next call is the create
        while not any(
            f"/regions/{region}/" in r["path"]
            for r in airflow.emulator_requests(since=since, operation="DescribeVpnConnections")
        ):
            if time.monotonic() > deadline:
                raise HarnessError(f"{task_id} never listed the VPN connections in {region}")
            time.sleep(0.05)
        time.sleep(SLOW_CREATE_S / 4)
    ti = airflow.task_instance(INTERCONNECT_DAG, run_id, task_id)
    assert ti["state"] == "running" and ti["try_number"] == 1, ti
    killed = airflow.kill_task_process(ti, mode=mode)
    committed_at_kill = bool(_connection_named(airflow, connection_name))

    # Detection: the try leaves RUNNING (up_for_retry); then the retry (try 2) starts.
    detected = airflow.wait_for_ti(
        INTERCONNECT_DAG, run_id, task_id, lambda t: t["state"] != "running" or t["try_number"] > 1, timeout=90
    )
    detected_at = time.time()
    retried = airflow.wait_for_ti(
        INTERCONNECT_DAG,
        run_id,
        task_id,
        lambda t: t["try_number"] >= 2 and t["state"] in ("running", "success", "deferred"),
        timeout=90,
        interval=0.5,
    )
    creates = [
        r
        for r in airflow.emulator_requests(since=since, operation="CreateVpnConnection")
        if f"/regions/{region}/" in r["path"]
    ]
    return {
        "task_id": task_id,
        "mode": mode,
        "pids": killed.killed_pids,
        "killed_at": killed.at,
        "committed_at_kill": committed_at_kill,
        "create_started_at": creates[0]["time"] if creates else None,
        "state_after_kill": detected["state"],
        "detected_after_s": detected_at - killed.at,
        "retry_started_after_s": (_ts(retried["start_date"]) or time.time()) - killed.at,
    }


def _value(stored: object) -> object:
    """An XCom value as the REST API returns it natively: JSON, possibly still as a string."""
    if isinstance(stored, str):
        try:
            return json.loads(stored)
        except ValueError:
            return stored
    return stored


def _return_value(airflow: RealAirflow, run_id: str, task_id: str) -> dict:
    path = f"/api/v2/dags/{INTERCONNECT_DAG}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    return _value(airflow.api("GET", path).json()["value"])


@pytest.mark.timeout(300, method="signal")
def test_worker_killed_mid_step_is_retried_without_duplicates(airflow: RealAirflow) -> None:
    airflow.reset_emulator()
    name, run_id = "rx-kill", "rx_mid_step_kill"
    conf = airflow.seeded_conf(name)
    since = time.time()
    slow = _slow_down_creates(airflow)
    started = time.monotonic()
    airflow.trigger(INTERCONNECT_DAG, run_id, conf)
    kills = [
        # The task runner only: its supervisor sees exit -9 and reports the try failed -> up_for_retry.
        _kill_inside_create(airflow, run_id, name, "peer", "cn-east-2", "task", slow),
        # The whole LocalExecutor worker (supervisor + runner): only the heartbeat timeout can tell.
        _kill_inside_create(airflow, run_id, name, "home", "cn-north-1", "worker", slow),
    ]
    airflow.emulator_api("DELETE", "/faults")
    run = airflow.wait_for_run(INTERCONNECT_DAG, run_id, timeout=RUN_TIMEOUT_S)
    elapsed = time.monotonic() - started

    print(
        f"\n[kill] run {run_id}: {run['state']} in {elapsed:.1f}s; CreateVpnConnection slowed by {slow} "
        f"({SLOW_CREATE_S:.0f}s)"
    )
    print(
        f"{'killed task':<44} {'kill':<7} {'pids':<12} {'into call':>9} {'committed':>9} "
        f"{'TI became':<13} {'after':>6} {'try 2 at':>8}"
    )
    for k in kills:
        in_call = k["killed_at"] - k["create_started_at"] if k["create_started_at"] else float("nan")
        print(
            f"{k['task_id']:<44} {k['mode']:<7} {','.join(map(str, k['pids'])):<12} {in_call:>8.2f}s "
            f"{k['committed_at_kill']!s:>9} {k['state_after_kill']:<13} {k['detected_after_s']:>5.1f}s "
            f"{k['retry_started_after_s']:>7.1f}s"
        )
    _assert_success(airflow, run)

    for k in kills:
        tries = airflow.tries(INTERCONNECT_DAG, run_id, k["task_id"])
        result = _return_value(airflow, run_id, k["task_id"])
        print(
            f"[kill] {k['task_id']}: tries {[(t['try_number'], t['state']) for t in tries]}, "
            f"final try {'adopted' if not result['created'] else 'created'} {result['vpn_connection_id']}"
        )
        final = airflow.task_instance(INTERCONNECT_DAG, run_id, k["task_id"])
        assert final["try_number"] >= 2 and final["state"] == "success"
        assert tries[0]["state"] in ("failed", "up_for_retry"), tries
        assert k["state_after_kill"] == "up_for_retry"
        # The SIGKILL landed while the emulator was still holding the create call ...
        assert k["create_started_at"] is not None and 0 < k["killed_at"] - k["create_started_at"] < SLOW_CREATE_S
        if slow == "slow_response":
            assert k["committed_at_kill"], "the kill should land after the emulator committed the connection"
        # ... whose connection the retry found and adopted instead of creating a second one.
        assert result["created"] is False
    events = airflow.api(
        "GET", "/api/v2/eventLogs", params={"dag_id": INTERCONNECT_DAG, "run_id": run_id, "event": "heartbeat timeout"}
    ).json()["event_logs"]
    print(f"[kill] heartbeat-timeout events: {[e['task_id'] for e in events]}")
    assert [e["task_id"] for e in events] == ["vpn_connections.create_vpn_connection_home"]

    counts = _resource_counts(airflow.emulator_state(), name)
    creates = _successful_creates(airflow, since)
    print(f"[kill] resources by listing: {counts}; successful creates: {dict(sorted(creates.items()))}")
    assert counts == EXPECTED
    assert dict(creates) == EXPECTED_CREATES


# ---------------------------------------------------------------------- 3. concurrency


@pytest.mark.timeout(360, method="signal")
def test_two_runs_of_the_same_interconnect_started_together(airflow: RealAirflow) -> None:
    airflow.reset_emulator()
    name = "rx-conc"
    conf = airflow.seeded_conf(name)
    since = time.time()
    run_ids = ["rx_concurrent_a", "rx_concurrent_b"]
    airflow.api("GET", "/api/v2/version")  # token fetched once, before the threads share the client
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda run_id: airflow.trigger(INTERCONNECT_DAG, run_id, conf), run_ids))
    triggered = time.monotonic()
    runs = [airflow.wait_for_run(INTERCONNECT_DAG, run_id, timeout=2 * RUN_TIMEOUT_S) for run_id in run_ids]
    gap = abs(_ts(runs[0]["queued_at"]) - _ts(runs[1]["queued_at"]))
    print(f"\n[concurrency] triggered {gap:.2f}s apart; both finished {time.monotonic() - triggered:.1f}s later")
    for run in runs:
        queued, start, end = (_ts(run.get(k)) for k in ("queued_at", "start_date", "end_date"))
        print(
            f"[concurrency] {run['dag_run_id']}: {run['state']}, queued {start - queued:.1f}s, "
            f"ran {end - start:.1f}s ({run['start_date']} -> {run['end_date']})"
        )
    for run in runs:
        _assert_success(airflow, run)
    first, second = sorted(runs, key=lambda r: r["start_date"])
    assert _ts(second["start_date"]) >= _ts(first["end_date"]), "max_active_runs=1 should have queued one run"

    counts = _resource_counts(airflow.emulator_state(), name)
    creates = _successful_creates(airflow, since)
    print(f"[concurrency] resources by listing: {counts}; successful creates: {dict(sorted(creates.items()))}")
    assert counts == EXPECTED
    # The second run adopted everything: no create call beyond one per resource, no step reporting "created".
    assert dict(creates) == EXPECTED_CREATES
    created_by_second = [
        f"{x['task_id']}[{x['map_index']}]"
        for x in airflow.xcom_values(INTERCONNECT_DAG, second["dag_run_id"], key="return_value")
        if isinstance(_value(x["value"]), dict) and _value(x["value"]).get("created")
    ]
    print(f"[concurrency] steps of the second run ({second['dag_run_id']}) that created something: {created_by_second}")
    assert created_by_second == []
