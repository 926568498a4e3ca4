"""The preflight's path rule: which answers prove that an inferred API path exists, and the harmless probes."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_jdcloud.api_paths import OPERATIONS
from airflow_provider_jdcloud.exceptions import JDCloudTransportError, error_from_response
from include.jdcloud_vpn.preflight import NONEXISTENT_ID, classify_path_answer, inferred_reads, probe_params

ID = NONEXISTENT_ID


def _api(code: int, status: str, message: str):
    return error_from_response("DescribeBgw", code, status, message, "request-id")


def _transport(cause: BaseException) -> JDCloudTransportError:
    error = JDCloudTransportError("DescribeBgw", f"DescribeBgw failed: {cause}")
    error.__cause__ = cause
    return error


ANSWERS = [
    ("a result", None, [], "pass", "answered with a result"),
    ("resource not found, naming our id", _api(404, "NOT_FOUND", f"bgw {ID} not found"), [ID], "pass", "is not found"),
    (
        "the emulator's unknown path",
        _api(404, "NOT_FOUND", f"api GET /v1/regions/cn-north-1/x/{ID} not found"),
        [ID],
        "fail",
        "path wrong",
    ),
    ("404 from a list call", _api(404, "NOT_FOUND", "resource not found"), [], "fail", "path wrong"),
    ("404 not naming our id", _api(404, "NOT_FOUND", "not found"), [ID], "fail", "path wrong"),
    (
        "404 naming the route",
        _api(404, "NOT_FOUND", f"no route for /regions/cn-north-1/bgws/{ID}"),
        [ID],
        "fail",
        "path wrong",
    ),
    ("405", _api(405, "METHOD_NOT_ALLOWED", f"GET not allowed on {ID}"), [ID], "fail", "path wrong"),
    (
        "non-JSON body",
        _transport(json.JSONDecodeError("Expecting value", "<html>", 0)),
        [ID],
        "fail",
        "not a JD Cloud API envelope",
    ),
    ("endpoint unreachable", _transport(requests.ConnectionError("refused")), [ID], "fail", "did not answer"),
    ("401", _api(401, "ACCESS_ERROR", "sign result is not same [gw]"), [ID], "fail", "credentials refused"),
    ("403", _api(403, "HTTP_FORBIDDEN", "no permission"), [ID], "fail", "credentials refused"),
    ("rate limited", _api(429, "RATE_LIMIT", "requests too frequent"), [ID], "fail", "run the preflight again"),
    ("server error", _api(503, "UNAVAILABLE", "try later"), [ID], "fail", "run the preflight again"),
    ("bad parameter", _api(400, "INVALID_ARGUMENT", "bgwId is malformed"), [ID], "pass", "the API checked the request"),
]


@pytest.mark.parametrize(("case", "error", "sent", "status", "fragment"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_classify_path_answer(case, error, sent, status, fragment):
    verdict, detail = classify_path_answer(error, sent)
    assert (verdict, fragment in detail) == (status, True), detail


def test_inferred_reads_are_the_inferred_describe_operations():
    names = [op.name for op in inferred_reads()]
    assert len(names) == 11 and all(OPERATIONS[n].inferred and n.startswith("Describe") for n in names)
    assert {"DescribeBgws", "DescribeBgw", "DescribeBgwRoutes", "DescribeVpnTunnel"} <= set(names)
    assert "DescribeConnections" not in names  # published in the SDK: not inferred


def test_probe_params_list_one_small_page_or_describe_a_nonexistent_id():
    assert probe_params(OPERATIONS["DescribeBgws"]) == ({"pageNumber": 1, "pageSize": 10}, [])
    assert probe_params(OPERATIONS["DescribeVpnTunnel"]) == ({"vpnTunnelId": ID}, [ID])
    routes = probe_params(OPERATIONS["DescribeBgwRoutes"])
    assert routes == ({"bgwId": ID, "pageNumber": 1, "pageSize": 10}, [ID])
