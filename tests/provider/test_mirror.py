"""Mirror tunnels: the comparison the tunnel waiter and the ping diagnosis share."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_jdcloud.mirror import find_mirror, mirror_mismatch
from airflow_provider_jdcloud.models import VpnTunnel

SECRET = "Stored_Key_123"


def _tunnel(tunnel_id: str, cloud_ip: str, customer_ip: str, **fields: Any) -> VpnTunnel:
    settings = {
        "psk": SECRET,
        "ike_version": "v2",
        "ike_cipher": "aes128",
        "ipsec_auth": "sha256",
        "admin_status": "UP",
    }
    return VpnTunnel(vpn_tunnel_id=tunnel_id, cloud_public_ip=cloud_ip, customer_ip=customer_ip, **(settings | fields))


HOME = _tunnel("t-home", "1.1.1.1", "2.2.2.2")


def test_the_mirror_has_the_ips_swapped() -> None:
    mirror, stranger = _tunnel("t-peer", "2.2.2.2", "1.1.1.1"), _tunnel("t-other", "2.2.2.2", "1.1.1.9")

    assert find_mirror(HOME, [stranger, mirror]) is mirror
    assert find_mirror(HOME, [stranger]) is None
    assert mirror_mismatch(HOME, [mirror], "home", "peer") is None


@pytest.mark.parametrize(
    ("mirror_fields", "reason", "detail"),
    [
        ({"psk": "Other_Key_456"}, "tunnel_down_psk_mismatch", "use different pre-shared keys"),
        ({"ike_version": "v1"}, "tunnel_down_ike_version_mismatch", "IKE v2 vs v1"),
        ({"ike_cipher": "aes256"}, "tunnel_down_proposal_mismatch", "ike_cipher aes128 vs aes256"),
        ({"ipsec_auth": "sha1"}, "tunnel_down_proposal_mismatch", "ipsec_auth sha256 vs sha1"),
        ({"admin_status": "DOWN"}, "tunnel_admin_down", "t-peer on the peer side has adminStatus DOWN"),
    ],
)
def test_a_mismatch_names_both_tunnels_and_the_field(mirror_fields: dict, reason: str, detail: str) -> None:
    mirror = _tunnel("t-peer", "2.2.2.2", "1.1.1.1", **mirror_fields)

    found = mirror_mismatch(HOME, [mirror], "home", "peer")

    assert found is not None and found[0] == reason and detail in found[1], found
    assert SECRET not in found[1] and "Other_Key_456" not in found[1]


def test_a_missing_mirror() -> None:
    assert mirror_mismatch(HOME, [], "cn-north-1", "cn-east-2") == (
        "tunnel_missing_peer",
        "tunnel t-home (cn-north-1) has no cn-east-2 tunnel from 2.2.2.2 to 1.1.1.1",
    )
