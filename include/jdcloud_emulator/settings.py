"""Emulator settings and the simulated latency table."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

DEMO_ACCESS_KEY = "JDC_EMULATOR_DEMO_AK"
DEMO_SECRET_KEY = "emulator-demo-secret-key"

REGIONS = ("cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1")

# Where each region's VPN connections get their two cloud public IPs on the model data plane (illustrative, not
# JD's real ranges).
CLOUD_IP_POOLS = {
    "cn-north-1": ipaddress.IPv4Network("116.196.0.0/16"),
    "cn-east-1": ipaddress.IPv4Network("114.67.0.0/16"),
    "cn-east-2": ipaddress.IPv4Network("117.50.0.0/16"),
    "cn-south-1": ipaddress.IPv4Network("116.198.0.0/16"),
}
# The real data plane puts every public address in a namespace, so it uses only the documentation ranges
# (RFC 5737): no address that belongs to anyone ever appears on a link.
TEST_NETS = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
TEST_NET_CLOUD_IP_POOLS = {
    "cn-north-1": ipaddress.IPv4Network("192.0.2.0/25"),
    "cn-east-1": ipaddress.IPv4Network("192.0.2.128/25"),
    "cn-east-2": ipaddress.IPv4Network("198.51.100.0/24"),
    "cn-south-1": ipaddress.IPv4Network("203.0.113.0/24"),
}
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
DATAPLANES = ("model", "real")

# Seconds each asynchronous thing takes on the emulated cloud, before --time-scale is applied.
# Realistic orders of magnitude for JD Cloud; none of them is documented by JD Cloud.
DEFAULT_LATENCIES: dict[str, float] = {
    "vm_boot": 40.0,  # instance pending -> running
    "vm_delete": 8.0,  # instance deleting -> gone
    "attachment_create": 5.0,  # VPC attachment creating -> active
    "vpn_connection_provision": 5.0,  # VPN connection creating -> active, its two cloud public IPs allocated
    "attachment_delete": 5.0,  # VPC attachment deleting -> gone
    "vpn_connection_delete": 5.0,  # VPN connection deleting -> gone
    "tunnel_admin_down": 2.0,  # a tunnel set adminStatus DOWN can be deleted only after this
    "attachment_propagation": 5.0,  # VPC subnets appear as propagated BGW routes after the attachment is active
    "route_propagation": 5.0,  # a BGW static route appears in the attached VPC's route tables
    "tunnel_negotiation": 20.0,  # IKE + IPsec SA negotiation once both tunnel ends match
    "invocation_start": 2.0,  # cloud assistant: invocation waiting -> running
    "ping_interval": 1.0,  # iputils ping sends one echo request a second
}

# Round-trip times between regions in milliseconds (same-region pairs use intra_region).
INTER_REGION_RTT_MS: dict[frozenset[str], float] = {
    frozenset({"cn-north-1", "cn-east-2"}): 27.8,
    frozenset({"cn-north-1", "cn-east-1"}): 19.6,
    frozenset({"cn-north-1", "cn-south-1"}): 41.3,
    frozenset({"cn-east-1", "cn-east-2"}): 9.4,
    frozenset({"cn-east-1", "cn-south-1"}): 28.7,
    frozenset({"cn-east-2", "cn-south-1"}): 26.1,
}
INTRA_REGION_RTT_MS = 0.35

DEFAULT_RATE_LIMIT_PER_MINUTE = 1000  # documented: 1000 calls/minute/service


@dataclass
class EmulatorSettings:
    """How one emulator instance behaves."""

    access_key: str = DEMO_ACCESS_KEY
    secret_key: str = DEMO_SECRET_KEY
    state_path: str | None = None  # SQLite file; in memory when None
    time_scale: float = 1.0
    latencies: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LATENCIES))
    seed: int = 0
    dataplane: str = "model"  # or "real": network namespaces, strongSwan and ping (root only)

    def latency(self, name: str) -> float:
        """Return the scaled latency in seconds of the named transition."""
        return self.latencies[name] * self.time_scale

    def cloud_ip_pool(self, region: str) -> ipaddress.IPv4Network:
        """The network a VPN connection's cloud public IPs come from: TEST-NET on the real data plane."""
        return (TEST_NET_CLOUD_IP_POOLS if self.dataplane == "real" else CLOUD_IP_POOLS)[region]

    def accepts_public_ip(self, address: ipaddress.IPv4Address) -> bool:
        """A customer gateway IP must be globally routable; the real data plane takes TEST-NET ones as well."""
        return address.is_global or (self.dataplane == "real" and any(address in n for n in TEST_NETS))
