"""Secrets must never reach stdout, stderr or logs, whatever the SDK does with request bodies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from jdcloud_sdk.core.logger import ERROR, FATAL, INFO, WARN

from airflow_provider_jdcloud.exceptions import InvalidArgument, JDCloudTransportError
from airflow_provider_jdcloud.hooks.base import QuietSdkLogger
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.models import VpnTunnelSpec

if TYPE_CHECKING:
    from tests.provider.conftest import ScriptedApi

FAKE_PSK = "FakePsk_Zq81x"
SECRET_KEY = "SK-TEST-SECRET"


def _spec() -> VpnTunnelSpec:
    return VpnTunnelSpec(vpn_connection_id="vpnc-1", cloud_public_ip="1.1.1.1", customer_ip="2.2.2.2", psk=FAKE_PSK)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert FAKE_PSK not in text
        assert SECRET_KEY not in text


def test_psk_never_printed_or_logged(
    hook: JDCloudHook,
    api_server: ScriptedApi,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    api_server.reply({"vpnTunnelId": "vpntnl-1"})
    api_server.reply({"vpnTunnel": {"vpnTunnelId": "vpntnl-1", "psk": FAKE_PSK, "opStatus": "UP"}})
    api_server.fail(400, "INVALID_ARGUMENT", f"psk {FAKE_PSK} is invalid")
    for _ in range(4):
        api_server.raw(502, f"<html>proxy error for psk={FAKE_PSK}</html>")

    with caplog.at_level(logging.DEBUG):
        hook.create_vpn_tunnel(_spec())
        tunnel = hook.describe_vpn_tunnel("vpntnl-1")
        with pytest.raises(InvalidArgument) as invalid:
            hook.create_vpn_tunnel(_spec())
        with pytest.raises(JDCloudTransportError) as transport:
            hook.create_vpn_tunnel(_spec())

    assert FAKE_PSK in api_server.requests[0].body, "the PSK must still reach the API"
    assert tunnel.psk is not None and tunnel.psk.get_secret_value() == FAKE_PSK
    out, err = capfd.readouterr()
    _assert_no_secret(out, err, caplog.text, str(invalid.value), str(transport.value), repr(tunnel))
    assert "psk *** is invalid" in str(invalid.value)


@pytest.mark.parametrize("level", [INFO, WARN])
def test_quiet_logger_drops_info_and_warnings(level: int, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        QuietSdkLogger().log(level, f'body={{"psk": "{FAKE_PSK}"}}')

    assert caplog.records == []


@pytest.mark.parametrize("level", [ERROR, FATAL])
def test_quiet_logger_keeps_only_the_exception_name_of_errors(
    level: int, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    traceback_text = (
        "Traceback (most recent call last):\n"
        f'  File "x.py", line 1, in send\n    body = \'{{"psk": "{FAKE_PSK}"}}\'\n'
        f"requests.exceptions.ConnectionError: cannot send psk={FAKE_PSK}"
    )

    with caplog.at_level(logging.DEBUG):
        QuietSdkLogger().log(level, traceback_text)

    assert [record.getMessage() for record in caplog.records] == [
        "jdcloud_sdk reported an error: requests.exceptions.ConnectionError (details redacted)"
    ]
    out, err = capfd.readouterr()
    _assert_no_secret(out, err)


def test_vm_password_is_redacted_from_server_messages(hook: JDCloudHook, api_server: ScriptedApi) -> None:
    api_server.fail(400, "INVALID_ARGUMENT", "password Weak-Pass-123 is too weak")

    with pytest.raises(InvalidArgument) as excinfo:
        hook.create_instances({"name": "vm-1", "password": "Weak-Pass-123"})

    assert "Weak-Pass-123" not in str(excinfo.value)
