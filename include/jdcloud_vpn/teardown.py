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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from airflow_provider_jdcloud.exceptions import NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import NAME_PATTERN, SIDES, InterconnectConf, Region

log = logging.getLogger(__name__)

PHASES = (
    "bgw_routes",
    "vpn_tunnels",
    "vpn_connections",
    "customer_gateways",
    "vpc_attachments",
    "bgws",
    "probe_vms",
    "commands",
)
VM_GONE_TIMEOUT_S = 600.0


class TeardownTarget(BaseModel):
    """Which interconnect to remove: its name and the two regions (all a teardown needs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=NAME_PATTERN, description="Interconnect name, as in the build's conf.")
    home_region: Region = Field(description="Home region.")
    peer_region: Region = Field(description="Peer region.")

    @model_validator(mode="after")
    def _distinct_regions(self) -> TeardownTarget:
        if self.home_region == self.peer_region:
            raise ValueError("home_region and peer_region must differ")
        return self

    @classmethod
    def from_conf(cls, conf: InterconnectConf) -> TeardownTarget:
        return cls(name=conf.name, home_region=conf.home.region, peer_region=conf.peer.region)

    def region(self, side: str) -> str:
        return self.home_region if side == "home" else self.peer_region


def _item(side: str, region: str, kind: str, resource_id: str, **extra: Any) -> dict[str, Any]:
    return {"side": side, "region": region, "kind": kind, "id": resource_id, **extra}


def _exact(items: list, attribute: str, name: str) -> list:
    return [i for i in items if getattr(i, attribute) == name]


class Teardown:
    """Lists and deletes one interconnect's resources, one phase at a time."""

    def __init__(self, hook: JDCloudHook, target: TeardownTarget, sleep: Callable[[float], None] = time.sleep) -> None:
        self.hook = hook
        self.target = target
        self.sleep = sleep

    # ------------------------------------------------------------------ listing

    def _bgws(self, side: str) -> list:
        region = self.target.region(side)
        name = naming.bgw_name(self.target, side)
        return _exact(self.hook.describe_bgws(bgw_names=[name], region=region), "bgw_name", name)

    def _connections(self, side: str) -> list:
        region = self.target.region(side)
        name = naming.vpn_connection_name(self.target, side)
        found = self.hook.describe_vpn_connections(vpn_connection_names=[name], region=region)
        return _exact(found, "vpn_connection_name", name)

    def list_phase(self, phase: str) -> list[dict[str, Any]]:
        """What ``phase`` would delete right now, both sides."""
        return [item for side in SIDES for item in getattr(self, f"_list_{phase}")(side)]

    def _list_bgw_routes(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        return [
            _item(side, region, "bgwRoute", r.bgw_route_id, bgw_id=bgw.bgw_id, destination=r.bgw_route_destination)
            for bgw in self._bgws(side)
            for r in self.hook.describe_bgw_routes(bgw.bgw_id, origin="static", region=region)
        ]

    def _list_vpn_tunnels(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        return [
            _item(side, region, "vpnTunnel", t.vpn_tunnel_id, admin_status=t.admin_status)
            for c in self._connections(side)
            for t in self.hook.describe_vpn_tunnels(vpn_connection_id=c.vpn_connection_id, region=region)
        ]

    def _list_vpn_connections(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        return [_item(side, region, "vpnConnection", c.vpn_connection_id) for c in self._connections(side)]

    def _list_customer_gateways(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        name = naming.customer_gateway_name(self.target, side)
        found = self.hook.describe_customer_gateways(customer_gateway_names=[name], region=region)
        return [
            _item(side, region, "customerGateway", g.customer_gateway_id)
            for g in _exact(found, "customer_gateway_name", name)
        ]

    def _list_vpc_attachments(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        name = naming.vpc_attachment_name(self.target, side)
        by_name = _exact(
            self.hook.describe_vpc_attachments(vpc_attachment_names=[name], region=region), "vpc_attachment_name", name
        )
        on_our_bgws = [
            a for bgw in self._bgws(side) for a in self.hook.describe_vpc_attachments(bgw_id=bgw.bgw_id, region=region)
        ]
        unique = {a.vpc_attachment_id: a for a in by_name + on_our_bgws}
        return [_item(side, region, "vpcAttachment", a_id) for a_id in sorted(unique)]

    def _list_bgws(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        return [_item(side, region, "bgw", b.bgw_id) for b in self._bgws(side)]

    def _list_probe_vms(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        name = naming.probe_vm_name(self.target, side)
        found = _exact(self.hook.describe_instances(name=name, region=region), "instance_name", name)
        return [_item(side, region, "instance", i.instance_id, status=i.status) for i in found]

    def _list_commands(self, side: str) -> list[dict[str, Any]]:
        region = self.target.region(side)
        direction = "home_to_peer" if side == "home" else "peer_to_home"
        name = naming.command_name(self.target, direction)
        found = [
            c for c in self.hook.describe_commands(command_names=[name], region=region) if c.get("commandName") == name
        ]
        return [_item(side, region, "command", c["commandId"]) for c in found]

    def plan(self) -> list[dict[str, Any]]:
        """Everything the teardown would delete, in deletion order."""
        return [{**item, "phase": phase} for phase in PHASES for item in self.list_phase(phase)]

    # ------------------------------------------------------------------ deleting

    def run_phase(self, phase: str) -> list[dict[str, Any]]:
        """Delete everything ``phase`` lists now; return what was deleted (already gone counts as deleted)."""
        items = self.list_phase(phase)
        for item in items:
            try:
                getattr(self, f"_delete_{phase}")(item)
            except NotFound:
                log.info("%s %s was already gone", item["kind"], item["id"])
            else:
                log.info("Deleted %s %s in %s", item["kind"], item["id"], item["region"])
        if phase == "probe_vms":
            self._wait_vms_gone(items)
        return items

    def _delete_bgw_routes(self, item: dict[str, Any]) -> None:
        self.hook.delete_bgw_route(item["bgw_id"], item["id"], region=item["region"])

    def _delete_vpn_tunnels(self, item: dict[str, Any]) -> None:
        if item["admin_status"] != "DOWN":  # JD Cloud deletes a tunnel only when it is administratively DOWN
            self.hook.modify_vpn_tunnel_admin_status(item["id"], "DOWN", region=item["region"])
        self.hook.delete_vpn_tunnel(item["id"], region=item["region"])

    def _delete_vpn_connections(self, item: dict[str, Any]) -> None:
        self.hook.delete_vpn_connection(item["id"], region=item["region"])

    def _delete_customer_gateways(self, item: dict[str, Any]) -> None:
        self.hook.delete_customer_gateway(item["id"], region=item["region"])

    def _delete_vpc_attachments(self, item: dict[str, Any]) -> None:
        self.hook.delete_vpc_attachment(item["id"], region=item["region"])

    def _delete_bgws(self, item: dict[str, Any]) -> None:
        self.hook.delete_bgw(item["id"], region=item["region"])

    def _delete_probe_vms(self, item: dict[str, Any]) -> None:
        if item["status"] == "deleting":
            return
        if item["status"] == "pending":  # a VM can be deleted only once it runs
            self._wait_for(
                lambda: self.hook.describe_instance(item["id"], region=item["region"]).status != "pending", item
            )
        self.hook.delete_instance(item["id"], region=item["region"])

    def _delete_commands(self, item: dict[str, Any]) -> None:
        self.hook.delete_commands([item["id"]], region=item["region"])

    def _wait_vms_gone(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self._wait_for(lambda item=item: not self._instance_exists(item), item)

    def _instance_exists(self, item: dict[str, Any]) -> bool:
        try:
            self.hook.describe_instance(item["id"], region=item["region"])
        except NotFound:
            return False
        return True

    def _wait_for(self, condition: Callable[[], bool], item: dict[str, Any]) -> None:
        deadline = time.monotonic() + VM_GONE_TIMEOUT_S
        interval = 0.05
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{item['kind']} {item['id']} did not reach the expected state in {VM_GONE_TIMEOUT_S}s"
                )
            self.sleep(interval)
            interval = min(interval * 2, 5.0)
