"""The teardown DAG end to end: build (or half-build), tear down, list what is left through the SDK."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import SIDES, TeardownTarget
from include.jdcloud_vpn.teardown import PHASES, DeleteInProgress, Teardown
from tests.dags.conftest import seeded_conf

pytestmark = pytest.mark.timeout(400)


def _run(dagbag, dag_id: str, conf: dict) -> tuple[bool, dict]:
    from airflow.utils.state import DagRunState

    dag_run = dagbag.dags[dag_id].test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.map_index in (-1, 0)}
    return dag_run.state == DagRunState.SUCCESS, states


def _target(conf: dict) -> TeardownTarget:
    return TeardownTarget(name=conf["name"], home_region=conf["home"]["region"], peer_region=conf["peer"]["region"])


def _teardown_conf(conf: dict, **extra) -> dict:
    return {
        "name": conf["name"],
        "home_region": conf["home"]["region"],
        "peer_region": conf["peer"]["region"],
        "report_dir": conf["report_dir"],
        **extra,
    }


def _mutations(control, since: float) -> list[str]:
    served = control.get("/requests", params={"since": since}).json()["requests"]
    return [r["operation"] for r in served if not r["operation"].startswith("Describe")]


def test_build_then_teardown_leaves_nothing(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="tdfull", ephemeral_probes=True)
    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    before = Teardown(hook, _target(conf)).plan()
    assert {item.kind for item in before} >= {"bgw", "vpnTunnel", "vpnConnection", "bgwRoute", "command"}

    ok, states = _run(dagbag, "jdcloud_vpn_teardown", _teardown_conf(conf))
    assert ok, {k: v for k, v in states.items() if v != "success"}
    assert Teardown(hook, _target(conf)).plan() == []
    state = emulator_control.get("/state").json()
    for kind in ("bgws", "vpcAttachments", "customerGateways", "vpnConnections", "vpnTunnels", "bgwRoutes"):
        assert state[kind] == [], kind
    # The seeded VPCs are not the interconnect's: they stay.
    assert len(state["vpcs"]) == 2
    report = json.loads(sorted(Path(conf["report_dir"]).glob("teardown-*.json"))[-1].read_text())
    assert report["status"] == "success" and report["remaining"] == []
    phases = [p["phase"] for p in report["plan"]]
    assert phases == sorted(phases, key=list(PHASES).index), "the plan is not in the safe deletion order"
    assert {p: len(items) for p, items in report["deleted"].items() if items} == {
        p: phases.count(p) for p in set(phases)
    }


def _fill_bgw_quota(hook, region: str) -> None:
    for i in range(5):
        hook.create_bgw(f"someone-else-{i}", region=region)


@pytest.mark.parametrize("failure", ["peer_bgw_quota", "conflicting_vpn_connection", "tunnels_never_up"])
def test_teardown_after_a_failed_build_leaves_nothing(dagbag, hook, emulator_control, tmp_path, failure):
    name = {"peer_bgw_quota": "tdbgw", "conflicting_vpn_connection": "tdvpn", "tunnels_never_up": "tdneg"}[failure]
    waits = {k: {"timeout_s": 2, "poll_interval_s": 0.2} for k in ("tunnels_up", "routes_propagated", "ping")}
    waits["probe_vm_running"] = {"timeout_s": 30, "poll_interval_s": 0.2}
    conf = seeded_conf(hook, tmp_path, name=name, ephemeral_probes=True, timeouts=waits)
    failed_step = {
        "peer_bgw_quota": "peer_region.create_border_gateway",
        "conflicting_vpn_connection": "vpn_connections.create_vpn_connection_peer",  # step 8
        "tunnels_never_up": "vpn_tunnels.wait_tunnels_up",
    }[failure]
    if failure == "peer_bgw_quota":
        _fill_bgw_quota(hook, conf["peer"]["region"])
    elif failure == "conflicting_vpn_connection":  # our connection's name, on someone else's gateways
        region = conf["peer"]["region"]
        foreign_bgw = hook.create_bgw("foreign-bgw", region=region)
        foreign_cgw = hook.create_customer_gateway(
            "foreign-cgw", customer_ips=["1.1.1.1"], bgp_asn=65010, region=region
        )
        hook.create_vpn_connection(f"ic-{name}-peer-vpn", bgw_id=foreign_bgw, cgw_id=foreign_cgw, region=region)
    else:
        emulator_control.patch("/faults", json={"stuck_transitions": [{"transition": "tunnel_negotiation"}]})

    ok, states = _run(dagbag, "jdcloud_vpn_interconnect", conf)
    assert not ok
    assert states[failed_step] == "failed", states
    assert Teardown(hook, _target(conf)).plan(), "the failed build left nothing to clean up"

    ok, states = _run(dagbag, "jdcloud_vpn_teardown", _teardown_conf(conf))
    assert ok, {k: v for k, v in states.items() if v != "success"}
    assert Teardown(hook, _target(conf)).plan() == []
    state = emulator_control.get("/state").json()
    if failure == "peer_bgw_quota":  # the other tenant's gateways are untouched
        assert {b["bgwName"] for b in state["bgws"]} == {f"someone-else-{i}" for i in range(5)}
    if failure == "conflicting_vpn_connection":  # the foreign gateways are not ours: they stay
        assert [b["bgwName"] for b in state["bgws"]] == ["foreign-bgw"]
        assert [c["customerGatewayName"] for c in state["customerGateways"]] == ["foreign-cgw"]


def test_teardown_of_one_interconnect_leaves_another_untouched(dagbag, hook, emulator_control, tmp_path):
    first = seeded_conf(hook, tmp_path, name="prod")
    # "prod2" shares the regions and even the name prefix: exact-name matching must keep it safe.
    second = dict(first, name="prod2", psk_secret={"variable": "jdcloud_vpn_psk_secret_prod2"})
    assert _run(dagbag, "jdcloud_vpn_interconnect", first)[0]
    assert _run(dagbag, "jdcloud_vpn_interconnect", second)[0]
    second_before = Teardown(hook, _target(second)).plan()

    assert _run(dagbag, "jdcloud_vpn_teardown", _teardown_conf(first))[0]
    assert Teardown(hook, _target(first)).plan() == []
    assert Teardown(hook, _target(second)).plan() == second_before
    # And the survivor still works: a rerun adopts everything and both pings pass.
    ok, states = _run(dagbag, "jdcloud_vpn_interconnect", second)
    assert ok, {k: v for k, v in states.items() if v != "success"}


def test_dry_run_lists_the_plan_and_deletes_nothing(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="tddry")
    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    before = Teardown(hook, _target(conf)).plan()
    since = time.time()
    ok, states = _run(dagbag, "jdcloud_vpn_teardown", _teardown_conf(conf, dry_run=True))
    assert ok, states
    assert states["teardown_interconnect.delete_vpn_tunnels"] == "skipped"
    assert _mutations(emulator_control, since) == []
    assert Teardown(hook, _target(conf)).plan() == before
    report = json.loads(sorted(Path(conf["report_dir"]).glob("teardown-*.json"))[-1].read_text())
    assert report["dry_run"] is True
    assert [(p["kind"], p["id"]) for p in report["plan"]] == [(p.kind, p.id) for p in before]
    phases = [p["phase"] for p in report["plan"]]
    assert phases.index("bgw_routes") < phases.index("vpn_tunnels") < phases.index("bgws")


def test_teardown_accepts_the_build_conf_and_rejects_bad_requests(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="tdconf")
    since = time.time()
    ok, states = _run(dagbag, "jdcloud_vpn_teardown", {**conf, "dry_run": True})
    assert ok, states
    ok, states = _run(
        dagbag, "jdcloud_vpn_teardown", {"name": "tdconf", "home_region": "cn-north-1", "peer_region": "cn-north-1"}
    )
    assert not ok and states["read_teardown_request"] == "failed"
    assert _mutations(emulator_control, since) == []


def test_a_foreign_vm_whose_name_contains_the_probe_name_is_never_adopted_or_deleted(
    dagbag, hook, emulator_control, tmp_path
):
    """JD's DescribeInstances ``name`` filter is fuzzy: ``ic-fvm-home-vm`` also finds ``ic-fvm-home-vm-old``."""
    conf = seeded_conf(hook, tmp_path, name="fvm", ephemeral_probes=True)
    home = conf["home"]
    spec = {
        "name": "ic-fvm-home-vm-old",  # someone's VM, in the same subnet the build creates its probe in
        "az": f"{home['region']}a",
        "instanceType": "g.n2.medium",
        "imageId": "img-emulator-centos7",
        "primaryNetworkInterface": {"networkInterface": {"subnetId": home["subnet_ids"][0]}},
    }
    foreign_id = hook.create_instances(spec, region=home["region"])[0]
    fuzzy = hook.describe_instances(name="ic-fvm-home-vm", vpc_id=home["vpc_id"], region=home["region"])
    assert [i.instance_id for i in fuzzy] == [foreign_id], "the emulator's name filter should be fuzzy, as JD's is"

    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    report = json.loads(sorted(Path(conf["report_dir"]).glob("interconnect-*.json"))[-1].read_text())
    probe_id = report["resources"]["home"]["instance_id"]
    assert probe_id != foreign_id  # the build created its own probe
    assert _run(dagbag, "jdcloud_vpn_teardown", _teardown_conf(conf))[0]

    instances = {i["instanceId"]: i for i in emulator_control.get("/state").json()["instances"]}
    assert instances[foreign_id]["status"] == "running", instances[foreign_id]
    assert all(i["status"] == "deleting" for i in instances.values() if i["instanceName"] == "ic-fvm-home-vm")
    deleted = [
        r["path"] for r in emulator_control.get("/requests", params={"operation": "DeleteInstance"}).json()["requests"]
    ]
    assert any(probe_id in path for path in deleted), deleted
    assert not any(foreign_id in path for path in deleted), deleted


