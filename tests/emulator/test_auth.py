"""Authentication: the JDCLOUD3-HMAC-SHA256 signature of every request is checked (jdcloud-api.md 2.3)."""

from __future__ import annotations

import json

import httpx
import pytest

from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import signed_headers
from tests.sdk_client import ApiError, SdkClient

REGION = "cn-north-1"


def _error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"requestId", "error"}
    assert response.headers["x-jdcloud-request-id"] == body["requestId"]
    error = body["error"]
    assert error["code"] == response.status_code
    return error["code"], error["status"], error["message"]


@pytest.mark.parametrize(
    ("access_key", "secret_key", "message"),
    [
        (DEMO_ACCESS_KEY, "not-the-secret", "sign result is not same [gw]"),
        ("UNKNOWN_AK", DEMO_SECRET_KEY, "access key does not exist[gw]"),
    ],
)
def test_bad_credentials_are_401_access_error(emulator, control, access_key, secret_key, message):
    client = SdkClient(emulator.endpoint, access_key, secret_key)
    with pytest.raises(ApiError) as caught:
        client.call("CreateVpc", REGION, vpcName="never")
    assert (caught.value.code, caught.value.status, caught.value.message) == (401, "ACCESS_ERROR", message)
    assert control.get("/state").json()["vpcs"] == []


def test_missing_authorization_is_401(emulator, control):
    response = httpx.get(f"{emulator.url}/v1/regions/{REGION}/vpcs/")
    assert response.status_code == 401
    assert _error_of(response) == (401, "ACCESS_ERROR", "lack of header authorization[gw]")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "JDCLOUD2-HMAC-SHA256 Credential=AK/20240101/cn-north-1/vpc/jdcloud2_request, "
        "SignedHeaders=content-type;host, Signature=" + "0" * 64,
    ],
)
def test_malformed_authorization_is_401(emulator, control, authorization):
    headers = {"Authorization": authorization, "x-jdcloud-date": "20240101T000000Z"}
    response = httpx.get(f"{emulator.url}/v1/regions/{REGION}/vpcs/", headers=headers)
    assert _error_of(response) == (401, "ACCESS_ERROR", "authorization header is malformed[gw]")


def test_signed_raw_request_is_accepted(emulator, control):
    # The control case for the tampering tests below: the same helper, nothing changed, is accepted.
    url = f"{emulator.url}/v1/regions/{REGION}/vpcs/"
    body = json.dumps({"regionId": REGION, "vpcName": "signed"})
    headers = signed_headers(url, "POST", body, "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    response = httpx.post(url, content=body.encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["vpcId"].startswith("vpc-")


def test_body_tampered_after_signing_is_401(emulator, control):
    url = f"{emulator.url}/v1/regions/{REGION}/vpcs/"
    signed_body = json.dumps({"regionId": REGION, "vpcName": "original"})
    headers = signed_headers(url, "POST", signed_body, "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    tampered = json.dumps({"regionId": REGION, "vpcName": "tampered"})
    response = httpx.post(url, content=tampered.encode(), headers=headers)
    assert _error_of(response) == (401, "ACCESS_ERROR", "sign result is not same [gw]")
    assert control.get("/state").json()["vpcs"] == []


@pytest.mark.parametrize(
    ("signed_query", "sent_query"),
    [
        ("pageSize=10", "pageSize=20"),
        ("pageSize=10", "pageSize=10&pageNumber=2"),
        ("filters.1.name=vpcNames&filters.1.values.1=a", "filters.1.name=vpcNames&filters.1.values.1=b"),
    ],
)
def test_query_tampered_after_signing_is_401(emulator, control, signed_query, sent_query):
    base = f"{emulator.url}/v1/regions/{REGION}/vpcs/"
    headers = signed_headers(f"{base}?{signed_query}", "GET", "", "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    assert httpx.get(f"{base}?{signed_query}", headers=headers).status_code == 200
    response = httpx.get(f"{base}?{sent_query}", headers=headers)
    assert _error_of(response) == (401, "ACCESS_ERROR", "sign result is not same [gw]")


def test_path_tampered_after_signing_is_401(emulator, api, control):
    vpc_id = api.call("CreateVpc", REGION, vpcName="keep")["vpcId"]
    signed_url = f"{emulator.url}/v1/regions/{REGION}/vpcs/vpc-other"
    headers = signed_headers(signed_url, "DELETE", "", "vpc", REGION, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    response = httpx.delete(f"{emulator.url}/v1/regions/{REGION}/vpcs/{vpc_id}", headers=headers)
    assert _error_of(response) == (401, "ACCESS_ERROR", "sign result is not same [gw]")
    assert api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]["vpcName"] == "keep"


def test_auth_failures_are_logged(emulator, control):
    httpx.get(f"{emulator.url}/v1/regions/{REGION}/vpcs/")
    entries = control.get("/requests").json()["requests"]
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 401)]
