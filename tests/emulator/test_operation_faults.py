"""Count-limited faults of single operations (``operation_faults``): throttling, 5xx and late answers."""

from __future__ import annotations

import http.client
import json
import threading
import time

import httpx
import pytest
import requests
from jdcloud_sdk.core.config import Config
from jdcloud_sdk.core.credential import Credential
from jdcloud_sdk.services.bgw.client.BgwClient import BgwClient

from airflow_provider_jdcloud.api_paths import OPERATIONS
from airflow_provider_jdcloud.hooks.base import QuietSdkLogger
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import RawRequest, expect_error, signed_headers

REGION = "cn-north-1"


def _faults(control: httpx.Client, *faults: dict) -> dict:
    response = control.patch("/faults", json={"operation_faults": list(faults)})
    response.raise_for_status()
    return response.json()


def _remaining(control: httpx.Client) -> list[tuple[str, str, int]]:
    return [(f["operation"], f["kind"], f["remaining"]) for f in control.get("/faults").json()["operation_faults"]]


def _statuses(control: httpx.Client, operation: str) -> list[int]:
    return [e["status"] for e in control.get("/requests", params={"operation": operation}).json()["requests"]]


def test_rate_limit_burst_refuses_count_calls_then_is_spent(api, control):
    shown = _faults(control, {"operation": "CreateBgw", "kind": "rate_limit", "count": 3})
    assert shown["operation_faults"] == [
        {"operation": "CreateBgw", "kind": "rate_limit", "count": 3, "delay_s": 0.0, "remaining": 3}
    ]
    for left in (2, 1, 0):
        expect_error(api, "CreateBgw", REGION, 429, "RATE_LIMIT", "injected fault", bgwName="gw")
        assert _remaining(control) == [("CreateBgw", "rate_limit", left)]
    assert api.call("DescribeBgws", REGION)["bgws"] == []  # nothing was applied
    bgw_id = api.call("CreateBgw", REGION, bgwName="gw")["bgwId"]
    assert [b["bgwId"] for b in api.call("DescribeBgws", REGION)["bgws"]] == [bgw_id]
    assert _statuses(control, "CreateBgw") == [429, 429, 429, 200]
    api.call("CreateBgw", REGION, bgwName="gw2")  # spent: it stays listed with 0 left and does nothing
    assert _remaining(control) == [("CreateBgw", "rate_limit", 0)]


def test_server_error_is_a_503_envelope_and_applies_nothing(emulator, api, control):
    _faults(control, {"operation": "CreateVpc", "kind": "server_error", "count": 2})
    expect_error(api, "CreateVpc", REGION, 503, "UNAVAILABLE", "injected fault: CreateVpc", vpcName="v")
    url = f"{emulator.url}/v1/regions/{REGION}/vpcs/"
    body = json.dumps({"regionId": REGION, "vpcName": "v"})
    response = httpx.post(
        url,
        content=body.encode(),
        headers=signed_headers(url, "POST", body, "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY),
    )
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": 503,
        "status": "UNAVAILABLE",
        "message": "injected fault: CreateVpc is temporarily unavailable",
    }
    assert response.json()["requestId"] == response.headers["x-jdcloud-request-id"]
    assert api.call("DescribeVpcs", REGION)["vpcs"] == []
    api.call("CreateVpc", REGION, vpcName="v")
    assert api.call("DescribeVpcs", REGION)["totalCount"] == 1
    assert _statuses(control, "CreateVpc") == [503, 503, 200]


def test_applied_server_error_commits_then_answers_a_500_envelope(api, control):
    _faults(control, {"operation": "CreateBgw", "kind": "applied_server_error", "count": 1})
    expect_error(api, "CreateBgw", REGION, 500, "INTERNAL", "failed after it was applied", bgwName="gw")
    assert [b["bgwName"] for b in api.call("DescribeBgws", REGION)["bgws"]] == ["gw"]  # it was applied
    assert _remaining(control) == [("CreateBgw", "applied_server_error", 0)]
    api.call("CreateBgw", REGION, bgwName="gw2")  # spent: the next call is answered normally
    assert _statuses(control, "CreateBgw") == [500, 200]


