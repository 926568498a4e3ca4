"""The interconnect DAG end to end: dag.test() -> real jdcloud-sdk -> the emulator over HTTP."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.dags.conftest import create_calls, seeded_conf

pytestmark = pytest.mark.timeout(300)
INTERCONNECT = "jdcloud_vpn_interconnect"


def _run(dagbag, conf: dict):
    from airflow.utils.state import DagRunState

    dag_run = dagbag.dags[INTERCONNECT].test(run_conf=conf)
    states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
    return dag_run.state == DagRunState.SUCCESS, states


def _report(conf: dict) -> dict:
    reports = sorted(Path(conf["report_dir"]).glob("interconnect-*.json"), key=lambda p: p.stat().st_mtime)
    assert reports, f"no report in {conf['report_dir']}"
    return json.loads(reports[-1].read_text())


def test_the_form_as_pre_filled_builds_the_seeded_demo_network(dagbag, dag_emulator, emulator_control, tmp_path):
    """What a user does in the UI: seed the demo network (the compose seeder's command), then trigger with the
    form as it comes (its flat values; only the report directory changed)."""
    from include.jdcloud_vpn import demo

    demo.main(["--endpoint", dag_emulator.endpoint, "--conf-out", str(tmp_path / "demo.conf.json")])
    conf = {"report_dir": str(tmp_path / "reports")}
    ok, states = _run(dagbag, conf)
    assert ok, {k: v for k, v in states.items() if v != "success"}

    report = _report(conf)
    assert (report["interconnect"], report["status"]) == ("demo", "success")
    assert report["resources"]["home"]["instance_id"] == "i-demohome01"
    assert report["resources"]["peer"]["instance_id"] == "i-demopeer01"
    assert all(report["connectivity"][direction]["ok"] for direction in ("home_to_peer", "peer_to_home"))


def test_full_build_pings_both_ways_and_reports(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, ephemeral_probes=True)
    ok, states = _run(dagbag, conf)
    assert ok, {k: v for k, v in states.items() if v != "success"}

    report = _report(conf)
    assert report["status"] == "success"
    for direction in ("home_to_peer", "peer_to_home"):
        stats = report["connectivity"][direction]
        assert stats["ok"] is True and stats["sent"] == 4 and stats["received"] == 4 and stats["loss_pct"] == 0
        assert 20 < stats["rtt_avg_ms"] < 40  # the emulator's cn-north-1 <-> cn-east-2 RTT is ~28 ms
    step_ids = {s["task_id"] for s in report["steps"]}
    assert {"vpn_tunnels.wait_tunnels_up", "connectivity_test.ping_peer_to_home"} <= step_ids
    assert all(s["attempts"] == 1 and s["duration_s"] is not None for s in report["steps"])
    # Steps in the order they ran, each with its start time: the conf check first, the pings last.
    started = [s["started_at"] for s in report["steps"]]
    assert None not in started and started == sorted(started), started
    order = [s["task_id"] for s in report["steps"]]
    assert order[0] == "validate_conf", order
    assert order.index("vpn_connections.create_vpn_connection_peer") < order.index(
        "vpn_connections.create_vpn_connection_home"
    )
    # Both pings (at once) after both waits they need: tunnels UP and routes learned.
    for ping in ("connectivity_test.ping_home_to_peer", "connectivity_test.ping_peer_to_home"):
        for wait in ("vpn_tunnels.wait_tunnels_up", "static_routing.wait_routes_propagated"):
            assert order.index(wait) < order.index(ping), (wait, ping)
    markdown = Path(_latest_md(conf)).read_text()
    assert "| task | started | status | attempts | duration (s) |" in markdown
    assert markdown.index("| validate_conf |") < markdown.index("| connectivity_test.ping_home_to_peer |")
    assert len(report["resources"]["home"]["vpn_tunnel_ids"]) == 2
    assert Path(conf["report_dir"], Path(_latest_md(conf)).name).read_text().startswith("# interconnect report")

    # The ephemeral probe VMs were deleted by the teardown task, even though they were setups.
    state = emulator_control.get("/state").json()
    probe_names = {i["instanceName"]: i["status"] for i in state["instances"]}
    assert probe_names.get("ic-demo-home-vm") in (None, "deleting")
    # One build: exactly one of each resource per side, four tunnels, two routes.
    calls = create_calls(emulator_control)
    assert calls["CreateBgw"] == 2 and calls["CreateVpnConnection"] == 2 and calls["CreateVpnTunnel"] == 4
    assert calls["CreateBgwRoute"] == 2


def _latest_md(conf: dict) -> str:
    return str(sorted(Path(conf["report_dir"]).glob("interconnect-*.md"))[-1])


def test_rerun_of_the_same_conf_makes_zero_create_calls(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path)  # existing probe VMs: nothing ephemeral to recreate
    assert _run(dagbag, conf)[0]
    since = time.time()
    ok, states = _run(dagbag, conf)
    assert ok, {k: v for k, v in states.items() if v != "success"}
    assert create_calls(emulator_control, since) == {}
    report = _report(conf)
    assert report["status"] == "success" and report["drift"] == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"peer_cidr": "10.10.128.0/17"}, "overlap"),
        ({"bgp_enabled": True}, "bgp_enabled"),
    ],
)
def test_bad_conf_is_rejected_before_any_api_call(dagbag, hook, emulator_control, tmp_path, override, message):
    conf = seeded_conf(hook, tmp_path, name="bad")
    if "peer_cidr" in override:
        conf["peer"]["vpc_cidr"] = override["peer_cidr"]
    else:
        conf.update(override)
    since = time.time()
    ok, states = _run(dagbag, conf)
    assert not ok
    assert states[("validate_conf", -1)] == "failed"
    assert all(
        state in ("upstream_failed", "skipped", "failed", None)
        for key, state in states.items()
        if key[0] != "validate_conf"
    )
    served = emulator_control.get("/requests", params={"since": since}).json()["requests"]
    assert served == [], f"API calls after a rejected conf: {[r['operation'] for r in served]}"


def test_lost_create_responses_are_adopted_without_duplicates(dagbag, hook, emulator_control, tmp_path):
    """Each create is applied by the API but its response is lost (504): the create is not resent, the step
    looks the resource up by its natural key and adopts it, in the same try."""
    conf = seeded_conf(hook, tmp_path, name="lost", ephemeral_probes=True)
    lost = ["CreateBgw", "CreateVpcAttachment", "CreateCustomerGateway", "CreateVpnConnection", "CreateVpnTunnel"]
    lost += ["CreateBgwRoute", "CreateInstances", "CreateCommand"]
    emulator_control.patch("/faults", json={"drop_responses": dict.fromkeys(lost, 1)})
    started = time.time()

    ok, states = _run(dagbag, conf)
    assert ok, {k: v for k, v in states.items() if v != "success"}
    assert emulator_control.get("/faults").json()["drop_responses"] == dict.fromkeys(lost, 0)
    state = emulator_control.get("/state").json()
    counts = {kind: len(state[kind]) for kind in ("bgws", "vpcAttachments", "customerGateways", "vpnConnections")}
    assert counts == {"bgws": 2, "vpcAttachments": 2, "customerGateways": 2, "vpnConnections": 2}
    assert len(state["vpnTunnels"]) == 4
    assert len(state["bgwRoutes"]) == 2
    assert len(state["commands"]) == 2
    logged = emulator_control.get("/requests", params={"since": started}).json()["requests"]
    creates = [r for r in logged if r["operation"] in lost]
    assert Counter(r["operation"] for r in creates) == {op: 2 for op in lost} | {"CreateVpnTunnel": 4}
    assert [r["status"] for r in creates].count(504) == len(lost)
    report = _report(conf)
    retried = {s["task_id"]: s["attempts"] for s in report["steps"] if (s["attempts"] or 0) > 1}
    assert retried == {}, retried
    assert report["connectivity"]["home_to_peer"]["ok"] and report["connectivity"]["peer_to_home"]["ok"]


def test_the_build_waits_for_cloud_ips_and_active_attachments(dagbag, hook, emulator_control, tmp_path):
    """JD allocates a VPN connection's cloud IPs, and activates a VPC attachment, a while after the create: the
    customer gateways are wired only once the IPs are shown, with the IPs JD allocated."""
    saved = emulator_control.get("/latencies").json()["latencies"]
    # At the DAG suite's time scale (0.01): IPs after 2 s, attachments active after 1.5 s.
    emulator_control.patch(
        "/latencies", json={"latencies": {"vpn_connection_provision": 200, "attachment_create": 150}}
    )
    try:
        conf = seeded_conf(hook, tmp_path, name="slowips", ephemeral_probes=True)
        started = time.time()
        ok, states = _run(dagbag, conf)
    finally:
        emulator_control.patch("/latencies", json={"latencies": saved})
    assert ok, {k: v for k, v in states.items() if v != "success"}

    logged = emulator_control.get("/requests", params={"since": started}).json()["requests"]
    first_connection = min(r["time"] for r in logged if r["operation"] == "CreateVpnConnection")
    first_wiring = min(r["time"] for r in logged if r["operation"] == "ModifyCustomerGateway")
    assert first_wiring - first_connection >= 2.0  # not before the IPs existed
    polls = [r for r in logged if r["operation"] in ("DescribeVpnConnections", "DescribeVpcAttachments")]
    assert len(polls) > 4, "the sensors never polled"
    state = emulator_control.get("/state").json()
    connection_ips = sorted(ip for c in state["vpnConnections"] for ip in c["cloudPublicIp"])
    wired_ips = sorted(ip for g in state["customerGateways"] for ip in g["customerIps"])
    assert len(connection_ips) == 4 and wired_ips == connection_ips
    report = _report(conf)
    assert report["connectivity"]["peer_to_home"]["ok"]
    allocated = {c["vpnConnectionId"]: c["cloudPublicIp"] for c in state["vpnConnections"]}
    for side in ("home", "peer"):  # the report shows the IPs JD allocated after the create returned
        assert report["resources"][side]["cloud_ips"] == allocated[report["resources"][side]["vpn_connection_id"]]
