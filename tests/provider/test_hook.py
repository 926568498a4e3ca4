"""Tests of the hook against a scripted loopback HTTP server, through the real SDK clients."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import SecretStr

from airflow_provider_jdcloud.exceptions import (
    FailedPrecondition,
    InvalidArgument,
    JDCloudTransportError,
    NotFound,
    QuotaExceeded,
    ServerError,
    Unauthenticated,
)
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.models import RouteTableRuleSpec, VpnTunnelSpec

if TYPE_CHECKING:
    from tests.provider.conftest import ScriptedApi


def _retry_logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Return the retry warnings, whether the hook's logger went through stdlib logging or structlog."""
    lines = [record.getMessage() for record in caplog.records] + capsys.readouterr().out.splitlines()
    return [line for line in lines if "Retrying" in line]


def _query(path: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path).query))


def test_rate_limit_is_retried_then_succeeds(
    hook: JDCloudHook,
    api_server: ScriptedApi,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api_server.fail(429, "RATE_LIMIT", "requests too frequent")
    api_server.fail(429, "RATE_LIMIT", "requests too frequent")
    api_server.reply({"vpc": {"vpcId": "vpc-1", "vpcName": "home", "addressPrefix": "10.1.0.0/16"}})

    with caplog.at_level(logging.WARNING):
        vpc = hook.describe_vpc("vpc-1")

    assert (vpc.vpc_id, vpc.vpc_name, vpc.address_prefix) == ("vpc-1", "home", "10.1.0.0/16")
    assert len(api_server.requests) == 3
    retry_logs = _retry_logs(caplog, capsys)
    assert len(retry_logs) == 2, retry_logs
    assert "Retrying DescribeVpc after RATE_LIMIT (attempt 1 of 4)" in retry_logs[0]
    assert "Retrying DescribeVpc after RATE_LIMIT (attempt 2 of 4)" in retry_logs[1]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (400, "INVALID_ARGUMENT", InvalidArgument),
        (400, "FAILED_PRECONDITION", FailedPrecondition),
        (401, "ACCESS_ERROR", Unauthenticated),
        (404, "NOT_FOUND", NotFound),
        (429, "QUOTA_EXCEEDED", QuotaExceeded),
    ],
)
def test_client_errors_are_not_retried(
    hook: JDCloudHook,
    api_server: ScriptedApi,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    code: int,
    status: str,
    expected: type[Exception],
) -> None:
    api_server.fail(code, status, "bad request", request_id="req-bad")

    with caplog.at_level(logging.WARNING), pytest.raises(expected) as excinfo:
        hook.create_bgw("bgw-home")

    assert len(api_server.requests) == 1
    assert _retry_logs(caplog, capsys) == []
    assert (excinfo.value.operation, excinfo.value.status, excinfo.value.request_id) == (
        "CreateBgw",
        status,
        "req-bad",
    )


