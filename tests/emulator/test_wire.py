"""Wire protocol: response envelope, request ids, routing, request bodies, filters, pagination, path prefix."""

from __future__ import annotations

import json

import httpx
import pytest
from jdcloud_sdk.services.common.models.Filter import Filter

from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import RawRequest, expect_error, signed_headers
from tests.sdk_client import SdkClient

REGION = "cn-north-1"


def _signed(emulator, method: str, path: str, body: str = "", service: str = "vpc") -> httpx.Response:
    url = f"{emulator.url}{path}"
    headers = signed_headers(url, method, body, service, REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    return httpx.request(method, url, content=body.encode(), headers=headers)


def test_success_envelope_has_request_id_and_result(emulator, api):
    api.call("CreateVpc", REGION, vpcName="wire")
    response = _signed(emulator, "GET", f"/v1/regions/{REGION}/vpcs/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"requestId", "result"}
    assert response.headers["x-jdcloud-request-id"] == body["requestId"]
    assert len(body["requestId"]) == 32 and body["requestId"].isalnum()
    assert body["result"]["totalCount"] == 1
    assert body["result"]["vpcs"][0]["vpcName"] == "wire"


def test_error_envelope_has_code_status_message(emulator, api):
    response = _signed(emulator, "GET", f"/v1/regions/{REGION}/vpcs/?pageSize=5")
    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"requestId", "error"}
    assert response.headers["x-jdcloud-request-id"] == body["requestId"]
    assert body["error"] == {"code": 400, "status": "OUT_OF_RANGE", "message": "pageSize must be in [10, 100]"}


def test_sdk_sees_the_request_id(api, control):
    response = api.send("DescribeVpcs", REGION)
    assert response.error is None
    logged = control.get("/requests", params={"operation": "DescribeVpcs"}).json()["requests"]
    assert [entry["request_id"] for entry in logged] == [response.request_id]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/regions/{regionId}/nothingHere"),
        ("GET", "/regions/{regionId}/vpcs/vpc-1/nothingHere"),
        ("PUT", "/regions/{regionId}/vpcs/"),  # known path, unknown verb
        ("POST", "/regions/{regionId}/vpnTunnels/vpntnl-1:noSuchAction"),
    ],
)
def test_unknown_path_is_404_not_found(api, method, path):
    response = api.clients["bgw"].send(RawRequest(path, method, {"regionId": REGION}))
    assert (response.error.code, response.error.status) == (404, "NOT_FOUND")
    assert f"api {method} /v1{path.format(regionId=REGION)} not found" == response.error.message
    assert response.request_id


def test_unknown_region_is_400(api):
    expect_error(api, "DescribeVpcs", "cn-west-9", 400, "INVALID_ARGUMENT", "regionId cn-west-9 is not a supported")


def test_post_body_with_nulls_and_echoed_path_params_is_accepted(api):
    # The SDK serializes every attribute of its request objects, unset ones as null, path params included.
    vpc_id = api.call("CreateVpc", REGION, vpcName="nulls", addressPrefix=None, description=None, unknownField=None)[
        "vpcId"
    ]
    vpc = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]
    assert (vpc["vpcName"], vpc["addressPrefix"], vpc["description"]) == ("nulls", None, "")


def test_path_params_win_over_body_echo(emulator, api):
    vpc_id = api.call("CreateVpc", REGION, vpcName="echo", addressPrefix="10.1.0.0/16")["vpcId"]
    table_id = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]["routeTableIds"][0]
    body = json.dumps({"regionId": "cn-east-2", "routeTableId": "rtb-other", "routeTableName": "renamed"})
    response = _signed(emulator, "PATCH", f"/v1/regions/{REGION}/routeTables/{table_id}", body)
    assert response.status_code == 200, response.text
    assert api.call("DescribeRouteTable", REGION, routeTableId=table_id)["routeTable"]["routeTableName"] == "renamed"


@pytest.mark.parametrize("body", ["{not json", "[1, 2]"])
def test_malformed_body_is_400(emulator, api, body):
    response = _signed(emulator, "POST", f"/v1/regions/{REGION}/vpcs/", body)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def _vpc_names(api, filters) -> list[str]:
    return sorted(v["vpcName"] for v in api.call("DescribeVpcs", REGION, filters=filters)["vpcs"])


