"""Drift on a rerun, end to end: dag.test() -> real jdcloud-sdk -> the emulator over HTTP.

With ``on_drift: repair`` (the default) every adopted resource changed out of band is modified back to the
conf; with ``report`` nothing is modified, and the waits that cannot succeed fail at once. The evidence is
the emulator's request log and state, never the client's own results.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import summary
from tests.dags.conftest import seeded_conf

pytestmark = pytest.mark.timeout(300)
INTERCONNECT = "jdcloud_vpn_interconnect"
OTHER_PSK = "Another_Key_123"
TUNNEL_WAIT = "vpn_tunnels.wait_tunnels_up"
ROUTE_WAIT = "static_routing.wait_routes_propagated"
# A wait that fails fast ends in a few seconds, far below its timeout.
WAIT_TIMEOUT_S = 60
FAST_FAILURE_S = 10


@dataclass(frozen=True)
class RunOutcome:
    ok: bool
    states: dict[tuple[str, int], str]
    durations: dict[str, float]
    elapsed_s: float


def _run(dagbag: Any, conf: dict) -> RunOutcome:
    from airflow.utils.state import DagRunState

    started = time.monotonic()
    dag_run = dagbag.dags[INTERCONNECT].test(run_conf=conf)
    elapsed = time.monotonic() - started
    tis = dag_run.get_task_instances()
    return RunOutcome(
        ok=dag_run.state == DagRunState.SUCCESS,
        states={(ti.task_id, ti.map_index): ti.state for ti in tis},
        durations={
            ti.task_id: (ti.end_date - ti.start_date).total_seconds() for ti in tis if ti.start_date and ti.end_date
        },
        elapsed_s=elapsed,
    )


def _report(conf: dict) -> tuple[dict, str]:
    directory = Path(conf["report_dir"])
    latest = sorted(directory.glob("interconnect-*.json"), key=lambda p: p.stat().st_mtime)[-1]
    return json.loads(latest.read_text()), latest.with_suffix(".md").read_text()


def _modify_calls(control: Any, since: float) -> list[tuple[str, str]]:
    """The Modify* calls the emulator served since ``since``, as (operation, path), in order."""
    served = control.get("/requests", params={"since": since}).json()["requests"]
    return [(r["operation"], r["path"]) for r in served if r["operation"].startswith("Modify") and r["status"] == 200]


def _state(control: Any) -> dict[str, dict[str, Any]]:
    """The emulator's resources by id."""
    state = control.get("/state").json()
    ids = {
        "vpnTunnels": "vpnTunnelId",
        "vpcAttachments": "vpcAttachmentId",
        "vpnConnections": "vpnConnectionId",
        "bgwRoutes": "bgwRouteId",
        "customerGateways": "customerGatewayId",
    }
    return {kind: {item[key]: item for item in state[kind]} for kind, key in ids.items()}


def _fast_waits() -> dict:
    waits = {k: {"timeout_s": WAIT_TIMEOUT_S, "poll_interval_s": 0.2} for k in ("tunnels_up", "routes_propagated")}
    waits |= {k: {"timeout_s": 30, "poll_interval_s": 0.2} for k in ("probe_vm_running", "ping")}
    return waits


@dataclass(frozen=True)
class Built:
    """The ids of a built interconnect, found through the API by the interconnect's names."""

    connections: dict[str, Any]
    tunnels: dict[str, list[Any]]  # per side, tunnel 1 then tunnel 2
    attachments: dict[str, Any]
    routes: dict[str, Any]


def _built(hook: Any, conf: dict) -> Built:
    from include.jdcloud_vpn import naming
    from include.jdcloud_vpn.conf import validate_conf

    model = validate_conf(conf)
    connections, tunnels, attachments, routes = {}, {}, {}, {}
    for side in ("home", "peer"):
        region = conf[side]["region"]
        connection = hook.find_vpn_connection_by_name(naming.vpn_connection_name(model, side), region=region)
        by_ip = {
            t.cloud_public_ip: t
            for t in hook.describe_vpn_tunnels(vpn_connection_id=connection.vpn_connection_id, region=region)
        }
        connections[side] = connection
        tunnels[side] = [by_ip[ip] for ip in connection.cloud_public_ip]
        attachments[side] = hook.describe_vpc_attachments(bgw_id=connection.bgw_id, region=region)[0]
        routes[side] = hook.describe_bgw_routes(connection.bgw_id, origin="static", region=region)[0]
    return Built(connections, tunnels, attachments, routes)


