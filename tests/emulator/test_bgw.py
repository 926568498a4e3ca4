"""bgw service: quotas, uniqueness, delete preconditions, validation, propagation and route spellings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from jdcloud_sdk.services.common.models.Filter import Filter

from tests.emulator.scenario import (
    Site,
    add_tunnel,
    build_interconnect,
    build_sites,
    create_connections,
    expect_error,
    expect_rule_not_found,
    op_statuses,
    provisioned_cloud_ips,
    route_table_rules,
    wait_until_connected,
)
from tests.jd_defaults import RECOMMENDED_TUNNEL
from tests.sdk_client import ApiError

REGION = "cn-north-1"
OTHER_REGION = "cn-east-2"
CGW_IPS = ["1.0.0.1", "1.0.0.2"]


def _bgw(api, name: str = "gw", region: str = REGION) -> str:
    return api.call("CreateBgw", region, bgwName=name)["bgwId"]


def _cgw(api, ips: list[str] = CGW_IPS, name: str = "cgw", region: str = REGION) -> str:
    return api.call("CreateCustomerGateway", region, customerGatewayName=name, customerIps=ips, bgpAsn=65001)[
        "customerGatewayId"
    ]


def _connection(api, bgw_id: str, cgw_id: str, name: str = "vpn") -> tuple[str, list[str]]:
    connection_id = api.call(
        "CreateVpnConnection", REGION, vpnConnectionName=name, bgwId=bgw_id, cgwId=cgw_id, bgpEnabled=False
    )["vpnConnectionId"]
    return connection_id, provisioned_cloud_ips(api, REGION, connection_id)


def _tunnel(api, connection_id: str, cloud_ip: str, customer_ip: str, **params) -> str:
    params = {"psk": "Test_PSK_1"} | params
    return api.call(
        "CreateVpnTunnel",
        REGION,
        vpnConnectionId=connection_id,
        cloudPublicIp=cloud_ip,
        customerIp=customer_ip,
        **params,
    )["vpnTunnelId"]


def _vpc(api, cidr: str, subnets: list[str], name: str = "net") -> tuple[str, list[str]]:
    vpc_id = api.call("CreateVpc", REGION, vpcName=name, addressPrefix=cidr)["vpcId"]
    subnet_ids = [
        api.call("CreateSubnet", REGION, vpcId=vpc_id, subnetName=f"{name}-{i}", addressPrefix=prefix)["subnetId"]
        for i, prefix in enumerate(subnets)
    ]
    return vpc_id, subnet_ids


def _attach(api, bgw_id: str, vpc_id: str, propagate_type: str = "all", **params) -> str:
    return api.call(
        "CreateVpcAttachment",
        REGION,
        vpcAttachmentName="att",
        bgwId=bgw_id,
        vpcId=vpc_id,
        propagateType=propagate_type,
        **params,
    )["vpcAttachmentId"]


def _route(api, bgw_id: str, destination: str, next_hop: str, **params) -> str:
    return api.call(
        "CreateBgwRoute", REGION, bgwId=bgw_id, bgwRouteDestination=destination, bgwRouteNexthop=next_hop, **params
    )["bgwRouteId"]


def _get(api, kind: str, resource_id: str) -> dict:
    """``Describe<Kind>`` of one resource (``kind`` in camelCase, e.g. ``vpnTunnel``)."""
    return api.call(f"Describe{kind[0].upper()}{kind[1:]}", REGION, **{f"{kind}Id": resource_id})[kind]


def _routes(api, bgw_id: str, *filters: Filter) -> list[dict]:
    return api.call("DescribeBgwRoutes", REGION, bgwId=bgw_id, filters=list(filters) or None)["bgwRoutes"]


def _propagated(api, bgw_id: str) -> list[tuple[str, str]]:
    """(destination, next hop) of the BGW's propagated routes, sorted."""
    return sorted(
        (r["bgwRouteDestination"], r["bgwRouteNexthop"]) for r in _routes(api, bgw_id, Filter("origin", ["propagated"]))
    )


def _gone(api, kind: str, resource_id: str) -> bool:
    """Whether ``Describe<Kind>`` of the resource answers 404 ``NOT_FOUND``."""
    try:
        _get(api, kind, resource_id)
    except ApiError as error:
        assert (error.code, error.status) == (404, "NOT_FOUND"), error
        return True
    return False


def _accepted(api, operation: str, **params) -> bool:
    """Call ``operation``; False when refused with 400 ``FAILED_PRECONDITION`` (to retry until a hold ends)."""
    try:
        api.call(operation, REGION, **params)
    except ApiError as error:
        assert (error.code, error.status) == (400, "FAILED_PRECONDITION"), error
        return False
    return True


def _delete_tunnel(api, tunnel_id: str) -> None:
    """Set the tunnel DOWN, then delete it once the ``tunnel_admin_down`` hold is over."""
    api.call("ModifyAdminStatus", REGION, vpnTunnelId=tunnel_id, adminStatus="DOWN")
    api.wait_for(lambda: _accepted(api, "DeleteVpnTunnel", vpnTunnelId=tunnel_id))


def _delete_and_wait(api, kind: str, resource_id: str) -> None:
    """``Delete<Kind>``, then wait until the resource is gone (attachments and connections are ``deleting`` first)."""
    api.call(f"Delete{kind[0].upper()}{kind[1:]}", REGION, **{f"{kind}Id": resource_id})
    api.wait_for(lambda: _gone(api, kind, resource_id))


@dataclass
class Stack:
    bgw_id: str
    vpc_id: str
    attachment_id: str
    cgw_id: str
    connection_id: str
    cloud_ips: list[str]
    tunnel_id: str


@pytest.fixture
def stack(api) -> Stack:
    """One of everything in one region, chained: bgw <- attachment, bgw + cgw <- connection <- tunnel."""
    bgw_id = _bgw(api)
    vpc_id, _ = _vpc(api, "10.70.0.0/16", ["10.70.1.0/24"])
    attachment_id = _attach(api, bgw_id, vpc_id)
    cgw_id = _cgw(api)
    connection_id, cloud_ips = _connection(api, bgw_id, cgw_id)
    tunnel_id = _tunnel(api, connection_id, cloud_ips[0], CGW_IPS[0])
    return Stack(bgw_id, vpc_id, attachment_id, cgw_id, connection_id, cloud_ips, tunnel_id)


def _expect_new_tunnel_error(api, stack: Stack, status: str, message: str, **params) -> None:
    """A new tunnel of the stack's connection, on its free (cloud IP, CGW IP) pair unless given, is a 400 ``status``."""
    ips = {"cloudPublicIp": stack.cloud_ips[1], "customerIp": CGW_IPS[1]}
    params = {"vpnConnectionId": stack.connection_id} | ips | params
    expect_error(api, "CreateVpnTunnel", REGION, 400, status, message, **params)


def _expect_tunnel_fields_refused(api, stack: Stack, status: str, message: str, **fields) -> None:
    """``fields`` are refused both by a new tunnel (with a valid PSK unless given) and by modifying the stack's."""
    _expect_new_tunnel_error(api, stack, status, message, **({"psk": "ok"} | fields))
    expect_error(api, "ModifyVpnTunnel", REGION, 400, status, message, vpnTunnelId=stack.tunnel_id, **fields)


# ---------------------------------------------------------------- resources and their fields


