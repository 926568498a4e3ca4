"""The emulator's data plane: whether tunnels come up and whether a ping crosses the interconnect.

``DataPlane`` is the interface the control-plane models call. ``SimulatedDataPlane`` derives the
answers from the stored resources; ``realplane.RealDataPlane`` (``--dataplane real``) builds them as network
namespaces with strongSwan tunnels and answers from real SAs and real pings.
"""

from __future__ import annotations

import hashlib
import ipaddress
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from include.jdcloud_emulator.models.state import IKE_IPSEC_FIELDS, Instance, InvocationResult, VpnTunnel
from include.jdcloud_emulator.settings import INTER_REGION_RTT_MS, INTRA_REGION_RTT_MS

if TYPE_CHECKING:
    from include.jdcloud_emulator.cloud import EmulatedCloud

IKE_PROPOSAL = ("ike_key_exchange", "ike_cipher", "ike_auth")
IPSEC_PROPOSAL = ("ipsec_cipher", "ipsec_auth", "ipsec_key_exchange")
assert set(IKE_PROPOSAL + IPSEC_PROPOSAL) <= set(IKE_IPSEC_FIELDS)


@dataclass(frozen=True)
class PingRequest:
    """What the guest's ``ping`` was asked for: ``-c``, ``-s``, ``-M do`` and ``-W`` (seconds to wait for a reply,
    None: not given)."""

    destination: str
    count: int = 4
    size: int = 56
    dont_fragment: bool = False
    reply_wait_s: float | None = None


@dataclass
class PingResult:
    """What ``ping -c N`` saw: one RTT per echo reply (None for a lost packet) and why packets were lost."""

    destination: str
    rtts_ms: list[float | None]
    loss_reason: str | None = None
    replies_from: list[str] = field(default_factory=list)

    @property
    def received(self) -> int:
        return sum(1 for r in self.rtts_ms if r is not None)

    def iputils_output(self, interval_s: float) -> str:
        """Render the result the way iputils ``ping`` prints it."""
        lines = [f"PING {self.destination} ({self.destination}) 56(84) bytes of data."]
        for seq, rtt in enumerate(self.rtts_ms, start=1):
            if rtt is not None:
                lines.append(f"64 bytes from {self.destination}: icmp_seq={seq} ttl=62 time={rtt:.1f} ms")
        sent = len(self.rtts_ms)
        loss = round(100 * (sent - self.received) / sent) if sent else 0
        elapsed_ms = int(max(sent - 1, 0) * interval_s * 1000)
        lines += ["", f"--- {self.destination} ping statistics ---"]
        lines.append(f"{sent} packets transmitted, {self.received} received, {loss}% packet loss, time {elapsed_ms}ms")
        replies = [r for r in self.rtts_ms if r is not None]
        if replies:
            avg = sum(replies) / len(replies)
            mdev = (sum((r - avg) ** 2 for r in replies) / len(replies)) ** 0.5
            lines.append(f"rtt min/avg/max/mdev = {min(replies):.3f}/{avg:.3f}/{max(replies):.3f}/{mdev:.3f} ms")
        return "\n".join(lines) + "\n"


class DataPlane(ABC):
    """What the control plane asks of the network."""

    @abstractmethod
    def reconcile(self, now: float) -> None:
        """Bring the data plane in line with the stored resources after a change."""

    @abstractmethod
    def op_status(self, tunnel: VpnTunnel, now: float) -> str:
        """Return ``UP`` when the tunnel's IPsec SAs are established at ``now``, else ``DOWN``."""

    @abstractmethod
    def ping(self, result: InvocationResult, source: Instance, request: PingRequest, interval_s: float) -> None:
        """Send ``request.count`` echo requests from ``source`` from ``result.start_at`` on.

        Fills ``result``'s exit code, output and ``end_at``, at once or, when the pings really run, once they
        are done (``end_at`` is None until then).
        """

    @abstractmethod
    def close(self) -> None:
        """Release what the data plane holds."""


