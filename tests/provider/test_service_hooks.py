"""The service hooks: each works on its own, and the wrappers of the regular operations reach the right path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_jdcloud.hooks.assistant import JDCloudAssistantHook
from airflow_provider_jdcloud.hooks.base import JDCloudBaseHook
from airflow_provider_jdcloud.hooks.bgw import JDCloudBgwHook
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.hooks.vm import JDCloudVmHook
from airflow_provider_jdcloud.hooks.vpc import JDCloudVpcHook
from airflow_provider_jdcloud.models import JDCloudModel

if TYPE_CHECKING:
    from tests.provider.conftest import ScriptedApi

SERVICE_HOOKS = (JDCloudVpcHook, JDCloudVmHook, JDCloudBgwHook, JDCloudAssistantHook)
R = "/v1/regions/cn-north-1"


def _service_hook(cls: type[JDCloudBaseHook], api_server: ScriptedApi) -> Any:
    return cls.from_credentials("AK-TEST", "SK-TEST-SECRET", endpoint=api_server.endpoint, scheme="http")


def _ids(result: Any) -> Any:
    """Reduce a wrapper's result to ids: every model's first field is its id."""
    if isinstance(result, list):
        return [_ids(item) for item in result]
    if isinstance(result, JDCloudModel):
        return next(iter(result.model_dump().values()))
    return result


def test_jdcloud_hook_composes_every_service_hook() -> None:
    assert all(issubclass(JDCloudHook, cls) for cls in SERVICE_HOOKS)
    assert (JDCloudHook.conn_type, JDCloudHook.default_conn_name) == ("jdcloud", "jdcloud_default")
    assert isinstance(JDCloudHook.from_credentials("AK", "SK"), JDCloudHook)


def test_a_service_hook_works_on_its_own(api_server: ScriptedApi) -> None:
    api_server.reply({"bgwId": "bgw-1"})

    hook = _service_hook(JDCloudBgwHook, api_server)

    assert type(hook) is JDCloudBgwHook
    assert hook.create_bgw("home") == "bgw-1"
    assert (api_server.requests[0].method, api_server.requests[0].path) == ("POST", f"{R}/bgws/")


def _sent(api_server: ScriptedApi) -> tuple[str, str]:
    (request,) = api_server.requests
    return request.method, urlsplit(request.path).path


@pytest.mark.parametrize(
    ("cls", "method", "result_key", "id_key", "path"),
    [
        (JDCloudVpcHook, "describe_vpc", "vpc", "vpcId", "/vpcs/x-1"),
        (JDCloudVmHook, "describe_instance", "instance", "instanceId", "/instances/x-1"),
        (JDCloudBgwHook, "describe_bgw", "bgw", "bgwId", "/bgws/x-1"),
        (JDCloudBgwHook, "describe_vpc_attachment", "vpcAttachment", "vpcAttachmentId", "/vpcAttachments/x-1"),
        (JDCloudBgwHook, "describe_customer_gateway", "customerGateway", "customerGatewayId", "/customerGateways/x-1"),
        (JDCloudBgwHook, "describe_vpn_connection", "vpnConnection", "vpnConnectionId", "/vpnConnections/x-1"),
        (JDCloudBgwHook, "describe_vpn_tunnel", "vpnTunnel", "vpnTunnelId", "/vpnTunnels/x-1"),
    ],
)
def test_describe_one_resource(
    api_server: ScriptedApi, cls: type[JDCloudBaseHook], method: str, result_key: str, id_key: str, path: str
) -> None:
    api_server.reply({result_key: {id_key: "x-1"}})

    resource = getattr(_service_hook(cls, api_server), method)("x-1")

    assert _ids(resource) == "x-1"
    assert _sent(api_server) == ("GET", R + path)


@pytest.mark.parametrize(
    ("method", "kwargs", "id_key", "path"),
    [
        ("create_bgw", {}, "bgwId", "/bgws/"),
        ("create_vpc_attachment", {"bgw_id": "bgw-1", "vpc_id": "vpc-1"}, "vpcAttachmentId", "/vpcAttachments/"),
        (
            "create_customer_gateway",
            {"customer_ips": ["1.1.1.1"], "bgp_asn": 65001},
            "customerGatewayId",
            "/customerGateways/",
        ),
        ("create_vpn_connection", {"bgw_id": "bgw-1", "cgw_id": "cgw-1"}, "vpnConnectionId", "/vpnConnections/"),
    ],
)
def test_create_returns_the_new_id(
    api_server: ScriptedApi, method: str, kwargs: dict[str, Any], id_key: str, path: str
) -> None:
    api_server.reply({id_key: "x-1"})

    assert getattr(_service_hook(JDCloudBgwHook, api_server), method)("name", **kwargs) == "x-1"
    assert _sent(api_server) == ("POST", R + path)


@pytest.mark.parametrize(
    ("cls", "method", "args", "path"),
    [
        (JDCloudVmHook, "delete_instance", ["x-1"], "/instances/x-1"),
        (JDCloudBgwHook, "delete_bgw", ["x-1"], "/bgws/x-1"),
        (JDCloudBgwHook, "delete_vpc_attachment", ["x-1"], "/vpcAttachments/x-1"),
        (JDCloudBgwHook, "delete_customer_gateway", ["x-1"], "/customerGateways/x-1"),
        (JDCloudBgwHook, "delete_vpn_connection", ["x-1"], "/vpnConnections/x-1"),
        (JDCloudBgwHook, "delete_vpn_tunnel", ["x-1"], "/vpnTunnels/x-1"),
        (JDCloudBgwHook, "delete_bgw_route", ["bgw-1", "x-1"], "/bgws/bgw-1/bgwRoutes/x-1"),
    ],
)
def test_delete_resource(
    api_server: ScriptedApi, cls: type[JDCloudBaseHook], method: str, args: list, path: str
) -> None:
    api_server.reply()

    assert getattr(_service_hook(cls, api_server), method)(*args) is None
    assert _sent(api_server) == ("DELETE", R + path)


@pytest.mark.parametrize(
    ("cls", "method", "args", "list_key", "id_key", "path"),
    [
        (JDCloudVpcHook, "describe_vpcs", [], "vpcs", "vpcId", "/vpcs/"),
        (JDCloudVpcHook, "describe_subnets", [], "subnets", "subnetId", "/subnets/"),
        (
            JDCloudVpcHook,
            "describe_route_table_rules",
            ["rtb-1"],
            "routeTableRules",
            "ruleId",
            "/routeTables/rtb-1/routeTableRules",
        ),
        (JDCloudVmHook, "describe_instances", [], "instances", "instanceId", "/instances"),
        (JDCloudBgwHook, "describe_bgws", [], "bgws", "bgwId", "/bgws/"),
        (JDCloudBgwHook, "describe_vpc_attachments", [], "vpcAttachments", "vpcAttachmentId", "/vpcAttachments/"),
        (
            JDCloudBgwHook,
            "describe_customer_gateways",
            [],
            "customerGateways",
            "customerGatewayId",
            "/customerGateways/",
        ),
        (JDCloudBgwHook, "describe_vpn_connections", [], "vpnConnections", "vpnConnectionId", "/vpnConnections/"),
        (JDCloudBgwHook, "describe_vpn_tunnels", [], "vpnTunnels", "vpnTunnelId", "/vpnTunnels/"),
        (JDCloudBgwHook, "describe_bgw_routes", ["bgw-1"], "bgwRoutes", "bgwRouteId", "/bgws/bgw-1/bgwRoutes"),
    ],
)
def test_list_resources(
    api_server: ScriptedApi,
    cls: type[JDCloudBaseHook],
    method: str,
    args: list,
    list_key: str,
    id_key: str,
    path: str,
) -> None:
    api_server.reply({list_key: [{id_key: "x-1"}, {id_key: "x-2"}], "totalCount": 2})

    resources = getattr(_service_hook(cls, api_server), method)(*args)

    assert _ids(resources) == ["x-1", "x-2"]
    assert _sent(api_server) == ("GET", R + path)


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "path", "body"),
    [
        (
            "modify_vpc_attachment",
            ["x-1"],
            {"vpc_id": "vpc-1", "propagate_type": "partial", "subnet_ids": ["subnet-1"]},
            "/vpcAttachments/x-1",
            {"propagationAttribute": {"vpcId": "vpc-1", "propagateType": "partial", "subnetIds": ["subnet-1"]}},
        ),
        (
            "modify_vpc_attachment",
            ["x-1"],
            {"vpc_id": "vpc-1", "propagate_type": "all"},
            "/vpcAttachments/x-1",
            {"propagationAttribute": {"vpcId": "vpc-1", "propagateType": "all"}},
        ),
        ("modify_vpn_connection", ["x-1"], {"bgp_enabled": False}, "/vpnConnections/x-1", {"bgpEnabled": False}),
        (
            "modify_bgw_route",
            ["bgw-1", "x-1"],
            {"destination": "10.2.0.0/16", "next_hop_id": "vpnc-1"},
            "/bgws/bgw-1/bgwRoutes/x-1",
            {"bgwRouteDestination": "10.2.0.0/16", "bgwNexthopType": "vpn_connection", "bgwRouteNexthop": "vpnc-1"},
        ),
    ],
)
def test_modify_sends_the_flattened_spec(
    api_server: ScriptedApi, method: str, args: list, kwargs: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    api_server.reply()

    assert getattr(_service_hook(JDCloudBgwHook, api_server), method)(*args, **kwargs) is None
    assert _sent(api_server) == ("PATCH", R + path)
    sent = api_server.json_body(0)
    assert {key: sent[key] for key in body} == body
    assert not {"vpnConnectionName", "description"} & {key for key, value in sent.items() if value is not None}