def test_bgw_create_describe_modify(api):
    bgw_id = _bgw(api, "边界网关_1")
    bgw = _get(api, "bgw", bgw_id)
    assert bgw["bgwId"] == bgw_id
    assert (bgw["bgwName"], bgw["azType"], bgw["az"], bgw["description"]) == ("边界网关_1", "standard", "", "")
    assert (bgw["vifIds"], bgw["vpcAttachmentIds"], bgw["vpnConnectionIds"]) == ([], [], [])
    assert api.call("ModifyBgw", REGION, bgwId=bgw_id, bgwName="renamed", description="d") == {}
    assert api.call("DescribeBgws", REGION, filters=[Filter("bgwNames", ["renamed"])])["bgws"][0]["description"] == "d"
    assert api.call("DescribeBgws", REGION, filters=[Filter("bgwIds", ["bgw-other"])])["bgws"] == []
    assert api.call("DescribeBgws", OTHER_REGION)["totalCount"] == 0
    expect_error(api, "DescribeBgw", OTHER_REGION, 404, "NOT_FOUND", f"bgw {bgw_id} not found", bgwId=bgw_id)


def test_a_new_vpn_connection_shows_its_cloud_ips_only_once_provisioned(api, control, latencies):
    latencies(vpn_connection_provision=250)  # 0.5 s at the suite's time scale
    bgw_id, cgw_id = _bgw(api), _cgw(api)
    connection_id = api.call(
        "CreateVpnConnection", REGION, vpnConnectionName="vpn", bgwId=bgw_id, cgwId=cgw_id, bgpEnabled=False
    )["vpnConnectionId"]
    creating = _get(api, "vpnConnection", connection_id)
    assert (creating["status"], creating["cloudPublicIp"]) == ("creating", [])
    expect_error(
        api,
        "CreateVpnTunnel",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"VPN connection {connection_id} is still being created",
        vpnConnectionId=connection_id,
        cloudPublicIp="116.196.0.9",
        customerIp=CGW_IPS[0],
        psk="Test_PSK_1",
    )
    ips = provisioned_cloud_ips(api, REGION, connection_id)
    assert len(ips) == 2 and _get(api, "vpnConnection", connection_id)["status"] == "active"


def test_a_stuck_provisioning_keeps_the_cloud_ips_hidden(api, control, latencies):
    latencies(vpn_connection_provision=0)  # due at once: only the stuck fault holds it
    bgw_id, cgw_id = _bgw(api), _cgw(api)
    control.put("/faults", json={"stuck_transitions": [{"transition": "vpn_connection_provision"}]}).raise_for_status()
    connection_id = api.call(
        "CreateVpnConnection", REGION, vpnConnectionName="vpn", bgwId=bgw_id, cgwId=cgw_id, bgpEnabled=False
    )["vpnConnectionId"]
    assert _get(api, "vpnConnection", connection_id)["cloudPublicIp"] == []
    control.delete("/faults").raise_for_status()
    assert len(provisioned_cloud_ips(api, REGION, connection_id)) == 2


def test_vpn_connection_gets_two_distinct_public_cloud_ips(api):
    bgw_id, cgw_id = _bgw(api), _cgw(api)
    first_id, first_ips = _connection(api, bgw_id, cgw_id, "vpn-1")
    _, second_ips = _connection(api, bgw_id, cgw_id, "vpn-2")
    assert len(first_ips) == 2 and len(set(first_ips + second_ips)) == 4
    connection = _get(api, "vpnConnection", first_id)
    assert (connection["bgwId"], connection["cgwId"], connection["bgpEnabled"]) == (bgw_id, cgw_id, False)
    assert (connection["localAsn"], connection["providers"], connection["haStatus"]) == (
        65000,
        ["bgp", "bgp"],
        "no_redundancy",
    )
    assert connection["charge"]["chargeMode"] == "postpaid_by_usage"
    assert _get(api, "bgw", bgw_id)["vpnConnectionIds"] == [
        first_id,
        _connection_id_of(api, "vpn-2"),
    ]
    # Every cloud IP is usable as a CGW IP on the other side, i.e. publicly routable.
    _cgw(api, first_ips, name="mirror", region=OTHER_REGION)


def _connection_id_of(api, name: str) -> str:
    found = api.call("DescribeVpnConnections", REGION, filters=[Filter("vpnConnectionNames", [name])])["vpnConnections"]
    return found[0]["vpnConnectionId"]


def test_tunnel_defaults_match_the_sdk_comments(api, stack):
    tunnel = _get(api, "vpnTunnel", stack.tunnel_id)
    expected = {
        "vpnConnectionId": stack.connection_id,
        "cloudPublicIp": stack.cloud_ips[0],
        "customerIp": CGW_IPS[0],
        "localId": stack.cloud_ips[0],
        "remoteId": CGW_IPS[0],
        "psk": "Test_PSK_1",
        **RECOMMENDED_TUNNEL,
        "ipsecSaLifepkt": 0,
        "ipsecSaLifebyte": 0,
        "adminStatus": "UP",
        "opStatus": "DOWN",  # no peer
    }
    assert {k: tunnel[k] for k in expected} == expected


def test_describe_connections_returns_empty(api, control):
    assert api.call("DescribeConnections", REGION) == {"connections": [], "totalCount": 0}
    filtered = api.call("DescribeConnections", REGION, filters=[Filter("connectionIds", ["c-1", "c-2"])])
    assert filtered == {"connections": [], "totalCount": 0}
    [entry, _] = control.get("/requests", params={"operation": "DescribeConnections"}).json()["requests"]
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", f"/v1/regions/{REGION}/connections/", 200)


def test_modify_admin_status_path_and_effect(api, control, stack):
    assert api.call("ModifyAdminStatus", REGION, vpnTunnelId=stack.tunnel_id, adminStatus="DOWN") == {}
    assert _get(api, "vpnTunnel", stack.tunnel_id)["adminStatus"] == "DOWN"
    [entry] = control.get("/requests", params={"operation": "ModifyAdminStatus"}).json()["requests"]
    assert (entry["service"], entry["method"]) == ("bgw", "POST")
    assert entry["path"] == f"/v1/regions/{REGION}/vpnTunnels/{stack.tunnel_id}:adminStatus"
    expect_error(
        api,
        "ModifyAdminStatus",
        REGION,
        400,
        "INVALID_ARGUMENT",
        "adminStatus must be one of: UP, DOWN",
        vpnTunnelId=stack.tunnel_id,
        adminStatus="down",
    )
    expect_error(
        api,
        "ModifyAdminStatus",
        REGION,
        404,
        "NOT_FOUND",
        "vpnTunnel vpntnl-nope not found",
        vpnTunnelId="vpntnl-nope",
        adminStatus="UP",
    )


# ---------------------------------------------------------------- quotas and uniqueness


def test_bgw_quota_is_5_per_region(api):
    ids = [_bgw(api, f"gw-{i}") for i in range(5)]
    expect_error(
        api, "CreateBgw", REGION, 429, "QUOTA_EXCEEDED", "at most 5 border gateways per region", bgwName="gw-5"
    )
    _bgw(api, "elsewhere", region=OTHER_REGION)
    api.call("DeleteBgw", REGION, bgwId=ids[0])
    _bgw(api, "gw-5")


