"""Tear an interconnect down in the safe order, finding every resource by its deterministic name.

Order: BGW static routes -> tunnels (adminStatus DOWN, then delete) -> VPN connections -> customer
gateways -> VPC attachments -> border gateways -> ephemeral probe VMs -> ping commands. Each phase lists
what is there *now* (an old run's XCom may be gone, a build may have failed half way), deletes it, and
counts "already gone" (404) as done. Only resources named for this interconnect are touched, plus the
routes and attachments hanging off its own border gateways (they would block deleting them). A topology's pair
(``member_of``) leaves its sites' shared border gateways and attachments, and deletes on them only the static
routes via its own VPN connections; :meth:`Teardown.delete_site_gateway` removes a site's once no pair uses it.

Deletes take time: a VPN connection, VPC attachment or VM stays listed as ``deleting`` for a while, and
its customer gateway, border gateway or subnet cannot be deleted until it is gone. So a phase ends only
when everything it deleted answers 404; a resource already ``deleting`` (an earlier try's delete) is
waited for, never deleted again. When the wait runs out, :class:`DeleteInProgress` is raised and Airflow
retries the task, which lists and waits again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from airflow_provider_jdcloud.exceptions import FailedPrecondition, NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import SIDES, Side, TeardownTarget
from include.jdcloud_vpn.results import PlanItem, SiteGatewayTeardown

log = logging.getLogger(__name__)

DELETE_TIMEOUT_S = 300.0  # how long one task waits for its phase's deletes before Airflow retries it
FIRST_POLL_S = 0.05  # the first wait between polls; it doubles up to MAX_POLL_S
MAX_POLL_S = 5.0


class DeleteInProgress(RuntimeError):
    """Resources a phase deleted still exist (``deleting``, or a tunnel still going DOWN) when the wait ran out.

    Retryable: the task's next try lists the phase again and waits for them, without deleting them twice.

    :param resource_ids: the resources still there
    """

    def __init__(self, message: str, resource_ids: list[str]) -> None:
        super().__init__(message)
        self.resource_ids = resource_ids


def _exact(items: list, attribute: str, name: str) -> list:
    return [i for i in items if getattr(i, attribute) == name]


class Teardown:
    """Lists and deletes one interconnect's resources, one phase at a time (phases: :data:`PHASES`)."""

    def __init__(
        self,
        hook: JDCloudHook,
        target: TeardownTarget,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = DELETE_TIMEOUT_S,
    ) -> None:
        self.hook = hook
        self.target = target
        self.sleep = sleep
        self.timeout_s = timeout_s

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
        """The static routes on our border gateways; on a topology's shared gateway, only this pair's (their next
        hop is one of its VPN connections)."""
        ours = {c.vpn_connection_id for c in self._connections(side)}
        shared = naming.shares_gateways(self.target)
        return [
            self._item(phase, side, "bgwRoute", r.bgw_route_id, bgw_id=b.bgw_id, destination=r.bgw_route_destination)
            for b in self._bgws(side)
            for r in self.hook.describe_bgw_routes(b.bgw_id, origin="static", region=self.target.region(side))
            if not shared or r.bgw_route_nexthop in ours
        ]

    def list_vpn_tunnels(self, phase: str, side: Side) -> list[PlanItem]:
        region = self.target.region(side)
        return [
            self._item(phase, side, "vpnTunnel", t.vpn_tunnel_id, admin_status=t.admin_status)
            for c in self._connections(side)
            for t in self.hook.describe_vpn_tunnels(vpn_connection_id=c.vpn_connection_id, region=region)
        ]

    def list_vpn_connections(self, phase: str, side: Side) -> list[PlanItem]:
        return [
            self._item(phase, side, "vpnConnection", c.vpn_connection_id, status=c.status)
            for c in self._connections(side)
        ]

    def list_customer_gateways(self, phase: str, side: Side) -> list[PlanItem]:
        name = naming.customer_gateway_name(self.target, side)
        found = self.hook.describe_customer_gateways(customer_gateway_names=[name], region=self.target.region(side))
        return [
            self._item(phase, side, "customerGateway", g.customer_gateway_id)
            for g in _exact(found, "customer_gateway_name", name)
        ]

    def list_vpc_attachments(self, phase: str, side: Side) -> list[PlanItem]:
        if naming.shares_gateways(self.target):
            return []  # the topology's, shared by the site's other pairs: its teardown removes them last
        region = self.target.region(side)
        name = naming.vpc_attachment_name(self.target, side)
        by_name = _exact(
            self.hook.describe_vpc_attachments(vpc_attachment_names=[name], region=region), "vpc_attachment_name", name
        )
        on_our_bgws = [
            a for bgw in self._bgws(side) for a in self.hook.describe_vpc_attachments(bgw_id=bgw.bgw_id, region=region)
        ]
        unique = {a.vpc_attachment_id: a for a in by_name + on_our_bgws}
        return [self._item(phase, side, "vpcAttachment", a_id, status=unique[a_id].status) for a_id in sorted(unique)]

    def list_bgws(self, phase: str, side: Side) -> list[PlanItem]:
        if naming.shares_gateways(self.target):
            return []
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
        """Delete everything ``phase`` lists now and wait until it is gone; return what was deleted.

        Already gone (404) counts as deleted; already ``deleting`` is waited for, not deleted again.

        :raises DeleteInProgress: something of the phase still exists after ``timeout_s``
        """
        items = self.list_phase(phase)
        self._delete_all(phase, items)
        return items

    def _delete_all(self, phase: str, items: list[PlanItem]) -> None:
        started = [item for item in items if self._start_delete(phase, item)]
        self._wait_gone(phase, started)

    def delete_site_gateway(self, side: Side) -> SiteGatewayTeardown:
        """For a topology's pair (``member_of``): delete ``side``'s site VPC attachments and border gateway, unless
        a pair still uses it.

        A VPN connection or static route left on the gateway (a pair whose teardown failed, or a pair of another
        run) keeps it: the result says which, and nothing of the site is deleted.

        :raises DeleteInProgress: an attachment or the gateway still exists after ``timeout_s``
        """
        member, region = self.target.member_of, self.target.region(side)
        if member is None:
            raise ValueError(f"{self.target.name} is no topology's pair: it has no site gateway")
        bgws = self._bgws(side)  # the site's, by its exact name
        users = [
            f"VPN connection {c.vpn_connection_name or c.vpn_connection_id}"
            for b in bgws
            for c in self.hook.describe_vpn_connections(bgw_id=b.bgw_id, region=region)
            if c.bgw_id == b.bgw_id
        ]
        users += [
            f"static route {r.bgw_route_id} to {r.bgw_route_destination}"
            for b in bgws
            for r in self.hook.describe_bgw_routes(b.bgw_id, origin="static", region=region)
        ]
        site = member.site(side)
        if users:
            return SiteGatewayTeardown(site=site, region=region, deleted=[], kept_for=users)
        attachments = [
            self._item("vpc_attachments", side, "vpcAttachment", a.vpc_attachment_id, status=a.status)
            for b in bgws
            for a in self.hook.describe_vpc_attachments(bgw_id=b.bgw_id, region=region)
            if a.bgw_id == b.bgw_id
        ]
        self._delete_all("vpc_attachments", attachments)
        gateways = [self._item("bgws", side, "bgw", b.bgw_id) for b in bgws]
        self._delete_all("bgws", gateways)
        return SiteGatewayTeardown(
            site=site, region=region, deleted=[i.id for i in attachments + gateways], kept_for=[]
        )

    def _start_delete(self, phase: str, item: PlanItem) -> bool:
        """Delete ``item`` unless it is already being deleted; False when it was already gone."""
        if item.status == "deleting":
            log.info("%s %s is already being deleted", item.kind, item.id)
            return True
        try:
            PHASES[phase].delete(self, item)
        except NotFound:
            log.info("%s %s was already gone", item.kind, item.id)
            return False
        log.info("Deleting %s %s in %s", item.kind, item.id, item.region)
        return True

    def _wait_gone(self, phase: str, items: list[PlanItem]) -> None:
        """Poll each item until it answers 404 (JD deletes some resources asynchronously)."""
        left = items
        for _ in self._polls():
            left = [item for item in left if PHASES[phase].exists(self, item)]
            if not left:
                return
            log.info("Waiting for %s to be gone", ", ".join(f"{i.kind} {i.id}" for i in left))
        names = ", ".join(f"{i.kind} {i.id} ({i.region})" for i in left)
        raise DeleteInProgress(f"{phase}: still being deleted after {self.timeout_s:g}s: {names}", [i.id for i in left])

    def _polls(self) -> Iterator[None]:
        """Yield once per attempt, sleeping in between (doubling from FIRST_POLL_S to MAX_POLL_S) for timeout_s."""
        deadline = time.monotonic() + self.timeout_s
        interval = FIRST_POLL_S
        while True:
            yield
            if time.monotonic() >= deadline:
                return
            self.sleep(interval)
            interval = min(interval * 2, MAX_POLL_S)

    def delete_bgw_route(self, item: PlanItem) -> None:
        self.hook.delete_bgw_route(item.bgw_id, item.id, region=item.region)

    def delete_vpn_tunnel(self, item: PlanItem) -> None:
        """Set the tunnel DOWN (JD deletes only DOWN tunnels), then delete it once JD has taken it down."""
        if item.admin_status != "DOWN":
            self.hook.modify_vpn_tunnel_admin_status(item.id, "DOWN", region=item.region)
        refusal: FailedPrecondition | None = None
        for _ in self._polls():
            try:
                self.hook.delete_vpn_tunnel(item.id, region=item.region)
            except FailedPrecondition as error:  # adminStatus is DOWN, but the tunnel is still going down
                refusal = error
                log.info("VPN tunnel %s is not deletable yet: %s", item.id, error.message)
            else:
                return
        raise DeleteInProgress(f"VPN tunnel {item.id} is still going DOWN: {refusal}", [item.id]) from refusal

    def delete_vpn_connection(self, item: PlanItem) -> None:
        self.hook.delete_vpn_connection(item.id, region=item.region)

    def delete_customer_gateway(self, item: PlanItem) -> None:
        self.hook.delete_customer_gateway(item.id, region=item.region)

    def delete_vpc_attachment(self, item: PlanItem) -> None:
        self.hook.delete_vpc_attachment(item.id, region=item.region)

    def delete_bgw(self, item: PlanItem) -> None:
        self.hook.delete_bgw(item.id, region=item.region)

    def delete_probe_vm(self, item: PlanItem) -> None:
        if item.status == "pending":  # a VM can be deleted only once it runs
            for _ in self._polls():
                if self.hook.describe_instance(item.id, region=item.region).status != "pending":
                    break
            else:
                raise TimeoutError(f"instance {item.id} is still pending after {self.timeout_s:g}s")
        self.hook.delete_instance(item.id, region=item.region)

    def delete_command(self, item: PlanItem) -> None:
        self.hook.delete_commands([item.id], region=item.region)

    # ------------------------------------------------------------------ still there?

    @staticmethod
    def _found(describe: Callable[[], object]) -> bool:
        """Whether ``describe()`` finds the resource (404: it is gone)."""
        try:
            describe()
        except NotFound:
            return False
        return True

    def bgw_route_exists(self, item: PlanItem) -> bool:
        try:
            routes = self.hook.describe_bgw_routes(item.bgw_id, bgw_route_ids=[item.id], region=item.region)
        except NotFound:  # its border gateway is gone
            return False
        return any(r.bgw_route_id == item.id for r in routes)

    def vpn_tunnel_exists(self, item: PlanItem) -> bool:
        return self._found(lambda: self.hook.describe_vpn_tunnel(item.id, region=item.region))

    def vpn_connection_exists(self, item: PlanItem) -> bool:
        return self._found(lambda: self.hook.describe_vpn_connection(item.id, region=item.region))

    def customer_gateway_exists(self, item: PlanItem) -> bool:
        return self._found(lambda: self.hook.describe_customer_gateway(item.id, region=item.region))

    def vpc_attachment_exists(self, item: PlanItem) -> bool:
        return self._found(lambda: self.hook.describe_vpc_attachment(item.id, region=item.region))

    def bgw_exists(self, item: PlanItem) -> bool:
        return self._found(lambda: self.hook.describe_bgw(item.id, region=item.region))

    def probe_vm_exists(self, item: PlanItem) -> bool:
        return self._found(lambda: self.hook.describe_instance(item.id, region=item.region))

    def command_exists(self, item: PlanItem) -> bool:
        return any(c.id == item.id for c in self.list_commands(item.phase, item.side))