def test_only_the_named_operation_is_affected(api, control):
    _faults(control, {"operation": "CreateCustomerGateway", "kind": "server_error", "count": 1})
    api.call("CreateBgw", REGION, bgwName="gw")
    api.call("DescribeCustomerGateways", REGION)
    api.call("CreateVpc", REGION, vpcName="v")
    assert _remaining(control) == [("CreateCustomerGateway", "server_error", 1)]  # not consumed by others
    params = {"customerGatewayName": "cgw", "customerIps": ["1.0.0.1", "1.0.0.2"], "bgpAsn": 65001}
    expect_error(api, "CreateCustomerGateway", REGION, 503, "UNAVAILABLE", "injected fault", **params)
    api.call("CreateCustomerGateway", REGION, **params)
    assert _remaining(control) == [("CreateCustomerGateway", "server_error", 0)]


def test_faults_of_one_operation_are_used_in_list_order(api, control):
    _faults(
        control,
        {"operation": "DescribeVpcs", "kind": "rate_limit", "count": 1},
        {"operation": "DescribeVpcs", "kind": "server_error", "count": 1},
        {"operation": "CreateVpc", "kind": "rate_limit", "count": 1},
    )
    expect_error(api, "DescribeVpcs", REGION, 429, "RATE_LIMIT", "injected fault")
    expect_error(api, "DescribeVpcs", REGION, 503, "UNAVAILABLE", "injected fault")
    assert api.call("DescribeVpcs", REGION)["totalCount"] == 0  # read-only operations can be hit too
    assert _remaining(control) == [
        ("DescribeVpcs", "rate_limit", 0),
        ("DescribeVpcs", "server_error", 0),
        ("CreateVpc", "rate_limit", 1),
    ]


def _bgw_client(emulator, timeout: int) -> BgwClient:
    config = Config(endpoint=emulator.endpoint, scheme="http", timeout=timeout)
    return BgwClient(Credential(DEMO_ACCESS_KEY, DEMO_SECRET_KEY), config, QuietSdkLogger())


def test_slow_response_commits_then_answers_after_the_client_gave_up(emulator, api, control):
    """The SDK with a 1 s timeout sees a read timeout; the border gateway exists all the same."""
    _faults(control, {"operation": "CreateBgw", "kind": "slow_response", "count": 1, "delay_s": 1.5})
    op = OPERATIONS["CreateBgw"]
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _bgw_client(emulator, timeout=1).send(RawRequest(op.path, op.method, {"regionId": REGION, "bgwName": "late"}))
    assert 0.9 < time.monotonic() - started < 1.5
    [bgw] = api.call("DescribeBgws", REGION)["bgws"]  # committed before the answer was delayed
    assert bgw["bgwName"] == "late"
    assert _remaining(control) == [("CreateBgw", "slow_response", 0)]
    started = time.monotonic()
    api.call("CreateBgw", REGION, bgwName="on-time")  # spent: the next call answers at once
    assert time.monotonic() - started < 0.5
    api.wait_for(lambda: _statuses(control, "CreateBgw") == [200, 200], timeout=3)  # logged when answered


