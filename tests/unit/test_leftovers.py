"""The matrices judge "nothing left" from the emulator's own state, so a resource the client cannot see counts."""

from __future__ import annotations

from include.jdcloud_vpn.conf import TeardownTarget
from tests import faultmatrix


def test_leftovers_count_what_the_emulator_holds_not_what_the_client_plans():
    target = TeardownTarget(name="fmx", home_region="cn-north-1", peer_region="cn-east-2")
    state = {
        "vpcs": [{"vpcId": "vpc-seeded"}],  # seeded, not the build's
        "vpnConnections": [{"vpnConnectionId": "vpnc-1", "vpnConnectionName": "renamed-by-hand"}],
        "commands": [{"commandId": "cmd-1", "commandName": "ic-fmx-h2p-ping"}],
        "instances": [
            {"instanceName": "ic-fmx-home-vm", "status": "running"},
            {"instanceName": "ic-fmx-peer-vm", "status": "deleting"},
            {"instanceName": "seeded-probe", "status": "running"},
        ],
    }
    left = faultmatrix.leftovers(state, target)
    assert [item["kind"] for item in left] == ["vpnConnections", "commands", "instances"]
    assert faultmatrix.leftover_problem(left) == "left after teardown: 1 commands, 1 instances, 1 vpnConnections"
    assert faultmatrix.leftovers({"vpcs": state["vpcs"]}, target) == []
