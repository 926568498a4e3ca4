"""Tear an interconnect down in the safe order, finding every resource by its deterministic name.

Order: BGW static routes -> tunnels (adminStatus DOWN, then delete) -> VPN connections -> customer
gateways -> VPC attachments -> border gateways -> ephemeral probe VMs -> ping commands. Each phase lists
what is there *now* (an old run's XCom may be gone, a build may have failed half way), deletes it, and
counts "already gone" (404) as done. Only resources named for this interconnect are touched, plus the
routes and attachments hanging off its own border gateways (they would block deleting them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_jdcloud.exceptions import NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import SIDES, Side, TeardownTarget
from include.jdcloud_vpn.results import PlanItem

log = logging.getLogger(__name__)

VM_GONE_TIMEOUT_S = 600.0


def _exact(items: list, attribute: str, name: str) -> list:
    return [i for i in items if getattr(i, attribute) == name]


class Teardown:
    """Lists and deletes one interconnect's resources, one phase at a time (phases: :data:`PHASES`)."""

    def __init__(self, hook: JDCloudHook, target: TeardownTarget, sleep: Callable[[float], None] = time.sleep) -> None:
        self.hook = hook
        self.target = target
        self.sleep = sleep

    def _item(self, phase: str, side: Side, kind: str, resource_id: str, **extra: str | None) -> PlanItem:
        return PlanItem(phase=phase, side=side, region=self.target.region(side), kind=kind, id=resource_id, **extra)

    # ------------------------------------------------------------------ listing

    def _bgws(self, side: Side) -> list:
        name = naming.bgw_name(self.target, side)
        return _exact(self.hook.describe_bgws(bgw_names=[name], region=self.target.region(side)), "bgw_name", name)

    def _connections(self, side: Side) -> list:
        name = naming.vpn_connection_name(self.target, side)
        found = self.hook.describe_vpn_connections(vpn_connection_names=[name], region=self.target.region(side))
        return _exact(found, "vpn_connection_name", name)

    def list_bgw_routes(self, phase: str, side: Side) -> list[PlanItem]:
        return [
            self._item(phase, side, "bgwRoute", r.bgw_route_id, bgw_id=b.bgw_id, destination=r.bgw_route_destination)
            for b in self._bgws(side)
            for r in self.hook.describe_bgw_routes(b.bgw_id, origin="static", region=self.target.region(side))
        ]

    def list_vpn_tunnels(self, phase: str, side: Side) -> list[PlanItem]:
        region = self.target.region(side)
        return [
            self._item(phase, side, "vpnTunnel", t.vpn_tunnel_id, admin_status=t.admin_status)
            for c in self._connections(side)
            for t in self.hook.describe_vpn_tunnels(vpn_connection_id=c.vpn_connection_id, region=region)
        ]

    def list_vpn_connections(self, phase: str, side: Side) -> list[PlanItem]:
        return [self._item(phase, side, "vpnConnection", c.vpn_connection_id) for c in self._connections(side)]

    def list_customer_gateways(self, phase: str, side: Side) -> list[PlanItem]:
        name = naming.customer_gateway_name(self.target, side)
        found = self.hook.describe_customer_gateways(customer_gateway_names=[name], region=self.target.region(side))
        return [
            self._item(phase, side, "customerGateway", g.customer_gateway_id)
            for g in _exact(found, "customer_gateway_name", name)
        ]

    def list_vpc_attachments(self, phase: str, side: Side) -> list[PlanItem]:
        region = self.target.region(side)
        name = naming.vpc_attachment_name(self.target, side)
        by_name = _exact(
            self.hook.describe_vpc_attachments(vpc_attachment_names=[name], region=region), "vpc_attachment_name", name
        )
        on_our_bgws = [
            a for bgw in self._bgws(side) for a in self.hook.describe_vpc_attachments(bgw_id=bgw.bgw_id, region=region)
        ]
        unique = {a.vpc_attachment_id: a for a in by_name + on_our_bgws}
        return [self._item(phase, side, "vpcAttachment", a_id) for a_id in sorted(unique)]

    def list_bgws(self, phase: str, side: Side) -> list[PlanItem]:
        return [self._item(phase, side, "bgw", b.bgw_id) for b in self._bgws(side)]

    def list_probe_vms(self, phase: str, side: Side) -> list[PlanItem]:
        name = naming.probe_vm_name(self.target, side)
        found = self.hook.find_instances_by_name(name, region=self.target.region(side))
        return [self._item(phase, side, "instance", i.instance_id, status=i.status) for i in found]

    def list_commands(self, phase: str, side: Side) -> list[PlanItem]:
        name = naming.command_name(self.target, naming.direction_from(side))
        found = self.hook.describe_commands(command_names=[name], region=self.target.region(side))
        return [self._item(phase, side, "command", c["commandId"]) for c in found if c.get("commandName") == name]

    def list_phase(self, phase: str) -> list[PlanItem]:
        """What ``phase`` would delete right now, both sides."""
        return [item for side in SIDES for item in PHASES[phase].list(self, phase, side)]

    def plan(self) -> list[PlanItem]:
        """Everything the teardown would delete, in deletion order."""
        return [item for phase in PHASES for item in self.list_phase(phase)]

    # ------------------------------------------------------------------ deleting

    def run_phase(self, phase: str) -> list[PlanItem]:
        """Delete everything ``phase`` lists now; return what was deleted (already gone counts as deleted)."""
        items = self.list_phase(phase)
        for item in items:
            try:
                PHASES[phase].delete(self, item)
            except NotFound:
                log.info("%s %s was already gone", item.kind, item.id)
            else:
                log.info("Deleted %s %s in %s", item.kind, item.id, item.region)
        if phase == "probe_vms":
            self._wait_vms_gone(items)
        return items

    def delete_bgw_route(self, item: PlanItem) -> None:
        self.hook.delete_bgw_route(item.bgw_id, item.id, region=item.region)

    def delete_vpn_tunnel(self, item: PlanItem) -> None:
        if item.admin_status != "DOWN":  # JD Cloud deletes a tunnel only when it is administratively DOWN
            self.hook.modify_vpn_tunnel_admin_status(item.id, "DOWN", region=item.region)
        self.hook.delete_vpn_tunnel(item.id, region=item.region)

    def delete_vpn_connection(self, item: PlanItem) -> None:
        self.hook.delete_vpn_connection(item.id, region=item.region)

    def delete_customer_gateway(self, item: PlanItem) -> None:
        self.hook.delete_customer_gateway(item.id, region=item.region)

    def delete_vpc_attachment(self, item: PlanItem) -> None:
        self.hook.delete_vpc_attachment(item.id, region=item.region)

    def delete_bgw(self, item: PlanItem) -> None:
        self.hook.delete_bgw(item.id, region=item.region)

    def delete_probe_vm(self, item: PlanItem) -> None:
        if item.status == "deleting":
            return
        if item.status == "pending":  # a VM can be deleted only once it runs
            self._wait_for(lambda: self.hook.describe_instance(item.id, region=item.region).status != "pending", item)
        self.hook.delete_instance(item.id, region=item.region)

    def delete_command(self, item: PlanItem) -> None:
        self.hook.delete_commands([item.id], region=item.region)

    def _wait_vms_gone(self, items: list[PlanItem]) -> None:
        for item in items:
            self._wait_for(lambda item=item: not self._instance_exists(item), item)

    def _instance_exists(self, item: PlanItem) -> bool:
        try:
            self.hook.describe_instance(item.id, region=item.region)
        except NotFound:
            return False
        return True

    def _wait_for(self, condition: Callable[[], bool], item: PlanItem) -> None:
        deadline = time.monotonic() + VM_GONE_TIMEOUT_S
        interval = 0.05
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{item.kind} {item.id} did not reach the expected state in {VM_GONE_TIMEOUT_S}s")
            self.sleep(interval)
            interval = min(interval * 2, 5.0)