def test_filters_one_value_several_values_and_two_filters(api):
    ids = {name: api.call("CreateVpc", REGION, vpcName=name)["vpcId"] for name in ("alpha", "beta", "gamma")}
    api.call("CreateVpc", "cn-east-2", vpcName="alpha")  # other regions never show

    assert _vpc_names(api, [Filter("vpcNames", ["beta"])]) == ["beta"]
    assert _vpc_names(api, [Filter("vpcNames", ["alpha", "gamma"])]) == ["alpha", "gamma"]
    assert _vpc_names(api, [Filter("vpcNames", ["alpha", "gamma"]), Filter("vpcIds", [ids["gamma"]])]) == ["gamma"]
    assert _vpc_names(api, [Filter("vpcNames", ["alpha"]), Filter("vpcIds", [ids["beta"]])]) == []
    assert _vpc_names(api, [{"name": "vpcIds", "operator": "in", "values": [ids["alpha"], ids["beta"]]}]) == [
        "alpha",
        "beta",
    ]
    expect_error(
        api,
        "DescribeVpcs",
        REGION,
        400,
        "INVALID_ARGUMENT",
        "filter color is not supported",
        filters=[Filter("color", ["x"])],
    )


def test_filter_values_with_slashes_are_decoded(api):
    vpc_id = api.call("CreateVpc", REGION, vpcName="rt", addressPrefix="10.5.0.0/16")["vpcId"]
    table_id = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]["routeTableIds"][0]
    rules = api.call(
        "DescribeRouteTableRules", REGION, routeTableId=table_id, filters=[Filter("addressPrefix", ["10.5.0.0/16"])]
    )["routeTableRules"]
    assert [(r["addressPrefix"], r["nextHopType"]) for r in rules] == [("10.5.0.0/16", "local")]


def test_pagination_splits_25_items_into_10_10_5(api):
    created = [api.call("CreateVpc", REGION, vpcName=f"page-{i:02d}")["vpcId"] for i in range(25)]
    pages = [api.call("DescribeVpcs", REGION, pageNumber=n, pageSize=10) for n in (1, 2, 3)]
    assert [len(p["vpcs"]) for p in pages] == [10, 10, 5]
    assert {p["totalCount"] for p in pages} == {25}
    assert [v["vpcId"] for p in pages for v in p["vpcs"]] == created
    past_the_end = api.call("DescribeVpcs", REGION, pageNumber=9, pageSize=10)
    assert past_the_end["vpcs"] == pages[2]["vpcs"]
    default = api.call("DescribeVpcs", REGION)
    assert len(default["vpcs"]) == 20


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"pageSize": 9}, "OUT_OF_RANGE", "pageSize must be in [10, 100]"),
        ({"pageSize": 101}, "OUT_OF_RANGE", "pageSize must be in [10, 100]"),
        ({"pageNumber": 0}, "OUT_OF_RANGE", "pageNumber must be >= 1"),
        ({"pageSize": "ten"}, "INVALID_ARGUMENT", "pageSize must be an integer"),
    ],
)
def test_pagination_out_of_range(api, params, status, message):
    expect_error(api, "DescribeVpcs", REGION, 400, status, message, **params)


def test_pagination_of_post_list_operations(api):
    content = "ZWNobyBoaQ=="  # echo hi
    for i in range(12):
        api.call("CreateCommand", REGION, commandName=f"cmd-{i}", commandContent=content)
    page = api.call("DescribeCommands", REGION, pageNumber=2, pageSize=10)
    assert (len(page["commands"]), page["totalCount"]) == (2, 12)
    expect_error(api, "DescribeCommands", REGION, 400, "OUT_OF_RANGE", "pageSize", pageSize=200)


@pytest.mark.parametrize(
    ("prefix", "operation", "key"),
    [
        ("vm", "DescribeInstances", "instances"),
        ("vpc", "DescribeVpcs", "vpcs"),
        ("bgw", "DescribeBgws", "bgws"),
        ("assistant", "DescribeCommands", "commands"),
    ],
)
def test_service_path_prefix_in_endpoint(emulator, control, prefix, operation, key):
    # Config('127.0.0.1:PORT/vm') makes the SDK send /vm/v1/...: one port can serve every service by prefix.
    prefixed = SdkClient(f"{emulator.endpoint}/{prefix}", DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    assert prefixed.call(operation, REGION) == {key: [], "totalCount": 0}
    logged = control.get("/requests", params={"operation": operation}).json()["requests"]
    assert logged[-1]["path"].startswith(f"/{prefix}/v1/regions/{REGION}/")
    assert logged[-1]["status"] == 200
