"""Build the tutorial's two-region interconnect with raw API calls (the emulator suite's fixture data)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from jdcloud_sdk.core.credential import Credential
from jdcloud_sdk.core.jdcloudrequest import JDCloudRequest
from jdcloud_sdk.core.signer import Signer
from jdcloud_sdk.services.common.models.Filter import Filter

from airflow_provider_jdcloud.hooks.base import QuietSdkLogger
from tests.sdk_client import ApiError, SdkClient

HOME, PEER = "cn-north-1", "cn-east-2"
TUNNEL_DEFAULTS = {"psk": "Emulator_Test_PSK_1", "ikeVersion": "v2"}


@dataclass
class Site:
    region: str
    cidr: str
    vpc_id: str = ""
    subnet_id: str = ""
    route_table_id: str = ""
    instance_id: str = ""
    private_ip: str = ""
    bgw_id: str = ""
    attachment_id: str = ""
    cgw_id: str = ""
    connection_id: str = ""
    cloud_ips: list[str] = field(default_factory=list)
    tunnel_ids: list[str] = field(default_factory=list)
    route_id: str = ""

    def create(self, api: SdkClient, kind: str, **params: Any) -> str:
        """``Create<Kind>`` in this site's region; return the new resource's id (``kind`` in camelCase: ``vpc``)."""
        return api.call(f"Create{kind[0].upper()}{kind[1:]}", self.region, **params)[f"{kind}Id"]

    def modify_tunnels(self, api: SdkClient, operation: str, **params: Any) -> None:
        """Call ``operation`` (``ModifyVpnTunnel`` or ``ModifyAdminStatus``) on every tunnel of this site."""
        for tunnel_id in self.tunnel_ids:
            api.call(operation, self.region, vpnTunnelId=tunnel_id, **params)


def build_vpc(api: SdkClient, site: Site, name: str = "sre") -> None:
    site.vpc_id = site.create(api, "vpc", vpcName=f"{name}-vpc", addressPrefix=site.cidr)
    subnet_cidr = site.cidr.replace("0.0/16", "1.0/24")
    site.subnet_id = site.create(
        api, "subnet", vpcId=site.vpc_id, subnetName=f"{name}-subnet", addressPrefix=subnet_cidr
    )
    site.route_table_id = api.call("DescribeSubnet", site.region, subnetId=site.subnet_id)["subnet"]["routeTableId"]


def launch_vm(api: SdkClient, site: Site, name: str = "probe") -> None:
    spec = {
        "name": name,
        "az": site.region + "a",
        "instanceType": "g.n2.medium",
        "imageId": "img-emulator",
        "primaryNetworkInterface": {"networkInterface": {"subnetId": site.subnet_id}},
    }
    site.instance_id = api.call("CreateInstances", site.region, instanceSpec=spec)["instanceIds"][0]
    instance = api.call("DescribeInstance", site.region, instanceId=site.instance_id)["instance"]
    site.private_ip = instance["privateIpAddress"]


def build_gateways(api: SdkClient, site: Site, name: str = "sre") -> None:
    site.bgw_id = site.create(api, "bgw", bgwName=f"{name}-bgw")
    site.attachment_id = site.create(
        api,
        "vpcAttachment",
        vpcAttachmentName=f"{name}-att",
        bgwId=site.bgw_id,
        vpcId=site.vpc_id,
        propagateType="partial",
        subnetIds=[site.subnet_id],
    )
    placeholder_ips = ["1.0.0.1", "1.0.0.2"]
    site.cgw_id = site.create(
        api, "customerGateway", customerGatewayName=f"{name}-cgw", customerIps=placeholder_ips, bgpAsn=65001
    )


def create_connection(api: SdkClient, site: Site, name: str = "sre") -> None:
    site.connection_id = site.create(
        api, "vpnConnection", vpnConnectionName=f"{name}-vpn", bgwId=site.bgw_id, cgwId=site.cgw_id, bgpEnabled=False
    )
    site.cloud_ips = provisioned_cloud_ips(api, site.region, site.connection_id)


def provisioned_cloud_ips(api: SdkClient, region: str, connection_id: str) -> list[str]:
    """The connection's two cloud public IPs, polled until JD Cloud has allocated them."""
    return api.wait_for(
        lambda: api.call("DescribeVpnConnection", region, vpnConnectionId=connection_id)["vpnConnection"][
            "cloudPublicIp"
        ]
    )


