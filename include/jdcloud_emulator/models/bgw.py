"""bgw service: border gateways, VPC attachments, customer gateways, VPN connections, tunnels and routes.

Every rule below is tied to JD Cloud's documentation (``jdcloud-api.md`` section 3); the error
``status`` of precondition and quota failures is not documented, so those follow section 6's guess.

Deleting a VPC attachment or a VPN connection takes time (an assumption; JD documents no lifecycle for
them): the resource stays listed with ``status`` ``deleting`` for the ``attachment_delete`` /
``vpn_connection_delete`` latency, then it is gone (404). Until then it still counts as a dependant of its
border gateway and customer gateway, and any change to it, a second delete included, is refused with
``FAILED_PRECONDITION`` (as JD refuses ``DeleteInstance`` of a ``deleting`` VM).
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from include.jdcloud_emulator.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    QuotaExceeded,
    not_found,
)
from include.jdcloud_emulator.models.core import RegionalBackend, apply_filters, derived_id
from include.jdcloud_emulator.models.state import (
    Bgw,
    BgwRoute,
    CustomerGateway,
    Subnet,
    VpcAttachment,
    VpnConnection,
    VpnTunnel,
)

BGW_PER_REGION = 5
CGW_PER_REGION = 10
CONNECTIONS_PER_BGW = 10
ATTACHMENTS_PER_BGW = 50
STATIC_ROUTES_PER_BGW = 50
PROPAGATED_ROUTE_PRIORITY = 100


class Propagation(NamedTuple):
    """JD's ``propagationAttribute``: the attached VPC and which of its subnets the border gateway learns."""

    vpc_id: str | None  # None only when a modify request leaves it out
    propagate_type: str  # all, partial (only subnet_ids) or none
    subnet_ids: list[str]


class TunnelAddresses(NamedTuple):
    """A tunnel's inner /30 and the two usable addresses of it, local and remote."""

    tunnel_ip: ipaddress.IPv4Network
    local_tunnel_ip: str
    remote_tunnel_ip: str