def test_cgw_quota_is_10_per_region(api):
    for i in range(10):
        _cgw(api, [f"1.0.1.{i + 1}"], name=f"cgw-{i}")
    expect_error(
        api,
        "CreateCustomerGateway",
        REGION,
        429,
        "QUOTA_EXCEEDED",
        "at most 10 customer gateways per region",
        customerGatewayName="cgw-10",
        customerIps=["1.0.2.1"],
        bgpAsn=65001,
    )
    _cgw(api, ["1.0.2.1"], region=OTHER_REGION)


def test_10_vpn_connections_per_bgw(api):
    bgw_id, cgw_id = _bgw(api), _cgw(api)
    for i in range(10):
        _connection(api, bgw_id, cgw_id, f"vpn-{i}")
    expect_error(
        api,
        "CreateVpnConnection",
        REGION,
        429,
        "QUOTA_EXCEEDED",
        "at most 10 VPN connections per border gateway",
        vpnConnectionName="vpn-10",
        bgwId=bgw_id,
        cgwId=cgw_id,
    )
    _connection(api, _bgw(api, "gw-2"), cgw_id, "vpn-10")


def test_one_attachment_per_vpc_and_bgw(api):
    bgw_id, other_bgw = _bgw(api), _bgw(api, "gw-2")
    vpc_id, _ = _vpc(api, "10.70.0.0/16", [])
    _attach(api, bgw_id, vpc_id)
    expect_error(
        api,
        "CreateVpcAttachment",
        REGION,
        409,
        "ALREADY_EXISTS",
        f"vpc {vpc_id} is already attached to border gateway {bgw_id}",
        vpcAttachmentName="again",
        bgwId=bgw_id,
        vpcId=vpc_id,
        propagateType="none",
    )
    _attach(api, other_bgw, vpc_id)  # the same VPC on another BGW is fine
    attachments = api.call("DescribeVpcAttachments", REGION, filters=[Filter("vpcId", [vpc_id])])
    assert sorted(a["bgwId"] for a in attachments["vpcAttachments"]) == sorted([bgw_id, other_bgw])


@pytest.mark.parametrize(
    ("cgw_ips", "limit"), [(["1.0.0.1"], 2), (["1.0.0.1", "1.0.0.2"], 4), ([f"1.0.0.{i}" for i in range(1, 5)], 8)]
)
def test_tunnels_are_limited_to_cloud_ips_times_cgw_ips(api, cgw_ips, limit):
    connection_id, cloud_ips = _connection(api, _bgw(api), _cgw(api, cgw_ips))
    for cloud_ip in cloud_ips:
        for customer_ip in cgw_ips:
            _tunnel(api, connection_id, cloud_ip, customer_ip)
    expect_error(
        api,
        "CreateVpnTunnel",
        REGION,
        429,
        "QUOTA_EXCEEDED",
        f"at most {limit} tunnels (cloud IPs x customer gateway IPs)",
        vpnConnectionId=connection_id,
        cloudPublicIp=cloud_ips[0],
        customerIp=cgw_ips[0],
        psk="Test_PSK_1",
    )


def test_one_tunnel_per_ip_pair(api, stack):
    expect_error(
        api,
        "CreateVpnTunnel",
        REGION,
        409,
        "ALREADY_EXISTS",
        f"a VPN tunnel between {stack.cloud_ips[0]} and {CGW_IPS[0]} already exists",
        vpnConnectionId=stack.connection_id,
        cloudPublicIp=stack.cloud_ips[0],
        customerIp=CGW_IPS[0],
        psk="Other_1",
    )
    _tunnel(api, stack.connection_id, stack.cloud_ips[0], CGW_IPS[1])
    _tunnel(api, stack.connection_id, stack.cloud_ips[1], CGW_IPS[0])


def test_tunnel_ips_must_belong_to_the_connection_and_cgw(api, stack):
    not_cloud_ip = f"cloudPublicIp 9.9.9.9 is not a cloud IP of VPN connection {stack.connection_id}"
    _expect_new_tunnel_error(api, stack, "INVALID_ARGUMENT", not_cloud_ip, cloudPublicIp="9.9.9.9", psk="p")
    not_cgw_ip = f"customerIp 9.9.9.9 is not an IP of customer gateway {stack.cgw_id}"
    _expect_new_tunnel_error(api, stack, "INVALID_ARGUMENT", not_cgw_ip, customerIp="9.9.9.9", psk="p")


def test_50_static_routes_per_bgw(api, stack):
    for i in range(50):
        _route(api, stack.bgw_id, f"10.100.{i}.0/24", stack.connection_id, bgwNexthopType="vpn_connection")
    expect_error(
        api,
        "CreateBgwRoute",
        REGION,
        429,
        "QUOTA_EXCEEDED",
        "at most 50 static routes per border gateway",
        bgwId=stack.bgw_id,
        bgwRouteDestination="10.101.0.0/24",
        bgwNexthopType="vpn_connection",
        bgwRouteNexthop=stack.connection_id,
    )
    static = api.call(
        "DescribeBgwRoutes", REGION, bgwId=stack.bgw_id, filters=[Filter("origin", ["static"])], pageSize=100
    )
    assert (static["totalCount"], len(static["bgwRoutes"])) == (50, 50)


def test_duplicate_static_route_is_409(api, stack):
    params = {
        "bgwRouteDestination": "10.80.0.0/16",
        "bgwNexthopType": "vpn_connection",
        "bgwRouteNexthop": stack.connection_id,
    }
    api.call("CreateBgwRoute", REGION, bgwId=stack.bgw_id, **params)
    expect_error(
        api,
        "CreateBgwRoute",
        REGION,
        409,
        "ALREADY_EXISTS",
        f"already routes 10.80.0.0/16 to {stack.connection_id}",
        bgwId=stack.bgw_id,
        **params,
    )


# ---------------------------------------------------------------- delete preconditions


def test_bgw_with_attachments_or_connections_cannot_be_deleted(api, stack):
    def expect_still_has(dependants: str) -> None:
        message = f"border gateway {stack.bgw_id} still has {dependants}"
        expect_error(api, "DeleteBgw", REGION, 400, "FAILED_PRECONDITION", message, bgwId=stack.bgw_id)

    expect_still_has("VPC attachments")
    _delete_and_wait(api, "vpcAttachment", stack.attachment_id)
    expect_still_has("VPN connections")


def test_attached_vpc_cannot_be_deleted(api):
    vpc_id, _ = _vpc(api, "10.70.0.0/16", [])
    attachment_id = _attach(api, _bgw(api), vpc_id)
    expect_error(
        api,
        "DeleteVpc",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"vpc {vpc_id} is attached to a border gateway",
        vpcId=vpc_id,
    )
    _delete_and_wait(api, "vpcAttachment", attachment_id)
    assert api.call("DeleteVpc", REGION, vpcId=vpc_id) == {}


@pytest.mark.parametrize(
    ("operation", "id_param", "message"),
    [
        (
            "DeleteCustomerGateway",
            "customerGatewayId",
            "customer gateway {cgw_id} is used by VPN connection {connection_id}",
        ),
        ("DeleteVpnConnection", "vpnConnectionId", "VPN connection {connection_id} still has VPN tunnels"),
        ("DeleteVpnTunnel", "vpnTunnelId", "VPN tunnel {tunnel_id} must have adminStatus DOWN before it is deleted"),
    ],
    ids=["cgw_used_by_a_connection", "connection_with_tunnels", "tunnel_with_admin_status_up"],
)
def test_resources_in_use_cannot_be_deleted(api, stack, operation, id_param, message):
    ids = {"customerGatewayId": stack.cgw_id, "vpnConnectionId": stack.connection_id, "vpnTunnelId": stack.tunnel_id}
    message = message.format(**vars(stack))
    expect_error(api, operation, REGION, 400, "FAILED_PRECONDITION", message, **{id_param: ids[id_param]})