# Deletes slow enough to be seen (x0.01 in DAG tests): connection and attachment 1.5 s, VM 1 s, tunnel hold 0.5 s.
SLOW_DELETES = {"vpn_connection_delete": 150, "attachment_delete": 150, "vm_delete": 100, "tunnel_admin_down": 50}


def _served(control, since: float) -> list[dict]:
    return control.get("/requests", params={"since": since}).json()["requests"]


def _first(requests: list[dict], operation: str) -> float:
    return min(r["time"] for r in requests if r["operation"] == operation)


def _gone_at(requests: list[dict], operation: str, resource_id: str) -> float:
    """When ``operation`` (a Describe of one resource) first answered 404 for ``resource_id``."""
    return min(
        r["time"] for r in requests if r["operation"] == operation and resource_id in r["path"] and r["status"] == 404
    )


def test_teardown_waits_until_slow_deletes_are_gone(dagbag, hook, emulator_control, tmp_path):
    """Each phase waits for its deletes to finish: no dependent delete is refused, and nothing is left."""
    conf = seeded_conf(hook, tmp_path, name="tdslow", ephemeral_probes=True)
    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    plan = Teardown(hook, _target(conf)).plan()
    connections = [i.id for i in plan if i.kind == "vpnConnection"]
    attachments = [i.id for i in plan if i.kind == "vpcAttachment"]
    tunnels = [i.id for i in plan if i.kind == "vpnTunnel"]
    assert len(connections) == len(attachments) == 2 and len(tunnels) == 4, plan
    saved = emulator_control.get("/latencies").json()["latencies"]
    emulator_control.patch("/latencies", json={"latencies": SLOW_DELETES}).raise_for_status()
    try:
        since = time.time()
        ok, states = _run(dagbag, "jdcloud_vpn_teardown", _teardown_conf(conf))
    finally:
        emulator_control.patch("/latencies", json={"latencies": saved}).raise_for_status()
    assert ok, {k: v for k, v in states.items() if v != "success"}
    served = _served(emulator_control, since)

    # No delete was refused, except tunnel deletes while the tunnel went DOWN, and each of those was retried.
    refused = [r for r in served if r["operation"].startswith("Delete") and r["status"] != 200]
    assert {r["operation"] for r in refused} <= {"DeleteVpnTunnel"}, refused
    assert refused, "the tunnel hold (tunnel_admin_down) was never hit: the test shows nothing"
    for tunnel_id in tunnels:
        deletes = [r["status"] for r in served if r["operation"] == "DeleteVpnTunnel" and tunnel_id in r["path"]]
        assert deletes[-1] == 200 and set(deletes[:-1]) <= {400}, (tunnel_id, deletes)
    # Each connection and attachment was deleted once, seen deleting, and gone before its dependants' deletes.
    assert sum(r["operation"] == "DeleteVpnConnection" for r in served) == 2
    assert sum(r["operation"] == "DeleteVpcAttachment" for r in served) == 2
    polled = [r for r in served if r["operation"] == "DescribeVpnConnection" and r["status"] == 200]
    assert polled and min(r["time"] for r in polled) > _first(served, "DeleteVpnConnection"), "never seen deleting"
    connections_gone = max(_gone_at(served, "DescribeVpnConnection", c) for c in connections)
    assert _first(served, "DeleteCustomerGateway") > connections_gone
    attachments_gone = max(_gone_at(served, "DescribeVpcAttachment", a) for a in attachments)
    assert _first(served, "DeleteBgw") > attachments_gone

    state = emulator_control.get("/state").json()
    for kind in ("bgws", "vpcAttachments", "customerGateways", "vpnConnections", "vpnTunnels", "bgwRoutes"):
        assert state[kind] == [], kind
    assert not [i for i in state["instances"] if i["instanceName"].startswith("ic-tdslow-")]
    assert not [c for c in state["commands"] if c["commandName"].startswith("ic-tdslow-")]


