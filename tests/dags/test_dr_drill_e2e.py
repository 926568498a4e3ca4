"""The DR-drill DAG end to end: baseline -> teardown -> rebuild -> verify, with the RTO measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.jdcloud_vpn.conf import TeardownTarget
from include.jdcloud_vpn.teardown import Teardown
from tests.dags.conftest import DAG_TEST_TIME_SCALE, seeded_conf

pytestmark = pytest.mark.timeout(400)
DRILL = "jdcloud_vpn_dr_drill"


def _run(dagbag, dag_id: str, conf: dict) -> tuple[bool, dict]:
    from airflow.utils.state import DagRunState

    dag_run = dagbag.dags[dag_id].test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.map_index in (-1, 0)}
    return dag_run.state == DagRunState.SUCCESS, states


def _latest(directory: str, pattern: str) -> dict:
    return json.loads(sorted(Path(directory).glob(pattern), key=lambda p: p.stat().st_mtime)[-1].read_text())


def test_drill_rebuilds_and_reports_an_rto_within_the_emulator_latency_bounds(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="drill", ephemeral_probes=True)
    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    latencies = emulator_control.get("/latencies").json()["latencies"]

    ok, states = _run(dagbag, DRILL, {"interconnect": conf})
    assert ok, {k: v for k, v in states.items() if v not in ("success", "skipped")}
    assert states["approve_teardown"] == "skipped" and states["no_approval_needed"] == "success"

    report = _latest(conf["report_dir"], "drill-*.json")
    assert report["status"] == "success" and report["stopped_at"] is None and report["baseline_ok"] is True
    # The rebuild cannot beat the emulator's simulated latencies on its critical path: tunnels negotiate,
    # then the static route propagates into the VPC route tables; the probe VMs boot in parallel.
    floor = DAG_TEST_TIME_SCALE * max(
        latencies["tunnel_negotiation"] + latencies["route_propagation"], latencies["vm_boot"]
    )
    assert floor <= report["rto_s"] < 120, report["rto_s"]
    phases = report["phases"]
    assert all(phases[k] is not None and phases[k] > 0 for k in ("baseline_s", "teardown_s", "rebuild_s", "verify_s"))
    assert report["rto_s"] == pytest.approx(phases["rebuild_s"] + phases["verify_s"], abs=0.5)
    for direction in ("home_to_peer", "peer_to_home"):
        assert report["connectivity"][direction]["ok"] and report["baseline"][direction]["ok"]

    history = Path(conf["report_dir"], f"drill-history-{conf['name']}.jsonl").read_text().splitlines()
    assert len(history) == 1 and json.loads(history[0])["rto_s"] == report["rto_s"]
    svg = Path(conf["report_dir"], f"drill-history-{conf['name']}.svg").read_text()
    assert svg.startswith("<svg") and f"{report['rto_s']:.1f}" in svg
    markdown = sorted(Path(conf["report_dir"]).glob("drill-*.md"))[-1].read_text()
    assert "RTO" in markdown and f"](drill-history-{conf['name']}.svg)" in markdown
    # The interconnect is up again with one of everything, and the ephemeral probes were removed.
    left = Teardown(hook, TeardownTarget(name="drill", home_region="cn-north-1", peer_region="cn-east-2")).plan()
    assert sum(1 for item in left if item.kind == "bgw") == 2
    assert sum(1 for item in left if item.kind == "vpnTunnel") == 4


def test_failed_drill_alerts_and_says_where_it_stopped(dagbag, hook, emulator_control, tmp_path, caplog):
    waits = {k: {"timeout_s": 2, "poll_interval_s": 0.2} for k in ("tunnels_up", "routes_propagated", "ping")}
    waits["probe_vm_running"] = {"timeout_s": 30, "poll_interval_s": 0.2}
    conf = seeded_conf(hook, tmp_path, name="drillfail", timeouts=waits)
    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    # The rebuilt tunnels will never negotiate.
    emulator_control.patch("/faults", json={"stuck_transitions": [{"transition": "tunnel_negotiation"}]})

    ok, _ = _run(dagbag, DRILL, {"interconnect": conf})
    assert not ok
    report = _latest(conf["report_dir"], "drill-*.json")
    assert report["status"] == "failed"
    assert report["stopped_at"] == "vpn_tunnels.wait_tunnels_up"
    assert report["rto_s"] is None and report["phases"]["teardown_s"] is not None
    # One alert, from the DAG's failure notifier: where the drill stopped and its report.
    [alert] = [r.getMessage() for r in caplog.records if r.name == "jdcloud_vpn.alerts"]
    assert "vpn_tunnels.wait_tunnels_up" in alert and "problem=DR drill of drillfail failed at vpn_tunnels" in alert
    assert f"report={sorted(Path(conf['report_dir']).glob('drill-*.md'))[-1].as_uri()}" in alert  # its URL
    history = [
        json.loads(line)
        for line in Path(conf["report_dir"], f"drill-history-{conf['name']}.jsonl").read_text().splitlines()
    ]
    assert history[-1]["status"] == "failed"
