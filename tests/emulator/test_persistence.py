"""Persistence (``--state PATH``): a restarted emulator on the same SQLite file keeps every resource."""

from __future__ import annotations

import httpx

from include.jdcloud_emulator.server import start_in_thread
from include.jdcloud_emulator.settings import DEFAULT_LATENCIES, DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings
from tests.emulator.scenario import build_interconnect, op_statuses, run_ping, wait_until_connected
from tests.sdk_client import SdkClient


def _state(emulator) -> dict:
    return httpx.get(f"{emulator.url}/emulator-api/state").json()


def _ids(state: dict) -> dict[str, list[str]]:
    keys = {
        "vpcs": "vpcId",
        "instances": "instanceId",
        "bgws": "bgwId",
        "vpcAttachments": "vpcAttachmentId",
        "customerGateways": "customerGatewayId",
        "vpnConnections": "vpnConnectionId",
        "vpnTunnels": "vpnTunnelId",
        "bgwRoutes": "bgwRouteId",
    }
    return {kind: sorted(item[key] for item in state[kind]) for kind, key in keys.items()}


def test_state_survives_a_restart(tmp_path):
    settings = EmulatorSettings(time_scale=0.002, state_path=str(tmp_path / "s.sqlite"))
    first = start_in_thread(settings)
    try:
        api = SdkClient(first.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        home, peer = build_interconnect(api)
        wait_until_connected(api, home, peer)
        before = _state(first)
    finally:
        first.stop()

    second = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=str(tmp_path / "s.sqlite")))
    try:
        api = SdkClient(second.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        after = _state(second)
        assert _ids(after) == _ids(before)
        assert all(len(ids) >= 2 for ids in _ids(after).values())
        assert after["vpnConnections"] == before["vpnConnections"]
        # Tunnels stay UP: the negotiation already happened and is not redone after a restart.
        assert op_statuses(api, home, peer) == ["UP"] * 4
        assert api.call("DescribeInstance", home.region, instanceId=home.instance_id)["instance"]["status"] == "running"
        assert run_ping(api, home, peer.private_ip)["exitCode"] == "0"
        # New ids do not collide with the restored ones, and changes keep being saved.
        api.call("CreateBgw", home.region, bgwName="after-restart")
    finally:
        second.stop()

    third = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=str(tmp_path / "s.sqlite")))
    try:
        assert sorted(b["bgwName"] for b in _state(third)["bgws"]) == ["after-restart", "sre-bgw", "sre-bgw"]
    finally:
        third.stop()


def test_reset_is_persisted(tmp_path):
    path = str(tmp_path / "s.sqlite")
    first = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=path))
    try:
        SdkClient(first.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY).call("CreateVpc", "cn-north-1", vpcName="gone")
        httpx.post(f"{first.url}/emulator-api/reset").raise_for_status()
    finally:
        first.stop()
    second = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=path))
    try:
        assert _state(second)["vpcs"] == []
    finally:
        second.stop()


def test_a_deletion_in_progress_survives_a_restart(tmp_path):
    """``deleting`` is stored as the time the delete started: after a restart it ends on the same schedule."""
    path = str(tmp_path / "s.sqlite")
    slow = DEFAULT_LATENCIES | {"vpn_connection_delete": 10_000.0}  # 20 s at the time scale: outlives the restart
    first = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=path, latencies=slow))
    try:
        api = SdkClient(first.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        bgw_id = api.call("CreateBgw", "cn-north-1", bgwName="gw")["bgwId"]
        cgw_id = api.call(
            "CreateCustomerGateway", "cn-north-1", customerGatewayName="c", customerIps=["1.0.0.1"], bgpAsn=65001
        )["customerGatewayId"]
        connection_id = api.call(
            "CreateVpnConnection", "cn-north-1", vpnConnectionName="v", bgwId=bgw_id, cgwId=cgw_id, bgpEnabled=False
        )["vpnConnectionId"]
        api.call("DeleteVpnConnection", "cn-north-1", vpnConnectionId=connection_id)
    finally:
        first.stop()

    second = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=path, latencies=slow))
    try:
        assert [(c["vpnConnectionId"], c["status"]) for c in _state(second)["vpnConnections"]] == [
            (connection_id, "deleting")
        ]
    finally:
        second.stop()

    third = start_in_thread(EmulatorSettings(time_scale=0.002, state_path=path))  # default latency: long over
    try:
        assert _state(third)["vpnConnections"] == []
        assert [b["bgwId"] for b in _state(third)["bgws"]] == [bgw_id]
    finally:
        third.stop()