def test_connection_used_by_a_static_route_cannot_be_deleted(api, stack):
    route_id = _route(api, stack.bgw_id, "10.80.0.0/16", stack.connection_id)
    _delete_tunnel(api, stack.tunnel_id)
    expect_error(
        api,
        "DeleteVpnConnection",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"static route {route_id} uses VPN connection {stack.connection_id}",
        vpnConnectionId=stack.connection_id,
    )


def test_teardown_in_dependency_order_succeeds(api, control, stack):
    """Each delete waits for the one before it to finish (tunnel hold, connection and attachment ``deleting``)."""
    _delete_tunnel(api, stack.tunnel_id)
    _delete_and_wait(api, "vpnConnection", stack.connection_id)
    assert api.call("DeleteCustomerGateway", REGION, customerGatewayId=stack.cgw_id) == {}
    _delete_and_wait(api, "vpcAttachment", stack.attachment_id)
    assert api.call("DeleteBgw", REGION, bgwId=stack.bgw_id) == {}
    state = control.get("/state").json()
    for kind in ("bgws", "vpcAttachments", "customerGateways", "vpnConnections", "vpnTunnels", "bgwRoutes"):
        assert state[kind] == [], kind


# ---------------------------------------------------------------- deletes take time


def _listed(api, kind: str, resource_id: str) -> list[dict]:
    """The resource as ``Describe<Kind>s`` lists it, filtered by id (empty once it is gone)."""
    plural = f"{kind}s"
    found = api.call(
        f"Describe{kind[0].upper()}{plural[1:]}", REGION, filters=[Filter(f"{plural[:-1]}Ids", [resource_id])]
    )
    return found[plural]


def test_deleted_vpn_connection_is_deleting_then_gone(api, control, stack, latencies):
    latencies(vpn_connection_delete=500)  # 1 s: time for the checks below
    _delete_tunnel(api, stack.tunnel_id)
    assert _get(api, "vpnConnection", stack.connection_id)["status"] == "active"
    assert api.call("DeleteVpnConnection", REGION, vpnConnectionId=stack.connection_id) == {}

    described = _get(api, "vpnConnection", stack.connection_id)
    assert (described["status"], described["haStatus"]) == ("deleting", "no_redundancy")
    assert [c["status"] for c in _listed(api, "vpnConnection", stack.connection_id)] == ["deleting"]
    assert _get(api, "bgw", stack.bgw_id)["vpnConnectionIds"] == [stack.connection_id]
    state = control.get("/state").json()
    assert [(c["vpnConnectionId"], c["status"]) for c in state["vpnConnections"]] == [(stack.connection_id, "deleting")]
    being_deleted = f"VPN connection {stack.connection_id} is being deleted"
    for operation, params in [
        ("DeleteVpnConnection", {"vpnConnectionId": stack.connection_id}),
        ("ModifyVpnConnection", {"vpnConnectionId": stack.connection_id, "description": "x"}),
        (
            "CreateVpnTunnel",
            {
                "vpnConnectionId": stack.connection_id,
                "cloudPublicIp": stack.cloud_ips[0],
                "customerIp": CGW_IPS[0],
                "psk": "Test_PSK_1",
            },
        ),
        (
            "CreateBgwRoute",
            {"bgwId": stack.bgw_id, "bgwRouteDestination": "10.80.0.0/16", "bgwRouteNexthop": stack.connection_id},
        ),
    ]:
        expect_error(api, operation, REGION, 400, "FAILED_PRECONDITION", being_deleted, **params)
    # Its customer gateway and border gateway are still in use until it is gone.
    expect_error(
        api,
        "DeleteCustomerGateway",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"customer gateway {stack.cgw_id} is used by VPN connection {stack.connection_id}, which is being deleted",
        customerGatewayId=stack.cgw_id,
    )
    _delete_and_wait(api, "vpcAttachment", stack.attachment_id)
    expect_error(
        api,
        "DeleteBgw",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"border gateway {stack.bgw_id} still has VPN connections ({stack.connection_id} being deleted)",
        bgwId=stack.bgw_id,
    )

    api.wait_for(lambda: _gone(api, "vpnConnection", stack.connection_id))
    assert _listed(api, "vpnConnection", stack.connection_id) == []
    expect_error(api, "DeleteVpnConnection", REGION, 404, "NOT_FOUND", "not found", vpnConnectionId=stack.connection_id)
    assert control.get("/state").json()["vpnConnections"] == []
    assert api.call("DeleteCustomerGateway", REGION, customerGatewayId=stack.cgw_id) == {}
    assert api.call("DeleteBgw", REGION, bgwId=stack.bgw_id) == {}


def test_deleted_vpc_attachment_is_deleting_then_gone(api, control, stack, latencies):
    latencies(attachment_delete=500)  # 1 s: time for the checks below
    assert api.wait_for(lambda: _propagated(api, stack.bgw_id)) == [("10.70.1.0/24", stack.attachment_id)]
    assert api.call("DeleteVpcAttachment", REGION, vpcAttachmentId=stack.attachment_id) == {}

    assert _get(api, "vpcAttachment", stack.attachment_id)["status"] == "deleting"
    assert [a["status"] for a in _listed(api, "vpcAttachment", stack.attachment_id)] == ["deleting"]
    assert _get(api, "bgw", stack.bgw_id)["vpcAttachmentIds"] == [stack.attachment_id]
    state = control.get("/state").json()
    assert [(a["vpcAttachmentId"], a["status"]) for a in state["vpcAttachments"]] == [(stack.attachment_id, "deleting")]
    # It stops propagating at once, both ways.
    assert _propagated(api, stack.bgw_id) == []
    table_id = _get(api, "vpc", stack.vpc_id)["routeTableIds"][0]
    assert api.call("DescribeRouteTable", REGION, routeTableId=table_id)["routeTable"]["routePropagations"] == []
    being_deleted = f"vpc attachment {stack.attachment_id} is being deleted"
    expect_error(
        api,
        "DeleteVpcAttachment",
        REGION,
        400,
        "FAILED_PRECONDITION",
        being_deleted,
        vpcAttachmentId=stack.attachment_id,
    )
    expect_error(
        api,
        "ModifyVpcAttachment",
        REGION,
        400,
        "FAILED_PRECONDITION",
        being_deleted,
        vpcAttachmentId=stack.attachment_id,
        vpcAttachmentName="renamed",
    )
    deleting = f"({stack.attachment_id} being deleted)"
    message = f"border gateway {stack.bgw_id} still has VPC attachments {deleting}"
    expect_error(api, "DeleteBgw", REGION, 400, "FAILED_PRECONDITION", message, bgwId=stack.bgw_id)
    for subnet in api.call("DescribeSubnets", REGION, filters=[Filter("vpcId", [stack.vpc_id])])["subnets"]:
        api.call("DeleteSubnet", REGION, subnetId=subnet["subnetId"])
    message = f"vpc {stack.vpc_id} is attached to a border gateway {deleting}"
    expect_error(api, "DeleteVpc", REGION, 400, "FAILED_PRECONDITION", message, vpcId=stack.vpc_id)

    api.wait_for(lambda: _gone(api, "vpcAttachment", stack.attachment_id))
    assert _listed(api, "vpcAttachment", stack.attachment_id) == []
    assert _get(api, "bgw", stack.bgw_id)["vpcAttachmentIds"] == []
    assert control.get("/state").json()["vpcAttachments"] == []
    assert api.call("DeleteVpc", REGION, vpcId=stack.vpc_id) == {}


