"""The interconnect DAG on real Airflow components (LocalExecutor, triggerer, supervisor log pipeline).

One harness (``tests/realexec/harness.py``, the ``airflow`` fixture of the package) serves every test: ~25 s to
start, then

1. secret hygiene: a full build; the PSK (generated into a Variable by the DAG), the access key and the
   secret key must appear in no artifact: task and trigger logs, component output, XCom, rendered
   template fields, the Variables REST API (the PSK's key is one Airflow masks), the metadata DB (Variables
   encrypted with the Fernet key), the reports, the emulator's request log and output;
2. concurrency: two runs of the same new interconnect triggered at the same moment both succeed, the second
   waiting in the guard (``wait_for_interconnect_lock``) until the first has ended, and the emulator holds
   exactly one of each resource; two runs on two different interconnects triggered together both succeed,
   overlapping in time, neither waiting for the other.

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
from include.jdcloud_vpn.conf import default_psk_variable
from tests import summary
from tests.realexec.harness import INTERCONNECT_DAG, RealAirflow, SecretScan, resource_counts, strong_secret

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 180
GUARD_TASK_ID = "wait_for_interconnect_lock"


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
def test_secret_hygiene_with_real_task_runner(airflow: RealAirflow, pytestconfig: pytest.Config) -> None:
    airflow.reset_emulator()
    name, run_id = "rx-secrets", "rx_secret_hygiene"
    conf = airflow.seeded_conf(name)
    started = time.monotonic()
    airflow.trigger(INTERCONNECT_DAG, run_id, conf)
    run = airflow.wait_for_run(INTERCONNECT_DAG, run_id, timeout=RUN_TIMEOUT_S)
    print(f"\n[secrets] run {run_id}: {run['state']} in {time.monotonic() - started:.1f}s")
    _assert_success(airflow, run)

    psk_key = default_psk_variable(name)
    psk = airflow.variable(psk_key)
    assert len(psk) >= 8, "the generated PSK is too short for the masker to act on"
    scan = SecretScan({"PSK": psk, "AK": airflow.access_key, "SK": airflow.secret_key})

    # The Variables REST API (the UI's Variables page) masks the PSK's default key with no deployment setting;
    # control: a Variable under the pre-``secret`` key pattern comes back in clear from the same API.
    control_key, control_value = "jdcloud_vpn_psk_rx-control", strong_secret("visible-")
    airflow.api("POST", "/api/v2/variables", json={"key": control_key, "value": control_value})
    try:
        assert airflow.api("GET", f"/api/v2/variables/{control_key}").json()["value"] == control_value
    finally:
        airflow.api("DELETE", f"/api/v2/variables/{control_key}")
    served_psk = airflow.api("GET", f"/api/v2/variables/{psk_key}").json()
    assert served_psk["value"] == "***", "the REST API shows the PSK's Variable unmasked"
    listed = airflow.api("GET", "/api/v2/variables", params={"limit": 100}).json()["variables"]
    assert psk_key in {v["key"] for v in listed}
    scan.scan_texts(
        "Variables (REST API, as the UI shows)",
        {"list": json.dumps(listed), psk_key: json.dumps(served_psk)},
    )

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
    served_logs, unserved = {}, []
    for ti in tis:
        for attempt in range(1, ti["try_number"] + 1):
            path = f"/api/v2/dags/{INTERCONNECT_DAG}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{attempt}"
            params = {"map_index": ti["map_index"]} if ti["map_index"] >= 0 else None
            response = airflow.api("GET", path, params=params, check=attempt == ti["try_number"])
            label = f"{ti['task_id']}[{ti['map_index']}] try {attempt}"
            if response.status_code == 404:
                # A try failed by Airflow's defer-exit race (apache/airflow#72716) gets no history row, so the
                # API cannot find it; its log file was scanned above.
                assert any(
                    f"task_id={ti['task_id']}/" in str(p) and p.name == f"attempt={attempt}.log" for p in run_logs
                )
                unserved.append(label)
                continue
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
            served_logs[label] = response.text
    scan.scan_texts(
        "task logs (REST API, as the UI shows)",
        served_logs,
        f"{len(served_logs)} logs" + (f"; {len(unserved)} earlier tries without a history row" if unserved else ""),
    )

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
        f"[secrets] PSK {len(psk)} chars (Variable {psk_key}), AK {len(airflow.access_key)} chars, "
        f"SK {len(airflow.secret_key)} chars; every value also searched JSON-escaped"
    )
    print(scan.table())
    summary.add(pytestconfig, summary.SECRET_SCAN, *scan.table().splitlines())
    for secret in ("PSK", "SK", "AK"):
        assert scan.total(secret) == 0, f"{secret} found in: {scan.where(secret)}"


def _value(stored: object) -> object:
    """An XCom value as the REST API returns it natively: JSON, possibly still as a string."""
    if isinstance(stored, str):
        try:
            return json.loads(stored)
        except ValueError:
            return stored
    return stored


# ---------------------------------------------------------------------- 2. concurrency


@pytest.mark.timeout(360, method="signal")
def test_two_runs_of_the_same_interconnect_started_together(airflow: RealAirflow, pytestconfig: pytest.Config) -> None:
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
    first_end = _ts(first["end_date"])
    guard_end = _ts(_task(airflow, second["dag_run_id"], GUARD_TASK_ID)["end_date"])
    print(f"[concurrency] {second['dag_run_id']} passed its guard {guard_end - first_end:.1f}s after the first ended")
    assert guard_end >= first_end, "the second run passed the guard while the first was running"
    assert [r for r in _mutating_calls(airflow, first_end) if r["time"] < guard_end] == []

    counts = resource_counts(airflow.emulator_state(), f"{naming.PREFIX}-{name}-")
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
    summary.add(
        pytestconfig,
        summary.RESILIENCE,
        f"two runs of one interconnect triggered {gap:.2f}s apart: {', '.join(r['state'] for r in runs)}; resources "
        f"{counts}; steps of the second run that created something: {len(created_by_second)}",
    )


@pytest.mark.timeout(480, method="signal")
def test_two_different_interconnects_build_at_the_same_time(airflow: RealAirflow, pytestconfig: pytest.Config) -> None:
    airflow.reset_emulator()
    names = ["rx-left", "rx-right"]
    confs = {f"rx_disjoint_{name}": (name, airflow.seeded_conf(name)) for name in names}
    airflow.api("GET", "/api/v2/version")  # token fetched once, before the threads share the client
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda item: airflow.trigger(INTERCONNECT_DAG, item[0], item[1][1]), confs.items()))
    runs = [airflow.wait_for_run(INTERCONNECT_DAG, run_id, timeout=2 * RUN_TIMEOUT_S) for run_id in confs]
    for run in runs:
        _assert_success(airflow, run)
    first, second = sorted(runs, key=lambda r: r["start_date"])
    overlap = _ts(first["end_date"]) - _ts(second["start_date"])
    waited = [_guard_waited_s(airflow, run["dag_run_id"]) for run in runs]
    print(f"[concurrency] two interconnects: runs overlapped {overlap:.1f}s; guard waits {waited}")
    assert overlap > 0, "the runs on two different interconnects did not overlap"
    assert waited == [0.0, 0.0]
    for run_id, (name, _) in confs.items():
        assert resource_counts(airflow.emulator_state(), f"{naming.PREFIX}-{name}-") == EXPECTED, run_id
    summary.add(
        pytestconfig,
        summary.RESILIENCE,
        f"two different interconnects triggered together: {', '.join(r['state'] for r in runs)}; runs overlapped "
        f"{overlap:.1f}s; guard waits {waited}",
    )


def _task(airflow: RealAirflow, run_id: str, task_id: str) -> dict:
    return next(ti for ti in airflow.task_instances(INTERCONNECT_DAG, run_id) if ti["task_id"] == task_id)


def _guard_waited_s(airflow: RealAirflow, run_id: str) -> float:
    values = airflow.xcom_values(INTERCONNECT_DAG, run_id, key="return_value")
    return next(_value(x["value"]) for x in values if x["task_id"] == GUARD_TASK_ID)["waited_s"]


def _mutating_calls(airflow: RealAirflow, since: float) -> list[dict]:
    """The emulator's non-Describe calls since ``since``."""
    return [r for r in airflow.emulator_requests(since) if not r["operation"].startswith("Describe")]
