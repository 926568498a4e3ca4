"""The control plane under /emulator-api: reset, state dump, request log, and every kind of injected fault."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import (
    HOME,
    PEER,
    Site,
    assert_holds,
    build_interconnect,
    build_vpc,
    expect_error,
    instance_status,
    launch_vm,
    negotiation,
    op_statuses,
    run_ping,
    signed_headers,
    wait_until_connected,
)
from tests.sdk_client import ApiError

REGION = "cn-north-1"
HOLD_S = 0.25  # three VM boots / six tunnel negotiations at the suite's time scale


def _faults(control: httpx.Client, **fields) -> dict:
    response = control.patch("/faults", json=fields)
    response.raise_for_status()
    return response.json()


# ---------------------------------------------------------------- reset, state, request log


def test_reset_empties_state_and_request_log(api, control):
    home, _ = build_interconnect(api)
    state = control.get("/state").json()
    assert len(state["vpnTunnels"]) == 4 and len(state["instances"]) == 2
    assert control.get("/requests").json()["count"] > 0
    assert control.post("/reset").json() == {"reset": True}
    state = control.get("/state").json()
    assert all(resources == [] for resources in state.values()), state
    assert control.get("/requests").json() == {"requests": [], "count": 0}
    assert api.call("DescribeBgws", HOME) == {"bgws": [], "totalCount": 0}
    expect_error(api, "DescribeVpc", HOME, 404, "NOT_FOUND", "not found", vpcId=home.vpc_id)


def test_state_dump_renders_every_resource(api, control):
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    state = control.get("/state").json()
    assert set(state) == {
        "vpcs",
        "routeTables",
        "instances",
        "bgws",
        "vpcAttachments",
        "customerGateways",
        "vpnConnections",
        "vpnTunnels",
        "bgwRoutes",
        "commands",
        "invocations",
    }
    assert sorted(v["vpcId"] for v in state["vpcs"]) == sorted([home.vpc_id, peer.vpc_id])
    tunnels = {t["vpnTunnelId"]: t for t in state["vpnTunnels"]}
    assert set(tunnels) == set(home.tunnel_ids + peer.tunnel_ids)
    assert {(t["regionId"], t["opStatus"], t["negotiation"]) for t in tunnels.values()} == {
        (HOME, "UP", None),
        (PEER, "UP", None),
    }
    assert sorted((r["regionId"], r["bgwRouteId"]) for r in state["bgwRoutes"]) == sorted(
        [(HOME, home.route_id), (PEER, peer.route_id)]
    )
    # The dump renders resources exactly as the API does.
    described = api.call("DescribeVpnTunnel", HOME, vpnTunnelId=home.tunnel_ids[0])["vpnTunnel"]
    assert {k: tunnels[home.tunnel_ids[0]][k] for k in described} == described


def test_request_log_entries_and_filters(api, control):
    api.call("CreateVpc", REGION, vpcName="logged")
    response = api.send("DescribeVpcs", REGION)
    expect_error(api, "DescribeBgw", REGION, 404, "NOT_FOUND", "not found", bgwId="bgw-nope")
    entries = control.get("/requests").json()["requests"]
    assert [(e["service"], e["operation"], e["method"], e["status"]) for e in entries] == [
        ("vpc", "CreateVpc", "POST", 200),
        ("vpc", "DescribeVpcs", "GET", 200),
        ("bgw", "DescribeBgw", "GET", 404),
    ]
    assert [e["path"] for e in entries] == [
        f"/v1/regions/{REGION}/vpcs/",
        f"/v1/regions/{REGION}/vpcs/",
        f"/v1/regions/{REGION}/bgws/bgw-nope",
    ]
    assert entries[1]["request_id"] == response.request_id
    assert set(entries[0]) == {"time", "service", "operation", "method", "path", "status", "request_id", "client"}
    assert entries[0]["client"].startswith("127.0.0.1:")
    by_operation = control.get("/requests", params={"operation": "DescribeVpcs"}).json()
    assert by_operation["count"] == 1 and by_operation["requests"][0]["request_id"] == response.request_id
    assert control.get("/requests", params={"service": "vpc"}).json()["count"] == 2
    later = control.get("/requests", params={"since": entries[2]["time"]}).json()
    assert [e["operation"] for e in later["requests"]] == ["DescribeBgw"]
    assert control.delete("/requests").json() == {"cleared": True}
    assert control.get("/requests").json()["count"] == 0


def test_control_api_rejects_unknown_settings(control):
    assert control.patch("/faults", json={"no_such_fault": 1}).status_code == 422
    assert control.patch("/faults", json={"error_rate": 2}).status_code == 422
    assert control.patch("/latencies", json={"latencies": {"warp_drive": 1}}).status_code == 422
    assert control.patch("/latencies", json={"time_scale": 0}).status_code == 422


def test_preset_ids_go_to_the_next_resources_of_their_prefix(api, control):
    wanted = ["vpc-demohome01", "subnet-demohome01", "vpc-demopeer01"]
    assert sorted(control.post("/preset-ids", json={"ids": wanted}).json()["preset"]) == sorted(wanted)

    first = api.call("CreateVpc", REGION, vpcName="first", addressPrefix="10.10.0.0/16")["vpcId"]
    subnet = api.call("CreateSubnet", REGION, vpcId=first, subnetName="s", addressPrefix="10.10.1.0/24")["subnetId"]
    second = api.call("CreateVpc", "cn-east-2", vpcName="second", addressPrefix="10.20.0.0/16")["vpcId"]
    third = api.call("CreateVpc", REGION, vpcName="third", addressPrefix="10.30.0.0/16")["vpcId"]

    assert (first, subnet, second) == ("vpc-demohome01", "subnet-demohome01", "vpc-demopeer01")
    assert third.startswith("vpc-") and third not in wanted  # presets used up: random ids again
    assert api.call("DescribeVpc", REGION, vpcId=first)["vpc"]["vpcName"] == "first"
    assert control.post("/preset-ids", json={"ids": ["vpc-demohome01"]}).status_code == 409  # in use
    # The preset-ids endpoint is the control plane's only: the JD API has no such path.
    assert not [e for e in control.get("/requests").json()["requests"] if "preset" in e["path"]]


@pytest.mark.parametrize("bad", ["vpc-short", "vpc-UPPERCASE1", "nosuch-demohome01", "vpcdemohome01"])
def test_preset_ids_must_look_like_jd_ids(control, bad):
    response = control.post("/preset-ids", json={"ids": [bad]})
    assert response.status_code == 422 and bad in response.text


def test_reset_forgets_preset_ids(api, control):
    control.post("/preset-ids", json={"ids": ["vpc-forgotten1"]}).raise_for_status()
    control.post("/reset").raise_for_status()
    assert api.call("CreateVpc", REGION, vpcName="after", addressPrefix="10.10.0.0/16")["vpcId"] != "vpc-forgotten1"
    assert control.post("/preset-ids", json={"ids": ["vpc-twicetwice", "vpc-twicetwice"]}).status_code == 409


# ---------------------------------------------------------------- rate limit and injected errors


def test_rate_limit_per_service(api, control):
    api.call("DescribeVpcs", REGION)
    assert _faults(control, rate_limit_per_minute=3)["rate_limit_per_minute"] == 3
    api.call("DescribeVpcs", REGION)
    api.call("DescribeSubnets", REGION)  # the third vpc call this minute
    expect_error(api, "DescribeVpcs", REGION, 429, "RATE_LIMIT", "requests too frequent: over 3 calls/minute")
    expect_error(api, "CreateVpc", REGION, 429, "RATE_LIMIT", "requests too frequent", vpcName="x")
    api.call("DescribeBgws", REGION)  # the limit is per service
    assert control.get("/state").json()["vpcs"] == []
    [refused, _] = control.get("/requests", params={"service": "vpc", "since": 0}).json()["requests"][3:]
    assert (refused["operation"], refused["status"]) == ("DescribeVpcs", 429)
    control.post("/reset").raise_for_status()  # a reset forgets the calls counted so far
    api.call("DescribeVpcs", REGION)


@pytest.mark.parametrize(
    ("http_code", "status"), [(503, "UNAVAILABLE"), (500, "INTERNAL"), (502, "SOURCE_UNAVAILABLE")]
)
def test_error_rate_fails_only_the_named_operation(emulator, api, control, http_code, status):
    _faults(control, error_rate=1.0, error_http_code=http_code, error_operations=["DescribeVpcs"])
    expect_error(api, "DescribeVpcs", REGION, http_code, status, "injected fault: DescribeVpcs failed")
    assert api.call("DescribeSubnets", REGION) == {"subnets": [], "totalCount": 0}
    url = f"{emulator.url}/v1/regions/{REGION}/vpcs/"
    response = httpx.get(url, headers=signed_headers(url, "GET", "", "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY))
    body = response.json()
    assert response.status_code == http_code
    assert set(body) == {"requestId", "error"} and body["requestId"] == response.headers["x-jdcloud-request-id"]
    assert body["error"] == {"code": http_code, "status": status, "message": "injected fault: DescribeVpcs failed"}


def test_error_rate_zero_and_partial(api, control):
    _faults(control, error_rate=0.0, error_operations=["DescribeVpcs"])
    assert api.call("DescribeVpcs", REGION)["totalCount"] == 0
    _faults(control, error_rate=0.5)  # every operation, half of the calls
    outcomes = [api.send("DescribeVpcs", REGION).error is None for _ in range(60)]
    assert 5 < sum(outcomes) < 55, sum(outcomes)


def test_latency_fault_delays_the_named_operation(api, control):
    _faults(control, latency_ms=300, latency_operations=["DescribeVpcs"])
    started = time.monotonic()
    api.call("DescribeVpcs", REGION)
    slow = time.monotonic() - started
    started = time.monotonic()
    api.call("DescribeSubnets", REGION)
    fast = time.monotonic() - started
    assert slow >= 0.3, slow
    assert fast < 0.25, fast


def test_dropped_response_still_commits_the_change(api, control):
    _faults(control, drop_responses={"CreateVpc": 1})
    with pytest.raises(json.JSONDecodeError):
        api.call("CreateVpc", REGION, vpcName="dropped")  # a 504 with a text body: the SDK fails to decode it
    [vpc] = api.call("DescribeVpcs", REGION)["vpcs"]
    assert vpc["vpcName"] == "dropped"
    [entry] = control.get("/requests", params={"operation": "CreateVpc"}).json()["requests"]
    assert entry["status"] == 504
    assert control.get("/faults").json()["drop_responses"] == {"CreateVpc": 0}
    api.call("CreateVpc", REGION, vpcName="answered")  # only one response was to be dropped
    assert api.call("DescribeVpcs", REGION)["totalCount"] == 2


def test_dropped_response_is_a_non_json_504(emulator, api, control):
    _faults(control, drop_responses={"CreateBgw": 1})
    url = f"{emulator.url}/v1/regions/{REGION}/bgws/"
    body = json.dumps({"regionId": REGION, "bgwName": "dropped"})
    headers = signed_headers(url, "POST", body, "bgw", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    response = httpx.post(url, content=body.encode(), headers=headers)
    assert response.status_code == 504
    assert not response.headers["content-type"].startswith("application/json")
    assert api.call("DescribeBgws", REGION)["bgws"][0]["bgwName"] == "dropped"


# ---------------------------------------------------------------- stuck transitions and flaps


def test_stuck_vm_boot_never_completes_until_cleared(api, control):
    site = Site(REGION, "10.10.0.0/16")
    build_vpc(api, site)
    _faults(control, stuck_transitions=[{"transition": "vm_boot"}])
    launch_vm(api, site)
    assert_holds(lambda: instance_status(api, REGION, site.instance_id) == "pending", HOLD_S)
    control.delete("/faults").raise_for_status()
    assert instance_status(api, REGION, site.instance_id) == "running"


def test_stuck_vm_boot_for_one_instance(api, control):
    site = Site(REGION, "10.10.0.0/16")
    build_vpc(api, site)
    launch_vm(api, site, name="stuck")
    stuck_id = site.instance_id
    _faults(control, stuck_transitions=[{"transition": "vm_boot", "resource_id": stuck_id}])
    launch_vm(api, site, name="free")
    api.wait_for(lambda: instance_status(api, REGION, site.instance_id) == "running")
    assert instance_status(api, REGION, stuck_id) == "pending"


def test_stuck_tunnel_negotiation(api, control):
    _faults(control, stuck_transitions=[{"transition": "tunnel_negotiation"}])
    home, peer = build_interconnect(api)
    assert {negotiation(control, t) for t in home.tunnel_ids + peer.tunnel_ids} == {None}  # both ends match
    assert_holds(lambda: op_statuses(api, home, peer) == ["DOWN"] * 4, HOLD_S)
    _faults(control, stuck_transitions=[{"transition": "tunnel_negotiation", "resource_id": home.tunnel_ids[0]}])
    api.wait_for(lambda: op_statuses(api, home, peer) == ["DOWN", "UP", "UP", "UP"])
    control.delete("/faults").raise_for_status()
    assert op_statuses(api, home, peer) == ["UP"] * 4


@pytest.mark.parametrize("kind", ["vpnConnection", "vpcAttachment"])
def test_stuck_deletion_stays_deleting(api, control, kind):
    transition = {"vpnConnection": "vpn_connection_delete", "vpcAttachment": "attachment_delete"}[kind]
    _faults(control, stuck_transitions=[{"transition": transition}])
    bgw_id = api.call("CreateBgw", REGION, bgwName="gw")["bgwId"]
    if kind == "vpnConnection":
        cgw_id = api.call(
            "CreateCustomerGateway", REGION, customerGatewayName="c", customerIps=["1.0.0.1"], bgpAsn=65001
        )["customerGatewayId"]
        params = {"vpnConnectionName": "v", "bgwId": bgw_id, "cgwId": cgw_id, "bgpEnabled": False}
    else:
        vpc_id = api.call("CreateVpc", REGION, vpcName="v", addressPrefix="10.10.0.0/16")["vpcId"]
        params = {"vpcAttachmentName": "a", "bgwId": bgw_id, "vpcId": vpc_id, "propagateType": "all"}
    upper = kind[0].upper() + kind[1:]
    resource_id = api.call(f"Create{upper}", REGION, **params)[f"{kind}Id"]
    api.call(f"Delete{upper}", REGION, **{f"{kind}Id": resource_id})

    def status() -> str | None:
        try:
            return api.call(f"Describe{upper}", REGION, **{f"{kind}Id": resource_id})[kind]["status"]
        except ApiError as error:
            assert error.code == 404, error
            return None

    assert_holds(lambda: status() == "deleting", HOLD_S)
    control.delete("/faults").raise_for_status()
    api.wait_for(lambda: status() is None)


def test_stuck_attachment_stays_creating(api, control):
    _faults(control, stuck_transitions=[{"transition": "attachment_create"}])
    bgw_id = api.call("CreateBgw", REGION, bgwName="gw")["bgwId"]
    vpc_id = api.call("CreateVpc", REGION, vpcName="v", addressPrefix="10.10.0.0/16")["vpcId"]
    attachment_id = api.call(
        "CreateVpcAttachment", REGION, vpcAttachmentName="a", bgwId=bgw_id, vpcId=vpc_id, propagateType="all"
    )["vpcAttachmentId"]

    def status() -> str:
        return api.call("DescribeVpcAttachment", REGION, vpcAttachmentId=attachment_id)["vpcAttachment"]["status"]

    assert_holds(lambda: status() == "creating", HOLD_S)
    control.delete("/faults").raise_for_status()
    assert status() == "active"


def test_tunnel_flap_takes_a_tunnel_and_its_mirror_down_then_up(api, control):
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    active = _faults(control, tunnel_flaps=[{"vpn_tunnel_id": home.tunnel_ids[0], "seconds": 0.6}])["active_flaps"]
    assert [f["vpn_tunnel_id"] for f in active] == [home.tunnel_ids[0]]
    assert op_statuses(api, home, peer) == ["DOWN", "UP", "DOWN", "UP"]
    started = time.monotonic()
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
    assert time.monotonic() - started >= 0.4  # the flap's end, minus the calls made before ``started``


def test_ping_during_a_flap_of_both_tunnels_fails(api, control):
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    _faults(control, tunnel_flaps=[{"vpn_tunnel_id": home.tunnel_ids[0], "seconds": 0.5}])
    assert run_ping(api, home, peer.private_ip)["exitCode"] == "0"  # one tunnel of two is enough
    flaps = [{"vpn_tunnel_id": t, "seconds": 0.5} for t in home.tunnel_ids]
    _faults(control, tunnel_flaps=flaps)
    result = run_ping(api, home, peer.private_ip)
    assert result["exitCode"] == "1"
    assert "4 packets transmitted, 0 received, 100% packet loss" in result["output"]
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
    assert run_ping(api, home, peer.private_ip)["exitCode"] == "0"


def test_delayed_flap_starts_later(api, control):
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    _faults(control, tunnel_flaps=[{"vpn_tunnel_id": peer.tunnel_ids[1], "seconds": 0.3, "start_in_s": 0.2}])
    assert op_statuses(api, home, peer) == ["UP"] * 4
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP", "DOWN", "UP", "DOWN"])
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
