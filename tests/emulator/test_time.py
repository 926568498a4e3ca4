"""Simulated time: tunnel negotiation latency, and lifecycle timings that scale with ``--time-scale``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from include.jdcloud_emulator.server import RunningEmulator, start_in_thread
from include.jdcloud_emulator.settings import DEFAULT_LATENCIES, DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings
from tests.emulator.scenario import (
    TUNNEL_DEFAULTS,
    Site,
    build_interconnect,
    build_vpc,
    instance_status,
    launch_vm,
    negotiation,
    op_statuses,
    provisioned_cloud_ips,
)
from tests.sdk_client import SdkClient

NEGOTIATION_S = 0.3


def test_tunnel_goes_up_only_after_both_sides_match_and_negotiation_elapses(api, control, latencies):
    scale = control.get("/latencies").json()["time_scale"]
    latencies(tunnel_negotiation=NEGOTIATION_S / scale)
    home, peer = build_interconnect(api, peer_tunnel={"psk": "Mismatched_PSK"})
    assert op_statuses(api, home, peer) == ["DOWN"] * 4
    assert {negotiation(control, t) for t in home.tunnel_ids + peer.tunnel_ids} == {"psk_mismatch"}

    started = time.monotonic()
    peer.modify_tunnels(api, "ModifyVpnTunnel", psk=TUNNEL_DEFAULTS["psk"])
    assert {negotiation(control, t) for t in home.tunnel_ids + peer.tunnel_ids} == {None}
    assert op_statuses(api, home, peer) == ["DOWN"] * 4  # matched, still negotiating
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
    elapsed = time.monotonic() - started
    assert NEGOTIATION_S * 0.95 <= elapsed < NEGOTIATION_S + 2.0, elapsed


def test_a_lone_tunnel_stays_down(api, control):
    home, peer = build_interconnect(api)
    lone = Site("cn-south-1", "10.30.0.0/16")
    # A tunnel whose far end does not exist never negotiates, however long we wait for the others.
    bgw_id = api.call("CreateBgw", lone.region, bgwName="lone")["bgwId"]
    cgw_id = api.call(
        "CreateCustomerGateway", lone.region, customerGatewayName="c", customerIps=["1.0.0.9"], bgpAsn=65001
    )["customerGatewayId"]
    connection_id = api.call("CreateVpnConnection", lone.region, vpnConnectionName="v", bgwId=bgw_id, cgwId=cgw_id)[
        "vpnConnectionId"
    ]
    cloud_ip = provisioned_cloud_ips(api, lone.region, connection_id)[0]
    tunnel_id = api.call(
        "CreateVpnTunnel",
        lone.region,
        vpnConnectionId=connection_id,
        cloudPublicIp=cloud_ip,
        customerIp="1.0.0.9",
        psk="p",
    )["vpnTunnelId"]
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
    assert api.call("DescribeVpnTunnel", lone.region, vpnTunnelId=tunnel_id)["vpnTunnel"]["opStatus"] == "DOWN"
    assert negotiation(control, tunnel_id) == "no_peer_tunnel"


@pytest.fixture
def two_emulators() -> Iterator[tuple[RunningEmulator, RunningEmulator]]:
    fast = start_in_thread(EmulatorSettings(time_scale=0.002))
    try:
        slow = start_in_thread(EmulatorSettings(time_scale=0.01))
        try:
            yield fast, slow
        finally:
            slow.stop()
    finally:
        fast.stop()


def _seconds_to_running(emulator: RunningEmulator) -> float:
    api = SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    site = Site("cn-north-1", "10.10.0.0/16")
    build_vpc(api, site)
    started = time.monotonic()
    launch_vm(api, site)
    api.wait_for(lambda: instance_status(api, site.region, site.instance_id) == "running", interval=0.005)
    return time.monotonic() - started


def test_lifecycle_timings_scale_with_time_scale(two_emulators):
    fast, slow = two_emulators
    boot = DEFAULT_LATENCIES["vm_boot"]
    fast_s, slow_s = _seconds_to_running(fast), _seconds_to_running(slow)
    assert boot * 0.002 * 0.95 <= fast_s < boot * 0.01, fast_s  # 0.08 s, well under the slow boot
    assert boot * 0.01 * 0.95 <= slow_s < boot * 0.01 + 2.0, slow_s  # 0.4 s
    assert slow_s > 2 * fast_s


def test_time_scale_can_change_at_runtime(two_emulators):
    _, slow = two_emulators
    with httpx.Client(base_url=f"{slow.url}/emulator-api") as control:
        assert control.get("/health").json() == {"status": "ok", "time_scale": 0.01, "dataplane": "model"}
        control.patch("/latencies", json={"time_scale": 0.001}).raise_for_status()
        assert control.get("/latencies").json()["time_scale"] == 0.001
    assert _seconds_to_running(slow) < DEFAULT_LATENCIES["vm_boot"] * 0.01