# --------------------------------------------------------------------- one drift per kind, out of band


@dataclass(frozen=True)
class DriftCase:
    """One field changed out of band: the resource (kind, id), the field, how the Modify call is recognised,
    and what the emulator's state shows when the field is back to the conf."""

    kind: str
    resource_id: str
    field: str
    modify: str
    back_to_conf: Callable[[dict[str, dict[str, Any]]], bool]


def _provoke_every_kind(hook: Any, conf: dict, built: Built) -> list[DriftCase]:
    """Change one field of each kind, each on its own resource, through the API as a person would."""
    from airflow_provider_jdcloud.models import VpnTunnelModifySpec

    home, peer = conf["home"]["region"], conf["peer"]["region"]
    psk_tunnel, ike_tunnel, ipsec_tunnel = built.tunnels["peer"][0], built.tunnels["home"][1], built.tunnels["peer"][1]
    reference_tunnel = built.tunnels["home"][0]  # untouched: holds the stored key
    hook.modify_vpn_tunnel(psk_tunnel.vpn_tunnel_id, VpnTunnelModifySpec(psk=OTHER_PSK), region=peer)
    hook.modify_vpn_tunnel(ike_tunnel.vpn_tunnel_id, VpnTunnelModifySpec(ike_cipher="aes256"), region=home)
    hook.modify_vpn_tunnel(ipsec_tunnel.vpn_tunnel_id, VpnTunnelModifySpec(ipsec_auth="sha1"), region=peer)

    home_attachment, peer_attachment = built.attachments["home"], built.attachments["peer"]
    hook.modify_vpc_attachment(
        home_attachment.vpc_attachment_id, vpc_id=conf["home"]["vpc_id"], propagate_type="all", region=home
    )
    extra_subnet = hook.call(
        "CreateSubnet",
        {"vpcId": conf["peer"]["vpc_id"], "subnetName": "extra", "addressPrefix": "10.20.9.0/24"},
        region=peer,
    )["subnetId"]
    hook.modify_vpc_attachment(
        peer_attachment.vpc_attachment_id,
        vpc_id=conf["peer"]["vpc_id"],
        propagate_type="partial",
        subnet_ids=[extra_subnet],
        region=peer,
    )
    home_connection = built.connections["home"]
    hook.modify_vpn_connection(home_connection.vpn_connection_id, bgp_enabled=True, region=home)
    peer_route = built.routes["peer"]
    hook.modify_bgw_route(
        peer_route.bgw_id,
        peer_route.bgw_route_id,
        destination=peer_route.bgw_route_destination,
        next_hop_id=peer_attachment.vpc_attachment_id,
        next_hop_type="vpc_attachment",
        region=peer,
    )
    wanted_subnets = conf["peer"]["subnet_ids"]
    peer_connection_id = built.connections["peer"].vpn_connection_id

    def tunnel(state: dict, tunnel_id: str) -> dict:
        return state["vpnTunnels"][tunnel_id]

    def subnets(state: dict, attachment_id: str) -> list[str]:
        return sorted(i["subnetId"] for i in state["vpcAttachments"][attachment_id]["propagateCidrInfos"])

    return [
        DriftCase(
            "vpnTunnel",
            psk_tunnel.vpn_tunnel_id,
            "psk",
            "ModifyVpnTunnel",
            lambda s: tunnel(s, psk_tunnel.vpn_tunnel_id)["psk"] == tunnel(s, reference_tunnel.vpn_tunnel_id)["psk"],
        ),
        DriftCase(
            "vpnTunnel",
            ike_tunnel.vpn_tunnel_id,
            "ikeCipher",
            "ModifyVpnTunnel",
            lambda s: tunnel(s, ike_tunnel.vpn_tunnel_id)["ikeCipher"] == "aes128",
        ),
        DriftCase(
            "vpnTunnel",
            ipsec_tunnel.vpn_tunnel_id,
            "ipsecAuth",
            "ModifyVpnTunnel",
            lambda s: tunnel(s, ipsec_tunnel.vpn_tunnel_id)["ipsecAuth"] == "sha256",
        ),
        DriftCase(
            "vpcAttachment",
            home_attachment.vpc_attachment_id,
            "propagateType",
            "ModifyVpcAttachment",
            lambda s: s["vpcAttachments"][home_attachment.vpc_attachment_id]["propagateType"] == "partial",
        ),
        DriftCase(
            "vpcAttachment",
            peer_attachment.vpc_attachment_id,
            "subnetIds",
            "ModifyVpcAttachment",
            lambda s: subnets(s, peer_attachment.vpc_attachment_id) == sorted(wanted_subnets),
        ),
        DriftCase(
            "vpnConnection",
            home_connection.vpn_connection_id,
            "bgpEnabled",
            "ModifyVpnConnection",
            lambda s: s["vpnConnections"][home_connection.vpn_connection_id]["bgpEnabled"] is False,
        ),
        DriftCase(
            "bgwRoute",
            peer_route.bgw_route_id,
            "bgwRouteNexthop",
            "ModifyBgwRoute",
            lambda s: s["bgwRoutes"][peer_route.bgw_route_id]["bgwRouteNexthop"] == peer_connection_id,
        ),
    ]


