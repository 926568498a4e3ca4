"""The waiters' checks and summaries, and the bounded polling loop, against the scripted API."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_jdcloud.waiters import (
    FIRST_POLL_S,
    WaitCheck,
    async_wait,
    get_waiter,
    next_poll_interval,
    wait,
)

if TYPE_CHECKING:
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
    from tests.provider.conftest import ScriptedApi

REGION = "cn-north-1"


def _tunnel(tunnel_id: str, op_status: str, admin_status: str = "UP") -> dict:
    return {"vpnTunnelId": tunnel_id, "opStatus": op_status, "adminStatus": admin_status}


def _listed(key: str, *items: dict) -> dict:
    """A list call's result: one per region and check (``DescribeVpnTunnels`` with the targets' ids)."""
    return {key: list(items), "totalCount": len(items)}


def _tunnels_listed(*tunnels: dict) -> dict:
    return _listed("vpnTunnels", *tunnels)


def _tunnels(*ids: str) -> list[dict]:
    return [{"region": REGION, "vpn_tunnel_id": tunnel_id} for tunnel_id in ids]


def test_vpn_tunnels_up_reports_each_tunnel(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_tunnels_listed(_tunnel("t-1", "UP"), _tunnel("t-2", "DOWN")))
    api_server.reply(_tunnels_listed(_tunnel("t-2", "UP"), _tunnel("t-1", "UP"), _tunnel("t-3", "DOWN")))
    check = get_waiter("vpn_tunnels_up")

    assert check(hook, _tunnels("t-1", "t-2")) == WaitCheck(False, False, f"t-1({REGION}) op=UP; t-2({REGION}) op=DOWN")
    # Matched by id, in the targets' order; a tunnel the filter let through (t-3) is not a target.
    assert check(hook, _tunnels("t-1", "t-2")) == WaitCheck(True, False, f"t-1({REGION}) op=UP; t-2({REGION}) op=UP")
    assert len(api_server.requests) == 2  # one list call per region and check, not one describe per tunnel


def test_vpn_tunnel_admin_down_or_gone_is_terminal(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_tunnels_listed(_tunnel("t-1", "DOWN", admin_status="DOWN")))
    api_server.reply(_tunnels_listed())
    check = get_waiter("vpn_tunnels_up")

    assert check(hook, _tunnels("t-1")) == WaitCheck(False, True, "VPN tunnel t-1 has adminStatus DOWN")
    assert check(hook, _tunnels("t-9")) == WaitCheck(False, True, "VPN tunnel t-9 no longer exists")


def test_instances_running_fails_on_a_stopped_instance(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_listed("instances", {"instanceId": "i-1", "status": "pending"}))
    api_server.reply(_listed("instances", {"instanceId": "i-1", "status": "stopped"}))
    targets = [{"region": REGION, "instance_id": "i-1"}]
    check = get_waiter("instances_running")

    assert check(hook, targets) == WaitCheck(False, False, f"i-1({REGION}) pending")
    assert check(hook, targets) == WaitCheck(False, True, "instance i-1 is stopped")


def test_vpn_connections_provisioned_waits_for_both_cloud_ips(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_listed("vpnConnections", {"vpnConnectionId": "vc-1", "cloudPublicIp": [], "status": "creating"}))
    api_server.reply(_listed("vpnConnections", {"vpnConnectionId": "vc-1", "cloudPublicIp": ["1.1.1.1", "1.1.1.2"]}))
    api_server.reply(_listed("vpnConnections"))
    targets = [{"region": REGION, "vpn_connection_id": "vc-1"}]
    check = get_waiter("vpn_connections_provisioned")

    assert check(hook, targets) == WaitCheck(False, False, f"vc-1({REGION}) cloud IPs not yet")
    assert check(hook, targets) == WaitCheck(True, False, f"vc-1({REGION}) cloud IPs ['1.1.1.1', '1.1.1.2']")
    assert check(hook, targets) == WaitCheck(False, True, "VPN connection vc-1 no longer exists")


def test_vpc_attachment_being_deleted_is_terminal(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_listed("vpcAttachments", {"vpcAttachmentId": "va-1", "status": "deleting"}))
    targets = [{"region": REGION, "vpc_attachment_id": "va-1"}]

    check = get_waiter("vpc_attachments_active")(hook, targets)
    assert check == WaitCheck(False, True, "VPC attachment va-1 is being deleted")


def test_vpc_attachments_active(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_listed("vpcAttachments", {"vpcAttachmentId": "va-1", "status": "active"}))
    api_server.reply(_listed("vpcAttachments"))
    targets = [{"region": REGION, "vpc_attachment_id": "va-1"}]
    check = get_waiter("vpc_attachments_active")

    assert check(hook, targets) == WaitCheck(True, False, f"va-1({REGION}) active")
    assert check(hook, targets) == WaitCheck(False, True, "VPC attachment va-1 no longer exists")


def test_route_tables_have_routes(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    rule = {"addressPrefix": "10.2.0.0/16", "nextHopType": "bgw", "nextHopId": "bgw-1"}
    api_server.reply({"routeTableRules": [], "totalCount": 0})
    api_server.reply({"routeTableRules": [rule], "totalCount": 1})
    targets = [{"region": REGION, "route_table_id": "rtb-1", "destination": "10.2.0.0/16", "bgw_id": "bgw-1"}]
    check = get_waiter("route_tables_have_routes")

    assert check(hook, targets) == WaitCheck(False, False, f"rtb-1({REGION}) lacks 10.2.0.0/16 via bgw")
    assert check(hook, targets) == WaitCheck(True, False, f"rtb-1({REGION}) has 10.2.0.0/16 via bgw")


def test_invocations_finished(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"invocations": [{"invokeId": "inv-1", "status": "running"}], "totalCount": 1})
    api_server.reply({"invocations": [{"invokeId": "inv-1", "status": "failed"}], "totalCount": 1})
    targets = [{"region": REGION, "invoke_id": "inv-1"}]
    check = get_waiter("invocations_finished")

    assert check(hook, targets) == WaitCheck(False, False, f"inv-1({REGION}) running")
    assert check(hook, targets) == WaitCheck(True, False, f"inv-1({REGION}) failed")


def test_wait_polls_until_success_then_stops(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_tunnels_listed(_tunnel("t-1", "DOWN")))
    api_server.reply(_tunnels_listed(_tunnel("t-1", "UP")))
    slept: list[float] = []

    status, check = wait(
        hook, "vpn_tunnels_up", _tunnels("t-1"), deadline=time.time() + 60, poll_interval=5, sleep=slept.append
    )

    assert (status, check.summary, slept) == ("success", f"t-1({REGION}) op=UP", [FIRST_POLL_S])
    assert len(api_server.requests) == 2


def _checks(cap_s: float, until_s: float) -> list[float]:
    """When a wait polling with ``cap_s`` checks, from its start to ``until_s`` (no time spent in the checks)."""
    times = [0.0]
    while times[-1] < until_s:
        times.append(times[-1] + next_poll_interval(times[-1], cap_s))
    return times


@pytest.mark.parametrize("cap_s", [5.0, 15.0, 60.0])
def test_a_wait_sees_a_change_within_a_second_or_a_tenth_of_the_time_it_took(cap_s: float) -> None:
    checks = _checks(cap_s, 900)
    for changed_at in [0.3, 0.9, 2.5, 7.0, 19.0, 33.0, 47.5, 120.0, 599.0]:
        seen_at = next(t for t in checks if t >= changed_at)
        assert seen_at - changed_at <= max(FIRST_POLL_S, 0.1 * changed_at, 0.0) + 1e-9, (cap_s, changed_at, seen_at)


def test_backoff_stops_at_the_cap_so_a_long_wait_costs_few_checks() -> None:
    assert next_poll_interval(0, 15) == FIRST_POLL_S
    assert next_poll_interval(40, 15) == 4.0
    assert next_poll_interval(400, 15) == 15
    assert next_poll_interval(0, 0.1) == 0.1  # a cap below the first pause wins
    # A 10-minute wait with a 15 s cap: a check a second at first, then ever fewer; fixed 15 s polls make 40.
    assert len(_checks(15, 600)) < 75


def test_wait_reports_timeout_and_failure(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_tunnels_listed(_tunnel("t-1", "DOWN")))
    api_server.reply(_tunnels_listed(_tunnel("t-1", "DOWN", admin_status="DOWN")))

    timed_out = wait(hook, "vpn_tunnels_up", _tunnels("t-1"), deadline=time.time() - 1, poll_interval=5)
    failed = wait(hook, "vpn_tunnels_up", _tunnels("t-1"), deadline=time.time() + 60, poll_interval=5)

    assert (timed_out[0], timed_out[1].summary) == ("timeout", f"t-1({REGION}) op=DOWN")
    assert (failed[0], failed[1].summary) == ("failure", "VPN tunnel t-1 has adminStatus DOWN")


def test_async_wait_runs_the_same_loop(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_tunnels_listed(_tunnel("t-1", "DOWN")))
    api_server.reply(_tunnels_listed(_tunnel("t-1", "UP")))

    status, check = asyncio.run(
        async_wait(hook, "vpn_tunnels_up", _tunnels("t-1"), deadline=time.time() + 60, poll_interval=0.01)
    )

    assert (status, check.summary) == ("success", f"t-1({REGION}) op=UP")
    assert len(api_server.requests) == 2


PEER_REGION = "cn-east-2"


def _end(tunnel_id: str, cloud_ip: str, customer_ip: str, psk: str = "Stored_Key_123", op: str = "DOWN") -> dict:
    fields = {"cloudPublicIp": cloud_ip, "customerIp": customer_ip, "psk": psk, "ikeVersion": "v2"}
    return _tunnels_listed({**_tunnel(tunnel_id, op), **fields})


TWO_ENDS = [{"region": REGION, "vpn_tunnel_id": "t-1"}, {"region": PEER_REGION, "vpn_tunnel_id": "t-2"}]


def test_mirrors_that_differ_fail_the_wait_at_once(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_end("t-1", "1.1.1.1", "2.2.2.2"))
    api_server.reply(_end("t-2", "2.2.2.2", "1.1.1.1", psk="Other_Key_456"))
    slept: list[float] = []

    status, check = wait(
        hook, "vpn_tunnels_up", TWO_ENDS, deadline=time.time() + 600, poll_interval=5, sleep=slept.append
    )

    assert status == "failure" and slept == []
    assert check.summary.startswith(
        f"tunnel_down_psk_mismatch: tunnel t-1 ({REGION}) and t-2 ({PEER_REGION}) use different pre-shared keys; "
    )
    assert "Other_Key_456" not in check.summary and "Stored_Key_123" not in check.summary


def test_the_deferred_wait_fails_at_once_too(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_end("t-1", "1.1.1.1", "2.2.2.2"))
    api_server.reply(_end("t-2", "2.2.2.2", "1.1.1.9"))  # its mirror would be 1.1.1.1 -> 2.2.2.2

    status, check = asyncio.run(
        async_wait(hook, "vpn_tunnels_up", TWO_ENDS, deadline=time.time() + 600, poll_interval=60)
    )

    assert status == "failure"
    assert check.summary.startswith(f"tunnel_missing_peer: tunnel t-1 ({REGION}) has no {PEER_REGION} tunnel")
    assert len(api_server.requests) == 2


def test_matching_mirrors_keep_the_wait_going(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply(_end("t-1", "1.1.1.1", "2.2.2.2"))
    api_server.reply(_end("t-2", "2.2.2.2", "1.1.1.1", op="UP"))

    check = get_waiter("vpn_tunnels_up")(hook, TWO_ENDS)

    assert check == WaitCheck(False, False, f"t-1({REGION}) op=DOWN; t-2({PEER_REGION}) op=UP")


def test_a_static_route_to_another_next_hop_fails_the_route_wait(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    route = {"bgwRouteId": "bgwr-1", "bgwRouteDestination": "10.2.0.0/16", "bgwRouteNexthop": "vpca-1"}
    api_server.reply({"bgwRoutes": [route], "totalCount": 1})
    api_server.reply({"bgwRoutes": [route | {"bgwRouteNexthop": "vpnc-1"}], "totalCount": 1})
    api_server.reply({"routeTableRules": [], "totalCount": 0})
    target = {"region": REGION, "route_table_id": "rtb-1", "destination": "10.2.0.0/16", "bgw_id": "bgw-1"}
    check = get_waiter("route_tables_have_routes")

    assert check(hook, [target | {"vpn_connection_id": "vpnc-1"}]) == WaitCheck(
        False,
        True,
        f"static route bgwr-1 of border gateway bgw-1 ({REGION}) sends 10.2.0.0/16 to vpca-1, not to VPN connection "
        "vpnc-1",
    )
    assert len(api_server.requests) == 1  # terminal before the route table is read
    assert check(hook, [target | {"vpn_connection_id": "vpnc-1"}]).failed is False
