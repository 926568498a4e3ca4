"""The one table of JD Cloud API operations this project calls or emulates.

Every HTTP method and path lives here. The client hook builds its requests from it and the local
emulator routes from it, so correcting a path against the live API is a one-line change in this file.

Paths are given as the SDK writes them: without the ``/v1`` version prefix.

.. warning::
   The border-gateway (bgw) CRUD paths are **inferred**, not public: JD Cloud's SDKs ship only the bgw
   models plus ``DescribeConnections`` and ``ModifyAdminStatus``. Entries with ``inferred=True`` follow
   the JD Cloud vpc team's conventions (collections end in ``/``, modify is PATCH with the flattened
   ``*Spec`` fields, custom actions use ``:verb``). Verify them with JD Cloud's API Explorer before
   pointing this project at the real cloud; the ``jdcloud_vpn_preflight`` DAG checks the inferred read paths.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiOperation:
    """One API operation: which service serves it, its verb and path, whether the path is known, and
    whether a client may resend it after an ambiguous failure (no answer, though it may have been applied)."""

    name: str
    service: str
    method: str
    path: str
    inferred: bool = False
    resend_safe: bool = True


def _op(name: str, service: str, method: str, path: str, *, inferred: bool = False) -> ApiOperation:
    # A create applied twice makes a duplicate; an invocation applied twice runs the command twice.
    resend_safe = not (name.startswith("Create") or name == "InvokeCommand")
    return ApiOperation(
        name=name, service=service, method=method, path=path, inferred=inferred, resend_safe=resend_safe
    )


_R = "/regions/{regionId}"

OPERATIONS: dict[str, ApiOperation] = {
    op.name: op
    for op in (
        # --- vpc service (verified from the SDK) ---
        _op("CreateVpc", "vpc", "POST", f"{_R}/vpcs/"),
        _op("DescribeVpcs", "vpc", "GET", f"{_R}/vpcs/"),
        _op("DescribeVpc", "vpc", "GET", f"{_R}/vpcs/{{vpcId}}"),
        _op("DeleteVpc", "vpc", "DELETE", f"{_R}/vpcs/{{vpcId}}"),
        _op("CreateSubnet", "vpc", "POST", f"{_R}/subnets/"),
        _op("DescribeSubnets", "vpc", "GET", f"{_R}/subnets/"),
        _op("DescribeSubnet", "vpc", "GET", f"{_R}/subnets/{{subnetId}}"),
        _op("DeleteSubnet", "vpc", "DELETE", f"{_R}/subnets/{{subnetId}}"),
        _op("CreateRouteTable", "vpc", "POST", f"{_R}/routeTables/"),
        _op("DescribeRouteTables", "vpc", "GET", f"{_R}/routeTables/"),
        _op("DescribeRouteTable", "vpc", "GET", f"{_R}/routeTables/{{routeTableId}}"),
        _op("ModifyRouteTable", "vpc", "PATCH", f"{_R}/routeTables/{{routeTableId}}"),
        _op("DeleteRouteTable", "vpc", "DELETE", f"{_R}/routeTables/{{routeTableId}}"),
        _op("DescribeRouteTableRules", "vpc", "GET", f"{_R}/routeTables/{{routeTableId}}/routeTableRules"),
        _op("AddRouteTableRules", "vpc", "POST", f"{_R}/routeTables/{{routeTableId}}:addRouteTableRules"),
        _op("RemoveRouteTableRules", "vpc", "POST", f"{_R}/routeTables/{{routeTableId}}:removeRouteTableRules"),
        _op("AssociateRouteTable", "vpc", "POST", f"{_R}/routeTables/{{routeTableId}}:associateRouteTable"),
        # --- vm service (verified from the SDK) ---
        _op("CreateInstances", "vm", "POST", f"{_R}/instances"),
        _op("DescribeInstances", "vm", "GET", f"{_R}/instances"),
        _op("DescribeInstance", "vm", "GET", f"{_R}/instances/{{instanceId}}"),
        _op("DescribeInstanceStatus", "vm", "GET", f"{_R}/instanceStatus"),
        _op("DeleteInstance", "vm", "DELETE", f"{_R}/instances/{{instanceId}}"),
        _op("DescribeImage", "vm", "GET", f"{_R}/images/{{imageId}}"),
        # --- assistant service (verified from the SDK) ---
        _op("CreateCommand", "assistant", "POST", f"{_R}/createCommand"),
        _op("InvokeCommand", "assistant", "POST", f"{_R}/invokeCommand"),
        _op("DescribeInvocations", "assistant", "POST", f"{_R}/describeInvocations"),
        _op("DescribeCommands", "assistant", "POST", f"{_R}/describeCommands"),
        _op("DeleteCommands", "assistant", "POST", f"{_R}/deleteCommands"),
        # --- bgw service: the two operations the SDK ships (verified) ---
        _op("DescribeConnections", "bgw", "GET", f"{_R}/connections/"),
        _op("ModifyAdminStatus", "bgw", "POST", f"{_R}/vpnTunnels/{{vpnTunnelId}}:adminStatus"),
        # --- bgw service: INFERRED paths (jdcloud-api.md section 6); verify against the live API ---
        _op("CreateBgw", "bgw", "POST", f"{_R}/bgws/", inferred=True),
        _op("DescribeBgws", "bgw", "GET", f"{_R}/bgws/", inferred=True),
        _op("DescribeBgw", "bgw", "GET", f"{_R}/bgws/{{bgwId}}", inferred=True),
        _op("ModifyBgw", "bgw", "PATCH", f"{_R}/bgws/{{bgwId}}", inferred=True),
        _op("DeleteBgw", "bgw", "DELETE", f"{_R}/bgws/{{bgwId}}", inferred=True),
        _op("CreateVpcAttachment", "bgw", "POST", f"{_R}/vpcAttachments/", inferred=True),
        _op("DescribeVpcAttachments", "bgw", "GET", f"{_R}/vpcAttachments/", inferred=True),
        _op("DescribeVpcAttachment", "bgw", "GET", f"{_R}/vpcAttachments/{{vpcAttachmentId}}", inferred=True),
        _op("ModifyVpcAttachment", "bgw", "PATCH", f"{_R}/vpcAttachments/{{vpcAttachmentId}}", inferred=True),
        _op("DeleteVpcAttachment", "bgw", "DELETE", f"{_R}/vpcAttachments/{{vpcAttachmentId}}", inferred=True),
        _op("CreateCustomerGateway", "bgw", "POST", f"{_R}/customerGateways/", inferred=True),
        _op("DescribeCustomerGateways", "bgw", "GET", f"{_R}/customerGateways/", inferred=True),
        _op("DescribeCustomerGateway", "bgw", "GET", f"{_R}/customerGateways/{{customerGatewayId}}", inferred=True),
        _op("ModifyCustomerGateway", "bgw", "PATCH", f"{_R}/customerGateways/{{customerGatewayId}}", inferred=True),
        _op("DeleteCustomerGateway", "bgw", "DELETE", f"{_R}/customerGateways/{{customerGatewayId}}", inferred=True),
        _op("CreateVpnConnection", "bgw", "POST", f"{_R}/vpnConnections/", inferred=True),
        _op("DescribeVpnConnections", "bgw", "GET", f"{_R}/vpnConnections/", inferred=True),
        _op("DescribeVpnConnection", "bgw", "GET", f"{_R}/vpnConnections/{{vpnConnectionId}}", inferred=True),
        _op("ModifyVpnConnection", "bgw", "PATCH", f"{_R}/vpnConnections/{{vpnConnectionId}}", inferred=True),
        _op("DeleteVpnConnection", "bgw", "DELETE", f"{_R}/vpnConnections/{{vpnConnectionId}}", inferred=True),
        _op("CreateVpnTunnel", "bgw", "POST", f"{_R}/vpnTunnels/", inferred=True),
        _op("DescribeVpnTunnels", "bgw", "GET", f"{_R}/vpnTunnels/", inferred=True),
        _op("DescribeVpnTunnel", "bgw", "GET", f"{_R}/vpnTunnels/{{vpnTunnelId}}", inferred=True),
        _op("ModifyVpnTunnel", "bgw", "PATCH", f"{_R}/vpnTunnels/{{vpnTunnelId}}", inferred=True),
        _op("DeleteVpnTunnel", "bgw", "DELETE", f"{_R}/vpnTunnels/{{vpnTunnelId}}", inferred=True),
        _op("CreateBgwRoute", "bgw", "POST", f"{_R}/bgws/{{bgwId}}/bgwRoutes", inferred=True),
        _op("DescribeBgwRoutes", "bgw", "GET", f"{_R}/bgws/{{bgwId}}/bgwRoutes", inferred=True),
        _op("ModifyBgwRoute", "bgw", "PATCH", f"{_R}/bgws/{{bgwId}}/bgwRoutes/{{bgwRouteId}}", inferred=True),
        _op("DeleteBgwRoute", "bgw", "DELETE", f"{_R}/bgws/{{bgwId}}/bgwRoutes/{{bgwRouteId}}", inferred=True),
    )
}
