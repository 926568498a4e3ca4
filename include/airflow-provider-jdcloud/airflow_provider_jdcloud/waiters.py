"""Readiness checks as data, and the one bounded polling loop (sync and async) that runs them.

A waiter takes a hook and a list of targets (plain dicts, so triggers can serialize them) and returns a
:class:`WaitCheck`: done, terminally failed, or not yet, with a one-line summary of what it saw. Sensors
and triggers only choose a waiter by name; the summary of the last check is what a timeout reports.

The loop polls early and backs off (:func:`next_poll_interval`): a pause is at most a tenth of the time
waited so far (at least ``FIRST_POLL_S``) and at most the caller's ``poll_interval``, so a wait ends within
max(1 s, 10 %) of the state change it waits for, and a long wait polls no more often than its cap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.mirror import mirror_mismatch
from airflow_provider_jdcloud.models import VpnTunnel

log = logging.getLogger(__name__)

Target = dict[str, Any]

FIRST_POLL_S = 1.0  # the shortest pause between two checks (unless the cap is shorter)
POLL_BACKOFF = 0.1  # a pause is at most this fraction of the time waited so far


def next_poll_interval(waited_s: float, cap_s: float) -> float:
    """The pause before the next check, ``waited_s`` seconds into a wait whose longest pause is ``cap_s``."""
    return min(cap_s, max(FIRST_POLL_S, POLL_BACKOFF * waited_s))


@dataclass(frozen=True)
class WaitCheck:
    """The outcome of one check: ``done`` (success), ``failed`` (will never succeed) or neither."""

    done: bool
    failed: bool
    summary: str

    def to_event(self, status: str) -> dict[str, Any]:
        return {"status": status, "summary": self.summary}


class _Terminal(Exception):
    """A target will never get where the waiter wants it; the message is the check's summary."""


def _check_targets(targets: list[Target], observe: Callable[[Target], tuple[bool, str]]) -> WaitCheck:
    """Observe the targets in turn, each as ``(done, what was seen)``; the first terminal one ends the check."""
    seen, pending = [], 0
    for target in targets:
        try:
            done, summary = observe(target)
        except _Terminal as terminal:
            return WaitCheck(False, True, str(terminal))
        pending += not done
        seen.append(summary)
    return WaitCheck(pending == 0, False, "; ".join(seen))


class _Listed:
    """One list call per region for all the targets of a check (``DescribeVpnTunnels`` with their ids, not a
    ``DescribeVpnTunnel`` each); a target the list does not return is gone, which is terminal.

    The list's filter is not trusted to be exact: a target is matched by its id.
    """

    def __init__(
        self, list_in_region: Callable[[str, list[str]], list[Any]], targets: list[Target], id_key: str, noun: str
    ) -> None:
        self.id_key, self.noun = id_key, noun
        ids_by_region: dict[str, list[str]] = {}
        for target in targets:
            ids_by_region.setdefault(target["region"], []).append(target[id_key])
        self.found = {
            (region, getattr(item, id_key)): item  # the target's key is the model's id attribute
            for region, ids in ids_by_region.items()
            for item in list_in_region(region, ids)
        }

    def __call__(self, target: Target) -> Any:
        item = self.found.get((target["region"], target[self.id_key]))
        if item is None:
            raise _Terminal(f"{self.noun} {target[self.id_key]} no longer exists")
        return item