def test_every_kind_of_drift_is_repaired_and_a_second_rerun_modifies_nothing(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="fix", timeouts=_fast_waits())
    assert _run(dagbag, conf).ok
    cases = _provoke_every_kind(hook, conf, _built(hook, conf))
    drifted = _state(emulator_control)
    assert not any(case.back_to_conf(drifted) for case in cases), "the out-of-band changes did not land"

    since = time.time()
    outcome = _run(dagbag, conf)
    assert outcome.ok, {k: v for k, v in outcome.states.items() if v != "success"}

    state, calls = _state(emulator_control), _modify_calls(emulator_control, since)
    for case in cases:
        assert case.back_to_conf(state), f"{case.kind} {case.resource_id} {case.field} is not back to the conf"
        assert any(op == case.modify and case.resource_id in path for op, path in calls), (case, calls)
    # Only what drifted was modified: 3 tunnels, 2 attachments, 1 connection, 1 route; the customer gateways
    # kept their IPs. Each tunnel went DOWN, was modified, and came UP again.
    assert Counter(op for op, _ in calls) == {
        "ModifyVpnTunnel": 3,
        "ModifyAdminStatus": 6,
        "ModifyVpcAttachment": 2,
        "ModifyVpnConnection": 1,
        "ModifyBgwRoute": 1,
    }
    for tunnel_id in {c.resource_id for c in cases if c.kind == "vpnTunnel"}:
        per_tunnel = [op for op, path in calls if tunnel_id in path]
        assert per_tunnel == ["ModifyAdminStatus", "ModifyVpnTunnel", "ModifyAdminStatus"], per_tunnel
        assert state["vpnTunnels"][tunnel_id]["adminStatus"] == "UP"

    report, markdown = _report(conf)
    assert report["status"] == "success"
    assert {(d["resource"], d["field"], d["repaired"]) for d in report["drift"]} == {
        (f"{c.kind} {c.resource_id}", c.field, True) for c in cases
    }
    repairs = markdown.split("## Repairs", 1)[1].split("##", 1)[0]
    for case in cases:
        assert f"| {case.kind} {case.resource_id} | {case.field} |" in repairs, repairs
    assert OTHER_PSK not in markdown + json.dumps(report)

    since = time.time()
    assert _run(dagbag, conf).ok
    assert _modify_calls(emulator_control, since) == []
    assert _report(conf)[0]["drift"] == []


def test_report_mode_modifies_nothing_and_the_waits_fail_at_once(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="rep", timeouts=_fast_waits(), on_drift="report")
    assert _run(dagbag, conf).ok
    cases = _provoke_every_kind(hook, conf, _built(hook, conf))

    since = time.time()
    outcome = _run(dagbag, conf)
    assert not outcome.ok
    assert _modify_calls(emulator_control, since) == []
    state = _state(emulator_control)
    assert not any(case.back_to_conf(state) for case in cases)

    for wait in (TUNNEL_WAIT, ROUTE_WAIT):
        assert outcome.states[(wait, -1)] == "failed"
        assert outcome.durations[wait] < FAST_FAILURE_S, (wait, outcome.durations[wait])
    report, markdown = _report(conf)
    assert {(d["resource"], d["field"], d["repaired"]) for d in report["drift"]} == {
        (f"{c.kind} {c.resource_id}", c.field, False) for c in cases
    }
    assert "## Repairs" not in markdown and "not repaired" in markdown
    assert OTHER_PSK not in markdown + json.dumps(report)


# --------------------------------------------------------------------- the out-of-band PSK change


