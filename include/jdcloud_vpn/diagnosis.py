"""Find the first hop that blocks a ping, with describe calls only (as it would be done on the real cloud).

The walk follows the echo request, then the reply: probe VMs, the source subnet's route table, the
source border gateway's static route, the VPN connection's tunnels (admin status, then why negotiation
fails), and the same on the way back. Resources are found by the interconnect's deterministic names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.mirror import mirror_mismatch
from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import CreateProbe, InterconnectConf, Side


@dataclass(frozen=True)
class Finding:
    """The first blocking hop: where (``hop``), a stable ``reason`` code, and a sentence for people."""

    hop: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class _Blocked(Exception):
    def __init__(self, hop: str, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.finding = Finding(hop, reason, detail)


def diagnose(hook: JDCloudHook, conf: InterconnectConf, source: Side) -> Finding | None:
    """Return the first blocking hop for a ping from ``source``'s probe to the other side's; None if none."""
    target = naming.other_side(source)
    try:
        probes = {side: _probe(hook, conf, side) for side in (source, target)}
        for side, instance in probes.items():
            if instance.status != "running":
                raise _Blocked(
                    f"probe VM {instance.instance_id}", "probe_vm_not_running", f"the {side} probe is {instance.status}"
                )
        for a, b in ((source, target), (target, source)):
            _check_route_table(hook, conf, a, probes[a], probes[b])
            connection_id = _check_bgw_route(hook, conf, a, probes[b].private_ip_address)
            _check_tunnels(hook, conf, a, b, connection_id)
    except _Blocked as blocked:
        return blocked.finding
    return None


def _probe(hook: JDCloudHook, conf: InterconnectConf, side: Side):
    site = conf.site(side)
    if not isinstance(site.probe, CreateProbe):
        return hook.describe_instance(site.probe.instance_id, region=site.region)
    found = hook.find_instances_by_name(naming.probe_vm_name(conf, side), vpc_id=site.vpc_id, region=site.region)
    if not found:
        raise _Blocked(
            f"probe VM {naming.probe_vm_name(conf, side)}",
            "probe_vm_not_running",
            f"the {side} probe VM does not exist",
        )
    return found[0]


def _longest(items: list[tuple[str, Any]], address: str) -> Any:
    ip = ipaddress.IPv4Address(address)
    matching = [
        (ipaddress.IPv4Network(prefix).prefixlen, item) for prefix, item in items if ip in ipaddress.IPv4Network(prefix)
    ]
    return max(matching, key=lambda pair: pair[0])[1] if matching else None


def _check_route_table(hook: JDCloudHook, conf: InterconnectConf, side: Side, src, dst) -> None:
    region = conf.site(side).region
    subnet = hook.describe_subnets(subnet_ids=[src.subnet_id], region=region)[0]
    rules = hook.describe_route_table_rules(subnet.route_table_id, region=region)
    rule = _longest([(r.address_prefix, r) for r in rules if r.address_prefix], dst.private_ip_address)
    if rule is None or rule.next_hop_type != "bgw":
        raise _Blocked(
            f"route table {subnet.route_table_id} ({region})",
            "route_table_missing_remote_cidr",
            f"the {side} route table has no route to {dst.private_ip_address} via the border gateway",
        )


def _check_bgw_route(hook: JDCloudHook, conf: InterconnectConf, side: Side, destination_ip: str) -> str:
    region = conf.site(side).region
    bgw = hook.find_bgw_by_name(naming.bgw_name(conf, side), region=region)
    if bgw is None:
        raise _Blocked(
            f"border gateway {naming.bgw_name(conf, side)}", "bgw_missing", f"the {side} border gateway does not exist"
        )
    routes = hook.describe_bgw_routes(bgw.bgw_id, region=region)
    route = _longest([(r.bgw_route_destination, r) for r in routes if r.bgw_route_destination], destination_ip)
    if route is None or route.bgw_route_next_hop_type != "vpnConnection":
        raise _Blocked(
            f"border gateway {bgw.bgw_id} ({region})",
            "bgw_missing_static_route",
            f"the {side} border gateway has no static route to {destination_ip} via a VPN connection",
        )
    return route.bgw_route_nexthop


def _check_tunnels(hook: JDCloudHook, conf: InterconnectConf, side: Side, remote: Side, connection_id: str) -> None:
    region, remote_region = conf.site(side).region, conf.site(remote).region
    tunnels = hook.describe_vpn_tunnels(vpn_connection_id=connection_id, region=region)
    hop = f"VPN connection {connection_id} ({region})"
    if not tunnels:
        raise _Blocked(hop, "tunnel_missing", f"the {side} VPN connection has no tunnels")
    if any(t.op_status == "UP" for t in tunnels):
        return
    names = ", ".join(t.vpn_tunnel_id for t in tunnels)
    if all(t.admin_status == "DOWN" for t in tunnels):
        raise _Blocked(hop, "tunnel_admin_down", f"tunnels {names} on the {side} side have adminStatus DOWN")
    connection = hook.describe_vpn_connection(connection_id, region=region)
    cgw = hook.describe_customer_gateway(connection.cgw_id, region=region)
    remote_connection = hook.find_vpn_connection_by_name(naming.vpn_connection_name(conf, remote), region=remote_region)
    if remote_connection is None or sorted(cgw.customer_ips) != sorted(remote_connection.cloud_public_ip):
        remote_ips = remote_connection.cloud_public_ip if remote_connection else "none"
        raise _Blocked(
            f"customer gateway {cgw.customer_gateway_id} ({region})",
            "cgw_not_cross_wired",
            f"the {side} customer gateway lists {cgw.customer_ips}, the {remote} VPN connection has {remote_ips}",
        )
    remote_tunnels = hook.describe_vpn_tunnels(
        vpn_connection_id=remote_connection.vpn_connection_id, region=remote_region
    )
    findings = [mirror_mismatch(t, remote_tunnels, side, remote) for t in tunnels if t.admin_status == "UP"]
    reason, detail = next(
        (f for f in findings if f), ("tunnel_down_negotiating", f"tunnels {names} match their peers but are not UP yet")
    )
    raise _Blocked(hop, reason, detail)
