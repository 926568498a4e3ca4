"""Tests of the response models, request specs and the command-output decoder."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr, ValidationError

from airflow_provider_jdcloud.models import (
    BgwRoute,
    Instance,
    VpnConnection,
    VpnTunnel,
    VpnTunnelModifySpec,
    VpnTunnelSpec,
    decode_command_output,
)

PSK = "Sekret_Psk-42"


def test_tunnel_psk_is_hidden_in_repr_str_and_json() -> None:
    tunnel = VpnTunnel.model_validate({"vpnTunnelId": "vpntnl-1", "psk": PSK, "adminStatus": "UP"})

    assert PSK not in repr(tunnel)
    assert PSK not in str(tunnel)
    assert PSK not in tunnel.model_dump_json()
    assert tunnel.psk == SecretStr(PSK)
    assert tunnel.admin_status == "UP"


def test_spec_reveals_psk_only_in_the_request_body() -> None:
    spec = VpnTunnelSpec(
        vpn_connection_id="vpnc-1",
        cloud_public_ip="1.1.1.1",
        customer_ip="2.2.2.2",
        psk=PSK,
        ike_version="v2",
    )

    assert PSK not in repr(spec)
    assert spec.to_request() == {
        "vpnConnectionId": "vpnc-1",
        "cloudPublicIp": "1.1.1.1",
        "customerIp": "2.2.2.2",
        "psk": PSK,
        "ikeVersion": "v2",
    }


@pytest.mark.parametrize("bad_psk", ["0xAbcdef12", "has space!", "a" * 21, ""])
def test_invalid_psk_is_rejected_without_echoing_it(bad_psk: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        VpnTunnelModifySpec(psk=bad_psk)

    assert "psk must be" in str(excinfo.value)
    if bad_psk:
        assert bad_psk not in str(excinfo.value)


def test_spec_rejects_unknown_algorithms() -> None:
    with pytest.raises(ValidationError, match="ike_cipher"):
        VpnTunnelModifySpec(ike_cipher="des")


def test_camel_case_responses_parse_to_snake_case() -> None:
    connection = VpnConnection.model_validate(
        {
            "vpnConnectionId": "vpnc-1",
            "cloudPublicIp": ["1.1.1.1", "1.1.1.2"],
            "haStatus": "redundancy",
            "bgpEnabled": False,
            "providers": None,
            "unknownField": 1,
        }
    )
    route = BgwRoute.model_validate({"bgwRouteId": "r-1", "bgwRouteNextHopType": "vpnConnection"})
    instance = Instance(instance_id="i-1", private_ip_address="10.0.0.5")

    assert connection.cloud_public_ip == ["1.1.1.1", "1.1.1.2"]
    assert (connection.ha_status, connection.bgp_enabled, connection.providers) == ("redundancy", False, [])
    assert route.bgw_route_next_hop_type == "vpnConnection"
    assert route.bgw_route_priority is None
    assert instance.model_dump(by_alias=True, exclude_none=True) == {
        "instanceId": "i-1",
        "privateIpAddress": "10.0.0.5",
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (None, ""),
        ("", ""),
        (_b64("4 packets transmitted, 4 received\n"), "4 packets transmitted, 4 received\n"),
        (_b64("hello"), "hello"),
        # Base64 wrapped over lines still decodes.
        (_b64("x" * 60)[:40] + "\n" + _b64("x" * 60)[40:], "x" * 60),
        (_b64("中文输出"), "中文输出"),
        # Plain text stays as it is.
        ("PING 10.2.0.5 (10.2.0.5) 56(84) bytes of data.", "PING 10.2.0.5 (10.2.0.5) 56(84) bytes of data."),
        ("test", "test"),
        ("done", "done"),
        ("OK", "OK"),
        # Valid base64 of binary data is not text: keep the raw string.
        (base64.b64encode(b"\x00\x01\xff").decode(), base64.b64encode(b"\x00\x01\xff").decode()),
        # Non-canonical padding does not round-trip.
        ("aGVsbG8", "aGVsbG8"),
    ],
)
def test_decode_command_output(output: str | None, expected: str) -> None:
    assert decode_command_output(output) == expected