@pytest.mark.parametrize("on_drift", ["repair", "report"])
def test_out_of_band_psk_change(dagbag, hook, emulator_control, tmp_path, on_drift, pytestconfig):
    from airflow_provider_jdcloud.models import VpnTunnelModifySpec

    conf = seeded_conf(hook, tmp_path, name=f"psk-{on_drift}", timeouts=_fast_waits(), on_drift=on_drift)
    assert _run(dagbag, conf).ok
    # Someone re-keys the peer tunnels by hand: the two ends no longer agree.
    peer_tunnels = _built(hook, conf).tunnels["peer"]
    for tunnel in peer_tunnels:
        hook.modify_vpn_tunnel(tunnel.vpn_tunnel_id, VpnTunnelModifySpec(psk=OTHER_PSK), region=conf["peer"]["region"])

    since = time.time()
    outcome = _run(dagbag, conf)
    summary.add(  # how long the rerun and its tunnel wait took
        pytestconfig,
        summary.DRIFT,
        f"{on_drift:<7} rerun {outcome.elapsed_s:.1f} s, {'succeeded' if outcome.ok else 'failed'}; "
        f"wait_tunnels_up {outcome.states[(TUNNEL_WAIT, -1)]} after {outcome.durations[TUNNEL_WAIT]:.2f} s "
        f"(timeout {WAIT_TIMEOUT_S} s)",
    )
    report, markdown = _report(conf)
    calls = Counter(op for op, _ in _modify_calls(emulator_control, since))
    tunnels = _state(emulator_control)["vpnTunnels"]
    peer_keys = {tunnels[t.vpn_tunnel_id]["psk"] for t in peer_tunnels}
    drift = {(d["resource"], d["field"], d["repaired"]) for d in report["drift"]}
    if on_drift == "repair":
        assert outcome.ok, {k: v for k, v in outcome.states.items() if v != "success"}
        assert calls == {"ModifyVpnTunnel": 2, "ModifyAdminStatus": 4}
        assert OTHER_PSK not in peer_keys
        assert all(report["connectivity"][d]["ok"] for d in ("home_to_peer", "peer_to_home"))
        assert drift == {(f"vpnTunnel {t.vpn_tunnel_id}", "psk", True) for t in peer_tunnels}
    else:
        assert not outcome.ok
        assert calls == {}
        assert peer_keys == {OTHER_PSK}
        assert outcome.states[(TUNNEL_WAIT, -1)] == "failed"
        assert outcome.durations[TUNNEL_WAIT] < FAST_FAILURE_S
        assert drift == {(f"vpnTunnel {t.vpn_tunnel_id}", "psk", False) for t in peer_tunnels}
        finding = report["diagnosis"]["home_to_peer"]
        assert finding["reason"] == "tunnel_down_psk_mismatch", finding
        assert any(t.vpn_tunnel_id in finding["detail"] for t in peer_tunnels), finding
    assert OTHER_PSK not in markdown + json.dumps(report)


# --------------------------------------------------------------------- what cannot be modified


@pytest.mark.parametrize("on_drift", ["repair", "report"])
def test_customer_gateway_asn_cannot_be_repaired(hook, emulator_control, tmp_path, on_drift):
    from include.jdcloud_vpn import naming, steps
    from include.jdcloud_vpn.conf import validate_conf

    conf = validate_conf(seeded_conf(hook, tmp_path, name="asn", on_drift=on_drift))
    region = conf.home.region
    cgw_id = hook.create_customer_gateway(
        naming.customer_gateway_name(conf, "home"), customer_ips=["1.0.0.1", "1.0.0.2"], bgp_asn=65010, region=region
    )
    since = time.time()
    if on_drift == "repair":
        with pytest.raises(steps.StepConflict) as error:
            steps.ensure_customer_gateway(hook, conf, "home")
        message = str(error.value)
        assert f"customerGateway {cgw_id}: bgpAsn is 65010 but the conf wants 65001" in message
        assert "cannot modify a customer gateway's BGP ASN" in message
    else:
        result = steps.ensure_customer_gateway(hook, conf, "home")
        assert [(d.field, d.expected, d.actual, d.repaired) for d in result.drift] == [("bgpAsn", 65001, 65010, False)]
    assert _modify_calls(emulator_control, since) == []
    assert _state(emulator_control)["customerGateways"][cgw_id]["bgpAsn"] == 65010