@dataclass(frozen=True)
class Phase:
    """One deletion phase: how to list what it deletes on one side, delete one item, tell whether an item
    still exists (the phase ends when none does), and why now."""

    list: Callable[[Teardown, str, Side], list[PlanItem]]
    delete: Callable[[Teardown, PlanItem], None]
    exists: Callable[[Teardown, PlanItem], bool]
    doc: str


#: The deletion phases, in the safe order.
PHASES: dict[str, Phase] = {
    "bgw_routes": Phase(
        Teardown.list_bgw_routes,
        Teardown.delete_bgw_route,
        Teardown.bgw_route_exists,
        "Delete the static routes of the interconnect's border gateways.",
    ),
    "vpn_tunnels": Phase(
        Teardown.list_vpn_tunnels,
        Teardown.delete_vpn_tunnel,
        Teardown.vpn_tunnel_exists,
        "Set every tunnel's adminStatus DOWN (JD Cloud requires it), then delete the tunnels once they are down.",
    ),
    "vpn_connections": Phase(
        Teardown.list_vpn_connections,
        Teardown.delete_vpn_connection,
        Teardown.vpn_connection_exists,
        "Delete the VPN connections (no tunnel or route uses them now); wait until they are gone.",
    ),
    "customer_gateways": Phase(
        Teardown.list_customer_gateways,
        Teardown.delete_customer_gateway,
        Teardown.customer_gateway_exists,
        "Delete the customer gateways (no VPN connection uses them now).",
    ),
    "vpc_attachments": Phase(
        Teardown.list_vpc_attachments,
        Teardown.delete_vpc_attachment,
        Teardown.vpc_attachment_exists,
        "Delete the VPC attachments (their propagated routes go with them); wait until they are gone.",
    ),
    "bgws": Phase(
        Teardown.list_bgws,
        Teardown.delete_bgw,
        Teardown.bgw_exists,
        "Delete the border gateways (no attachment, connection or route is left on them).",
    ),
    "probe_vms": Phase(
        Teardown.list_probe_vms,
        Teardown.delete_probe_vm,
        Teardown.probe_vm_exists,
        "Delete the ephemeral probe VMs the build created (existing probe VMs are never touched); wait until gone.",
    ),
    "commands": Phase(
        Teardown.list_commands,
        Teardown.delete_command,
        Teardown.command_exists,
        "Delete the cloud-assistant ping commands.",
    ),
}
