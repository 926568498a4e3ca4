"""bgw service: border gateways, VPC attachments, customer gateways, VPN connections, tunnels and routes.

Every rule below is tied to JD Cloud's documentation (``jdcloud-api.md`` section 3); the error
``status`` of precondition and quota failures is not documented, so those follow section 6's guess.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from include.jdcloud_emulator.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    QuotaExceeded,
    not_found,
)
from include.jdcloud_emulator.models.core import (
    apply_filters,
    check_cidr,
    check_description,
    check_enum,
    check_int_range,
    check_name,
    check_public_ipv4,
    require,
)
from include.jdcloud_emulator.models.state import (
    Bgw,
    BgwRoute,
    CustomerGateway,
    VpcAttachment,
    VpnConnection,
    VpnTunnel,
)
from include.jdcloud_emulator.models.vpc import derived_id

if TYPE_CHECKING:
    from include.jdcloud_emulator.models import Emulator

BGW_PER_REGION = 5
CGW_PER_REGION = 10
CONNECTIONS_PER_BGW = 10
ATTACHMENTS_PER_BGW = 50
STATIC_ROUTES_PER_BGW = 50
CGW_IP_COUNTS = (1, 2, 4)

PSK_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
TUNNEL_IP_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("169.254.0.0/20", "10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12")
)
# Public pools the emulator allocates VPN connection cloud IPs from (illustrative, not JD's real ranges).
CLOUD_IP_POOLS = {
    "cn-north-1": ipaddress.IPv4Network("116.196.0.0/16"),
    "cn-east-1": ipaddress.IPv4Network("114.67.0.0/16"),
    "cn-east-2": ipaddress.IPv4Network("117.50.0.0/16"),
    "cn-south-1": ipaddress.IPv4Network("116.198.0.0/16"),
}

TUNNEL_ENUMS: dict[str, tuple[Any, ...]] = {
    "ikeVersion": ("v1", "v2"),
    "ikeMode": ("main", "aggressive"),
    "ikeKeyExchange": ("modp1024", "modp1536", "modp2048", "ecp256", "ecp384"),
    "ikeCipher": ("aes128", "aes192", "aes256", "3des"),
    "ikeAuth": ("sha1", "sha256", "sha384"),
    "ikeDpdSec": (0, 10),
    "ipsecCipher": ("aes128", "aes192", "aes256"),
    "ipsecAuth": ("sha1", "sha256", "sha384"),
    "ipsecKeyExchange": ("null", "modp1024", "modp1536", "modp2048", "ecp256", "ecp384"),
}
TUNNEL_RANGES: dict[str, tuple[int, int]] = {
    "ikeSaLifeSec": (60, 86400),
    "ipsecSaLifeSec": (60, 86400),
    "ipsecSaLifepkt": (0, 100_000_000),
    "ipsecSaLifebyte": (0, 107_374_182_400),
    "bandwidthMbps": (1, 1500),
}
TUNNEL_SNAKE = {
    "ikeVersion": "ike_version",
    "ikeMode": "ike_mode",
    "ikeKeyExchange": "ike_key_exchange",
    "ikeCipher": "ike_cipher",
    "ikeAuth": "ike_auth",
    "ikeDpdSec": "ike_dpd_sec",
    "ikeSaLifeSec": "ike_sa_life_sec",
    "ipsecCipher": "ipsec_cipher",
    "ipsecAuth": "ipsec_auth",
    "ipsecKeyExchange": "ipsec_key_exchange",
    "ipsecSaLifeSec": "ipsec_sa_life_sec",
    "ipsecSaLifepkt": "ipsec_sa_lifepkt",
    "ipsecSaLifebyte": "ipsec_sa_lifebyte",
    "bandwidthMbps": "bandwidth_mbps",
}
# Route next-hop types: the spec's snake_case spelling -> the resource's camelCase spelling.
NEXT_HOP_TYPES = {
    "hosted_private_vif": "hostedPrivateVif",
    "private_vif": "privateVif",
    "vpc_attachment": "vpcAttachment",
    "vpn_connection": "vpnConnection",
    "vpc": "vpc",
}
PROPAGATED_ROUTE_PRIORITY = 100


def check_psk(value: Any) -> str:
    """JD's PSK rule: digits, letters, '_' and '-', at most 20 characters, not starting with 0x or 0s."""
    if not isinstance(value, str) or not PSK_RE.match(value):
        raise InvalidArgument("psk must be 1-20 characters of letters, digits, '_' or '-'")
    if value[:2].lower() in ("0x", "0s"):
        raise InvalidArgument("psk must not start with 0x or 0s")
    return value


