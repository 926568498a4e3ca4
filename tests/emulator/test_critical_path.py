"""The cloud's step graph (``critical_path.build_steps``, the bound ``make bench`` uses) against the emulator.

Each call of the graph is made through the real SDK at the moment the graph says it can be made, on a manual
clock (the emulator's, so nothing sleeps): every call is accepted and both pings pass at the bound, so the
bound is reachable. Made a second earlier, a call whose needs wait out a latency is refused, or its ping
fails, so the graph leaves nothing out that the emulator waits for.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from include.jdcloud_emulator.critical_path import SIDES, Step, build_steps, critical_path
from include.jdcloud_emulator.server import start_in_thread
from include.jdcloud_emulator.settings import DEFAULT_LATENCIES, EmulatorSettings
from tests.emulator.scenario import HOME, PEER, Site, add_tunnel, build_vpc, launch_vm, set_cgw_ips
from tests.sdk_client import ApiError, SdkClient

PING_COUNT = 4


class ManualClock:
    """The emulated cloud's clock, moved by the test."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


class NotShownYet(Exception):
    """The API does not show yet what the next call needs (a connection's cloud IPs)."""


@dataclass
class Cloud:
    api: SdkClient
    clock: ManualClock
    start: float


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    emulator = start_in_thread(EmulatorSettings())
    clock = ManualClock(time.time())
    emulator.app.state.cloud.clock = clock
    try:
        yield Cloud(SdkClient(emulator.endpoint, emulator.access_key, emulator.secret_key), clock, clock.at)
    finally:
        emulator.stop()


def _cloud_ips(api: SdkClient, site: Site) -> list[str]:
    ips = api.call("DescribeVpnConnection", site.region, vpnConnectionId=site.connection_id)["vpnConnection"][
        "cloudPublicIp"
    ]
    if len(ips) != 2:
        raise NotShownYet(f"VPN connection {site.connection_id} shows no cloud IPs yet")
    return ips


def _call(api: SdkClient, step: str, sites: dict[str, Site], invocations: dict[str, str]) -> None:
    """Make the API calls of one step of the graph (its name says which, and on which side)."""
    kind, _, rest = step.rpartition("_")
    side = rest if rest in SIDES else step.split("_")[-2] if step.startswith("create_vpn_tunnel") else None
    if step.startswith("invoke_ping_"):
        source, target = step.removeprefix("invoke_ping_").split("_to_")
        content = base64.b64encode(f"ping -c {PING_COUNT} {sites[target].private_ip}".encode()).decode()
        region = sites[source].region
        command_id = api.call("CreateCommand", region, commandName=step, commandContent=content)["commandId"]
        invocation = api.call("InvokeCommand", region, commandId=command_id, instances=[sites[source].instance_id])
        invocations[f"ping_{source}_to_{target}"] = invocation["invokeId"]
        return
    site, other = sites[side], sites[SIDES[1 - SIDES.index(side)]]
    if kind == "create_bgw":
        site.bgw_id = site.create(api, "bgw", bgwName=f"cp-{side}-bgw")
    elif kind == "create_customer_gateway":
        site.cgw_id = site.create(
            api,
            "customerGateway",
            customerGatewayName=f"cp-{side}-cgw",
            customerIps=["1.0.0.1", "1.0.0.2"],
            bgpAsn=65001,
        )
    elif kind == "create_vpc_attachment":
        site.attachment_id = site.create(
            api,
            "vpcAttachment",
            vpcAttachmentName=f"cp-{side}-att",
            bgwId=site.bgw_id,
            vpcId=site.vpc_id,
            propagateType="partial",
            subnetIds=[site.subnet_id],
        )
    elif kind == "create_vpn_connection":
        site.connection_id = site.create(
            api, "vpnConnection", vpnConnectionName=f"cp-{side}-vpn", bgwId=site.bgw_id, cgwId=site.cgw_id
        )
    elif kind == "point_customer_gateway":
        set_cgw_ips(api, site, _cloud_ips(api, other))
    elif kind == "create_static_route":
        site.route_id = site.create(
            api,
            "bgwRoute",
            bgwId=site.bgw_id,
            bgwRouteDestination=other.cidr,
            bgwNexthopType="vpn_connection",
            bgwRouteNexthop=site.connection_id,
        )
    elif kind == "launch_probe_vm":
        launch_vm(api, site)
    elif step.startswith("create_vpn_tunnel_"):
        index = int(rest) - 1
        ips = []
        for end in (site, other):
            try:
                ips.append(_cloud_ips(api, end)[index])
            except NotShownYet:  # call anyway, so the API says whether it takes a tunnel yet
                ips.append("1.0.0.1")
        add_tunnel(api, site, *ips)
    else:
        raise AssertionError(f"no calls known for step {step}")