def test_server_errors_stop_after_max_attempts(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    for _ in range(5):
        api_server.fail(503, "UNAVAILABLE", "try later")

    with pytest.raises(ServerError, match="UNAVAILABLE"):
        hook.describe_bgw("bgw-1")

    assert len(api_server.requests) == 4


def test_non_json_body_is_a_retryable_transport_error(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.raw(502, "<html>Bad Gateway</html>")
    api_server.reply({"bgw": {"bgwId": "bgw-1"}})

    assert hook.describe_bgw("bgw-1").bgw_id == "bgw-1"
    assert len(api_server.requests) == 2


def test_ambiguous_failure_of_a_create_is_not_resent(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    """A gateway's non-JSON answer may follow a committed create: resending could make a duplicate."""
    api_server.raw(504, "upstream request timeout")
    api_server.reply({"bgwId": "bgw-2"})

    with pytest.raises(JDCloudTransportError) as raised:
        hook.create_bgw("home")
    assert raised.value.ambiguous
    assert len(api_server.requests) == 1


@pytest.mark.parametrize(("code", "status"), [(500, "INTERNAL"), (502, "SOURCE_UNAVAILABLE"), (503, "UNAVAILABLE")])
def test_a_create_answered_with_a_json_5xx_is_not_resent(
    hook: JDCloudHook, api_server: ScriptedApi, code: int, status: str
) -> None:
    """A backend may commit a create and then fail: only the caller, looking it up by name, can tell."""
    api_server.fail(code, status, "backend failed")
    api_server.reply({"bgwId": "bgw-2"})

    with pytest.raises(ServerError) as raised:
        hook.create_bgw("home")
    assert raised.value.ambiguous
    assert len(api_server.requests) == 1


def test_a_create_is_resent_after_a_rate_limit(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    """A 429 proves nothing was applied."""
    api_server.fail(429, "RATE_LIMIT", "slow down")
    api_server.reply({"bgwId": "bgw-2"})

    assert hook.create_bgw("home") == "bgw-2"
    assert len(api_server.requests) == 2


def test_body_without_request_id_is_a_transport_error(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    for _ in range(4):
        api_server.raw(200, '{"result": {"bgwId": "bgw-1"}}')

    with pytest.raises(JDCloudTransportError, match="no requestId"):
        hook.create_bgw("home")


def test_unreachable_endpoint_raises_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = JDCloudHook.from_credentials(
        "AK", "SK-SECRET", endpoint=f"127.0.0.1:{port}", scheme="http", max_attempts=2, retry_base_wait=0.001
    )

    with pytest.raises(JDCloudTransportError, match="DescribeVpcs failed"):
        hook.describe_vpcs()


def test_get_request_carries_path_filters_and_signature(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"routeTableRules": [{"ruleId": "r-1", "origin": "propagated"}], "totalCount": 1})

    rules = hook.describe_route_table_rules(
        "rtb-1", origins=["propagated"], address_prefix="10.2.0.0/16", region="cn-east-2"
    )

    assert [(rule.rule_id, rule.origin) for rule in rules] == [("r-1", "propagated")]
    request = api_server.requests[0]
    assert request.method == "GET"
    assert urlsplit(request.path).path == "/v1/regions/cn-east-2/routeTables/rtb-1/routeTableRules"
    assert _query(request.path) == {
        "pageSize": "100",
        "pageNumber": "1",
        "filters.1.name": "origins",
        "filters.1.values.1": "propagated",
        "filters.2.name": "addressPrefix",
        "filters.2.values.1": "10.2.0.0/16",
    }
    assert request.headers["Authorization"].startswith("JDCLOUD3-HMAC-SHA256 Credential=AK-TEST/")
    assert "/cn-east-2/vpc/jdcloud3_request" in request.headers["Authorization"]


def test_post_body_is_the_flattened_spec(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"vpnTunnelId": "vpntnl-1"})
    spec = VpnTunnelSpec(
        vpn_connection_id="vpnc-1", cloud_public_ip="1.1.1.1", customer_ip="2.2.2.2", psk=SecretStr("Abc_123")
    )

    assert hook.create_vpn_tunnel(spec) == "vpntnl-1"
    request = api_server.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/regions/cn-north-1/vpnTunnels/")
    assert api_server.json_body(0) == {
        "vpnConnectionId": "vpnc-1",
        "cloudPublicIp": "1.1.1.1",
        "customerIp": "2.2.2.2",
        "psk": "Abc_123",
        "regionId": "cn-north-1",
    }


def test_bgw_route_and_admin_status_requests(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"bgwRouteId": "bgwr-1"})
    api_server.reply()

    route_id = hook.create_bgw_route("bgw-1", destination="10.2.0.0/16", next_hop_id="vpnc-1")
    hook.modify_vpn_tunnel_admin_status("vpntnl-1", "DOWN")

    assert route_id == "bgwr-1"
    assert api_server.requests[0].path == "/v1/regions/cn-north-1/bgws/bgw-1/bgwRoutes"
    assert api_server.json_body(0) == {
        "bgwId": "bgw-1",
        "bgwRouteDestination": "10.2.0.0/16",
        "bgwNexthopType": "vpn_connection",
        "bgwRouteNexthop": "vpnc-1",
        "regionId": "cn-north-1",
    }
    assert api_server.requests[1].path == "/v1/regions/cn-north-1/vpnTunnels/vpntnl-1:adminStatus"
    assert api_server.json_body(1)["adminStatus"] == "DOWN"


def test_add_route_table_rules_body(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    rule = RouteTableRuleSpec(next_hop_type="bgw", next_hop_id="bgw-1", address_prefix="10.2.0.0/16")

    hook.add_route_table_rules("rtb-1", [rule])

    assert api_server.requests[0].path == "/v1/regions/cn-north-1/routeTables/rtb-1:addRouteTableRules"
    assert api_server.json_body(0)["routeTableRuleSpecs"] == [
        {"nextHopType": "bgw", "nextHopId": "bgw-1", "addressPrefix": "10.2.0.0/16"}
    ]


def test_empty_result_returns_empty_dict(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply()

    assert hook.call("DeleteBgw", {"bgwId": "bgw-1"}) == {}
    assert api_server.requests[0].method == "DELETE"
    assert urlsplit(api_server.requests[0].path).path == "/v1/regions/cn-north-1/bgws/bgw-1"


def test_list_all_follows_pages(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"bgws": [{"bgwId": "bgw-1"}, {"bgwId": "bgw-2"}], "totalCount": 3})
    api_server.reply({"bgws": [{"bgwId": "bgw-3"}], "totalCount": 3})

    items = hook.list_all("DescribeBgws", "bgws", filters={"bgwNames": ["a", "b"]}, page_size=2)

    assert [item["bgwId"] for item in items] == ["bgw-1", "bgw-2", "bgw-3"]
    assert [_query(r.path)["pageNumber"] for r in api_server.requests] == ["1", "2"]
    assert _query(api_server.requests[0].path)["filters.1.values.2"] == "b"


def test_find_bgw_by_name_matches_exactly(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"bgws": [{"bgwId": "bgw-1", "bgwName": "home-2"}, {"bgwId": "bgw-2", "bgwName": "home"}]})
    api_server.reply({"bgws": [], "totalCount": 0})

    found = hook.find_bgw_by_name("home")

    assert found is not None and found.bgw_id == "bgw-2"
    assert hook.find_bgw_by_name("absent") is None


def test_assistant_command_flow(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"commandId": "cmd-1"})
    api_server.reply({"invokeId": "inv-1"})
    api_server.reply(
        {
            "invocations": [
                {
                    "status": "finish",
                    "invocationInstances": [
                        {
                            "instanceId": "i-1",
                            "status": "finish",
                            "exitCode": "0",
                            "output": "NCBwYWNrZXRzCg==",
                        }
                    ],
                }
            ],
            "totalCount": 1,
        }
    )

    command_id = hook.create_command("ping", "ping -c 4 10.2.0.5")
    invoke_id = hook.invoke_command(command_id, ["i-1"])
    invocation = hook.describe_invocation(invoke_id)

    assert api_server.json_body(0)["commandContent"] == "cGluZyAtYyA0IDEwLjIuMC41"
    assert api_server.json_body(1)["instances"] == ["i-1"]
    assert api_server.json_body(2)["invokeIds"] == ["inv-1"]
    assert invocation.finished
    assert invocation.invocation_instances[0].exit_code == "0"
    assert invocation.invocation_instances[0].output_text == "4 packets\n"


def test_describe_invocation_not_found(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.reply({"invocations": [], "totalCount": 0})

    with pytest.raises(NotFound, match="inv-x"):
        hook.describe_invocation("inv-x")


def test_missing_path_parameter_fails_before_sending(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    with pytest.raises(ValueError, match="'vpnTunnelId'"):
        hook.call("DescribeVpnTunnel", {})
    with pytest.raises(ValueError, match="Unknown JD Cloud operation"):
        hook.call("DescribeNothing", {})
    with pytest.raises(ValueError, match="admin_status"):
        hook.modify_vpn_tunnel_admin_status("vpntnl-1", "up")  # type: ignore[arg-type]

    assert api_server.requests == []


def test_hook_from_airflow_connection(monkeypatch: pytest.MonkeyPatch, api_server: ScriptedApi) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_JDCLOUD_UNIT",
        '{"conn_type": "jdcloud", "login": "AK-CONN", "password": "SK-CONN-SECRET",'
        f' "extra": {{"region": "cn-south-1", "endpoint": "{api_server.endpoint}", "scheme": "http"}}}}',
    )
    api_server.reply({"vpcs": [], "totalCount": 0})

    hook = JDCloudHook("jdcloud_unit")

    assert hook.test_connection() == (True, "Listed VPCs in cn-south-1")
    assert "SK-CONN-SECRET" not in repr(hook.settings)
    assert urlsplit(api_server.requests[0].path).path == "/v1/regions/cn-south-1/vpcs/"
    assert JDCloudHook("jdcloud_unit", region="cn-east-1").region == "cn-east-1"


def test_hook_from_airflow_connection_in_async_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_JDCLOUD_ASYNC",
        '{"conn_type": "jdcloud", "login": "AK-A", "password": "SK-A-SECRET", "extra": {"region": "cn-east-2"}}',
    )

    hook = asyncio.run(JDCloudHook.from_connection_async("jdcloud_async"))

    assert (hook.settings.access_key, hook.region, hook.settings.endpoint) == ("AK-A", "cn-east-2", None)


def test_connection_without_credentials_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_JDCLOUD_EMPTY", '{"conn_type": "jdcloud"}')

    with pytest.raises(ValueError, match="needs login"):
        _ = JDCloudHook("jdcloud_empty").settings
