"""The one table of JD Cloud console URLs: where an extra link sends the user for each resource kind.

Documented (JD Cloud's VPN and VM docs link to them): the list pages
``https://cns-console.jdcloud.com/host/{borderGateway,vpcAttachment,customerGateway,vpnConnection,compute}/list``.
**Inferred** (no public page documents them): the detail path ``.../detail`` and its ``id`` and ``regionId``
query parameters, and that a tunnel and a border gateway route are shown on their parent's detail page.
Each row says which it is; correcting an inferred URL is a change to its row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONSOLE_BASE = "https://cns-console.jdcloud.com/host"


@dataclass(frozen=True)
class ConsoleUrl:
    """A console page of one resource kind: ``template`` is filled from the task result's fields."""

    template: str
    fields: tuple[str, ...]
    inferred: bool


CONSOLE_URLS: dict[str, ConsoleUrl] = {
    "border_gateway": ConsoleUrl(
        f"{CONSOLE_BASE}/borderGateway/detail?id={{bgw_id}}&regionId={{region}}", ("bgw_id", "region"), True
    ),
    "vpc_attachment": ConsoleUrl(
        f"{CONSOLE_BASE}/vpcAttachment/detail?id={{vpc_attachment_id}}&regionId={{region}}",
        ("vpc_attachment_id", "region"),
        True,
    ),
    "customer_gateway": ConsoleUrl(
        f"{CONSOLE_BASE}/customerGateway/detail?id={{customer_gateway_id}}&regionId={{region}}",
        ("customer_gateway_id", "region"),
        True,
    ),
    "vpn_connection": ConsoleUrl(
        f"{CONSOLE_BASE}/vpnConnection/detail?id={{vpn_connection_id}}&regionId={{region}}",
        ("vpn_connection_id", "region"),
        True,
    ),
    # A tunnel has no page of its own (tunnels are a tab of the connection's page); its result does not
    # carry the connection id, so the link opens the region's connection list filtered by the tunnel id.
    "vpn_tunnel": ConsoleUrl(
        f"{CONSOLE_BASE}/vpnConnection/list?regionId={{region}}&vpnTunnelId={{vpn_tunnel_id}}",
        ("vpn_tunnel_id", "region"),
        True,
    ),
    # Static routes are listed on the border gateway's page (route table tab).
    "bgw_route": ConsoleUrl(
        f"{CONSOLE_BASE}/borderGateway/detail?id={{bgw_id}}&regionId={{region}}&tab=route&routeId={{bgw_route_id}}",
        ("bgw_id", "bgw_route_id", "region"),
        True,
    ),
    "vm_instance": ConsoleUrl(
        f"{CONSOLE_BASE}/compute/detail?id={{instance_id}}&regionId={{region}}", ("instance_id", "region"), True
    ),
}


def console_url(kind: str, result: Any) -> str:
    """The console URL of the resource ``kind`` described by a task result, or ``""`` when it cannot be built.

    :param kind: a key of :data:`CONSOLE_URLS`.
    :param result: the task's result as XCom JSON (a mapping with the kind's id fields and ``region``).
    """
    spec = CONSOLE_URLS.get(kind)
    if spec is None or not isinstance(result, Mapping):
        return ""
    values = {field: result.get(field) for field in spec.fields}
    if not all(isinstance(value, str) and value for value in values.values()):
        return ""
    return spec.template.format(**values)