def vpn_tunnels_up(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every tunnel ``opStatus`` UP.

    A tunnel that is gone or administratively DOWN will never come up. Nor will one whose mirror (the
    other end: a target in another region with the public IPs swapped) is missing from the targets or
    differs in pre-shared key, IKE version or proposals, when the targets hold tunnels of two regions.
    """
    described: list[tuple[str, VpnTunnel]] = []
    listed = _Listed(
        lambda region, ids: hook.describe_vpn_tunnels(vpn_tunnel_ids=ids, region=region),
        targets,
        "vpn_tunnel_id",
        "VPN tunnel",
    )

    def observe(target: Target) -> tuple[bool, str]:
        tunnel = listed(target)
        if tunnel.admin_status == "DOWN":
            raise _Terminal(f"VPN tunnel {tunnel.vpn_tunnel_id} has adminStatus DOWN")
        described.append((target["region"], tunnel))
        return tunnel.op_status == "UP", f"{tunnel.vpn_tunnel_id}({target['region']}) op={tunnel.op_status}"

    check = _check_targets(targets, observe)
    if check.done or check.failed:
        return check
    mismatch = _mirror_mismatch(described)
    return WaitCheck(False, True, f"{mismatch}; {check.summary}") if mismatch else check


def _mirror_mismatch(described: list[tuple[str, VpnTunnel]]) -> str | None:
    """The first tunnel that is not UP and cannot be, given its mirror among the other region's targets."""
    regions = {region for region, _ in described}
    if len(regions) != 2:  # only one end is waited for: its mirror is not known here
        return None
    for region, tunnel in described:
        if tunnel.op_status == "UP":
            continue
        (remote,) = regions - {region}
        found = mirror_mismatch(tunnel, [t for r, t in described if r == remote], region, remote)
        if found:
            return f"{found[0]}: {found[1]}"
    return None


def instances_running(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every instance ``running``; ``error``, ``deleting``, ``stopped`` or gone is terminal."""

    listed = _Listed(
        lambda region, ids: hook.describe_instances(instance_ids=ids, region=region), targets, "instance_id", "instance"
    )

    def observe(target: Target) -> tuple[bool, str]:
        instance = listed(target)
        if instance.status in ("error", "deleting", "stopped"):
            raise _Terminal(f"instance {instance.instance_id} is {instance.status}")
        return instance.status == "running", f"{instance.instance_id}({target['region']}) {instance.status}"

    return _check_targets(targets, observe)


def route_tables_have_routes(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every route table holds a rule for ``destination`` whose next hop is the border gateway ``bgw_id``.

    With a ``vpn_connection_id`` in the target, a static route of the border gateway that sends
    ``destination`` elsewhere (and none to that connection) is terminal: the route would carry no traffic
    to the VPN even once the table learned it.
    """

    def observe(target: Target) -> tuple[bool, str]:
        if target.get("vpn_connection_id"):
            _check_static_route(hook, target)
        rules = hook.describe_route_table_rules(
            target["route_table_id"], address_prefix=target["destination"], region=target["region"]
        )
        found = any(
            r.address_prefix == target["destination"] and r.next_hop_type == "bgw" and r.next_hop_id == target["bgw_id"]
            for r in rules
        )
        state = "has" if found else "lacks"
        return found, f"{target['route_table_id']}({target['region']}) {state} {target['destination']} via bgw"

    return _check_targets(targets, observe)


def _check_static_route(hook: JDCloudHook, target: Target) -> None:
    """Raise :class:`_Terminal` when the border gateway's static routes send the destination to another hop."""
    destination, connection_id = target["destination"], target["vpn_connection_id"]
    routes = hook.describe_bgw_routes(
        target["bgw_id"], origin="static", destination=destination, region=target["region"]
    )
    to_destination = [r for r in routes if r.bgw_route_destination == destination]
    if to_destination and all(r.bgw_route_nexthop != connection_id for r in to_destination):
        route = to_destination[0]
        raise _Terminal(
            f"static route {route.bgw_route_id} of border gateway {target['bgw_id']} ({target['region']}) sends "
            f"{destination} to {route.bgw_route_nexthop}, not to VPN connection {connection_id}"
        )


def vpc_attachments_active(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every VPC attachment ``active``; one being deleted or gone will never be."""

    listed = _Listed(
        lambda region, ids: hook.describe_vpc_attachments(vpc_attachment_ids=ids, region=region),
        targets,
        "vpc_attachment_id",
        "VPC attachment",
    )

    def observe(target: Target) -> tuple[bool, str]:
        attachment = listed(target)
        if attachment.status == "deleting":
            raise _Terminal(f"VPC attachment {attachment.vpc_attachment_id} is being deleted")
        return attachment.status == "active", f"{attachment.vpc_attachment_id}({target['region']}) {attachment.status}"

    return _check_targets(targets, observe)


def vpn_connections_provisioned(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every VPN connection shows its two cloud public IPs (JD allocates them on create; it may take a moment)."""

    listed = _Listed(
        lambda region, ids: hook.describe_vpn_connections(vpn_connection_ids=ids, region=region),
        targets,
        "vpn_connection_id",
        "VPN connection",
    )

    def observe(target: Target) -> tuple[bool, str]:
        connection = listed(target)
        ips = connection.cloud_public_ip
        return len(ips) == 2, f"{connection.vpn_connection_id}({target['region']}) cloud IPs {ips or 'not yet'}"

    return _check_targets(targets, observe)


def invocations_finished(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every cloud-assistant invocation in a terminal status (its outcome is judged by the caller)."""

    def observe(target: Target) -> tuple[bool, str]:
        invocation = hook.describe_invocation(target["invoke_id"], region=target["region"])
        return invocation.finished, f"{target['invoke_id']}({target['region']}) {invocation.status}"

    return _check_targets(targets, observe)


WAITERS: dict[str, Callable[[JDCloudHook, list[Target]], WaitCheck]] = {
    "vpn_tunnels_up": vpn_tunnels_up,
    "instances_running": instances_running,
    "route_tables_have_routes": route_tables_have_routes,
    "vpc_attachments_active": vpc_attachments_active,
    "vpn_connections_provisioned": vpn_connections_provisioned,
    "invocations_finished": invocations_finished,
}


def get_waiter(name: str) -> Callable[[JDCloudHook, list[Target]], WaitCheck]:
    if name not in WAITERS:
        raise ValueError(f"Invalid waiter: {name}; expected one of {', '.join(sorted(WAITERS))}")
    return WAITERS[name]


def wait(
    hook: JDCloudHook,
    waiter: str,
    targets: list[Target],
    *,
    deadline: float,
    poll_interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, WaitCheck]:
    """Poll until done, failed or ``deadline`` (epoch seconds); return ``(status, last check)``.

    :param poll_interval: the longest pause between two checks (they start :data:`FIRST_POLL_S` apart)
    """
    check, started = get_waiter(waiter), time.time()
    while True:
        outcome, pause = _outcome(waiter, check(hook, targets), started, deadline, poll_interval)
        if outcome:
            return outcome
        sleep(pause)


async def async_wait(
    hook: JDCloudHook, waiter: str, targets: list[Target], *, deadline: float, poll_interval: float
) -> tuple[str, WaitCheck]:
    """:func:`wait` for the triggerer: the blocking SDK call runs in a worker thread."""
    check, started = get_waiter(waiter), time.time()
    while True:
        result = await asyncio.to_thread(check, hook, targets)
        outcome, pause = _outcome(waiter, result, started, deadline, poll_interval)
        if outcome:
            return outcome
        await asyncio.sleep(pause)


def _outcome(
    waiter: str, result: WaitCheck, started: float, deadline: float, poll_interval: float
) -> tuple[tuple[str, WaitCheck] | None, float]:
    """Log a check; return ``((status, check), 0)`` when the wait ends, else ``(None, pause before the next)``.

    The last pause is cut to end at ``deadline``, where one more check is made before a timeout.
    """
    log.info("%s: %s", waiter, result.summary)
    if result.done or result.failed:
        return (("success" if result.done else "failure"), result), 0.0
    now = time.time()
    if now >= deadline:
        return ("timeout", result), 0.0
    return None, min(next_poll_interval(now - started, poll_interval), deadline - now)