def create_connections(api: SdkClient, home: Site, peer: Site, home_sees: int = 2) -> None:
    """Tutorial steps 4-5 on both sides: a VPN connection, then the other side's CGW lists its cloud IPs.

    Home's CGW lists the first ``home_sees`` of the peer's cloud IPs (0: it keeps its placeholder IPs).
    """
    create_connection(api, peer)
    if home_sees:
        set_cgw_ips(api, home, peer.cloud_ips[:home_sees])
    create_connection(api, home)
    set_cgw_ips(api, peer, home.cloud_ips)


def set_cgw_ips(api: SdkClient, site: Site, ips: list[str]) -> None:
    api.call("ModifyCustomerGateway", site.region, customerGatewayId=site.cgw_id, customerIps=ips)


def add_tunnel(api: SdkClient, site: Site, cloud_ip: str, customer_ip: str, **overrides) -> None:
    """Create a tunnel on ``site``'s connection with ``TUNNEL_DEFAULTS`` plus ``overrides``."""
    params = TUNNEL_DEFAULTS | {"vpnConnectionId": site.connection_id, "cloudPublicIp": cloud_ip}
    params |= {"customerIp": customer_ip} | overrides
    site.tunnel_ids.append(site.create(api, "vpnTunnel", **params))


def create_tunnels(api: SdkClient, site: Site, remote: Site, **overrides) -> None:
    for cloud_ip, customer_ip in zip(site.cloud_ips, remote.cloud_ips, strict=True):
        add_tunnel(api, site, cloud_ip, customer_ip, **overrides)


def build_sites(
    api: SdkClient, home_cidr: str = "10.10.0.0/16", peer_cidr: str = "10.20.0.0/16", *, with_vms: bool = True
) -> tuple[Site, Site]:
    """Tutorial steps 1-3 in both regions: VPC and subnet, a probe VM (``with_vms``), BGW, attachment and CGW."""
    home, peer = Site(HOME, home_cidr), Site(PEER, peer_cidr)
    for site in (home, peer):
        build_vpc(api, site)
        if with_vms:
            launch_vm(api, site)
        build_gateways(api, site)
    return home, peer


def build_interconnect(
    api: SdkClient,
    home_cidr: str = "10.10.0.0/16",
    peer_cidr: str = "10.20.0.0/16",
    peer_tunnel: dict | None = None,
    **tunnel,
):
    """The tutorial's steps, in order; returns the two sites with every id filled in.

    ``tunnel`` overrides the tunnel parameters on both sides; ``peer_tunnel`` only on the peer's side.
    """
    home, peer = build_sites(api, home_cidr, peer_cidr)
    create_connections(api, home, peer)
    create_tunnels(api, home, peer, **tunnel)
    create_tunnels(api, peer, home, **(tunnel | (peer_tunnel or {})))
    for site, remote in ((home, peer), (peer, home)):
        site.route_id = site.create(
            api,
            "bgwRoute",
            bgwId=site.bgw_id,
            bgwRouteDestination=remote.cidr,
            bgwNexthopType="vpn_connection",
            bgwRouteNexthop=site.connection_id,
        )
    return home, peer


def run_ping(api: SdkClient, source: Site, target_ip: str, count: int = 4, options: str = "") -> dict:
    """Ping through the cloud assistant (``options``: more ping flags) and return the finished invocation instance."""
    content = base64.b64encode(" ".join(["ping", "-c", str(count), *options.split(), target_ip]).encode()).decode()
    command_id = api.call("CreateCommand", source.region, commandName="ping", commandContent=content)["commandId"]
    invoke_id = api.call("InvokeCommand", source.region, commandId=command_id, instances=[source.instance_id])[
        "invokeId"
    ]

    def finished():
        invocation = api.call("DescribeInvocations", source.region, invokeIds=[invoke_id])["invocations"][0]
        return invocation if invocation["status"] in ("finish", "failed", "partial_failed") else None

    invocation = api.wait_for(finished)
    result = invocation["invocationInstances"][0]
    result["output"] = base64.b64decode(result["output"]).decode() if result["output"] else ""
    return result


