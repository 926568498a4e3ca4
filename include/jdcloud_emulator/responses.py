"""Request handlers: take the parsed parameters of one operation, call a backend, shape the ``result``.

Each handler is ``handler(emulator, region, params) -> result``; ``params`` merges the path parameters
with the query string (GET/DELETE) or the JSON body (POST/PATCH), nulls dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from include.jdcloud_emulator.models import Emulator
from include.jdcloud_emulator.models.core import paginate, parse_filters

Handler = Callable[[Emulator, str, dict], dict]


def _page(items: list[dict], params: dict, key: str) -> dict:
    page, total = paginate(items, params)
    return {key: page, "totalCount": total}


def _filters(params: dict) -> dict:
    return parse_filters(params.get("filters"))


# ---------------------------------------------------------------- vpc


def create_vpc(emu: Emulator, region: str, p: dict) -> dict:
    return emu.vpc.create_vpc(region, p)


def describe_vpcs(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.vpc.describe_vpcs(region, _filters(p)), p, "vpcs")


def describe_vpc(emu: Emulator, region: str, p: dict) -> dict:
    return {"vpc": emu.vpc.vpc_json(emu.vpc.get_vpc(region, p["vpcId"]))}


def delete_vpc(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.delete_vpc(region, p["vpcId"])
    return {}


def create_subnet(emu: Emulator, region: str, p: dict) -> dict:
    return emu.vpc.create_subnet(region, p)


def describe_subnets(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.vpc.describe_subnets(region, _filters(p)), p, "subnets")


def describe_subnet(emu: Emulator, region: str, p: dict) -> dict:
    return {"subnet": emu.vpc.subnet_json(emu.vpc.get_subnet(region, p["subnetId"]))}


def delete_subnet(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.delete_subnet(region, p["subnetId"])
    return {}


def create_route_table(emu: Emulator, region: str, p: dict) -> dict:
    return emu.vpc.create_route_table(region, p)


def describe_route_tables(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.vpc.describe_route_tables(region, _filters(p)), p, "routeTables")


def describe_route_table(emu: Emulator, region: str, p: dict) -> dict:
    table = emu.vpc.get_route_table(region, p["routeTableId"])
    return {"routeTable": emu.vpc.route_table_json(table)}


def modify_route_table(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.modify_route_table(region, p["routeTableId"], p)
    return {}


def delete_route_table(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.delete_route_table(region, p["routeTableId"])
    return {}


def describe_route_table_rules(emu: Emulator, region: str, p: dict) -> dict:
    rules = emu.vpc.describe_route_table_rules(region, p["routeTableId"], _filters(p))
    return _page(rules, p, "routeTableRules")


def add_route_table_rules(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.add_route_table_rules(region, p["routeTableId"], p.get("routeTableRuleSpecs"))
    return {}


def remove_route_table_rules(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.remove_route_table_rules(region, p["routeTableId"], p.get("ruleIds"))
    return {}


def associate_route_table(emu: Emulator, region: str, p: dict) -> dict:
    emu.vpc.associate_route_table(region, p["routeTableId"], p.get("subnetIds"))
    return {}


# ---------------------------------------------------------------- vm


def create_instances(emu: Emulator, region: str, p: dict) -> dict:
    return emu.vm.create_instances(region, p)


def describe_instances(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.vm.describe_instances(region, _filters(p)), p, "instances")


def describe_instance(emu: Emulator, region: str, p: dict) -> dict:
    return {"instance": emu.vm.instance_json(emu.vm.get_instance(region, p["instanceId"]))}


def describe_instance_status(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.vm.describe_instance_status(region, _filters(p)), p, "instanceStatuses")


def delete_instance(emu: Emulator, region: str, p: dict) -> dict:
    emu.vm.delete_instance(region, p["instanceId"])
    return {}


# ---------------------------------------------------------------- assistant


def create_command(emu: Emulator, region: str, p: dict) -> dict:
    return emu.assistant.create_command(region, p)


def invoke_command(emu: Emulator, region: str, p: dict) -> dict:
    return emu.assistant.invoke_command(region, p)


def describe_invocations(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.assistant.describe_invocations(region, p), p, "invocations")


def describe_commands(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.assistant.describe_commands(region, p), p, "commands")


def delete_commands(emu: Emulator, region: str, p: dict) -> dict:
    return emu.assistant.delete_commands(region, p)


# ---------------------------------------------------------------- bgw


def describe_connections(emu: Emulator, region: str, p: dict) -> dict:
    _filters(p)
    return _page([], p, "connections")  # Direct Connect lines: none exist in the emulator


def create_bgw(emu: Emulator, region: str, p: dict) -> dict:
    return emu.bgw.create_bgw(region, p)


def describe_bgws(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.bgw.describe_bgws(region, _filters(p)), p, "bgws")


def describe_bgw(emu: Emulator, region: str, p: dict) -> dict:
    return {"bgw": emu.bgw.bgw_json(emu.bgw.get_bgw(region, p["bgwId"]))}


def modify_bgw(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_bgw(region, p["bgwId"], p)
    return {}


def delete_bgw(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.delete_bgw(region, p["bgwId"])
    return {}


def create_vpc_attachment(emu: Emulator, region: str, p: dict) -> dict:
    return emu.bgw.create_vpc_attachment(region, p)


def describe_vpc_attachments(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.bgw.describe_vpc_attachments(region, _filters(p)), p, "vpcAttachments")


def describe_vpc_attachment(emu: Emulator, region: str, p: dict) -> dict:
    attachment = emu.bgw.get_vpc_attachment(region, p["vpcAttachmentId"])
    return {"vpcAttachment": emu.bgw.vpc_attachment_json(attachment)}


def modify_vpc_attachment(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_vpc_attachment(region, p["vpcAttachmentId"], p)
    return {}


def delete_vpc_attachment(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.delete_vpc_attachment(region, p["vpcAttachmentId"])
    return {}


def create_customer_gateway(emu: Emulator, region: str, p: dict) -> dict:
    return emu.bgw.create_customer_gateway(region, p)


def describe_customer_gateways(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.bgw.describe_customer_gateways(region, _filters(p)), p, "customerGateways")


def describe_customer_gateway(emu: Emulator, region: str, p: dict) -> dict:
    return {"customerGateway": emu.bgw.get_customer_gateway(region, p["customerGatewayId"]).to_json()}


def modify_customer_gateway(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_customer_gateway(region, p["customerGatewayId"], p)
    return {}


def delete_customer_gateway(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.delete_customer_gateway(region, p["customerGatewayId"])
    return {}


def create_vpn_connection(emu: Emulator, region: str, p: dict) -> dict:
    return emu.bgw.create_vpn_connection(region, p)


def describe_vpn_connections(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.bgw.describe_vpn_connections(region, _filters(p)), p, "vpnConnections")


def describe_vpn_connection(emu: Emulator, region: str, p: dict) -> dict:
    connection = emu.bgw.get_vpn_connection(region, p["vpnConnectionId"])
    return {"vpnConnection": emu.bgw.vpn_connection_json(connection)}


def modify_vpn_connection(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_vpn_connection(region, p["vpnConnectionId"], p)
    return {}


def delete_vpn_connection(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.delete_vpn_connection(region, p["vpnConnectionId"])
    return {}


def create_vpn_tunnel(emu: Emulator, region: str, p: dict) -> dict:
    return emu.bgw.create_vpn_tunnel(region, p)


def describe_vpn_tunnels(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.bgw.describe_vpn_tunnels(region, _filters(p)), p, "vpnTunnels")


def describe_vpn_tunnel(emu: Emulator, region: str, p: dict) -> dict:
    return {"vpnTunnel": emu.bgw.vpn_tunnel_json(emu.bgw.get_vpn_tunnel(region, p["vpnTunnelId"]))}


def modify_vpn_tunnel(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_vpn_tunnel(region, p["vpnTunnelId"], p)
    return {}


def modify_admin_status(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_admin_status(region, p["vpnTunnelId"], p)
    return {}


def delete_vpn_tunnel(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.delete_vpn_tunnel(region, p["vpnTunnelId"])
    return {}


def create_bgw_route(emu: Emulator, region: str, p: dict) -> dict:
    return emu.bgw.create_bgw_route(region, p["bgwId"], p)


def describe_bgw_routes(emu: Emulator, region: str, p: dict) -> dict:
    return _page(emu.bgw.describe_bgw_routes(region, p["bgwId"], _filters(p)), p, "bgwRoutes")


def modify_bgw_route(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.modify_bgw_route(region, p["bgwId"], p["bgwRouteId"], p)
    return {}


def delete_bgw_route(emu: Emulator, region: str, p: dict) -> dict:
    emu.bgw.delete_bgw_route(region, p["bgwId"], p["bgwRouteId"])
    return {}