def test_tunnel_set_down_can_be_deleted_only_after_a_moment(api, stack, latencies):
    latencies(tunnel_admin_down=150)  # 0.3 s
    api.call("ModifyAdminStatus", REGION, vpnTunnelId=stack.tunnel_id, adminStatus="DOWN")
    assert _get(api, "vpnTunnel", stack.tunnel_id)["adminStatus"] == "DOWN"  # the flag shows at once
    message = f"VPN tunnel {stack.tunnel_id} is still going down"
    expect_error(api, "DeleteVpnTunnel", REGION, 400, "FAILED_PRECONDITION", message, vpnTunnelId=stack.tunnel_id)
    # Setting DOWN again does not restart the hold: re-sending it before every try still lets a delete through.
    api.wait_for(
        lambda: (
            _accepted(api, "ModifyAdminStatus", vpnTunnelId=stack.tunnel_id, adminStatus="DOWN")
            and _accepted(api, "DeleteVpnTunnel", vpnTunnelId=stack.tunnel_id)
        )
    )
    assert _gone(api, "vpnTunnel", stack.tunnel_id)


# ---------------------------------------------------------------- customer gateway rules


def test_cgw_ips_can_change_until_a_tunnel_uses_the_cgw(api):
    cgw_id = _cgw(api)
    connection_id, cloud_ips = _connection(api, _bgw(api), cgw_id)
    new_ips = ["2.0.0.1", "2.0.0.2"]
    assert api.call("ModifyCustomerGateway", REGION, customerGatewayId=cgw_id, customerIps=new_ips) == {}
    assert _get(api, "customerGateway", cgw_id)["customerIps"] == new_ips
    _tunnel(api, connection_id, cloud_ips[0], new_ips[0])
    expect_error(
        api,
        "ModifyCustomerGateway",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"customerIps of customer gateway {cgw_id} cannot change once a VPN tunnel uses it",
        customerGatewayId=cgw_id,
        customerIps=["3.0.0.1", "3.0.0.2"],
    )
    # Same IPs, name and description are still fine; the ASN never changes.
    api.call(
        "ModifyCustomerGateway", REGION, customerGatewayId=cgw_id, customerIps=new_ips, customerGatewayName="renamed"
    )
    expect_error(
        api,
        "ModifyCustomerGateway",
        REGION,
        400,
        "INVALID_ARGUMENT",
        "bgpAsn cannot be modified",
        customerGatewayId=cgw_id,
        bgpAsn=65002,
    )
    cgw = _get(api, "customerGateway", cgw_id)
    assert (cgw["customerGatewayName"], cgw["customerIps"], cgw["bgpAsn"]) == ("renamed", new_ips, 65001)


@pytest.mark.parametrize(
    ("asn", "status", "message"),
    [
        (65000, "OUT_OF_RANGE", "bgpAsn must be in [65001, 65499]"),
        (65500, "OUT_OF_RANGE", "bgpAsn must be in [65001, 65499]"),
        (64512, "OUT_OF_RANGE", "bgpAsn must be in [65001, 65499]"),
        ("65001", "INVALID_ARGUMENT", "bgpAsn must be an integer"),
        (None, "INVALID_ARGUMENT", "bgpAsn is required"),
    ],
)
def test_cgw_bgp_asn_range(api, asn, status, message):
    expect_error(
        api,
        "CreateCustomerGateway",
        REGION,
        400,
        status,
        message,
        customerGatewayName="c",
        customerIps=CGW_IPS,
        bgpAsn=asn,
    )


@pytest.mark.parametrize(
    ("ips", "message"),
    [
        ([], "customerIps is required"),
        (["1.0.0.1", "1.0.0.2", "1.0.0.3"], "customerIps must hold 1, 2 or 4 IPv4 addresses"),
        ([f"1.0.0.{i}" for i in range(1, 6)], "customerIps must hold 1, 2 or 4 IPv4 addresses"),
        ("1.0.0.1", "customerIps must hold 1, 2 or 4 IPv4 addresses"),
        (["1.0.0.1", "1.0.0.1"], "customerIps must not repeat an address"),
        (["10.0.0.1"], "customerIps 10.0.0.1 is not a publicly routable IPv4 address"),
        (["192.168.1.1", "1.0.0.1"], "customerIps 192.168.1.1 is not a publicly routable IPv4 address"),
        (["100.64.0.1"], "customerIps 100.64.0.1 is not a publicly routable IPv4 address"),
        (["127.0.0.1"], "customerIps 127.0.0.1 is not a publicly routable IPv4 address"),
        (["1.0.0.256"], "customerIps must be an IPv4 address"),
    ],
)
def test_cgw_customer_ips_rules(api, ips, message):
    expect_error(
        api,
        "CreateCustomerGateway",
        REGION,
        400,
        "INVALID_ARGUMENT",
        message,
        customerGatewayName="c",
        customerIps=ips,
        bgpAsn=65001,
    )


def test_cgw_accepts_1_2_or_4_ips(api):
    for count in (1, 2, 4):
        ips = [f"1.0.{count}.{i}" for i in range(1, count + 1)]
        cgw_id = _cgw(api, ips, name=f"cgw-{count}")
        assert _get(api, "customerGateway", cgw_id)["customerIps"] == ips


# ---------------------------------------------------------------- tunnel parameter rules


@pytest.mark.parametrize(
    ("psk", "message"),
    [
        ("has space", "psk must be 1-20 characters of letters, digits, '_' or '-'"),
        ("semi;colon", "psk must be 1-20 characters of letters, digits, '_' or '-'"),
        ("pässword", "psk must be 1-20 characters of letters, digits, '_' or '-'"),
        ("a" * 21, "psk must be 1-20 characters of letters, digits, '_' or '-'"),
        ("", "psk must be 1-20 characters of letters, digits, '_' or '-'"),
        ("0xdeadbeef", "psk must not start with 0x or 0s"),
        ("0sAbC", "psk must not start with 0x or 0s"),
        ("0Xdead", "psk must not start with 0x or 0s"),
    ],
)
def test_psk_rules(api, stack, psk, message):
    _expect_tunnel_fields_refused(api, stack, "INVALID_ARGUMENT", message, psk=psk)


