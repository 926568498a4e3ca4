"""The cloud's own critical path (``include/jdcloud_emulator/critical_path.py``), the bound ``make bench`` uses."""

from __future__ import annotations

import pytest

from include.jdcloud_emulator.critical_path import (
    DIRECTIONS,
    Step,
    build_steps,
    critical_path,
    lower_bound,
    minimal_calls,
    teardown_steps,
)
from include.jdcloud_emulator.settings import DEFAULT_LATENCIES


def test_bound_of_a_small_hand_computed_graph() -> None:
    """a (3 s) -> b (4 s) -> d (1 s), a -> c (10 s), c and b -> e (2 x 0.5 s): e ends at max(3+4, 3+10) + 1 = 14,
    d at 3 + 4 + 1 = 8; the chain that sets the bound is a, c, e."""
    latencies = {"x": 1.0, "y": 0.5}
    steps = [
        Step("a", waits=(("x", 3),)),
        Step("b", ("a",), (("x", 4),)),
        Step("c", ("a",), (("x", 10),)),
        Step("d", ("b",), (("x", 1),)),
        Step("e", ("b", "c"), (("y", 2),)),
    ]
    path = critical_path(steps, latencies)
    assert path.ends == {"a": 3.0, "b": 7.0, "c": 13.0, "d": 8.0, "e": 14.0}
    assert path.bound_s == 14.0
    assert path.chain == ["a", "c", "e"]
    assert lower_bound(steps, latencies, time_scale=0.5) == 7.0


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Step("a", ("b",))], "needs unknown steps"),
        ([Step("a", ("b",)), Step("b", ("a",))], "cycle"),
        ([Step("a"), Step("a")], "unique"),
    ],
)
def test_a_malformed_graph_is_refused(steps: list[Step], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        critical_path(steps, {})


def test_build_bound_with_booting_probes_is_the_hand_sum() -> None:
    """By hand, with the default latencies (s): the probe VMs boot (vm_boot 40); a ping invoked 2 s before
    (invocation_start: the emulator judges the VM when the invocation starts) sends 4 echo requests
    (4 x ping_interval 1): 40 + 4 = 44. The network path is shorter: both VPN connections at once, provisioned
    (5), each customer gateway pointed at the other's IPs, tunnels created on both sides, negotiated (20): 25;
    routes: attachment active (5) + propagation (5) = 10. The two pings need each other not at all."""
    path = critical_path(build_steps(create_probes=True, ping_count=4), DEFAULT_LATENCIES)
    assert path.bound_s == 40 + 4
    chains = [[f"launch_probe_vm_{a}", f"probe_vm_running_{a}", f"ping_{a}_to_{b}"] for a, b in DIRECTIONS]
    assert path.chain in chains
    assert path.ends["ping_home_to_peer"] == path.ends["ping_peer_to_home"] == 44
    assert path.ends["tunnel_1_up"] == 5 + 20
    assert path.ends["route_learned_home"] == 5 + 5


def test_build_bound_with_running_probes_is_the_network_path() -> None:
    """Probe VMs already running: create_vpn_connection (0) -> cloud IPs (5) -> point the other side's customer
    gateway (0) -> create the tunnels (0) -> negotiation (20) -> 4 echo requests (4 x 1), the invocation sent
    invocation_start (2) before the tunnels come UP: 5 + 20 + 4 = 29; the chain runs through a tunnel pair, not
    through the routes (10) or the other ping."""
    path = critical_path(build_steps(create_probes=False, ping_count=4), DEFAULT_LATENCIES)
    assert path.bound_s == 5 + 20 + 4
    assert any(step.startswith("cloud_ips_") for step in path.chain)
    assert any(step.startswith("tunnel_") and step.endswith("_up") for step in path.chain)
    assert not any(step.startswith("route_learned") for step in path.chain)


def test_teardown_bound_is_the_hand_sum() -> None:
    """Tunnels set DOWN can go after tunnel_admin_down (2); the VPN connection after its tunnels and static
    route, gone after vpn_connection_delete (5): 7; the attachment is gone after 5, the probe VMs after
    vm_delete (8), so 8 with probes to delete, 7 without."""
    assert lower_bound(teardown_steps(delete_probes=True), DEFAULT_LATENCIES) == 8
    assert lower_bound(teardown_steps(delete_probes=False), DEFAULT_LATENCIES) == 2 + 5


def test_minimal_calls_of_a_build_are_the_hand_count() -> None:
    """Mutations per side: border gateway, customer gateway, VPC attachment, VPN connection, pointing the customer
    gateway, static route, 2 tunnels, ping command, invocation = 10, x 2 sides = 20 (+ 2 probe VMs launched and
    2 deleted = 24); one lookup each; reads: 2 attachments active, 2 connections' IPs, 4 tunnels UP, 2 route
    tables, 2 invocations = 12 (+ 2 VMs running = 14)."""
    assert minimal_calls(build_steps(create_probes=False, ping_count=4)) == {
        "mutations": 20,
        "lookups": 20,
        "reads": 12,
        "total": 52,
    }
    assert minimal_calls(build_steps(create_probes=True, ping_count=4))["total"] == 24 + 24 + 14