class BgwBackend:
    """Border gateways and the VPN resources hanging off them, for every region."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def state(self):
        return self.emu.state

    def _in_region(self, table: dict, region: str) -> list:
        return [r for r in table.values() if r.region_id == region]

    def _get(self, table: dict, kind: str, region: str, resource_id: str):
        resource = table.get(resource_id)
        if resource is None or resource.region_id != region:
            raise not_found(kind, resource_id)
        return resource

    # ------------------------------------------------------------------ border gateways

    def create_bgw(self, region: str, params: dict) -> dict:
        name = check_name("bgwName", require(params, "bgwName"))
        az_type = check_enum("azType", params.get("azType") or "standard", ("standard", "edge"))
        az = params.get("az") or ""
        if az_type == "edge" and not az:
            raise InvalidArgument("az is required when azType is edge")
        if len(self._in_region(self.state.bgws, region)) >= BGW_PER_REGION:
            raise QuotaExceeded(f"quota exceeded: at most {BGW_PER_REGION} border gateways per region")
        bgw = Bgw(
            region_id=region,
            bgw_id=self.emu.new_id("bgw"),
            bgw_name=name,
            description=check_description(params.get("description")),
            az_type=az_type,
            az=az if az_type == "edge" else "",
            created_time=self.emu.now_iso(),
        )
        self.state.bgws[bgw.bgw_id] = bgw
        return {"bgwId": bgw.bgw_id}

    def get_bgw(self, region: str, bgw_id: str) -> Bgw:
        return self._get(self.state.bgws, "bgw", region, bgw_id)

    def bgw_json(self, bgw: Bgw) -> dict:
        data = bgw.to_json()
        data["vifIds"] = []
        data["vpcAttachmentIds"] = [
            a.vpc_attachment_id for a in self.state.vpc_attachments.values() if a.bgw_id == bgw.bgw_id
        ]
        data["vpnConnectionIds"] = [c.vpn_connection_id for c in self.connections_of_bgw(bgw.bgw_id)]
        return data

    def describe_bgws(self, region: str, filters: dict) -> list[dict]:
        getters = {"bgwIds": lambda b: b.bgw_id, "bgwNames": lambda b: b.bgw_name}
        return [self.bgw_json(b) for b in apply_filters(self._in_region(self.state.bgws, region), filters, getters)]

    def modify_bgw(self, region: str, bgw_id: str, params: dict) -> None:
        bgw = self.get_bgw(region, bgw_id)
        if params.get("bgwName") is not None:
            bgw.bgw_name = check_name("bgwName", params["bgwName"])
        if params.get("description") is not None:
            bgw.description = check_description(params["description"])

    def delete_bgw(self, region: str, bgw_id: str) -> None:
        bgw = self.get_bgw(region, bgw_id)
        if any(a.bgw_id == bgw_id for a in self.state.vpc_attachments.values()):
            raise FailedPrecondition(f"border gateway {bgw_id} still has VPC attachments")
        if self.connections_of_bgw(bgw_id):
            raise FailedPrecondition(f"border gateway {bgw_id} still has VPN connections")
        for route in self.static_routes(bgw_id):
            del self.state.bgw_routes[route.bgw_route_id]
        del self.state.bgws[bgw.bgw_id]

    # ------------------------------------------------------------------ VPC attachments

    def create_vpc_attachment(self, region: str, params: dict) -> dict:
        name = check_name("vpcAttachmentName", require(params, "vpcAttachmentName"))
        bgw = self.get_bgw(region, require(params, "bgwId"))
        vpc = self.emu.vpc.get_vpc(region, require(params, "vpcId"))
        propagate_type, subnet_ids = self._parse_propagation(region, vpc.vpc_id, params)
        attachments = [a for a in self.state.vpc_attachments.values() if a.bgw_id == bgw.bgw_id]
        if any(a.vpc_id == vpc.vpc_id for a in attachments):
            raise AlreadyExists(f"vpc {vpc.vpc_id} is already attached to border gateway {bgw.bgw_id}")
        if len(attachments) >= ATTACHMENTS_PER_BGW:
            raise QuotaExceeded(f"quota exceeded: at most {ATTACHMENTS_PER_BGW} VPC attachments per border gateway")
        attachment = VpcAttachment(
            region_id=region,
            vpc_attachment_id=self.emu.new_id("vpca"),
            vpc_attachment_name=name,
            bgw_id=bgw.bgw_id,
            vpc_id=vpc.vpc_id,
            propagate_type=propagate_type,
            subnet_ids=subnet_ids,
            description=check_description(params.get("description")),
            created_time=self.emu.now_iso(),
            active_at=self.emu.now() + self.emu.latency("attachment_create"),
        )
        self.state.vpc_attachments[attachment.vpc_attachment_id] = attachment
        return {"vpcAttachmentId": attachment.vpc_attachment_id}

    def _parse_propagation(self, region: str, vpc_id: str, params: dict) -> tuple[str, list[str]]:
        propagate_type = check_enum("propagateType", require(params, "propagateType"), ("all", "partial", "none"))
        subnet_ids = params.get("subnetIds") or []
        if propagate_type != "partial":
            return propagate_type, []
        if not isinstance(subnet_ids, list) or not subnet_ids:
            raise InvalidArgument("subnetIds is required when propagateType is partial")
        if len(set(subnet_ids)) != len(subnet_ids):
            raise InvalidArgument("subnetIds must not repeat a subnet")
        for subnet_id in subnet_ids:
            if self.emu.vpc.get_subnet(region, subnet_id).vpc_id != vpc_id:
                raise InvalidArgument(f"subnet {subnet_id} is not in vpc {vpc_id}")
        return propagate_type, list(subnet_ids)

    def get_vpc_attachment(self, region: str, attachment_id: str) -> VpcAttachment:
        return self._get(self.state.vpc_attachments, "vpcAttachment", region, attachment_id)

    def attachment_active(self, attachment: VpcAttachment, now: float) -> bool:
        return now >= attachment.active_at and not self.emu.faults.is_stuck(
            "attachment_create", attachment.vpc_attachment_id
        )

    def vpc_attachment_json(self, attachment: VpcAttachment) -> dict:
        data = attachment.to_json()
        data["status"] = "active" if self.attachment_active(attachment, self.emu.now()) else "creating"
        data["propagateCidrInfos"] = [
            {"subnetId": s.subnet_id, "subnetCidr": s.address_prefix} for s in self.propagated_subnets(attachment)
        ]
        return data

    def describe_vpc_attachments(self, region: str, filters: dict) -> list[dict]:
        getters = {
            "vpcAttachmentIds": lambda a: a.vpc_attachment_id,
            "vpcAttachmentNames": lambda a: a.vpc_attachment_name,
            "bgwId": lambda a: a.bgw_id,
            "vpcId": lambda a: a.vpc_id,
        }
        selected = apply_filters(self._in_region(self.state.vpc_attachments, region), filters, getters)
        return [self.vpc_attachment_json(a) for a in selected]

    def modify_vpc_attachment(self, region: str, attachment_id: str, params: dict) -> None:
        attachment = self.get_vpc_attachment(region, attachment_id)
        if params.get("vpcAttachmentName") is not None:
            attachment.vpc_attachment_name = check_name("vpcAttachmentName", params["vpcAttachmentName"])
        if params.get("description") is not None:
            attachment.description = check_description(params["description"])
        attribute = params.get("propagationAttribute")
        if attribute is not None:
            if not isinstance(attribute, dict) or attribute.get("vpcId") != attachment.vpc_id:
                raise InvalidArgument("propagationAttribute.vpcId must be the attachment's vpcId")
            attachment.propagate_type, attachment.subnet_ids = self._parse_propagation(
                region, attachment.vpc_id, attribute
            )

    def delete_vpc_attachment(self, region: str, attachment_id: str) -> None:
        attachment = self.get_vpc_attachment(region, attachment_id)
        for route in self.static_routes(attachment.bgw_id):
            if route.bgw_route_nexthop == attachment_id:
                raise FailedPrecondition(f"static route {route.bgw_route_id} uses vpc attachment {attachment_id}")
        del self.state.vpc_attachments[attachment_id]

    def attachments_of_vpc(self, vpc_id: str) -> list[VpcAttachment]:
        return [a for a in self.state.vpc_attachments.values() if a.vpc_id == vpc_id]

    def propagated_subnets(self, attachment: VpcAttachment) -> list:
        if attachment.propagate_type == "none":
            return []
        subnets = [s for s in self.state.subnets.values() if s.vpc_id == attachment.vpc_id]
        if attachment.propagate_type == "partial":
            subnets = [s for s in subnets if s.subnet_id in attachment.subnet_ids]
        return subnets

    # ------------------------------------------------------------------ customer gateways

    def _check_customer_ips(self, value: Any) -> list[str]:
        if not isinstance(value, list) or len(value) not in CGW_IP_COUNTS:
            raise InvalidArgument("customerIps must hold 1, 2 or 4 IPv4 addresses")
        ips = [check_public_ipv4("customerIps", ip) for ip in value]
        if len(set(ips)) != len(ips):
            raise InvalidArgument("customerIps must not repeat an address")
        return ips

    def create_customer_gateway(self, region: str, params: dict) -> dict:
        name = check_name("customerGatewayName", require(params, "customerGatewayName"))
        ips = self._check_customer_ips(require(params, "customerIps"))
        asn = check_int_range("bgpAsn", require(params, "bgpAsn"), 65001, 65499)
        if len(self._in_region(self.state.customer_gateways, region)) >= CGW_PER_REGION:
            raise QuotaExceeded(f"quota exceeded: at most {CGW_PER_REGION} customer gateways per region")
        now = self.emu.now_iso()
        cgw = CustomerGateway(
            region_id=region,
            customer_gateway_id=self.emu.new_id("cgw"),
            customer_gateway_name=name,
            customer_ips=ips,
            bgp_asn=asn,
            description=check_description(params.get("description")),
            created_time=now,
            updated_time=now,
        )
        self.state.customer_gateways[cgw.customer_gateway_id] = cgw
        return {"customerGatewayId": cgw.customer_gateway_id}

    def get_customer_gateway(self, region: str, cgw_id: str) -> CustomerGateway:
        return self._get(self.state.customer_gateways, "customerGateway", region, cgw_id)

    def describe_customer_gateways(self, region: str, filters: dict) -> list[dict]:
        getters = {
            "customerGatewayIds": lambda c: c.customer_gateway_id,
            "customerGatewayNames": lambda c: c.customer_gateway_name,
        }
        selected = apply_filters(self._in_region(self.state.customer_gateways, region), filters, getters)
        return [c.to_json() for c in selected]

    def modify_customer_gateway(self, region: str, cgw_id: str, params: dict) -> None:
        cgw = self.get_customer_gateway(region, cgw_id)
        if params.get("bgpAsn") is not None and params["bgpAsn"] != cgw.bgp_asn:
            raise InvalidArgument("bgpAsn cannot be modified after the customer gateway is created")
        if params.get("customerIps") is not None:
            ips = self._check_customer_ips(params["customerIps"])
            if ips != cgw.customer_ips and self._tunnels_of_cgw(cgw_id):
                raise FailedPrecondition(
                    f"customerIps of customer gateway {cgw_id} cannot change once a VPN tunnel uses it"
                )
            cgw.customer_ips = ips
        if params.get("customerGatewayName") is not None:
            cgw.customer_gateway_name = check_name("customerGatewayName", params["customerGatewayName"])
        if params.get("description") is not None:
            cgw.description = check_description(params["description"])
        cgw.updated_time = self.emu.now_iso()

    def delete_customer_gateway(self, region: str, cgw_id: str) -> None:
        self.get_customer_gateway(region, cgw_id)
        users = [c.vpn_connection_id for c in self.state.vpn_connections.values() if c.cgw_id == cgw_id]
        if users:
            raise FailedPrecondition(f"customer gateway {cgw_id} is used by VPN connection {users[0]}")
        del self.state.customer_gateways[cgw_id]

    def _tunnels_of_cgw(self, cgw_id: str) -> list[VpnTunnel]:
        connection_ids = {c.vpn_connection_id for c in self.state.vpn_connections.values() if c.cgw_id == cgw_id}
        return [t for t in self.state.vpn_tunnels.values() if t.vpn_connection_id in connection_ids]

    # ------------------------------------------------------------------ VPN connections

    def create_vpn_connection(self, region: str, params: dict) -> dict:
        name = check_name("vpnConnectionName", require(params, "vpnConnectionName"))
        bgw = self.get_bgw(region, require(params, "bgwId"))
        cgw = self.get_customer_gateway(region, require(params, "cgwId"))
        bgp_enabled = params.get("bgpEnabled")
        if bgp_enabled is not None and not isinstance(bgp_enabled, bool):
            raise InvalidArgument("bgpEnabled must be a boolean")
        local_asn = params.get("localAsn")
        local_asn = 65000 if local_asn is None else check_int_range("localAsn", local_asn, 64512, 65534)
        if len(self.connections_of_bgw(bgw.bgw_id)) >= CONNECTIONS_PER_BGW:
            raise QuotaExceeded(f"quota exceeded: at most {CONNECTIONS_PER_BGW} VPN connections per border gateway")
        now = self.emu.now_iso()
        connection = VpnConnection(
            region_id=region,
            vpn_connection_id=self.emu.new_id("vpnc"),
            vpn_connection_name=name,
            description=check_description(params.get("description")),
            bgw_id=bgw.bgw_id,
            cgw_id=cgw.customer_gateway_id,
            bgp_enabled=True if bgp_enabled is None else bgp_enabled,
            local_asn=local_asn,
            cloud_public_ip=[self._allocate_public_ip(region), self._allocate_public_ip(region)],
            created_time=now,
            updated_time=now,
        )
        self.state.vpn_connections[connection.vpn_connection_id] = connection
        return {"vpnConnectionId": connection.vpn_connection_id}

    def _allocate_public_ip(self, region: str) -> str:
        pool = CLOUD_IP_POOLS[region]
        taken = set(self.state.allocated_public_ips)
        while True:
            ip = str(pool[2 + int(self.emu.ids.random() * (pool.num_addresses - 4))])
            if ip not in taken:
                self.state.allocated_public_ips.append(ip)
                return ip

    def get_vpn_connection(self, region: str, connection_id: str) -> VpnConnection:
        return self._get(self.state.vpn_connections, "vpnConnection", region, connection_id)

    def connections_of_bgw(self, bgw_id: str) -> list[VpnConnection]:
        return [c for c in self.state.vpn_connections.values() if c.bgw_id == bgw_id]

    def tunnels_of_connection(self, connection_id: str) -> list[VpnTunnel]:
        return [t for t in self.state.vpn_tunnels.values() if t.vpn_connection_id == connection_id]

    def ha_status(self, connection: VpnConnection, now: float) -> str:
        """``redundancy`` when the CGW has 2+ IPs and every cloud IP has at least one tunnel UP."""
        cgw = self.state.customer_gateways.get(connection.cgw_id)
        tunnels = self.tunnels_of_connection(connection.vpn_connection_id)
        up_ips = {t.cloud_public_ip for t in tunnels if self.emu.dataplane.op_status(t, now) == "UP"}
        redundant = cgw is not None and len(cgw.customer_ips) >= 2 and up_ips >= set(connection.cloud_public_ip)
        return "redundancy" if redundant else "no_redundancy"

    def vpn_connection_json(self, connection: VpnConnection) -> dict:
        data = connection.to_json()
        data["haStatus"] = self.ha_status(connection, self.emu.now())
        data["charge"] = {"chargeMode": "postpaid_by_usage", "chargeStatus": "normal"}
        return data

    def describe_vpn_connections(self, region: str, filters: dict) -> list[dict]:
        getters = {
            "vpnConnectionIds": lambda c: c.vpn_connection_id,
            "vpnConnectionNames": lambda c: c.vpn_connection_name,
            "bgwId": lambda c: c.bgw_id,
            "cgwId": lambda c: c.cgw_id,
        }
        selected = apply_filters(self._in_region(self.state.vpn_connections, region), filters, getters)
        return [self.vpn_connection_json(c) for c in selected]

    def modify_vpn_connection(self, region: str, connection_id: str, params: dict) -> None:
        connection = self.get_vpn_connection(region, connection_id)
        if params.get("vpnConnectionName") is not None:
            connection.vpn_connection_name = check_name("vpnConnectionName", params["vpnConnectionName"])
        if params.get("description") is not None:
            connection.description = check_description(params["description"])
        if params.get("bgpEnabled") is not None:
            if not isinstance(params["bgpEnabled"], bool):
                raise InvalidArgument("bgpEnabled must be a boolean")
            connection.bgp_enabled = params["bgpEnabled"]
        if params.get("trafficSelectors") is not None:
            connection.traffic_selectors = self._check_traffic_selectors(params["trafficSelectors"])
        connection.updated_time = self.emu.now_iso()

    def _check_traffic_selectors(self, value: Any) -> list[dict]:
        if not isinstance(value, list):
            raise InvalidArgument("trafficSelectors must be a list")
        for item in value:
            check_cidr("trafficSelectors.localSubnet", require(item, "localSubnet"))
            for remote in item.get("remoteSubnets") or []:
                check_cidr("trafficSelectors.remoteSubnets", remote)
        return value

    def delete_vpn_connection(self, region: str, connection_id: str) -> None:
        connection = self.get_vpn_connection(region, connection_id)
        if self.tunnels_of_connection(connection_id):
            raise FailedPrecondition(f"VPN connection {connection_id} still has VPN tunnels")
        for route in self.static_routes(connection.bgw_id):
            if route.bgw_route_nexthop == connection_id:
                raise FailedPrecondition(f"static route {route.bgw_route_id} uses VPN connection {connection_id}")
        del self.state.vpn_connections[connection_id]

    # ------------------------------------------------------------------ VPN tunnels

    def _tunnel_settings(self, params: dict, *, creating: bool) -> dict:
        settings: dict[str, Any] = {}
        for field, allowed in TUNNEL_ENUMS.items():
            if params.get(field) is not None:
                value = check_enum(field, params[field], allowed)
                settings[TUNNEL_SNAKE[field]] = None if value == "null" else value  # "null": no PFS
        for field, (low, high) in TUNNEL_RANGES.items():
            if params.get(field) is not None:
                settings[TUNNEL_SNAKE[field]] = check_int_range(field, params[field], low, high)
        if params.get("psk") is not None or creating:
            settings["psk"] = check_psk(params.get("psk"))
        return settings

    def create_vpn_tunnel(self, region: str, params: dict) -> dict:
        connection = self.get_vpn_connection(region, require(params, "vpnConnectionId"))
        cgw = self.get_customer_gateway(region, connection.cgw_id)
        cloud_ip = require(params, "cloudPublicIp")
        customer_ip = require(params, "customerIp")
        if cloud_ip not in connection.cloud_public_ip:
            raise InvalidArgument(
                f"cloudPublicIp {cloud_ip} is not a cloud IP of VPN connection {connection.vpn_connection_id}"
            )
        if customer_ip not in cgw.customer_ips:
            raise InvalidArgument(
                f"customerIp {customer_ip} is not an IP of customer gateway {cgw.customer_gateway_id}"
            )
        settings = self._tunnel_settings(params, creating=True)
        tunnel_ips = self._tunnel_inner_ips(connection.bgw_id, params)
        existing = self.tunnels_of_connection(connection.vpn_connection_id)
        # The quota goes first: once every (cloud IP, CGW IP) pair has a tunnel, any new pair is a duplicate.
        limit = len(connection.cloud_public_ip) * len(cgw.customer_ips)
        if len(existing) >= limit:
            raise QuotaExceeded(f"quota exceeded: at most {limit} tunnels (cloud IPs x customer gateway IPs)")
        if any(t.cloud_public_ip == cloud_ip and t.customer_ip == customer_ip for t in existing):
            raise AlreadyExists(f"a VPN tunnel between {cloud_ip} and {customer_ip} already exists")
        now = self.emu.now_iso()
        tunnel = VpnTunnel(
            region_id=region,
            vpn_tunnel_id=self.emu.new_id("vpntnl"),
            vpn_connection_id=connection.vpn_connection_id,
            cloud_public_ip=cloud_ip,
            customer_ip=customer_ip,
            local_id=cloud_ip,
            remote_id=customer_ip,
            local_ip=cloud_ip,
            remote_ip=customer_ip,
            created_time=now,
            updated_time=now,
            **tunnel_ips,
            **settings,
        )
        self.state.vpn_tunnels[tunnel.vpn_tunnel_id] = tunnel
        return {"vpnTunnelId": tunnel.vpn_tunnel_id}

    def _tunnel_inner_ips(self, bgw_id: str, params: dict, exclude: str | None = None) -> dict:
        if params.get("tunnelIp") is None:
            if params.get("localTunnelIp") is not None:
                raise InvalidArgument("localTunnelIp requires tunnelIp")
            return {}
        network = check_cidr("tunnelIp", params["tunnelIp"])
        if network.prefixlen != 30 or not any(network.subnet_of(r) for r in TUNNEL_IP_RANGES):
            raise InvalidArgument(
                "tunnelIp must be a /30 inside 169.254.0.0/20, 10.0.0.0/8, 192.168.0.0/16 or 172.16.0.0/12"
            )
        for connection in self.connections_of_bgw(bgw_id):
            for other in self.tunnels_of_connection(connection.vpn_connection_id):
                if (
                    other.vpn_tunnel_id != exclude
                    and other.tunnel_ip
                    and network.overlaps(ipaddress.IPv4Network(other.tunnel_ip))
                ):
                    raise InvalidArgument(f"tunnelIp {network} clashes with tunnel {other.vpn_tunnel_id}")
        hosts = [str(h) for h in network.hosts()]
        local = params.get("localTunnelIp") or hosts[0]
        if local not in hosts:
            raise InvalidArgument("localTunnelIp must be a usable address of tunnelIp (not the first or last)")
        remote = hosts[1] if local == hosts[0] else hosts[0]
        return {"tunnel_ip": str(network), "local_tunnel_ip": local, "remote_tunnel_ip": remote}

    def get_vpn_tunnel(self, region: str, tunnel_id: str) -> VpnTunnel:
        return self._get(self.state.vpn_tunnels, "vpnTunnel", region, tunnel_id)

    def vpn_tunnel_json(self, tunnel: VpnTunnel) -> dict:
        data = tunnel.to_json()
        data["opStatus"] = self.emu.dataplane.op_status(tunnel, self.emu.now())
        return data

    def describe_vpn_tunnels(self, region: str, filters: dict) -> list[dict]:
        getters = {"vpnTunnelIds": lambda t: t.vpn_tunnel_id, "vpnConnectionId": lambda t: t.vpn_connection_id}
        selected = apply_filters(self._in_region(self.state.vpn_tunnels, region), filters, getters)
        return [self.vpn_tunnel_json(t) for t in selected]

    def modify_vpn_tunnel(self, region: str, tunnel_id: str, params: dict) -> None:
        tunnel = self.get_vpn_tunnel(region, tunnel_id)
        for fixed in ("cloudPublicIp", "customerIp", "vpnConnectionId"):
            if params.get(fixed) is not None and params[fixed] != getattr(tunnel, TUNNEL_FIXED[fixed]):
                raise InvalidArgument(f"{fixed} of a VPN tunnel cannot be modified")
        settings = self._tunnel_settings(params, creating=False)
        connection = self.state.vpn_connections[tunnel.vpn_connection_id]
        settings.update(self._tunnel_inner_ips(connection.bgw_id, params, exclude=tunnel_id))
        for name, value in settings.items():
            setattr(tunnel, name, value)
        tunnel.updated_time = self.emu.now_iso()

    def modify_admin_status(self, region: str, tunnel_id: str, params: dict) -> None:
        tunnel = self.get_vpn_tunnel(region, tunnel_id)
        tunnel.admin_status = check_enum("adminStatus", require(params, "adminStatus"), ("UP", "DOWN"))
        tunnel.updated_time = self.emu.now_iso()

    def delete_vpn_tunnel(self, region: str, tunnel_id: str) -> None:
        tunnel = self.get_vpn_tunnel(region, tunnel_id)
        if tunnel.admin_status == "UP":
            raise FailedPrecondition(f"VPN tunnel {tunnel_id} must have adminStatus DOWN before it is deleted")
        del self.state.vpn_tunnels[tunnel_id]

    # ------------------------------------------------------------------ routes

    def static_routes(self, bgw_id: str) -> list[BgwRoute]:
        return [r for r in self.state.bgw_routes.values() if r.bgw_id == bgw_id]

    def create_bgw_route(self, region: str, bgw_id: str, params: dict) -> dict:
        bgw = self.get_bgw(region, bgw_id)
        destination = str(check_cidr("bgwRouteDestination", require(params, "bgwRouteDestination")))
        spec_type = check_enum("bgwNexthopType", params.get("bgwNexthopType") or "vpn_connection", NEXT_HOP_TYPES)
        nexthop = require(params, "bgwRouteNexthop")
        self._check_nexthop(region, bgw_id, spec_type, nexthop)
        routes = self.static_routes(bgw_id)
        if any(r.bgw_route_destination == destination and r.bgw_route_nexthop == nexthop for r in routes):
            raise AlreadyExists(f"border gateway {bgw_id} already routes {destination} to {nexthop}")
        if len(routes) >= STATIC_ROUTES_PER_BGW:
            raise QuotaExceeded(f"quota exceeded: at most {STATIC_ROUTES_PER_BGW} static routes per border gateway")
        route = BgwRoute(
            region_id=region,
            bgw_route_id=self.emu.new_id("bgwr"),
            bgw_id=bgw.bgw_id,
            bgw_route_destination=destination,
            bgw_route_nexthop=nexthop,
            bgw_route_next_hop_type=NEXT_HOP_TYPES[spec_type],
            description=check_description(params.get("description")),
            created_at=self.emu.now(),
        )
        self.state.bgw_routes[route.bgw_route_id] = route
        return {"bgwRouteId": route.bgw_route_id}

    def _check_nexthop(self, region: str, bgw_id: str, spec_type: str, nexthop: str) -> None:
        if spec_type == "vpn_connection":
            if self.get_vpn_connection(region, nexthop).bgw_id != bgw_id:
                raise InvalidArgument(f"VPN connection {nexthop} is not on border gateway {bgw_id}")
        elif spec_type == "vpc_attachment":
            if self.get_vpc_attachment(region, nexthop).bgw_id != bgw_id:
                raise InvalidArgument(f"VPC attachment {nexthop} is not on border gateway {bgw_id}")
        else:
            raise InvalidArgument(f"bgwNexthopType {spec_type} is not supported by the emulator")

    def effective_routes(self, bgw_id: str, now: float) -> list[BgwRoute]:
        """Static routes plus the preferred propagated ones (first attachment to propagate a CIDR wins)."""
        routes = list(self.static_routes(bgw_id))
        delay = self.emu.latency("attachment_propagation")
        attachments = sorted(
            (a for a in self.state.vpc_attachments.values() if a.bgw_id == bgw_id),
            key=lambda a: (a.active_at, a.vpc_attachment_id),
        )
        taken: list[ipaddress.IPv4Network] = []
        for attachment in attachments:
            if not self.attachment_active(attachment, now) or attachment.active_at + delay > now:
                continue
            for subnet in self.propagated_subnets(attachment):
                network = ipaddress.IPv4Network(subnet.address_prefix)
                if any(network.overlaps(t) for t in taken):
                    continue  # overlapping propagated CIDR: the earlier one stays valid, this one is not
                taken.append(network)
                routes.append(
                    BgwRoute(
                        region_id=attachment.region_id,
                        bgw_route_id=derived_id("bgwr", attachment.vpc_attachment_id, subnet.subnet_id),
                        bgw_id=bgw_id,
                        bgw_route_destination=subnet.address_prefix,
                        bgw_route_nexthop=attachment.vpc_attachment_id,
                        bgw_route_next_hop_type="vpcAttachment",
                        origin="propagated",
                        bgw_route_priority=PROPAGATED_ROUTE_PRIORITY,
                        created_at=attachment.active_at + delay,
                    )
                )
        return routes

    def describe_bgw_routes(self, region: str, bgw_id: str, filters: dict) -> list[dict]:
        self.get_bgw(region, bgw_id)
        getters = {
            "bgwRouteIds": lambda r: r.bgw_route_id,
            "origin": lambda r: r.origin,
            "bgwRouteDestination": lambda r: r.bgw_route_destination,
            "bgwRouteNextHopType": lambda r: r.bgw_route_next_hop_type,
        }
        selected = apply_filters(self.effective_routes(bgw_id, self.emu.now()), filters, getters)
        return [r.to_json() for r in selected]

    def _get_static_route(self, region: str, bgw_id: str, route_id: str) -> BgwRoute:
        self.get_bgw(region, bgw_id)
        route = self.state.bgw_routes.get(route_id)
        if route is None or route.bgw_id != bgw_id:
            if any(r.bgw_route_id == route_id for r in self.effective_routes(bgw_id, self.emu.now())):
                raise FailedPrecondition(f"route {route_id} is propagated; only static routes can be changed")
            raise not_found("bgwRoute", route_id)
        return route

    def modify_bgw_route(self, region: str, bgw_id: str, route_id: str, params: dict) -> None:
        route = self._get_static_route(region, bgw_id, route_id)
        if params.get("description") is not None:
            route.description = check_description(params["description"])
        if params.get("bgwRouteDestination") is not None:
            route.bgw_route_destination = str(check_cidr("bgwRouteDestination", params["bgwRouteDestination"]))
        if params.get("bgwRouteNexthop") is not None:
            spec_type = check_enum("bgwNexthopType", params.get("bgwNexthopType") or "vpn_connection", NEXT_HOP_TYPES)
            self._check_nexthop(region, bgw_id, spec_type, params["bgwRouteNexthop"])
            route.bgw_route_nexthop = params["bgwRouteNexthop"]
            route.bgw_route_next_hop_type = NEXT_HOP_TYPES[spec_type]

    def delete_bgw_route(self, region: str, bgw_id: str, route_id: str) -> None:
        self._get_static_route(region, bgw_id, route_id)
        del self.state.bgw_routes[route_id]


TUNNEL_FIXED = {"cloudPublicIp": "cloud_public_ip", "customerIp": "customer_ip", "vpnConnectionId": "vpn_connection_id"}