@pytest.mark.parametrize("psk", ["a" * 20, "x", "Ab_-09", "s0x"])
def test_valid_psks_are_accepted(api, stack, psk):
    api.call("ModifyVpnTunnel", REGION, vpnTunnelId=stack.tunnel_id, psk=psk)
    assert _get(api, "vpnTunnel", stack.tunnel_id)["psk"] == psk


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ikeSaLifeSec", 59, "ikeSaLifeSec must be in [60, 86400]"),
        ("ikeSaLifeSec", 86401, "ikeSaLifeSec must be in [60, 86400]"),
        ("ipsecSaLifeSec", 59, "ipsecSaLifeSec must be in [60, 86400]"),
        ("ipsecSaLifeSec", 86401, "ipsecSaLifeSec must be in [60, 86400]"),
        ("ipsecSaLifepkt", 100_000_001, "ipsecSaLifepkt must be in [0, 100000000]"),
        ("ipsecSaLifebyte", -1, "ipsecSaLifebyte must be in [0, 107374182400]"),
        ("bandwidthMbps", 1501, "bandwidthMbps must be in [1, 1500]"),
    ],
)
def test_tunnel_lifetimes_out_of_range(api, stack, field, value, message):
    _expect_tunnel_fields_refused(api, stack, "OUT_OF_RANGE", message, **{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [("ikeSaLifeSec", 60), ("ikeSaLifeSec", 86400), ("ipsecSaLifeSec", 60), ("ipsecSaLifeSec", 86400)],
)
def test_tunnel_lifetime_bounds_are_inclusive(api, stack, field, value):
    api.call("ModifyVpnTunnel", REGION, vpnTunnelId=stack.tunnel_id, **{field: value})
    assert _get(api, "vpnTunnel", stack.tunnel_id)[field] == value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ikeVersion", "v3"),
        ("ikeVersion", "V2"),
        ("ikeMode", "quick"),
        ("ikeCipher", "des"),
        ("ikeCipher", "aes512"),
        ("ipsecCipher", "3des"),  # allowed for IKE, not for IPsec
        ("ikeAuth", "md5"),
        ("ipsecAuth", "sha512"),
        ("ikeKeyExchange", "modp768"),
        ("ikeKeyExchange", "null"),  # PFS can be off, IKE DH cannot
        ("ipsecKeyExchange", "ecp521"),
        ("ikeDpdSec", 30),
    ],
)
def test_bad_ike_ipsec_choices_are_invalid_argument(api, stack, field, value):
    _expect_tunnel_fields_refused(api, stack, "INVALID_ARGUMENT", f"{field} must be one of:", **{field: value})


def test_ipsec_key_exchange_null_means_no_pfs(api, stack):
    api.call("ModifyVpnTunnel", REGION, vpnTunnelId=stack.tunnel_id, ipsecKeyExchange="modp2048")
    assert _get(api, "vpnTunnel", stack.tunnel_id)["ipsecKeyExchange"] == "modp2048"
    api.call("ModifyVpnTunnel", REGION, vpnTunnelId=stack.tunnel_id, ipsecKeyExchange="null")
    assert _get(api, "vpnTunnel", stack.tunnel_id)["ipsecKeyExchange"] is None


@pytest.mark.parametrize("field", ["cloudPublicIp", "customerIp", "vpnConnectionId"])
def test_tunnel_endpoints_cannot_be_modified(api, stack, field):
    expect_error(
        api,
        "ModifyVpnTunnel",
        REGION,
        400,
        "INVALID_ARGUMENT",
        f"{field} of a VPN tunnel cannot be modified",
        vpnTunnelId=stack.tunnel_id,
        **{field: "1.2.3.4"},
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tunnelIp": "169.254.1.0/29"}, "tunnelIp must be a /30 inside"),
        ({"tunnelIp": "100.64.0.0/30"}, "tunnelIp must be a /30 inside"),
        ({"tunnelIp": "169.254.1.0/30", "localTunnelIp": "169.254.1.3"}, "localTunnelIp must be a usable address"),
        ({"localTunnelIp": "169.254.1.1"}, "localTunnelIp requires tunnelIp"),
        ({"tunnelIp": "169.254.9.0/30"}, "tunnelIp 169.254.9.0/30 clashes with tunnel"),
    ],
)
def test_tunnel_inner_ip_rules(api, stack, params, message):
    api.call("ModifyVpnTunnel", REGION, vpnTunnelId=stack.tunnel_id, tunnelIp="169.254.9.0/30")
    _expect_new_tunnel_error(api, stack, "INVALID_ARGUMENT", message, psk="ok", **params)


def test_tunnel_inner_ips_are_split(api, stack):
    tunnel_id = _tunnel(
        api, stack.connection_id, stack.cloud_ips[1], CGW_IPS[1], tunnelIp="169.254.1.0/30", localTunnelIp="169.254.1.2"
    )
    tunnel = _get(api, "vpnTunnel", tunnel_id)
    assert (tunnel["tunnelIp"], tunnel["localTunnelIp"], tunnel["remoteTunnelIp"]) == (
        "169.254.1.0/30",
        "169.254.1.2",
        "169.254.1.1",
    )


# ---------------------------------------------------------------- names


NAME_OPERATIONS = {
    "bgwName": ("CreateBgw", {}),
    "customerGatewayName": ("CreateCustomerGateway", {"customerIps": CGW_IPS, "bgpAsn": 65001}),
    "vpcName": ("CreateVpc", {}),
}


@pytest.mark.parametrize("name", ["x" * 33, "has space", "dot.ted", "slash/ed", "emoji🙂", ""])
@pytest.mark.parametrize("field", sorted(NAME_OPERATIONS))
def test_bad_names_are_400(api, field, name):
    operation, params = NAME_OPERATIONS[field]
    message = f"{field} is required" if name == "" else f"{field} must be 1-32 characters"
    expect_error(api, operation, REGION, 400, "INVALID_ARGUMENT", message, **{field: name}, **params)


@pytest.mark.parametrize("name", ["x" * 33, "bad name"])
def test_bad_connection_and_attachment_names_are_400(api, stack, name):
    attachment = {"bgwId": _bgw(api, "gw-2"), "vpcId": stack.vpc_id, "propagateType": "all"}
    requests = [
        ("CreateVpnConnection", "vpnConnectionName", {"bgwId": stack.bgw_id, "cgwId": stack.cgw_id}),
        ("CreateVpcAttachment", "vpcAttachmentName", attachment),
        ("ModifyBgw", "bgwName", {"bgwId": stack.bgw_id}),
    ]
    for operation, field, params in requests:
        message = f"{field} must be 1-32 characters"
        expect_error(api, operation, REGION, 400, "INVALID_ARGUMENT", message, **{field: name}, **params)


@pytest.mark.parametrize("name", ["x" * 32, "a", "Name_with-dash_9", "中文名称"])
def test_good_names_are_accepted(api, name):
    assert _get(api, "bgw", _bgw(api, name))["bgwName"] == name


# ---------------------------------------------------------------- HA status


def test_ha_status_is_redundancy_only_with_an_up_tunnel_on_both_cloud_ips(api):
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)

    def ha(site) -> str:
        return _connection_of(api, site)["haStatus"]

    assert (ha(home), ha(peer)) == ("redundancy", "redundancy")
    api.call("ModifyAdminStatus", home.region, vpnTunnelId=home.tunnel_ids[0], adminStatus="DOWN")
    # One cloud IP lost its only tunnel on both sides: one UP tunnel is not redundancy.
    assert (ha(home), ha(peer)) == ("no_redundancy", "no_redundancy")
    api.call("ModifyAdminStatus", home.region, vpnTunnelId=home.tunnel_ids[0], adminStatus="UP")
    api.wait_for(lambda: (ha(home), ha(peer)) == ("redundancy", "redundancy"))


def test_ha_status_needs_a_cgw_with_two_ips(api):
    # Home's CGW lists only one of the peer's cloud IPs: home's two tunnels share it, the peer uses one cloud IP.
    home, peer = build_sites(api, with_vms=False)
    create_connections(api, home, peer, home_sees=1)
    for home_ip in home.cloud_ips:
        add_tunnel(api, home, home_ip, peer.cloud_ips[0])
        add_tunnel(api, peer, peer.cloud_ips[0], home_ip)
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
    for site in (home, peer):
        assert _connection_of(api, site)["haStatus"] == "no_redundancy", site.region