def wait_until_connected(api: SdkClient, home: Site, peer: Site) -> None:
    """Wait for VMs running, tunnels UP and the remote CIDR propagated into each route table."""
    for site, remote in ((home, peer), (peer, home)):
        api.wait_for(
            lambda s=site: (
                api.call("DescribeInstance", s.region, instanceId=s.instance_id)["instance"]["status"] == "running"
            )
        )
        for tunnel_id in site.tunnel_ids:
            api.wait_for(
                lambda s=site, t=tunnel_id: (
                    api.call("DescribeVpnTunnel", s.region, vpnTunnelId=t)["vpnTunnel"]["opStatus"] == "UP"
                )
            )
        api.wait_for(
            lambda s=site, r=remote: route_table_rules(
                api, s.region, s.route_table_id, Filter("origins", ["propagated"]), Filter("addressPrefix", [r.cidr])
            )
        )


def route_table_rules(api: SdkClient, region: str, table_id: str, *filters: Filter) -> list[dict]:
    """The table's rules (local, static and propagated) matching every filter."""
    return api.call("DescribeRouteTableRules", region, routeTableId=table_id, filters=list(filters) or None)[
        "routeTableRules"
    ]


def expect_rule_not_found(api: SdkClient, region: str, table_id: str, rule_id: str) -> None:
    """Removing ``rule_id`` from the table is 404: it is not (or no longer) one of its static rules."""
    expect_error(
        api,
        "RemoveRouteTableRules",
        region,
        404,
        "NOT_FOUND",
        f"routeTableRule {rule_id} not found",
        routeTableId=table_id,
        ruleIds=[rule_id],
    )


# ---------------------------------------------------------------- helpers for the conformance suite


class RawRequest(JDCloudRequest):
    """Any path, signed and sent by a real SDK client (for paths the operation table does not have)."""

    def __init__(self, path: str, method: str, parameters: dict) -> None:
        super().__init__(path, method, None, "v1")
        self.parameters = parameters


def expect_error(api: SdkClient, operation: str, region: str, code: int, status: str, fragment: str, **params):
    """Call ``operation`` and check it fails with exactly ``code``/``status`` and a message containing ``fragment``."""
    with pytest.raises(ApiError) as caught:
        api.call(operation, region, **params)
    error = caught.value
    assert (error.code, error.status) == (code, status), error
    assert fragment in error.message, error
    return error


def signed_headers(url: str, method: str, body: str, service: str, region: str, access_key: str, secret_key: str):
    """The headers the SDK would send for ``method url body``, signed by the SDK's own ``Signer``."""
    headers = {"User-Agent": f"JdcloudSdkPython/1.2.9 {service}/test", "Content-Type": "application/json"}
    Signer(QuietSdkLogger()).sign(
        method=method,
        service=service,
        region=region,
        uri=url,
        headers=headers,
        data=body,
        credential=Credential(access_key, secret_key),
        security_token="",
    )
    return headers


def assert_holds(predicate: Callable[[], Any], seconds: float, interval: float = 0.01) -> None:
    """Check that ``predicate`` stays truthy for ``seconds`` (used only to show a transition does NOT happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        assert value, f"condition stopped holding: {value!r}"
        time.sleep(interval)


def tunnel(api: SdkClient, site: Site, index: int = 0) -> dict:
    return api.call("DescribeVpnTunnel", site.region, vpnTunnelId=site.tunnel_ids[index])["vpnTunnel"]


def op_statuses(api: SdkClient, *sites: Site) -> list[str]:
    return [tunnel(api, s, i)["opStatus"] for s in sites for i in range(len(s.tunnel_ids))]


def instance_status(api: SdkClient, region: str, instance_id: str) -> str:
    return api.call("DescribeInstance", region, instanceId=instance_id)["instance"]["status"]


def negotiation(control: httpx.Client, tunnel_id: str) -> str | None:
    """The emulator's verdict on why a tunnel cannot negotiate (``/emulator-api/state``); None when it can."""
    tunnels = control.get("/state").json()["vpnTunnels"]
    return next(t["negotiation"] for t in tunnels if t["vpnTunnelId"] == tunnel_id)
