"""Hook for the JD Cloud border gateway (bgw) service: gateways, VPC attachments, IPsec VPN and routes.

Most bgw paths are inferred, not published; they are kept, and corrected, in
:data:`airflow_provider_jdcloud.api_paths.OPERATIONS` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from airflow_provider_jdcloud.hooks.base import JDCloudBaseHook, M, Resource
from airflow_provider_jdcloud.models import (
    Bgw,
    BgwRoute,
    CustomerGateway,
    VpcAttachment,
    VpnConnection,
    VpnTunnel,
    VpnTunnelModifySpec,
    VpnTunnelSpec,
)

BGW = Resource("Bgw", Bgw)
VPC_ATTACHMENT = Resource("VpcAttachment", VpcAttachment)
CUSTOMER_GATEWAY = Resource("CustomerGateway", CustomerGateway)
VPN_CONNECTION = Resource("VpnConnection", VpnConnection)
VPN_TUNNEL = Resource("VpnTunnel", VpnTunnel)
BGW_ROUTE = Resource("BgwRoute", BgwRoute)


class JDCloudBgwHook(JDCloudBaseHook):
    """Manage border gateways, their VPC attachments and routes, and IPsec VPN connections and tunnels.

    :param jdcloud_conn_id: the Airflow connection id; other arguments as for :class:`JDCloudBaseHook`
    """

    # --- border gateways ---

    def create_bgw(
        self,
        bgw_name: str,
        *,
        description: str | None = None,
        az_type: str | None = None,
        az: str | None = None,
        region: str | None = None,
    ) -> str:
        """Create a border gateway and return its id."""
        params = {"bgwName": bgw_name, "description": description, "azType": az_type, "az": az}
        return self._create(BGW, params, region)

    def describe_bgw(self, bgw_id: str, *, region: str | None = None) -> Bgw:
        """Describe one border gateway."""
        return self._describe(BGW, bgw_id, region)

    def describe_bgws(
        self,
        *,
        bgw_ids: Sequence[str] | None = None,
        bgw_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Bgw]:
        """List border gateways, optionally filtered by ids or names."""
        return self._list(BGW, {"bgwIds": bgw_ids, "bgwNames": bgw_names}, region)

    def find_bgw_by_name(self, bgw_name: str, *, region: str | None = None) -> Bgw | None:
        """Return the border gateway with exactly this name, or ``None``."""
        return _only_named(self.describe_bgws(bgw_names=[bgw_name], region=region), "bgw_name", bgw_name)

    def delete_bgw(self, bgw_id: str, *, region: str | None = None) -> None:
        """Delete a border gateway; it must have no VPC attachments, VPN connections or VIFs."""
        self._delete(BGW, bgw_id, region)

    # --- VPC attachments ---

    def create_vpc_attachment(
        self,
        vpc_attachment_name: str,
        *,
        bgw_id: str,
        vpc_id: str,
        propagate_type: Literal["all", "partial", "none"] = "all",
        subnet_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> str:
        """Attach a VPC to a border gateway and return the attachment id.

        :param propagate_type: which subnets become border gateway routes; ``partial`` uses ``subnet_ids``
        """
        params = {
            "vpcAttachmentName": vpc_attachment_name,
            "bgwId": bgw_id,
            "vpcId": vpc_id,
            "propagateType": propagate_type,
            "subnetIds": list(subnet_ids) if subnet_ids is not None else None,
        }
        return self._create(VPC_ATTACHMENT, params, region)

    def describe_vpc_attachment(self, vpc_attachment_id: str, *, region: str | None = None) -> VpcAttachment:
        """Describe one VPC attachment."""
        return self._describe(VPC_ATTACHMENT, vpc_attachment_id, region)

    def describe_vpc_attachments(
        self,
        *,
        bgw_id: str | None = None,
        vpc_id: str | None = None,
        vpc_attachment_ids: Sequence[str] | None = None,
        vpc_attachment_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[VpcAttachment]:
        """List VPC attachments, optionally filtered."""
        filters = {
            "vpcAttachmentIds": vpc_attachment_ids,
            "vpcAttachmentNames": vpc_attachment_names,
            "bgwId": bgw_id,
            "vpcId": vpc_id,
        }
        return self._list(VPC_ATTACHMENT, filters, region)

    def modify_vpc_attachment(
        self,
        vpc_attachment_id: str,
        *,
        vpc_id: str,
        propagate_type: Literal["all", "partial", "none"],
        subnet_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> None:
        """Replace the attachment's propagation in full (JD's ``propagationAttribute``); its VPC and border
        gateway cannot change.

        :param subnet_ids: the propagated subnets, used only when ``propagate_type`` is ``partial``
        """
        attribute: dict[str, object] = {"vpcId": vpc_id, "propagateType": propagate_type}
        if subnet_ids is not None:
            attribute["subnetIds"] = list(subnet_ids)
        params = {"vpcAttachmentId": vpc_attachment_id, "propagationAttribute": attribute}
        self.call("ModifyVpcAttachment", params, region=region)

    def delete_vpc_attachment(self, vpc_attachment_id: str, *, region: str | None = None) -> None:
        """Delete a VPC attachment, which also removes its propagated routes."""
        self._delete(VPC_ATTACHMENT, vpc_attachment_id, region)

    # --- customer gateways ---

    def create_customer_gateway(
        self,
        customer_gateway_name: str,
        *,
        customer_ips: Sequence[str],
        bgp_asn: int,
        description: str | None = None,
        region: str | None = None,
    ) -> str:
        """Create a customer gateway (1, 2 or 4 public IPs; ASN 65001-65499) and return its id."""
        params = {
            "customerGatewayName": customer_gateway_name,
            "customerIps": list(customer_ips),
            "bgpAsn": bgp_asn,
            "description": description,
        }
        return self._create(CUSTOMER_GATEWAY, params, region)

    def describe_customer_gateway(self, customer_gateway_id: str, *, region: str | None = None) -> CustomerGateway:
        """Describe one customer gateway."""
        return self._describe(CUSTOMER_GATEWAY, customer_gateway_id, region)

    def describe_customer_gateways(
        self,
        *,
        customer_gateway_ids: Sequence[str] | None = None,
        customer_gateway_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[CustomerGateway]:
        """List customer gateways, optionally filtered by ids or names."""
        filters = {"customerGatewayIds": customer_gateway_ids, "customerGatewayNames": customer_gateway_names}
        return self._list(CUSTOMER_GATEWAY, filters, region)

    def find_customer_gateway_by_name(self, name: str, *, region: str | None = None) -> CustomerGateway | None:
        """Return the customer gateway with exactly this name, or ``None``."""
        gateways = self.describe_customer_gateways(customer_gateway_names=[name], region=region)
        return _only_named(gateways, "customer_gateway_name", name)

    def modify_customer_gateway(
        self,
        customer_gateway_id: str,
        *,
        customer_gateway_name: str | None = None,
        customer_ips: Sequence[str] | None = None,
        description: str | None = None,
        region: str | None = None,
    ) -> None:
        """Change a customer gateway; its IPs can change only while it has no VPN tunnel."""
        params = {
            "customerGatewayId": customer_gateway_id,
            "customerGatewayName": customer_gateway_name,
            "customerIps": list(customer_ips) if customer_ips is not None else None,
            "description": description,
        }
        self.call("ModifyCustomerGateway", params, region=region)

    def delete_customer_gateway(self, customer_gateway_id: str, *, region: str | None = None) -> None:
        """Delete a customer gateway; it must have no VPN connection."""
        self._delete(CUSTOMER_GATEWAY, customer_gateway_id, region)

    # --- VPN connections ---

    def create_vpn_connection(
        self,
        vpn_connection_name: str,
        *,
        bgw_id: str,
        cgw_id: str,
        bgp_enabled: bool = False,
        local_asn: int | None = None,
        description: str | None = None,
        region: str | None = None,
    ) -> str:
        """Create a VPN connection, which allocates two cloud public IPs, and return its id.

        :param bgp_enabled: the API defaults to ``True``, but JD Cloud-to-JD Cloud VPNs support static
            routing only, so this hook defaults to ``False``
        """
        params = {
            "vpnConnectionName": vpn_connection_name,
            "bgwId": bgw_id,
            "cgwId": cgw_id,
            "bgpEnabled": bgp_enabled,
            "localAsn": local_asn,
            "description": description,
        }
        return self._create(VPN_CONNECTION, params, region)

    def describe_vpn_connection(self, vpn_connection_id: str, *, region: str | None = None) -> VpnConnection:
        """Describe one VPN connection."""
        return self._describe(VPN_CONNECTION, vpn_connection_id, region)

    def describe_vpn_connections(
        self,
        *,
        bgw_id: str | None = None,
        cgw_id: str | None = None,
        vpn_connection_ids: Sequence[str] | None = None,
        vpn_connection_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[VpnConnection]:
        """List VPN connections, optionally filtered."""
        filters = {
            "vpnConnectionIds": vpn_connection_ids,
            "vpnConnectionNames": vpn_connection_names,
            "bgwId": bgw_id,
            "cgwId": cgw_id,
        }
        return self._list(VPN_CONNECTION, filters, region)

    def find_vpn_connection_by_name(self, name: str, *, region: str | None = None) -> VpnConnection | None:
        """Return the VPN connection with exactly this name, or ``None``."""
        connections = self.describe_vpn_connections(vpn_connection_names=[name], region=region)
        return _only_named(connections, "vpn_connection_name", name)

    def modify_vpn_connection(
        self,
        vpn_connection_id: str,
        *,
        vpn_connection_name: str | None = None,
        description: str | None = None,
        bgp_enabled: bool | None = None,
        region: str | None = None,
    ) -> None:
        """Change a VPN connection's name, description or routing (``bgp_enabled``); its gateways cannot change."""
        params = {
            "vpnConnectionId": vpn_connection_id,
            "vpnConnectionName": vpn_connection_name,
            "description": description,
            "bgpEnabled": bgp_enabled,
        }
        self.call("ModifyVpnConnection", params, region=region)

    def delete_vpn_connection(self, vpn_connection_id: str, *, region: str | None = None) -> None:
        """Delete a VPN connection; it must have no tunnels."""
        self._delete(VPN_CONNECTION, vpn_connection_id, region)

    # --- VPN tunnels ---

    def create_vpn_tunnel(self, spec: VpnTunnelSpec, *, region: str | None = None) -> str:
        """Create an IPsec tunnel and return its id; negotiation starts on its own."""
        return self._create(VPN_TUNNEL, spec.to_request(), region)

    def describe_vpn_tunnel(self, vpn_tunnel_id: str, *, region: str | None = None) -> VpnTunnel:
        """Describe one VPN tunnel; its ``psk`` is a :class:`~pydantic.SecretStr`."""
        return self._describe(VPN_TUNNEL, vpn_tunnel_id, region)

    def describe_vpn_tunnels(
        self,
        *,
        vpn_connection_id: str | None = None,
        vpn_tunnel_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[VpnTunnel]:
        """List VPN tunnels, optionally filtered by connection or ids."""
        return self._list(VPN_TUNNEL, {"vpnTunnelIds": vpn_tunnel_ids, "vpnConnectionId": vpn_connection_id}, region)

    def modify_vpn_tunnel(self, vpn_tunnel_id: str, spec: VpnTunnelModifySpec, *, region: str | None = None) -> None:
        """Change the PSK or IKE/IPsec options of a tunnel; set it ``DOWN`` first."""
        self.call("ModifyVpnTunnel", {**spec.to_request(), "vpnTunnelId": vpn_tunnel_id}, region=region)

    def modify_vpn_tunnel_admin_status(
        self, vpn_tunnel_id: str, admin_status: Literal["UP", "DOWN"], *, region: str | None = None
    ) -> None:
        """Set a tunnel's admin status: ``DOWN`` before changes or deletion, ``UP`` to renegotiate."""
        if admin_status not in ("UP", "DOWN"):
            raise ValueError(f"Invalid admin_status: {admin_status!r}; expected 'UP' or 'DOWN'")
        params = {"vpnTunnelId": vpn_tunnel_id, "adminStatus": admin_status}
        self.call("ModifyAdminStatus", params, region=region)

    def delete_vpn_tunnel(self, vpn_tunnel_id: str, *, region: str | None = None) -> None:
        """Delete a VPN tunnel; its admin status must be ``DOWN``."""
        self._delete(VPN_TUNNEL, vpn_tunnel_id, region)

    # --- routes ---

    def create_bgw_route(
        self,
        bgw_id: str,
        *,
        destination: str,
        next_hop_id: str,
        next_hop_type: str = "vpn_connection",
        description: str | None = None,
        region: str | None = None,
    ) -> str:
        """Add a static border gateway route, by default to a VPN connection, and return its id.

        :param next_hop_type: ``vpn_connection``, ``vpc_attachment``, ``private_vif``, ... (snake_case)
        """
        params = {
            "bgwId": bgw_id,
            "bgwRouteDestination": destination,
            "bgwNexthopType": next_hop_type,
            "bgwRouteNexthop": next_hop_id,
            "description": description,
        }
        return self._create(BGW_ROUTE, params, region)

    def describe_bgw_routes(
        self,
        bgw_id: str,
        *,
        origin: str | None = None,
        destination: str | None = None,
        next_hop_type: str | None = None,
        bgw_route_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[BgwRoute]:
        """List the routes of a border gateway; ``next_hop_type`` is camelCase, e.g. ``vpnConnection``."""
        filters = {
            "bgwRouteIds": bgw_route_ids,
            "origin": origin,
            "bgwRouteDestination": destination,
            "bgwRouteNextHopType": next_hop_type,
        }
        return self._list(BGW_ROUTE, filters, region, bgwId=bgw_id)

    def modify_bgw_route(
        self,
        bgw_id: str,
        bgw_route_id: str,
        *,
        destination: str,
        next_hop_id: str,
        next_hop_type: str = "vpn_connection",
        description: str | None = None,
        region: str | None = None,
    ) -> None:
        """Change a static border gateway route; JD requires its destination and next hop in every modify.

        :param next_hop_type: ``vpn_connection``, ``vpc_attachment``, ... (snake_case, as for create)
        """
        params = {
            "bgwId": bgw_id,
            "bgwRouteId": bgw_route_id,
            "bgwRouteDestination": destination,
            "bgwNexthopType": next_hop_type,
            "bgwRouteNexthop": next_hop_id,
            "description": description,
        }
        self.call("ModifyBgwRoute", params, region=region)

    def delete_bgw_route(self, bgw_id: str, bgw_route_id: str, *, region: str | None = None) -> None:
        """Delete a static border gateway route."""
        self.call("DeleteBgwRoute", {"bgwId": bgw_id, "bgwRouteId": bgw_route_id}, region=region)


def _only_named(items: list[M], attribute: str, name: str) -> M | None:
    """Return the single item whose ``attribute`` equals ``name``; the API's name filter may be fuzzy."""
    matches = [item for item in items if getattr(item, attribute) == name]
    if len(matches) > 1:
        raise ValueError(f"{len(matches)} {type(matches[0]).__name__} resources are named {name!r}")
    return matches[0] if matches else None
