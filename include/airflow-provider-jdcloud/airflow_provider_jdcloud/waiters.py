"""Readiness checks as data, and the one bounded polling loop (sync and async) that runs them.

A waiter takes a hook and a list of targets (plain dicts, so triggers can serialize them) and returns a
:class:`WaitCheck`: done, terminally failed, or not yet, with a one-line summary of what it saw. Sensors
and triggers only choose a waiter by name; the summary of the last check is what a timeout reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_jdcloud.exceptions import NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

log = logging.getLogger(__name__)

Target = dict[str, Any]
TERMINAL_INVOCATION_STATUSES = ("finish", "failed", "partial_failed", "stopped")


@dataclass(frozen=True)
class WaitCheck:
    """The outcome of one check: ``done`` (success), ``failed`` (will never succeed) or neither."""

    done: bool
    failed: bool
    summary: str

    def to_event(self, status: str) -> dict[str, Any]:
        return {"status": status, "summary": self.summary}


def vpn_tunnels_up(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every tunnel ``opStatus`` UP; a tunnel that is gone or administratively DOWN will never come up."""
    seen, pending = [], 0
    for target in targets:
        try:
            tunnel = hook.describe_vpn_tunnel(target["vpn_tunnel_id"], region=target["region"])
        except NotFound:
            return WaitCheck(False, True, f"VPN tunnel {target['vpn_tunnel_id']} no longer exists")
        if tunnel.admin_status == "DOWN":
            return WaitCheck(False, True, f"VPN tunnel {tunnel.vpn_tunnel_id} has adminStatus DOWN")
        pending += tunnel.op_status != "UP"
        seen.append(f"{tunnel.vpn_tunnel_id}({target['region']}) op={tunnel.op_status}")
    return WaitCheck(pending == 0, False, "; ".join(seen))


def instances_running(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every instance ``running``; ``error``, ``deleting`` or gone is terminal."""
    seen, pending = [], 0
    for target in targets:
        try:
            instance = hook.describe_instance(target["instance_id"], region=target["region"])
        except NotFound:
            return WaitCheck(False, True, f"instance {target['instance_id']} no longer exists")
        if instance.status in ("error", "deleting", "stopped"):
            return WaitCheck(False, True, f"instance {instance.instance_id} is {instance.status}")
        pending += instance.status != "running"
        seen.append(f"{instance.instance_id}({target['region']}) {instance.status}")
    return WaitCheck(pending == 0, False, "; ".join(seen))


def route_tables_have_routes(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every route table holds a rule for ``destination`` whose next hop is the border gateway ``bgw_id``."""
    seen, pending = [], 0
    for target in targets:
        rules = hook.describe_route_table_rules(
            target["route_table_id"], address_prefix=target["destination"], region=target["region"]
        )
        found = any(
            r.address_prefix == target["destination"] and r.next_hop_type == "bgw" and r.next_hop_id == target["bgw_id"]
            for r in rules
        )
        pending += not found
        state = "has" if found else "lacks"
        seen.append(f"{target['route_table_id']}({target['region']}) {state} {target['destination']} via bgw")
    return WaitCheck(pending == 0, False, "; ".join(seen))


def vpc_attachments_active(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every VPC attachment ``active``."""
    seen, pending = [], 0
    for target in targets:
        try:
            attachment = hook.describe_vpc_attachment(target["vpc_attachment_id"], region=target["region"])
        except NotFound:
            return WaitCheck(False, True, f"VPC attachment {target['vpc_attachment_id']} no longer exists")
        pending += attachment.status != "active"
        seen.append(f"{attachment.vpc_attachment_id}({target['region']}) {attachment.status}")
    return WaitCheck(pending == 0, False, "; ".join(seen))


def invocations_finished(hook: JDCloudHook, targets: list[Target]) -> WaitCheck:
    """Every cloud-assistant invocation in a terminal status (its outcome is judged by the caller)."""
    seen, pending = [], 0
    for target in targets:
        invocation = hook.describe_invocation(target["invoke_id"], region=target["region"])
        pending += invocation.status not in TERMINAL_INVOCATION_STATUSES
        seen.append(f"{target['invoke_id']}({target['region']}) {invocation.status}")
    return WaitCheck(pending == 0, False, "; ".join(seen))


WAITERS: dict[str, Callable[[JDCloudHook, list[Target]], WaitCheck]] = {
    "vpn_tunnels_up": vpn_tunnels_up,
    "instances_running": instances_running,
    "route_tables_have_routes": route_tables_have_routes,
    "vpc_attachments_active": vpc_attachments_active,
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
    """Poll until done, failed or ``deadline`` (epoch seconds); return ``(status, last check)``."""
    check = get_waiter(waiter)
    while True:
        result = check(hook, targets)
        log.info("%s: %s", waiter, result.summary)
        if result.done or result.failed:
            return ("success" if result.done else "failure"), result
        if time.time() + poll_interval > deadline:
            return "timeout", result
        sleep(poll_interval)


async def async_wait(
    hook: JDCloudHook, waiter: str, targets: list[Target], *, deadline: float, poll_interval: float
) -> tuple[str, WaitCheck]:
    """:func:`wait` for the triggerer: the blocking SDK call runs in a worker thread."""
    check = get_waiter(waiter)
    while True:
        result = await asyncio.to_thread(check, hook, targets)
        log.info("%s: %s", waiter, result.summary)
        if result.done or result.failed:
            return ("success" if result.done else "failure"), result
        if time.time() + poll_interval > deadline:
            return "timeout", result
        await asyncio.sleep(poll_interval)