def test_a_delete_still_in_progress_raises_the_retryable_error_and_is_not_repeated(hook, emulator_control):
    """A deletion that outlasts the wait raises DeleteInProgress; the next try waits for it, it does not re-delete."""
    target = TeardownTarget(name="tdstuck", home_region="cn-north-1", peer_region="cn-east-2")
    for side in SIDES:
        region = target.region(side)
        bgw_id = hook.create_bgw(naming.bgw_name(target, side), region=region)
        cgw_id = hook.create_customer_gateway(
            naming.customer_gateway_name(target, side), customer_ips=["1.1.1.1"], bgp_asn=65010, region=region
        )
        hook.create_vpn_connection(
            naming.vpn_connection_name(target, side), bgw_id=bgw_id, cgw_id=cgw_id, region=region
        )
    emulator_control.patch("/faults", json={"stuck_transitions": [{"transition": "vpn_connection_delete"}]})
    connections = [i.id for i in Teardown(hook, target).list_phase("vpn_connections")]

    with pytest.raises(DeleteInProgress) as caught:
        Teardown(hook, target, timeout_s=0.3).run_phase("vpn_connections")
    assert sorted(caught.value.resource_ids) == sorted(connections)
    assert all(c in str(caught.value) for c in connections), caught.value
    with pytest.raises(DeleteInProgress):  # the next try: still deleting, so it only waits
        Teardown(hook, target, timeout_s=0.3).run_phase("vpn_connections")
    emulator_control.delete("/faults").raise_for_status()
    Teardown(hook, target).run_phase("vpn_connections")
    Teardown(hook, target).run_phase("customer_gateways")

    deletes = emulator_control.get("/requests", params={"operation": "DeleteVpnConnection"}).json()["requests"]
    assert sorted(r["path"].rsplit("/", 1)[1] for r in deletes) == sorted(connections)
    refused = emulator_control.get("/requests", params={"operation": "DeleteCustomerGateway"}).json()["requests"]
    assert [r["status"] for r in refused] == [200, 200]
    assert emulator_control.get("/state").json()["vpnConnections"] == []