def _connection_of(api, site: Site) -> dict:
    return api.call("DescribeVpnConnection", site.region, vpnConnectionId=site.connection_id)["vpnConnection"]


# ---------------------------------------------------------------- VPC attachments and propagation


def test_attachment_is_creating_then_active(api, latencies):
    latencies(attachment_create=150)
    bgw_id = _bgw(api)
    vpc_id, _ = _vpc(api, "10.70.0.0/16", ["10.70.1.0/24"])
    attachment_id = _attach(api, bgw_id, vpc_id)
    attachment = _get(api, "vpcAttachment", attachment_id)
    assert (attachment["status"], attachment["bgwId"], attachment["vpcId"]) == ("creating", bgw_id, vpc_id)
    assert _get(api, "bgw", bgw_id)["vpcAttachmentIds"] == [attachment_id]
    assert _propagated(api, bgw_id) == []
    api.wait_for(lambda: _get(api, "vpcAttachment", attachment_id)["status"] == "active")
    assert api.wait_for(lambda: _propagated(api, bgw_id)) == [("10.70.1.0/24", attachment_id)]


def test_propagate_type_all_partial_none(api):
    bgw_all, bgw_partial, bgw_none = _bgw(api, "all"), _bgw(api, "partial"), _bgw(api, "none")
    vpc_id, [first, second] = _vpc(api, "10.70.0.0/16", ["10.70.1.0/24", "10.70.2.0/24"])
    att_all = _attach(api, bgw_all, vpc_id, "all")
    att_partial = _attach(api, bgw_partial, vpc_id, "partial", subnetIds=[second])
    att_none = _attach(api, bgw_none, vpc_id, "none")

    def infos(attachment_id: str) -> list[tuple[str, str]]:
        found = _get(api, "vpcAttachment", attachment_id)["propagateCidrInfos"]
        return sorted((i["subnetId"], i["subnetCidr"]) for i in found)

    assert infos(att_all) == sorted([(first, "10.70.1.0/24"), (second, "10.70.2.0/24")])
    assert infos(att_partial) == [(second, "10.70.2.0/24")]
    assert infos(att_none) == []
    assert api.wait_for(lambda: _propagated(api, bgw_all)) == [("10.70.1.0/24", att_all), ("10.70.2.0/24", att_all)]
    assert api.wait_for(lambda: _propagated(api, bgw_partial)) == [("10.70.2.0/24", att_partial)]
    assert _propagated(api, bgw_none) == []
    route = _routes(api, bgw_all, Filter("origin", ["propagated"]))[0]
    assert (route["origin"], route["bgwRouteNextHopType"], route["bgwId"]) == ("propagated", "vpcAttachment", bgw_all)

    # "all" includes subnets added later; "partial" does not.
    third = api.call("CreateSubnet", REGION, vpcId=vpc_id, subnetName="late", addressPrefix="10.70.3.0/24")["subnetId"]
    assert (third, "10.70.3.0/24") in infos(att_all)
    assert ("10.70.3.0/24", att_all) in _propagated(api, bgw_all)
    assert _propagated(api, bgw_partial) == [("10.70.2.0/24", att_partial)]


def test_modify_attachment_replaces_propagation(api):
    bgw_id = _bgw(api)
    vpc_id, [first, _] = _vpc(api, "10.70.0.0/16", ["10.70.1.0/24", "10.70.2.0/24"])
    attachment_id = _attach(api, bgw_id, vpc_id, "none")
    api.wait_for(lambda: _get(api, "vpcAttachment", attachment_id)["status"] == "active")
    assert _propagated(api, bgw_id) == []
    api.call(
        "ModifyVpcAttachment",
        REGION,
        vpcAttachmentId=attachment_id,
        propagationAttribute={"vpcId": vpc_id, "propagateType": "partial", "subnetIds": [first]},
    )
    assert _get(api, "vpcAttachment", attachment_id)["propagateType"] == "partial"
    assert api.wait_for(lambda: _propagated(api, bgw_id)) == [("10.70.1.0/24", attachment_id)]
    api.call(
        "ModifyVpcAttachment",
        REGION,
        vpcAttachmentId=attachment_id,
        propagationAttribute={"vpcId": vpc_id, "propagateType": "all"},
    )
    assert _propagated(api, bgw_id) == [("10.70.1.0/24", attachment_id), ("10.70.2.0/24", attachment_id)]
    expect_error(
        api,
        "ModifyVpcAttachment",
        REGION,
        400,
        "INVALID_ARGUMENT",
        "propagationAttribute.vpcId must be the attachment's vpcId",
        vpcAttachmentId=attachment_id,
        propagationAttribute={"vpcId": "vpc-other", "propagateType": "all"},
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"propagateType": "some"}, "propagateType must be one of: all, partial, none"),
        ({"propagateType": "partial"}, "subnetIds is required when propagateType is partial"),
        ({"propagateType": "partial", "subnetIds": ["SUBNET", "SUBNET"]}, "subnetIds must not repeat a subnet"),
        ({"propagateType": "partial", "subnetIds": ["OTHER"]}, "is not in vpc"),
    ],
)
def test_bad_propagation_is_400(api, params, message):
    bgw_id = _bgw(api)
    vpc_id, [subnet_id] = _vpc(api, "10.70.0.0/16", ["10.70.1.0/24"])
    _, [other_subnet] = _vpc(api, "10.71.0.0/16", ["10.71.1.0/24"], name="other")
    params = dict(params)
    if "subnetIds" in params:
        params["subnetIds"] = [{"SUBNET": subnet_id, "OTHER": other_subnet}[s] for s in params["subnetIds"]]
    expect_error(
        api,
        "CreateVpcAttachment",
        REGION,
        400,
        "INVALID_ARGUMENT",
        message,
        vpcAttachmentName="a",
        bgwId=bgw_id,
        vpcId=vpc_id,
        **params,
    )


def test_overlapping_propagated_cidrs_first_attachment_wins(api):
    bgw_id = _bgw(api)
    first_vpc, _ = _vpc(api, "10.60.0.0/16", ["10.60.1.0/24"], name="first")
    second_vpc, _ = _vpc(api, "10.60.0.0/16", ["10.60.1.0/24", "10.60.2.0/24"], name="second")
    first = _attach(api, bgw_id, first_vpc)
    api.wait_for(lambda: _propagated(api, bgw_id))
    second = _attach(api, bgw_id, second_vpc)
    # The non-overlapping subnet of the second VPC propagates; the overlapping one stays hidden.
    assert api.wait_for(lambda: len(_propagated(api, bgw_id)) == 2 and _propagated(api, bgw_id)) == [
        ("10.60.1.0/24", first),
        ("10.60.2.0/24", second),
    ]
    second_infos = _get(api, "vpcAttachment", second)["propagateCidrInfos"]
    assert sorted(i["subnetCidr"] for i in second_infos) == ["10.60.1.0/24", "10.60.2.0/24"]
    api.call("DeleteVpcAttachment", REGION, vpcAttachmentId=first)
    assert _propagated(api, bgw_id) == [("10.60.1.0/24", second), ("10.60.2.0/24", second)]


