"""Wrong credentials fail fast without a retry storm; an emulator restart mid-run loses nothing."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from include.jdcloud_emulator.process import EmulatorProcess, connection_json
from tests import summary
from tests.dags.conftest import seeded_conf

pytestmark = pytest.mark.timeout(300)


def test_wrong_credentials_fail_the_first_api_task_without_retries(
    dagbag, hook, dag_emulator, emulator_control, tmp_path, monkeypatch, pytestconfig
):
    conf = seeded_conf(hook, tmp_path, name="badkey")
    wrong_key = connection_json(dag_emulator.endpoint, dag_emulator.access_key, "not-the-secret-key")
    monkeypatch.setenv("AIRFLOW_CONN_JDCLOUD_DEFAULT", wrong_key)
    since = time.time()
    dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
    tis = {ti.task_id: ti for ti in dag_run.get_task_instances() if ti.map_index == -1}
    assert dag_run.state == "failed"
    assert tis["check_sites_exist"].state == "failed" and tis["check_sites_exist"].try_number == 1
    served = emulator_control.get("/requests", params={"since": since}).json()["requests"]
    # One signed request, refused with 401; nothing retried it and nothing else reached the API.
    assert [(r["method"], r["status"]) for r in served] == [("GET", 401)], served
    assert "/vpcs/" in served[0]["path"]
    summary.add(
        pytestconfig,
        summary.RESILIENCE,
        f"wrong secret key: {len(served)} API request(s) in all ({served[0]['status']}); check_sites_exist failed on "
        f"try {tis['check_sites_exist'].try_number}, no retry",
    )


def test_emulator_restart_mid_run_loses_nothing(dagbag, tmp_path, monkeypatch, airflow_db, pytestconfig):
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

    emulator = EmulatorProcess(time_scale=0.01, args=("--state", str(tmp_path / "emulator.sqlite")))
    emulator.start()
    restarted: list[int] = []  # the new pid
    try:
        endpoint = emulator.endpoint
        monkeypatch.setenv("AIRFLOW_CONN_JDCLOUD_DEFAULT", emulator.connection_json())
        hook = JDCloudHook.from_credentials(emulator.access_key, emulator.secret_key, endpoint=endpoint, scheme="http")
        conf = seeded_conf(hook, tmp_path, name="restart")

        def crash_and_restart() -> None:
            """Kill the emulator right after the first VPN connection is created, restart it on its state file."""
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                log = httpx.get(f"{emulator.url}/emulator-api/requests", params={"operation": "CreateVpnConnection"})
                if log.json()["count"]:
                    break
                time.sleep(0.02)
            emulator.kill()
            time.sleep(1.0)
            emulator.start()  # same port, same --state file
            restarted.append(emulator.pid)

        chaos = threading.Thread(target=crash_and_restart, daemon=True)
        chaos.start()
        dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
        chaos.join(timeout=60)
        assert restarted, "the emulator was never restarted"
        states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
        assert dag_run.state == "success", {k: v for k, v in states.items() if v != "success"}
        after = httpx.get(f"{emulator.url}/emulator-api/state").json()
        assert len(after["vpcs"]) == 2 and len(after["bgws"]) == 2 and len(after["vpnConnections"]) == 2
        assert len(after["vpnTunnels"]) == 4 and len(after["bgwRoutes"]) == 2
        kinds = ("bgws", "vpcAttachments", "customerGateways", "vpnConnections", "vpnTunnels", "bgwRoutes")
        summary.add(
            pytestconfig,
            summary.RESILIENCE,
            "emulator SIGKILLed after the first CreateVpnConnection, restarted on its --state file: run "
            f"{dag_run.state}; " + ", ".join(f"{kind} {len(after[kind])}" for kind in kinds),
        )
    finally:
        emulator.stop()