def _starts(steps: list[Step]) -> dict[str, float]:
    """When the graph lets each calling step make its calls (seconds after the build started); a ping is
    invoked ``invocation_start`` before its echo requests start, which is when the graph lets them start."""
    ends = critical_path(steps, DEFAULT_LATENCIES).ends
    starts = {s.name: ends[s.name] - s.duration(DEFAULT_LATENCIES) for s in steps if s.operations}
    for step in steps:
        if step.name.startswith("ping_"):
            echo_start = ends[step.name] - step.duration(DEFAULT_LATENCIES)
            starts[f"invoke_{step.name}"] = echo_start - DEFAULT_LATENCIES["invocation_start"]
    return starts


def _build(cloud: Cloud, steps: list[Step], starts: dict[str, float]) -> dict[str, str]:
    """Make every call of the build graph at its start on the clock (dependencies first at equal times)."""
    sites = {"home": Site(HOME, "10.10.0.0/16"), "peer": Site(PEER, "10.20.0.0/16")}
    for site in sites.values():
        build_vpc(cloud.api, site)
    by_name = {s.name: s for s in steps}

    def depth(name: str) -> int:
        return 1 + max((depth(n) for n in by_name[name].needs), default=0)

    invocations: dict[str, str] = {}
    for name in sorted(starts, key=lambda n: (starts[n], depth(n))):
        if name.startswith("delete_probe_vm_"):
            continue  # cleanup after the pings; nothing waits for it
        cloud.clock.at = cloud.start + starts[name]
        _call(cloud.api, name, sites, invocations)
    return invocations


def _ping(cloud: Cloud, region: str, invoke_id: str) -> dict:
    invocation = cloud.api.call("DescribeInvocations", region, invokeIds=[invoke_id])["invocations"][0]
    result = invocation["invocationInstances"][0]
    output = base64.b64decode(result["output"]).decode() if result["output"] else ""
    return {"status": invocation["status"], "output": output}


REGIONS = {"ping_home_to_peer": HOME, "ping_peer_to_home": PEER}


def test_every_call_is_accepted_at_its_earliest_and_both_pings_pass_at_the_bound(cloud: Cloud) -> None:
    steps = build_steps(create_probes=True, ping_count=PING_COUNT)
    bound = critical_path(steps, DEFAULT_LATENCIES).bound_s
    invocations = _build(cloud, steps, _starts(steps))

    cloud.clock.at = cloud.start + bound
    for ping, invoke_id in invocations.items():
        result = _ping(cloud, REGIONS[ping], invoke_id)
        assert result["status"] == "finish", result
        assert f"{PING_COUNT} packets transmitted, {PING_COUNT} received" in result["output"], result


@pytest.mark.parametrize(
    ("early", "refused"),
    [
        ("create_vpn_tunnel_home_1", "FAILED_PRECONDITION: VPN connection .* is still being created"),
        ("point_customer_gateway_home", "shows no cloud IPs yet"),  # the far connection's IPs are not shown
    ],
)
def test_a_call_made_a_second_before_its_needs_ended_is_refused(cloud: Cloud, early: str, refused: str) -> None:
    steps = build_steps(create_probes=True, ping_count=PING_COUNT)
    starts = _starts(steps)
    starts[early] -= 1
    with pytest.raises((ApiError, NotShownYet), match=refused):
        _build(cloud, steps, starts)


@pytest.mark.parametrize("create_probes", [True, False], ids=["booting-probes", "running-probes"])
def test_a_ping_invoked_a_second_early_fails(cloud: Cloud, create_probes: bool) -> None:
    """With booting probes the source VM is not running yet when the invocation starts; with running probes the
    first echo request finds the tunnels still negotiating."""
    steps = build_steps(create_probes=create_probes, ping_count=PING_COUNT)
    starts = _starts(steps)
    if not create_probes:  # existing probes: launched (and booted) before the build
        for side in SIDES:
            starts[f"launch_probe_vm_{side}"] = -DEFAULT_LATENCIES["vm_boot"]
    for ping in ("invoke_ping_home_to_peer", "invoke_ping_peer_to_home"):
        starts[ping] -= 1
    invocations = _build(cloud, steps, starts)

    cloud.clock.at = cloud.start + critical_path(steps, DEFAULT_LATENCIES).bound_s
    for ping, invoke_id in invocations.items():
        result = _ping(cloud, REGIONS[ping], invoke_id)
        if create_probes:
            assert result == {"status": "failed", "output": ""}, result  # the agent was not online yet
        else:
            assert f"{PING_COUNT} packets transmitted, {PING_COUNT - 1} received" in result["output"], result