@dataclass(frozen=True)
class Phase:
    """One deletion phase: how to list what it deletes on one side, how to delete one item, and why now."""

    list: Callable[[Teardown, str, Side], list[PlanItem]]
    delete: Callable[[Teardown, PlanItem], None]
    doc: str


#: The deletion phases, in the safe order.
PHASES: dict[str, Phase] = {
    "bgw_routes": Phase(
        Teardown.list_bgw_routes,
        Teardown.delete_bgw_route,
        "Delete the static routes of the interconnect's border gateways.",
    ),
    "vpn_tunnels": Phase(
        Teardown.list_vpn_tunnels,
        Teardown.delete_vpn_tunnel,
        "Set every tunnel's adminStatus DOWN (JD Cloud requires it), then delete the tunnels.",
    ),
    "vpn_connections": Phase(
        Teardown.list_vpn_connections,
        Teardown.delete_vpn_connection,
        "Delete the VPN connections (they have no tunnels and no routes pointing at them now).",
    ),
    "customer_gateways": Phase(
        Teardown.list_customer_gateways,
        Teardown.delete_customer_gateway,
        "Delete the customer gateways (no VPN connection uses them now).",
    ),
    "vpc_attachments": Phase(
        Teardown.list_vpc_attachments,
        Teardown.delete_vpc_attachment,
        "Delete the VPC attachments (their propagated routes go with them).",
    ),
    "bgws": Phase(
        Teardown.list_bgws,
        Teardown.delete_bgw,
        "Delete the border gateways (no attachment, connection or route is left on them).",
    ),
    "probe_vms": Phase(
        Teardown.list_probe_vms,
        Teardown.delete_probe_vm,
        "Delete the ephemeral probe VMs the build created (existing probe VMs are never touched).",
    ),
    "commands": Phase(
        Teardown.list_commands,
        Teardown.delete_command,
        "Delete the cloud-assistant ping commands.",
    ),
}
