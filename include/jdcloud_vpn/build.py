"""The one build of an interconnect, in the tutorial's order; the interconnect DAG and the DR drill call it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.jdcloud_vpn import tasks
from include.jdcloud_vpn.conf import SIDES


@dataclass(frozen=True)
class Build:
    """The tasks of one build that the calling DAG wires further (pings, report, cleanup)."""

    conf: Any
    tunnels_up: Any
    routes_learned: Any
    probes: dict[str, Any]

    @property
    def connected(self) -> list[Any]:
        """The waits a ping needs behind it: tunnels UP and routes learned (independent of each other)."""
        return [self.tunnels_up, self.routes_learned]

    def delete_probes_after(self, last: Any) -> None:
        """Delete the ephemeral probe VMs once ``last`` is done: a teardown of the probe VMs (their setups), so
        it runs even when the build or the pings failed."""
        cleanup = tasks.delete_probe_vms(self.conf).as_teardown(setups=[self.probes[side].operator for side in SIDES])
        last >> cleanup


def build_interconnect(conf: Any, *, after: list[Any]) -> Build:
    """Create the task groups of tutorial steps 1-13, the routing step and the probe VMs.

    Task ids are the same in every DAG that builds (``home_region.create_border_gateway``, ...). The
    pre-shared key is read (or generated) once every task of ``after`` (e.g. the site check, or the drill's
    teardown) has succeeded, and nothing is created before the key is known good.
    """
    psk = tasks.ensure_pre_shared_key(conf)
    after >> psk  # it may generate and store the key: only once the run holds its interconnect (guard.py)

    # Steps 1-3 (home region) and 5-7 (peer region): border gateway, VPC attachment, customer gateway.
    gateways = {side: tasks.site_gateways.override(group_id=f"{side}_region")(conf, side) for side in SIDES}
    psk >> [gateways[side][step] for side in SIDES for step in ("bgw", "cgw")]

    # Steps 8-11: VPN connection in the peer region, cross-wire, VPN connection in the home region, cross-wire.
    connections = tasks.vpn_connections(conf, gateways["home"], gateways["peer"])

    # Steps 12-13: tunnels on both sides, then wait until they are UP.
    tunnels_up = tasks.vpn_tunnels(conf, connections, psk)

    # Routing: static routes on both border gateways, then wait until the VPC route tables learn them. A static
    # route needs its VPN connection, not tunnels UP: routing goes on while IKE negotiates.
    routes_learned = tasks.static_routing(conf, gateways["home"], gateways["peer"], connections)

    # Test steps a/b: probe VMs, started early (they take longest), then wait until both run. Like every create,
    # not before the key is known good: a bad key must leave the cloud untouched.
    probes = tasks.probe_vms(conf)
    psk >> [probes[side] for side in SIDES]

    return Build(conf, tunnels_up, routes_learned, probes)