class SimulatedDataPlane(DataPlane):
    """Derives tunnel state and reachability from the stored resources; no packets are sent."""

    def __init__(self, cloud: EmulatedCloud) -> None:
        self.cloud = cloud

    def close(self) -> None:
        """Nothing to release: no packets, no processes."""

    # ------------------------------------------------------------------ tunnels

    def mirror_of(self, tunnel: VpnTunnel) -> VpnTunnel | None:
        """The other end: a tunnel in another region with the public IPs swapped."""
        for other in self.cloud.state.vpn_tunnels.values():
            if (
                other.region_id != tunnel.region_id
                and other.cloud_public_ip == tunnel.customer_ip
                and other.customer_ip == tunnel.cloud_public_ip
            ):
                return other
        return None

    def mismatch(self, tunnel: VpnTunnel) -> str | None:
        """Why the tunnel cannot negotiate, as a reason code; None when both ends match."""
        if tunnel.admin_status != "UP":
            return "admin_down"
        mirror = self.mirror_of(tunnel)
        if mirror is None:
            return "no_peer_tunnel"
        if mirror.admin_status != "UP":
            return "peer_admin_down"
        if not self._cross_wired(tunnel) or not self._cross_wired(mirror):
            return "customer_gateway_not_cross_wired"
        if mirror.psk != tunnel.psk:
            return "psk_mismatch"
        if mirror.ike_version != tunnel.ike_version:
            return "ike_version_mismatch"
        if tunnel.ike_version == "v1" and mirror.ike_mode != tunnel.ike_mode:
            return "ike_mode_mismatch"
        if any(getattr(mirror, f) != getattr(tunnel, f) for f in IKE_PROPOSAL):
            return "ike_proposal_mismatch"
        if any(getattr(mirror, f) != getattr(tunnel, f) for f in IPSEC_PROPOSAL):
            return "ipsec_proposal_mismatch"
        return None

    def _cross_wired(self, tunnel: VpnTunnel) -> bool:
        """The tunnel's customer gateway lists the IP the far end actually uses."""
        connection = self.cloud.state.vpn_connections.get(tunnel.vpn_connection_id)
        cgw = connection and self.cloud.state.customer_gateways.get(connection.cgw_id)
        return bool(cgw) and tunnel.customer_ip in cgw.customer_ips

    def reconcile(self, now: float) -> None:
        for tunnel in self.cloud.state.vpn_tunnels.values():
            if self.mismatch(tunnel) is None:
                tunnel.match_since = tunnel.match_since or now
            else:
                tunnel.match_since = None

    def op_status(self, tunnel: VpnTunnel, now: float) -> str:
        if tunnel.match_since is None or self.cloud.faults.is_stuck("tunnel_negotiation", tunnel.vpn_tunnel_id):
            return "DOWN"
        start = tunnel.match_since
        mirror = self.mirror_of(tunnel)
        ids = [tunnel.vpn_tunnel_id] + ([mirror.vpn_tunnel_id] if mirror else [])
        for flap_start, flap_end in self.cloud.faults.flaps(ids):
            if flap_start <= now < flap_end:
                return "DOWN"
            if flap_end <= now:
                start = max(start, flap_end)  # renegotiate after the flap
        return "UP" if now >= start + self.cloud.latency("tunnel_negotiation") else "DOWN"

    # ------------------------------------------------------------------ packets

    def ping(self, result: InvocationResult, source: Instance, request: PingRequest, interval_s: float) -> None:
        """The model decides each echo by the hops on the way; it knows no MTU, so size and DF do not matter."""
        echoes = self.echoes(source, request.destination, request.count, result.start_at, interval_s)
        result.exit_code = 0 if echoes.received else 1
        result.output = echoes.iputils_output(1.0)
        result.end_at = result.start_at + request.count * interval_s

    def echoes(
        self, source: Instance, destination_ip: str, count: int, start_at: float, interval_s: float
    ) -> PingResult:
        """What each of ``count`` echo requests from ``source`` from ``start_at`` on would meet."""
        rtts: list[float | None] = []
        reason = None
        for seq in range(count):
            at = start_at + seq * interval_s
            blocked = self.blocking_hop(source, destination_ip, at)
            if blocked is None:
                rtts.append(self._rtt(source, destination_ip, seq, at))
            else:
                rtts.append(None)
                reason = reason or blocked
        return PingResult(destination=destination_ip, rtts_ms=rtts, loss_reason=reason)

    def _rtt(self, source: Instance, destination_ip: str, seq: int, at: float) -> float:
        target, _ = self.deliver(source, destination_ip, at)
        regions = frozenset({source.region_id, target.region_id}) if target else frozenset()
        base = INTER_REGION_RTT_MS.get(regions, INTRA_REGION_RTT_MS)
        digest = hashlib.sha1(f"{source.instance_id}|{destination_ip}|{seq}".encode()).digest()
        return base * (1 + (digest[0] / 255 - 0.5) * 0.04)

    def instance_in_vpc(self, vpc_id: str, ip: str) -> Instance | None:
        """The instance holding private address ``ip`` in ``vpc_id`` (private addresses are unique per VPC only)."""
        for instance in self.cloud.state.instances.values():
            if instance.vpc_id == vpc_id and instance.private_ip_address == ip and instance.deleting_at is None:
                return instance
        return None

    def blocking_hop(self, source: Instance, destination_ip: str, now: float) -> str | None:
        """The first hop that drops an echo request or its reply at ``now``; None when both get through."""
        if self.cloud.vm.status(source, now) != "running":
            return f"source instance {source.instance_id} is not running"
        target, blocked = self.deliver(source, destination_ip, now)
        if target is None:
            return blocked
        if self.cloud.vm.status(target, now) != "running":
            return f"destination instance {target.instance_id} is not running"
        back, blocked = self.deliver(target, source.private_ip_address, now)
        if back is None:
            return blocked
        if back.instance_id != source.instance_id:
            return f"the reply to {source.private_ip_address} is delivered to {back.instance_id} in {back.vpc_id}"
        return None

    def deliver(self, src: Instance, ip: str, now: float) -> tuple[Instance | None, str | None]:
        """Follow a packet from ``src`` to ``ip``: src's VPC, else its route table, its BGW, a VPN tunnel and the
        far BGW into the VPC it routes to. Return the instance it reaches, or None and the hop that drops it."""
        local = self.instance_in_vpc(src.vpc_id, ip)
        if local is not None:
            return local, None
        address = ipaddress.IPv4Address(ip)
        subnet = self.cloud.state.subnets[src.subnet_id]
        table = self.cloud.state.route_tables[subnet.route_table_id]
        rule = _longest_match([(r.address_prefix, r) for r in self.cloud.vpc.effective_rules(table, now)], address)
        if rule is None or rule.next_hop_type != "bgw":
            return None, f"route table {table.route_table_id} has no route to {address} via a border gateway"
        bgw_id = rule.next_hop_id
        if not any(
            self.cloud.bgw.attachment_active(a, now)
            for a in self.cloud.bgw.attachments_of_vpc(src.vpc_id)
            if a.bgw_id == bgw_id
        ):
            return None, f"vpc {src.vpc_id} has no active attachment to border gateway {bgw_id}"
        route = _longest_match(
            [(r.bgw_route_destination, r) for r in self.cloud.bgw.effective_routes(bgw_id, now)], address
        )
        if route is None or route.bgw_route_next_hop_type != "vpnConnection":
            return None, f"border gateway {bgw_id} has no route to {address} via a VPN connection"
        for tunnel in self.cloud.bgw.tunnels_of_connection(route.bgw_route_nexthop):
            if self.op_status(tunnel, now) != "UP":
                continue
            mirror = self.mirror_of(tunnel)
            vpc_id = mirror and self._far_side_vpc(mirror, address, now)
            if vpc_id:
                target = self.instance_in_vpc(vpc_id, ip)
                if target is None:
                    return None, f"no instance has the address {ip} in {vpc_id}"
                return target, None
        return None, f"VPN connection {route.bgw_route_nexthop} has no UP tunnel that reaches {address}"

    def _far_side_vpc(self, mirror: VpnTunnel, address: ipaddress.IPv4Address, now: float) -> str | None:
        """The VPC the far border gateway (of ``mirror``'s connection) routes ``address`` to, if any."""
        connection = self.cloud.state.vpn_connections.get(mirror.vpn_connection_id)
        if connection is None:
            return None
        route = _longest_match(
            [(r.bgw_route_destination, r) for r in self.cloud.bgw.effective_routes(connection.bgw_id, now)], address
        )
        if route is None or route.bgw_route_next_hop_type != "vpcAttachment":
            return None
        attachment = self.cloud.state.vpc_attachments.get(route.bgw_route_nexthop)
        return attachment.vpc_id if attachment is not None else None


def _longest_match(candidates, address: ipaddress.IPv4Address):
    best = None
    best_len = -1
    best_priority = None
    for prefix, item in candidates:
        network = ipaddress.IPv4Network(prefix)
        if address not in network:
            continue
        priority = getattr(item, "priority", getattr(item, "bgw_route_priority", 100))
        if network.prefixlen > best_len or (network.prefixlen == best_len and priority < best_priority):
            best, best_len, best_priority = item, network.prefixlen, priority
    return best
