"""Model against reality: the same broken hop, built through the real SDK in a model-mode and a real-mode emulator,
must give the same settled tunnel states and the same ping verdict.

Each case builds the tutorial's interconnect in both emulators (with the case's tunnel overrides), breaks one
hop the same way in both, waits until each emulator's tunnel states have not changed for ``SETTLED_S``, and
compares them, then pings home -> peer in both and compares exit code and replies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.emulator.scenario import (
    Site,
    build_interconnect,
    instance_status,
    op_statuses,
    run_ping,
)
from tests.sdk_client import ApiError, SdkClient

pytestmark = pytest.mark.timeout(120)

SETTLED_S = 3.0  # three initiator retries of the real data plane; longer than every model latency here
SETTLE_TIMEOUT_S = 30.0
REPLIES = re.compile(r"(\d+) packets transmitted, (\d+) received")


def _no_break(api: SdkClient, home: Site, peer: Site) -> None:
    """Nothing to break: the case is in how it was built."""


def _home_tunnels_admin_down(api: SdkClient, home: Site, peer: Site) -> None:
    home.modify_tunnels(api, "ModifyAdminStatus", adminStatus="DOWN")


def _peer_route_sends_home_to_internet(api: SdkClient, home: Site, peer: Site) -> None:
    spec = {"nextHopType": "internet", "nextHopId": "internet", "addressPrefix": f"{home.private_ip}/32"}
    api.call("AddRouteTableRules", peer.region, routeTableId=peer.route_table_id, routeTableRuleSpecs=[spec])


def _home_static_route_deleted(api: SdkClient, home: Site, peer: Site) -> None:
    api.call("DeleteBgwRoute", home.region, bgwId=home.bgw_id, bgwRouteId=home.route_id)


def _peer_attachment_deleted(api: SdkClient, home: Site, peer: Site) -> None:
    api.call("DeleteVpcAttachment", peer.region, vpcAttachmentId=peer.attachment_id)


def _peer_vm_deleted(api: SdkClient, home: Site, peer: Site) -> None:
    api.call("DeleteInstance", peer.region, instanceId=peer.instance_id)


def _peer_tunnels_deleted(api: SdkClient, home: Site, peer: Site) -> None:
    """Set DOWN, then deleted once JD lets them go: home's tunnels have no far end left."""
    peer.modify_tunnels(api, "ModifyAdminStatus", adminStatus="DOWN")
    for tunnel_id in peer.tunnel_ids:
        api.wait_for(lambda t=tunnel_id: _deleted(api, peer.region, t))
    peer.tunnel_ids.clear()  # only home's tunnel states are left to compare


def _deleted(api: SdkClient, region: str, tunnel_id: str) -> bool:
    try:
        api.call("DeleteVpnTunnel", region, vpnTunnelId=tunnel_id)
    except ApiError as error:
        assert error.status == "FAILED_PRECONDITION", error  # still going down: retry
        return False
    return True


@dataclass(frozen=True)
class Case:
    tunnel: dict = field(default_factory=dict)  # both sides
    peer_tunnel: dict = field(default_factory=dict)  # the peer's side, over ``tunnel``
    break_hop: Callable[[SdkClient, Site, Site], None] = _no_break


CASES = {
    "healthy": Case(),
    "psk-mismatch": Case(peer_tunnel={"psk": "Another_PSK_42"}),
    "ike-version-mismatch": Case(peer_tunnel={"ikeVersion": "v1"}),
    "ike-cipher-mismatch": Case(peer_tunnel={"ikeCipher": "aes256"}),
    "ikev1-mode-mismatch": Case(tunnel={"ikeVersion": "v1"}, peer_tunnel={"ikeMode": "aggressive"}),
    "ike-dh-group-mismatch": Case(peer_tunnel={"ikeKeyExchange": "modp2048"}),
    "esp-cipher-mismatch": Case(peer_tunnel={"ipsecCipher": "aes256"}),
    "esp-auth-mismatch": Case(peer_tunnel={"ipsecAuth": "sha384"}),
    "home-tunnels-admin-down": Case(break_hop=_home_tunnels_admin_down),
    "peer-route-table-hijack": Case(break_hop=_peer_route_sends_home_to_internet),
    "home-bgw-static-route-deleted": Case(break_hop=_home_static_route_deleted),
    "peer-attachment-deleted": Case(break_hop=_peer_attachment_deleted),
    "peer-tunnels-deleted": Case(break_hop=_peer_tunnels_deleted),
    "peer-vm-deleted": Case(break_hop=_peer_vm_deleted),
}


def _build(api: SdkClient, case: Case) -> tuple[Site, Site]:
    home, peer = build_interconnect(api, peer_tunnel=case.tunnel | case.peer_tunnel, **case.tunnel)
    for site in (home, peer):
        api.wait_for(lambda s=site: instance_status(api, s.region, s.instance_id) == "running")
    return home, peer


def _settled_states(sides: dict[str, tuple[SdkClient, Site, Site]]) -> dict[str, list[str]]:
    """Poll every emulator's tunnel states until each has stayed the same for ``SETTLED_S``."""
    last: dict[str, list[str]] = {}
    since: dict[str, float] = {}
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        now = time.monotonic()
        for mode, (api, home, peer) in sides.items():
            states = op_statuses(api, home, peer)
            if states != last.get(mode):
                last[mode], since[mode] = states, now
        if all(now - since[mode] >= SETTLED_S for mode in sides):
            return last
        assert now < deadline, f"tunnel states did not settle within {SETTLE_TIMEOUT_S}s: {last}"
        time.sleep(0.2)


def _verdict(api: SdkClient, home: Site, peer: Site) -> tuple[str, int]:
    result = run_ping(api, home, peer.private_ip)
    found = REPLIES.search(result["output"])
    return result["exitCode"], int(found.group(2)) if found else 0


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_model_and_real_data_planes_agree(model_api, real_api, case):
    sides = {}
    for mode, api in (("model", model_api), ("real", real_api)):
        home, peer = _build(api, case)
        case.break_hop(api, home, peer)
        sides[mode] = (api, home, peer)
    states = _settled_states(sides)
    assert states["model"] == states["real"], states
    verdicts = {mode: _verdict(*sides[mode]) for mode in sides}
    assert verdicts["model"] == verdicts["real"], (states, verdicts)