def test_slow_response_seen_with_httpx_read_timeout_then_listed(emulator, api, control):
    _faults(control, {"operation": "CreateVpc", "kind": "slow_response", "count": 2, "delay_s": 0.6})
    url = f"{emulator.url}/v1/regions/{REGION}/vpcs/"

    def create(name: str, timeout: float) -> httpx.Response:
        body = json.dumps({"regionId": REGION, "vpcName": name})
        headers = signed_headers(url, "POST", body, "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        return httpx.post(url, content=body.encode(), headers=headers, timeout=timeout)

    with pytest.raises(httpx.ReadTimeout):
        create("impatient", timeout=0.2)
    names = [v["vpcName"] for v in api.call("DescribeVpcs", REGION)["vpcs"]]
    assert names == ["impatient"]
    started = time.monotonic()
    response = create("patient", timeout=5)  # the second hit: a client that waits gets the normal answer
    assert time.monotonic() - started >= 0.6
    assert response.status_code == 200 and response.json()["result"]["vpcId"].startswith("vpc-")
    assert sorted(v["vpcName"] for v in api.call("DescribeVpcs", REGION)["vpcs"]) == ["impatient", "patient"]
    assert _remaining(control) == [("CreateVpc", "slow_response", 0)]


def test_a_held_request_is_listed_in_flight_with_the_callers_socket(emulator, api, control):
    """``/requests/in-flight`` shows a call held by ``slow_response``; ``client`` names the caller's socket."""
    _faults(control, {"operation": "CreateBgw", "kind": "slow_response", "count": 1, "delay_s": 1.0})
    url = f"{emulator.url}/v1/regions/{REGION}/bgws/"
    body = json.dumps({"regionId": REGION, "bgwName": "held"})
    headers = signed_headers(url, "POST", body, "bgw", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    parsed = httpx.URL(url)
    caller = http.client.HTTPConnection(parsed.host, parsed.port, timeout=5)
    caller.connect()
    local = "{}:{}".format(*caller.sock.getsockname())
    answers: list[int] = []

    def call() -> None:
        caller.request("POST", parsed.raw_path.decode(), body=body.encode(), headers=headers)
        answers.append(caller.getresponse().status)

    worker = threading.Thread(target=call)
    worker.start()
    held = api.wait_for(
        lambda: control.get("/requests/in-flight", params={"operation": "CreateBgw"}).json()["requests"], timeout=3
    )
    worker.join()
    caller.close()
    [entry] = held
    assert (entry["operation"], entry["method"], entry["status"], entry["client"]) == ("CreateBgw", "POST", 0, local)
    assert answers == [200]
    assert control.get("/requests/in-flight").json() == {"requests": [], "count": 0}
    [logged] = control.get("/requests", params={"operation": "CreateBgw"}).json()["requests"]
    assert (logged["request_id"], logged["status"], logged["client"]) == (entry["request_id"], 200, local)


def test_slow_response_delays_an_error_answer_too(api, control):
    _faults(control, {"operation": "DeleteBgw", "kind": "slow_response", "count": 1, "delay_s": 0.4})
    started = time.monotonic()
    expect_error(api, "DeleteBgw", REGION, 404, "NOT_FOUND", "not found", bgwId="bgw-missing")
    assert time.monotonic() - started >= 0.4


def test_operation_faults_live_beside_dropped_responses(api, control):
    _faults(control, {"operation": "CreateBgw", "kind": "server_error", "count": 1})
    control.patch("/faults", json={"drop_responses": {"CreateBgw": 1}}).raise_for_status()
    assert _remaining(control) == [("CreateBgw", "server_error", 1)]  # a PATCH of another field keeps the count
    expect_error(api, "CreateBgw", REGION, 503, "UNAVAILABLE", "injected fault", bgwName="gw")
    with pytest.raises(json.JSONDecodeError):  # then the committed-but-lost response (a text 504)
        api.call("CreateBgw", REGION, bgwName="gw")
    assert api.call("DescribeBgws", REGION)["totalCount"] == 1
    assert _statuses(control, "CreateBgw") == [503, 504]
    shown = control.get("/faults").json()
    assert shown["drop_responses"] == {"CreateBgw": 0}
    assert shown["operation_faults"][0]["remaining"] == 0
    assert control.delete("/faults").json()["operation_faults"] == []


def test_reset_keeps_operation_faults(api, control):
    _faults(control, {"operation": "CreateVpc", "kind": "rate_limit", "count": 1})
    control.post("/reset").raise_for_status()
    expect_error(api, "CreateVpc", REGION, 429, "RATE_LIMIT", "injected fault", vpcName="v")


@pytest.mark.parametrize(
    "fault",
    [
        {"operation": "CreateVpc", "kind": "rate_limit", "count": 0},
        {"operation": "CreateVpc", "kind": "teapot", "count": 1},
        {"operation": "CreateVpc", "kind": "slow_response", "count": 1},  # no delay
        {"operation": "CreateVpc", "kind": "server_error", "count": 1, "delay_s": 2},
        {"operation": "", "kind": "rate_limit", "count": 1},
        {"operation": "CreateVpc", "kind": "rate_limit", "count": 1, "remaining": 2},
        {"operation": "CreateVpc", "kind": "rate_limit", "count": 1, "colour": "red"},
    ],
)
def test_invalid_operation_faults_are_rejected(control, fault):
    assert control.patch("/faults", json={"operation_faults": [fault]}).status_code == 422
    assert control.put("/faults", json={"operation_faults": [fault]}).status_code == 422
    assert control.get("/faults").json()["operation_faults"] == []