class BgwBackend(RegionalBackend):
    """Border gateways and the VPN resources hanging off them, for every region."""

    # ------------------------------------------------------------------ deletions in progress

    def reap(self, now: float) -> None:
        """Forget VPC attachments and VPN connections whose deletion has finished."""
        for attachment in list(self.state.vpc_attachments.values()):
            if self._deleted(attachment.deleting_at, "attachment_delete", attachment.vpc_attachment_id, now):
                del self.state.vpc_attachments[attachment.vpc_attachment_id]
        for connection in list(self.state.vpn_connections.values()):
            if self._deleted(connection.deleting_at, "vpn_connection_delete", connection.vpn_connection_id, now):
                del self.state.vpn_connections[connection.vpn_connection_id]

    def _deleted(self, deleting_at: float | None, transition: str, resource_id: str, now: float) -> bool:
        """Whether a deletion started at ``deleting_at`` has finished (a stuck-transition fault holds it)."""
        return (
            deleting_at is not None
            and now >= deleting_at + self.cloud.latency(transition)
            and not self.cloud.faults.is_stuck(transition, resource_id)
        )

    # ------------------------------------------------------------------ border gateways

    def create_bgw(self, region: str, *, name: str, az_type: str, az: str, description: str) -> Bgw:
        if len(self.in_region(self.state.bgws, region)) >= BGW_PER_REGION:
            raise QuotaExceeded(f"quota exceeded: at most {BGW_PER_REGION} border gateways per region")
        return self._new(self.state.bgws, Bgw, region, bgw_name=name, description=description, az_type=az_type, az=az)

    def get_bgw(self, region: str, bgw_id: str) -> Bgw:
        return self.get_in_region(self.state.bgws, "bgw", region, bgw_id)

    def bgw_json(self, bgw: Bgw) -> dict:
        data = bgw.to_json()
        data["vifIds"] = []
        data["vpcAttachmentIds"] = [a.vpc_attachment_id for a in self._attachments_of_bgw(bgw.bgw_id)]
        data["vpnConnectionIds"] = [c.vpn_connection_id for c in self.connections_of_bgw(bgw.bgw_id)]
        return data

    def describe_bgws(self, region: str, filters: dict[str, list[str]]) -> list[Bgw]:
        getters = {"bgwIds": "bgw_id", "bgwNames": "bgw_name"}
        return apply_filters(self.in_region(self.state.bgws, region), filters, getters)

    def modify_bgw(self, region: str, bgw_id: str, *, name: str | None, description: str | None) -> None:
        self._update(self.get_bgw(region, bgw_id), bgw_name=name, description=description)

    def delete_bgw(self, region: str, bgw_id: str) -> None:
        self.get_bgw(region, bgw_id)
        attachments = self._attachments_of_bgw(bgw_id)
        if attachments:
            deleting = [a.vpc_attachment_id for a in attachments if a.deleting_at is not None]
            raise FailedPrecondition(f"border gateway {bgw_id} still has VPC attachments{_being_deleted(deleting)}")
        connections = self.connections_of_bgw(bgw_id)
        if connections:
            deleting = [c.vpn_connection_id for c in connections if c.deleting_at is not None]
            raise FailedPrecondition(f"border gateway {bgw_id} still has VPN connections{_being_deleted(deleting)}")
        for route in self.static_routes(bgw_id):
            del self.state.bgw_routes[route.bgw_route_id]
        del self.state.bgws[bgw_id]

    # ------------------------------------------------------------------ VPC attachments

    def create_vpc_attachment(
        self, region: str, *, name: str, bgw_id: str, propagation: Propagation, description: str
    ) -> VpcAttachment:
        """Attach ``propagation.vpc_id`` to the border gateway; it turns active after a delay."""
        self.get_bgw(region, bgw_id)
        vpc_id = self.cloud.vpc.get_vpc(region, propagation.vpc_id).vpc_id
        self._check_propagated_subnets(region, propagation)
        attachments = self._attachments_of_bgw(bgw_id)
        if any(a.vpc_id == vpc_id for a in attachments):
            raise AlreadyExists(f"vpc {vpc_id} is already attached to border gateway {bgw_id}")
        if len(attachments) >= ATTACHMENTS_PER_BGW:
            raise QuotaExceeded(f"quota exceeded: at most {ATTACHMENTS_PER_BGW} VPC attachments per border gateway")
        return self._new(
            self.state.vpc_attachments,
            VpcAttachment,
            region,
            vpc_attachment_name=name,
            bgw_id=bgw_id,
            vpc_id=vpc_id,
            propagate_type=propagation.propagate_type,
            subnet_ids=propagation.subnet_ids,
            description=description,
            active_at=self.cloud.now() + self.cloud.latency("attachment_create"),
        )

    def _check_propagated_subnets(self, region: str, propagation: Propagation) -> None:
        for subnet_id in propagation.subnet_ids:
            if self.cloud.vpc.get_subnet(region, subnet_id).vpc_id != propagation.vpc_id:
                raise InvalidArgument(f"subnet {subnet_id} is not in vpc {propagation.vpc_id}")

    def get_vpc_attachment(self, region: str, attachment_id: str) -> VpcAttachment:
        return self.get_in_region(self.state.vpc_attachments, "vpcAttachment", region, attachment_id)

    def attachment_active(self, attachment: VpcAttachment, now: float) -> bool:
        """Created and not being deleted: a deleting attachment stops propagating at once."""
        return (
            attachment.deleting_at is None
            and now >= attachment.active_at
            and not self.cloud.faults.is_stuck("attachment_create", attachment.vpc_attachment_id)
        )

    def attachment_status(self, attachment: VpcAttachment, now: float) -> str:
        if attachment.deleting_at is not None:
            return "deleting"
        return "active" if self.attachment_active(attachment, now) else "creating"

    def vpc_attachment_json(self, attachment: VpcAttachment) -> dict:
        data = attachment.to_json()
        data["status"] = self.attachment_status(attachment, self.cloud.now())
        data["propagateCidrInfos"] = [
            {"subnetId": s.subnet_id, "subnetCidr": s.address_prefix} for s in self.propagated_subnets(attachment)
        ]
        return data

    def describe_vpc_attachments(self, region: str, filters: dict[str, list[str]]) -> list[VpcAttachment]:
        getters = {
            "vpcAttachmentIds": "vpc_attachment_id",
            "vpcAttachmentNames": "vpc_attachment_name",
            "bgwId": "bgw_id",
            "vpcId": "vpc_id",
        }
        return apply_filters(self.in_region(self.state.vpc_attachments, region), filters, getters)

    def modify_vpc_attachment(
        self,
        region: str,
        attachment_id: str,
        *,
        name: str | None,
        description: str | None,
        propagation: Propagation | None,
    ) -> None:
        """Rename, describe, or replace the propagation; the propagation must name the attached VPC."""
        attachment = self.get_vpc_attachment(region, attachment_id)
        _check_not_deleting(attachment.deleting_at, "vpc attachment", attachment_id)
        if propagation is not None:
            if propagation.vpc_id != attachment.vpc_id:
                raise InvalidArgument("propagationAttribute.vpcId must be the attachment's vpcId")
            self._check_propagated_subnets(region, propagation)
            attachment.propagate_type, attachment.subnet_ids = propagation.propagate_type, propagation.subnet_ids
        self._update(attachment, vpc_attachment_name=name, description=description)

    def delete_vpc_attachment(self, region: str, attachment_id: str) -> None:
        """Start deleting the attachment: it is ``deleting`` (and propagates nothing) until it is reaped."""
        attachment = self.get_vpc_attachment(region, attachment_id)
        _check_not_deleting(attachment.deleting_at, "vpc attachment", attachment_id)
        self._check_no_static_route_to(attachment.bgw_id, attachment_id, "vpc attachment")
        attachment.deleting_at = self.cloud.now()

    def attachments_of_vpc(self, vpc_id: str) -> list[VpcAttachment]:
        """The VPC's attachments that propagate routes: not those being deleted."""
        return [a for a in self.state.vpc_attachments.values() if a.vpc_id == vpc_id and a.deleting_at is None]

    def _attachments_of_bgw(self, bgw_id: str) -> list[VpcAttachment]:
        return [a for a in self.state.vpc_attachments.values() if a.bgw_id == bgw_id]

    def propagated_subnets(self, attachment: VpcAttachment) -> list[Subnet]:
        if attachment.propagate_type == "none":
            return []
        subnets = [s for s in self.state.subnets.values() if s.vpc_id == attachment.vpc_id]
        if attachment.propagate_type == "partial":
            subnets = [s for s in subnets if s.subnet_id in attachment.subnet_ids]
        return subnets

    # ------------------------------------------------------------------ customer gateways

    def create_customer_gateway(
        self, region: str, *, name: str, customer_ips: list[str], bgp_asn: int, description: str
    ) -> CustomerGateway:
        if len(self.in_region(self.state.customer_gateways, region)) >= CGW_PER_REGION:
            raise QuotaExceeded(f"quota exceeded: at most {CGW_PER_REGION} customer gateways per region")
        return self._new(
            self.state.customer_gateways,
            CustomerGateway,
            region,
            customer_gateway_name=name,
            customer_ips=customer_ips,
            bgp_asn=bgp_asn,
            description=description,
        )

    def get_customer_gateway(self, region: str, cgw_id: str) -> CustomerGateway:
        return self.get_in_region(self.state.customer_gateways, "customerGateway", region, cgw_id)

    def describe_customer_gateways(self, region: str, filters: dict[str, list[str]]) -> list[CustomerGateway]:
        getters = {
            "customerGatewayIds": "customer_gateway_id",
            "customerGatewayNames": "customer_gateway_name",
        }
        return apply_filters(self.in_region(self.state.customer_gateways, region), filters, getters)

    def modify_customer_gateway(
        self,
        region: str,
        cgw_id: str,
        *,
        name: str | None,
        description: str | None,
        customer_ips: list[str] | None,
        bgp_asn: object,
    ) -> None:
        """The ASN never changes (``bgp_asn`` may only repeat it); the IPs change until a tunnel uses them."""
        cgw = self.get_customer_gateway(region, cgw_id)
        if bgp_asn is not None and bgp_asn != cgw.bgp_asn:
            raise InvalidArgument("bgpAsn cannot be modified after the customer gateway is created")
        if customer_ips is not None and customer_ips != cgw.customer_ips and self._tunnels_of_cgw(cgw_id):
            raise FailedPrecondition(
                f"customerIps of customer gateway {cgw_id} cannot change once a VPN tunnel uses it"
            )
        self._update(cgw, customer_ips=customer_ips, customer_gateway_name=name, description=description)

    def delete_customer_gateway(self, region: str, cgw_id: str) -> None:
        self.get_customer_gateway(region, cgw_id)
        users = [c for c in self.state.vpn_connections.values() if c.cgw_id == cgw_id]
        if users:
            deleting = ", which is being deleted" if users[0].deleting_at is not None else ""
            raise FailedPrecondition(
                f"customer gateway {cgw_id} is used by VPN connection {users[0].vpn_connection_id}{deleting}"
            )
        del self.state.customer_gateways[cgw_id]

    def _tunnels_of_cgw(self, cgw_id: str) -> list[VpnTunnel]:
        connection_ids = {c.vpn_connection_id for c in self.state.vpn_connections.values() if c.cgw_id == cgw_id}
        return [t for t in self.state.vpn_tunnels.values() if t.vpn_connection_id in connection_ids]

    # ------------------------------------------------------------------ VPN connections

    def create_vpn_connection(
        self,
        region: str,
        *,
        name: str,
        bgw_id: str,
        cgw_id: str,
        bgp_enabled: bool,
        local_asn: int,
        description: str,
    ) -> VpnConnection:
        """Create a connection; its two distinct cloud public IPs from the region's pool are shown (and usable)
        once the connection is provisioned (latency ``vpn_connection_provision``)."""
        self.get_bgw(region, bgw_id)
        self.get_customer_gateway(region, cgw_id)
        if len(self.connections_of_bgw(bgw_id)) >= CONNECTIONS_PER_BGW:
            raise QuotaExceeded(f"quota exceeded: at most {CONNECTIONS_PER_BGW} VPN connections per border gateway")
        return self._new(
            self.state.vpn_connections,
            VpnConnection,
            region,
            vpn_connection_name=name,
            description=description,
            bgw_id=bgw_id,
            cgw_id=cgw_id,
            bgp_enabled=bgp_enabled,
            local_asn=local_asn,
            cloud_public_ip=[self._allocate_public_ip(region), self._allocate_public_ip(region)],
            provisioned_at=self.cloud.now() + self.cloud.latency("vpn_connection_provision"),
        )

    def _allocate_public_ip(self, region: str) -> str:
        pool = self.cloud.settings.cloud_ip_pool(region)
        taken = set(self.state.allocated_public_ips)
        while True:
            ip = str(pool[2 + int(self.cloud.ids.random() * (pool.num_addresses - 4))])
            if ip not in taken:
                self.state.allocated_public_ips.append(ip)
                return ip

    def get_vpn_connection(self, region: str, connection_id: str) -> VpnConnection:
        return self.get_in_region(self.state.vpn_connections, "vpnConnection", region, connection_id)

    def connection_provisioned(self, connection: VpnConnection, now: float) -> bool:
        """Whether the connection's cloud public IPs are allocated: before that it is ``creating``, IPs empty."""
        return now >= connection.provisioned_at and not self.cloud.faults.is_stuck(
            "vpn_connection_provision", connection.vpn_connection_id
        )

    def connections_of_bgw(self, bgw_id: str) -> list[VpnConnection]:
        return [c for c in self.state.vpn_connections.values() if c.bgw_id == bgw_id]

    def tunnels_of_connection(self, connection_id: str) -> list[VpnTunnel]:
        return [t for t in self.state.vpn_tunnels.values() if t.vpn_connection_id == connection_id]

    def ha_status(self, connection: VpnConnection, now: float) -> str:
        """``redundancy`` when the CGW has 2+ IPs and every cloud IP has at least one tunnel UP."""
        cgw = self.state.customer_gateways.get(connection.cgw_id)
        tunnels = self.tunnels_of_connection(connection.vpn_connection_id)
        up_ips = {t.cloud_public_ip for t in tunnels if self.cloud.dataplane.op_status(t, now) == "UP"}
        redundant = cgw is not None and len(cgw.customer_ips) >= 2 and up_ips >= set(connection.cloud_public_ip)
        return "redundancy" if redundant else "no_redundancy"

    def vpn_connection_json(self, connection: VpnConnection) -> dict:
        """The API form plus ``status`` (``creating`` | ``active`` | ``deleting``), a field JD's VpnConnection model
        lacks; ``cloudPublicIp`` is empty until the connection is provisioned."""
        data = connection.to_json()
        now = self.cloud.now()
        provisioned = self.connection_provisioned(connection, now)
        if connection.deleting_at is not None:
            data["status"] = "deleting"
        else:
            data["status"] = "active" if provisioned else "creating"
        if not provisioned:
            data["cloudPublicIp"] = []
        data["haStatus"] = self.ha_status(connection, now)
        data["charge"] = {"chargeMode": "postpaid_by_usage", "chargeStatus": "normal"}
        return data

    def describe_vpn_connections(self, region: str, filters: dict[str, list[str]]) -> list[VpnConnection]:
        getters = {
            "vpnConnectionIds": "vpn_connection_id",
            "vpnConnectionNames": "vpn_connection_name",
            "bgwId": "bgw_id",
            "cgwId": "cgw_id",
        }
        return apply_filters(self.in_region(self.state.vpn_connections, region), filters, getters)

    def modify_vpn_connection(
        self,
        region: str,
        connection_id: str,
        *,
        name: str | None,
        description: str | None,
        bgp_enabled: bool | None,
        traffic_selectors: list[dict[str, Any]] | None,
    ) -> None:
        connection = self.get_vpn_connection(region, connection_id)
        _check_not_deleting(connection.deleting_at, "VPN connection", connection_id)
        self._update(
            connection,
            vpn_connection_name=name,
            description=description,
            bgp_enabled=bgp_enabled,
            traffic_selectors=traffic_selectors,
        )

    def delete_vpn_connection(self, region: str, connection_id: str) -> None:
        """Start deleting the connection: it is ``deleting`` until it is reaped."""
        connection = self.get_vpn_connection(region, connection_id)
        _check_not_deleting(connection.deleting_at, "VPN connection", connection_id)
        if self.tunnels_of_connection(connection_id):
            raise FailedPrecondition(f"VPN connection {connection_id} still has VPN tunnels")
        self._check_no_static_route_to(connection.bgw_id, connection_id, "VPN connection")
        connection.deleting_at = self.cloud.now()

    # ------------------------------------------------------------------ VPN tunnels

    def create_vpn_tunnel(
        self,
        region: str,
        *,
        vpn_connection_id: str,
        cloud_public_ip: str,
        customer_ip: str,
        settings: dict[str, Any],
        addresses: TunnelAddresses | None,
    ) -> VpnTunnel:
        """Create one tunnel of a (cloud IP, CGW IP) pair; ``settings`` are ``VpnTunnel`` fields (PSK, IKE, IPsec)."""
        connection = self.get_vpn_connection(region, vpn_connection_id)
        _check_not_deleting(connection.deleting_at, "VPN connection", vpn_connection_id)
        cgw = self.get_customer_gateway(region, connection.cgw_id)
        if not self.connection_provisioned(connection, self.cloud.now()):
            raise FailedPrecondition(f"VPN connection {vpn_connection_id} is still being created")
        if cloud_public_ip not in connection.cloud_public_ip:
            raise InvalidArgument(
                f"cloudPublicIp {cloud_public_ip} is not a cloud IP of VPN connection {vpn_connection_id}"
            )
        if customer_ip not in cgw.customer_ips:
            raise InvalidArgument(
                f"customerIp {customer_ip} is not an IP of customer gateway {cgw.customer_gateway_id}"
            )
        if addresses is not None:
            self._check_tunnel_ip_free(connection.bgw_id, addresses.tunnel_ip)
        existing = self.tunnels_of_connection(vpn_connection_id)
        # The quota goes first: once every (cloud IP, CGW IP) pair has a tunnel, any new pair is a duplicate.
        limit = len(connection.cloud_public_ip) * len(cgw.customer_ips)
        if len(existing) >= limit:
            raise QuotaExceeded(f"quota exceeded: at most {limit} tunnels (cloud IPs x customer gateway IPs)")
        if any(t.cloud_public_ip == cloud_public_ip and t.customer_ip == customer_ip for t in existing):
            raise AlreadyExists(f"a VPN tunnel between {cloud_public_ip} and {customer_ip} already exists")
        return self._new(
            self.state.vpn_tunnels,
            VpnTunnel,
            region,
            vpn_connection_id=vpn_connection_id,
            cloud_public_ip=cloud_public_ip,
            customer_ip=customer_ip,
            local_id=cloud_public_ip,
            remote_id=customer_ip,
            local_ip=cloud_public_ip,
            remote_ip=customer_ip,
            **_address_fields(addresses),
            **settings,
        )

    def _check_tunnel_ip_free(self, bgw_id: str, network: ipaddress.IPv4Network, exclude: str | None = None) -> None:
        """No two tunnels of one border gateway may use overlapping inner CIDRs."""
        for connection in self.connections_of_bgw(bgw_id):
            for other in self.tunnels_of_connection(connection.vpn_connection_id):
                if (
                    other.vpn_tunnel_id != exclude
                    and other.tunnel_ip
                    and network.overlaps(ipaddress.IPv4Network(other.tunnel_ip))
                ):
                    raise InvalidArgument(f"tunnelIp {network} clashes with tunnel {other.vpn_tunnel_id}")

    def get_vpn_tunnel(self, region: str, tunnel_id: str) -> VpnTunnel:
        return self.get_in_region(self.state.vpn_tunnels, "vpnTunnel", region, tunnel_id)

    def vpn_tunnel_json(self, tunnel: VpnTunnel) -> dict:
        data = tunnel.to_json()
        data["opStatus"] = self.cloud.dataplane.op_status(tunnel, self.cloud.now())
        return data

    def describe_vpn_tunnels(self, region: str, filters: dict[str, list[str]]) -> list[VpnTunnel]:
        getters = {"vpnTunnelIds": "vpn_tunnel_id", "vpnConnectionId": "vpn_connection_id"}
        return apply_filters(self.in_region(self.state.vpn_tunnels, region), filters, getters)

    def modify_vpn_tunnel(
        self,
        region: str,
        tunnel_id: str,
        *,
        settings: dict[str, Any],
        addresses: TunnelAddresses | None,
        endpoints: dict[str, Any],
    ) -> None:
        """Change PSK, IKE/IPsec settings and inner IPs; ``endpoints`` (wire name: value) may only repeat them."""
        tunnel = self.get_vpn_tunnel(region, tunnel_id)
        current = {"cloudPublicIp": tunnel.cloud_public_ip, "customerIp": tunnel.customer_ip}
        current["vpnConnectionId"] = tunnel.vpn_connection_id
        for field, value in endpoints.items():
            if value != current[field]:
                raise InvalidArgument(f"{field} of a VPN tunnel cannot be modified")
        if addresses is not None:
            bgw_id = self.state.vpn_connections[tunnel.vpn_connection_id].bgw_id
            self._check_tunnel_ip_free(bgw_id, addresses.tunnel_ip, exclude=tunnel_id)
        for name, value in (settings | _address_fields(addresses)).items():
            setattr(tunnel, name, value)  # None is a value here: ipsecKeyExchange "null" turns PFS off
        self._update(tunnel)

    def modify_admin_status(self, region: str, tunnel_id: str, admin_status: str) -> None:
        """Set the flag at once; going UP -> DOWN also starts the ``tunnel_admin_down`` hold on deleting it."""
        tunnel = self.get_vpn_tunnel(region, tunnel_id)
        if admin_status == "DOWN" and tunnel.admin_status == "UP":
            tunnel.admin_down_at = self.cloud.now()
        elif admin_status == "UP":
            tunnel.admin_down_at = None
        self._update(tunnel, admin_status=admin_status)

    def delete_vpn_tunnel(self, region: str, tunnel_id: str) -> None:
        """Delete a DOWN tunnel; refused until ``tunnel_admin_down`` has passed since it was set DOWN."""
        tunnel = self.get_vpn_tunnel(region, tunnel_id)
        if tunnel.admin_status == "UP":
            raise FailedPrecondition(f"VPN tunnel {tunnel_id} must have adminStatus DOWN before it is deleted")
        if tunnel.admin_down_at is not None and self.cloud.now() < tunnel.admin_down_at + self.cloud.latency(
            "tunnel_admin_down"
        ):
            raise FailedPrecondition(f"VPN tunnel {tunnel_id} is still going down; retry in a moment")
        del self.state.vpn_tunnels[tunnel_id]

    # ------------------------------------------------------------------ routes

    def static_routes(self, bgw_id: str) -> list[BgwRoute]:
        return [r for r in self.state.bgw_routes.values() if r.bgw_id == bgw_id]

    def _check_no_static_route_to(self, bgw_id: str, next_hop: str, kind: str) -> None:
        for route in self.static_routes(bgw_id):
            if route.bgw_route_nexthop == next_hop:
                raise FailedPrecondition(f"static route {route.bgw_route_id} uses {kind} {next_hop}")

    def create_bgw_route(
        self, region: str, bgw_id: str, *, destination: str, next_hop_type: str, next_hop: str, description: str
    ) -> BgwRoute:
        """Add a static route; ``next_hop_type`` is ``vpnConnection`` or ``vpcAttachment`` of this gateway."""
        self.get_bgw(region, bgw_id)
        self._check_next_hop(region, bgw_id, next_hop_type, next_hop)
        routes = self.static_routes(bgw_id)
        if any(r.bgw_route_destination == destination and r.bgw_route_nexthop == next_hop for r in routes):
            raise AlreadyExists(f"border gateway {bgw_id} already routes {destination} to {next_hop}")
        if len(routes) >= STATIC_ROUTES_PER_BGW:
            raise QuotaExceeded(f"quota exceeded: at most {STATIC_ROUTES_PER_BGW} static routes per border gateway")
        return self._new(
            self.state.bgw_routes,
            BgwRoute,
            region,
            bgw_id=bgw_id,
            bgw_route_destination=destination,
            bgw_route_nexthop=next_hop,
            bgw_route_next_hop_type=next_hop_type,
            description=description,
            created_at=self.cloud.now(),
        )

    def _check_next_hop(self, region: str, bgw_id: str, next_hop_type: str, next_hop: str) -> None:
        if next_hop_type == "vpnConnection":
            target: VpnConnection | VpcAttachment = self.get_vpn_connection(region, next_hop)
            kind = "VPN connection"
        else:
            target, kind = self.get_vpc_attachment(region, next_hop), "VPC attachment"
        _check_not_deleting(target.deleting_at, kind, next_hop)
        owner = target.bgw_id
        if owner != bgw_id:
            raise InvalidArgument(f"{kind} {next_hop} is not on border gateway {bgw_id}")

    def effective_routes(self, bgw_id: str, now: float) -> list[BgwRoute]:
        """Static routes plus the preferred propagated ones (first attachment to propagate a CIDR wins)."""
        routes = list(self.static_routes(bgw_id))
        delay = self.cloud.latency("attachment_propagation")
        attachments = sorted(self._attachments_of_bgw(bgw_id), key=lambda a: (a.active_at, a.vpc_attachment_id))
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

    def describe_bgw_routes(self, region: str, bgw_id: str, filters: dict[str, list[str]]) -> list[BgwRoute]:
        self.get_bgw(region, bgw_id)
        getters = {
            "bgwRouteIds": "bgw_route_id",
            "origin": "origin",
            "bgwRouteDestination": "bgw_route_destination",
            "bgwRouteNextHopType": "bgw_route_next_hop_type",
        }
        return apply_filters(self.effective_routes(bgw_id, self.cloud.now()), filters, getters)

    def _get_static_route(self, region: str, bgw_id: str, route_id: str) -> BgwRoute:
        self.get_bgw(region, bgw_id)
        route = self.state.bgw_routes.get(route_id)
        if route is None or route.bgw_id != bgw_id:
            if any(r.bgw_route_id == route_id for r in self.effective_routes(bgw_id, self.cloud.now())):
                raise FailedPrecondition(f"route {route_id} is propagated; only static routes can be changed")
            raise not_found("bgwRoute", route_id)
        return route

    def modify_bgw_route(
        self,
        region: str,
        bgw_id: str,
        route_id: str,
        *,
        description: str | None,
        destination: str | None,
        next_hop: tuple[str, str] | None,
    ) -> None:
        """Change a static route; ``next_hop`` is (next hop type, next hop id) as for ``create_bgw_route``."""
        route = self._get_static_route(region, bgw_id, route_id)
        if next_hop is not None:
            self._check_next_hop(region, bgw_id, *next_hop)
            route.bgw_route_next_hop_type, route.bgw_route_nexthop = next_hop
        self._update(route, description=description, bgw_route_destination=destination)

    def delete_bgw_route(self, region: str, bgw_id: str, route_id: str) -> None:
        self._get_static_route(region, bgw_id, route_id)
        del self.state.bgw_routes[route_id]


def _check_not_deleting(deleting_at: float | None, kind: str, resource_id: str) -> None:
    """Refuse any change, a second delete included, to a resource that is being deleted."""
    if deleting_at is not None:
        raise FailedPrecondition(f"{kind} {resource_id} is being deleted")


def _being_deleted(resource_ids: list[str]) -> str:
    return f" ({', '.join(resource_ids)} being deleted)" if resource_ids else ""


def _address_fields(addresses: TunnelAddresses | None) -> dict[str, str]:
    if addresses is None:
        return {}
    return addresses._asdict() | {"tunnel_ip": str(addresses.tunnel_ip)}
