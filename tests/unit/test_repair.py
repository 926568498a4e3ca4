"""Repairing a drifted tunnel: only the drifted fields are written, between adminStatus DOWN and UP."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_jdcloud.exceptions import InvalidArgument
from include.jdcloud_vpn.conf import TunnelParams
from include.jdcloud_vpn.results import Drift
from include.jdcloud_vpn.steps import repair_vpn_tunnel

PSK = "Stored_Key_123"


class RecordingHook:
    """Records the tunnel calls; ``modify_vpn_tunnel`` raises ``fail_with`` when set."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_with = fail_with

    def modify_vpn_tunnel_admin_status(self, tunnel_id: str, admin_status: str, *, region: str) -> None:
        self.calls.append(("admin", admin_status))

    def modify_vpn_tunnel(self, tunnel_id: str, spec: Any, *, region: str) -> None:
        self.calls.append(("modify", spec.to_request()))
        if self.fail_with:
            raise self.fail_with


def _drift(*fields: str) -> list[Drift]:
    return [Drift(resource="vpnTunnel t-1", field=f, expected=None, actual=None) for f in fields]


def test_only_the_drifted_fields_are_written_between_down_and_up():
    hook = RecordingHook()

    repair_vpn_tunnel(hook, "t-1", _drift("ikeCipher", "psk"), TunnelParams().to_api(), PSK, region="cn-north-1")

    assert hook.calls == [("admin", "DOWN"), ("modify", {"ikeCipher": "aes128", "psk": PSK}), ("admin", "UP")]


def test_no_pfs_is_written_as_jd_spells_it():
    hook = RecordingHook()

    repair_vpn_tunnel(hook, "t-1", _drift("ipsecKeyExchange"), TunnelParams().to_api(), PSK, region="cn-north-1")

    assert hook.calls[1] == ("modify", {"ipsecKeyExchange": "null"})


def test_a_failed_modify_still_brings_the_tunnel_up():
    hook = RecordingHook(fail_with=InvalidArgument("ModifyVpnTunnel", 400, "INVALID_ARGUMENT", "bad"))

    with pytest.raises(InvalidArgument):
        repair_vpn_tunnel(hook, "t-1", _drift("ikeAuth"), TunnelParams().to_api(), PSK, region="cn-north-1")

    assert [call[0] for call in hook.calls] == ["admin", "modify", "admin"] and hook.calls[-1] == ("admin", "UP")