# ---------------------------------------------------------------- static routes


def test_static_route_next_hop_spellings(api, stack):
    via_vpn = _route(
        api, stack.bgw_id, "10.80.0.0/16", stack.connection_id, bgwNexthopType="vpn_connection", description="to peer"
    )
    via_attachment = _route(api, stack.bgw_id, "10.90.0.0/16", stack.attachment_id, bgwNexthopType="vpc_attachment")
    default_type = _route(api, stack.bgw_id, "10.81.0.0/16", stack.connection_id)
    static = {r["bgwRouteId"]: r for r in _routes(api, stack.bgw_id, Filter("origin", ["static"]))}
    assert static[via_vpn]["bgwRouteNextHopType"] == "vpnConnection"
    assert static[via_attachment]["bgwRouteNextHopType"] == "vpcAttachment"
    assert static[default_type]["bgwRouteNextHopType"] == "vpnConnection"
    assert "bgwNexthopType" not in static[via_vpn]
    assert (static[via_vpn]["origin"], static[via_vpn]["bgwRouteDestination"], static[via_vpn]["description"]) == (
        "static",
        "10.80.0.0/16",
        "to peer",
    )
    by_type = _routes(api, stack.bgw_id, Filter("bgwRouteNextHopType", ["vpnConnection"]))
    assert sorted(r["bgwRouteId"] for r in by_type) == sorted([via_vpn, default_type])


@pytest.mark.parametrize(
    ("next_hop_type", "next_hop", "code", "status", "message"),
    [
        (
            "vpnConnection",
            "CONNECTION",
            400,
            "INVALID_ARGUMENT",
            "bgwNexthopType must be one of: hosted_private_vif, private_vif, vpc_attachment, vpn_connection, vpc",
        ),
        ("vpc_Attachment", "ATTACHMENT", 400, "INVALID_ARGUMENT", "bgwNexthopType must be one of"),
        (
            "private_vif",
            "vif-1",
            400,
            "INVALID_ARGUMENT",
            "bgwNexthopType private_vif is not supported by the emulator",
        ),
        ("vpn_connection", "vpnc-nope", 404, "NOT_FOUND", "vpnConnection vpnc-nope not found"),
        ("vpn_connection", "ATTACHMENT", 404, "NOT_FOUND", "not found"),
        ("vpn_connection", "OTHER_CONNECTION", 400, "INVALID_ARGUMENT", "is not on border gateway"),
    ],
)
def test_bad_static_route_next_hops(api, stack, next_hop_type, next_hop, code, status, message):
    other_connection, _ = _connection(api, _bgw(api, "gw-2"), stack.cgw_id, "other")
    ids = {"CONNECTION": stack.connection_id, "ATTACHMENT": stack.attachment_id, "OTHER_CONNECTION": other_connection}
    expect_error(
        api,
        "CreateBgwRoute",
        REGION,
        code,
        status,
        message,
        bgwId=stack.bgw_id,
        bgwRouteDestination="10.80.0.0/16",
        bgwNexthopType=next_hop_type,
        bgwRouteNexthop=ids.get(next_hop, next_hop),
    )


def test_propagated_routes_cannot_be_modified_or_deleted(api, stack):
    route_id = api.wait_for(lambda: _routes(api, stack.bgw_id, Filter("origin", ["propagated"])))[0]["bgwRouteId"]
    expect_error(
        api,
        "DeleteBgwRoute",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"route {route_id} is propagated",
        bgwId=stack.bgw_id,
        bgwRouteId=route_id,
    )
    expect_error(
        api,
        "ModifyBgwRoute",
        REGION,
        400,
        "FAILED_PRECONDITION",
        "only static routes can be changed",
        bgwId=stack.bgw_id,
        bgwRouteId=route_id,
        description="x",
    )
    expect_error(
        api,
        "DeleteBgwRoute",
        REGION,
        404,
        "NOT_FOUND",
        "bgwRoute bgwr-nope not found",
        bgwId=stack.bgw_id,
        bgwRouteId="bgwr-nope",
    )


def test_modify_static_route(api, stack):
    route_id = _route(api, stack.bgw_id, "10.80.0.0/16", stack.connection_id)
    api.call(
        "ModifyBgwRoute",
        REGION,
        bgwId=stack.bgw_id,
        bgwRouteId=route_id,
        bgwRouteDestination="10.81.0.0/16",
        bgwNexthopType="vpc_attachment",
        bgwRouteNexthop=stack.attachment_id,
        description="moved",
    )
    [route] = _routes(api, stack.bgw_id, Filter("bgwRouteIds", [route_id]))
    assert (
        route["bgwRouteDestination"],
        route["bgwRouteNextHopType"],
        route["bgwRouteNexthop"],
        route["description"],
    ) == (
        "10.81.0.0/16",
        "vpcAttachment",
        stack.attachment_id,
        "moved",
    )


def test_static_routes_propagate_into_the_attached_vpc_route_table(api, stack):
    table_id = _get(api, "vpc", stack.vpc_id)["routeTableIds"][0]
    route_id = _route(api, stack.bgw_id, "10.80.0.0/16", stack.connection_id, bgwNexthopType="vpn_connection")
    _route(api, stack.bgw_id, "10.90.0.0/16", stack.attachment_id, bgwNexthopType="vpc_attachment")

    def propagated() -> list[dict]:
        return route_table_rules(api, REGION, table_id, Filter("origins", ["propagated"]))

    [rule] = api.wait_for(propagated)  # only routes towards a VPN connection propagate
    assert (rule["origin"], rule["nextHopType"], rule["nextHopId"]) == ("propagated", "bgw", stack.bgw_id)
    assert (rule["addressPrefix"], rule["priority"]) == ("10.80.0.0/16", 150)
    by_prefix = route_table_rules(
        api, REGION, table_id, Filter("addressPrefix", ["10.80.0.0/16"]), Filter("nextHopTypes", ["bgw"])
    )
    assert [r["ruleId"] for r in by_prefix] == [rule["ruleId"]]
    table = api.call("DescribeRouteTable", REGION, routeTableId=table_id)["routeTable"]
    assert [(p["bgwId"], p["priority"]) for p in table["routePropagations"]] == [(stack.bgw_id, 150)]
    expect_rule_not_found(api, REGION, table_id, rule["ruleId"])
    api.call("DeleteBgwRoute", REGION, bgwId=stack.bgw_id, bgwRouteId=route_id)
    assert propagated() == []


def test_deleting_the_attachment_removes_the_propagation(api, stack):
    table_id = _get(api, "vpc", stack.vpc_id)["routeTableIds"][0]
    _route(api, stack.bgw_id, "10.80.0.0/16", stack.connection_id)
    api.wait_for(lambda: route_table_rules(api, REGION, table_id, Filter("nextHopTypes", ["bgw"])))
    assert api.wait_for(lambda: _propagated(api, stack.bgw_id)) == [("10.70.1.0/24", stack.attachment_id)]
    _delete_and_wait(api, "vpcAttachment", stack.attachment_id)
    table = api.call("DescribeRouteTable", REGION, routeTableId=table_id)["routeTable"]
    assert table["routePropagations"] == []
    assert [r["nextHopType"] for r in table["routeTableRules"]] == ["local"]
    assert _propagated(api, stack.bgw_id) == []
    assert _get(api, "bgw", stack.bgw_id)["vpcAttachmentIds"] == []
