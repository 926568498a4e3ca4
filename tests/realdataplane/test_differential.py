"""Model against reality: the same broken hop, built through the real SDK in a model-mode and a real-mode emulator,
must give the same settled tunnel states and the same ping verdict.

Each case builds the tutorial's interconnect in both emulators (with the case's tunnel overrides, on CIDRs of
its own), breaks one hop the same way in both, waits until the tunnel states have not changed for ``SETTLED_S``
and the modes agree (or ``SETTLE_TIMEOUT_S`` has passed: then they differ), then pings home -> peer in both. The
cases run in batches of five (the emulator's quota of border gateways per region), each batch on reset emulators
and settled once; each case's test compares what its batch saw.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from include.jdcloud_emulator.models.bgw import BGW_PER_REGION
from include.jdcloud_emulator.server import RunningEmulator
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.conftest import reset_control
from tests.emulator.scenario import HOME, PEER, Site, build_interconnect, instance_status, run_ping
from tests.sdk_client import ApiError, SdkClient

pytestmark = pytest.mark.timeout(300)

SETTLED_S = 10.0  # two whole IKE attempts (resent every 1 s, 3 times) on a busy machine; over every model latency
SETTLE_TIMEOUT_S = 60.0
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


BATCH = BGW_PER_REGION  # a batch's interconnects take every border gateway a region allows


def _build(api: SdkClient, case: Case, index: int) -> tuple[Site, Site]:
    home_cidr, peer_cidr = f"10.{10 + index}.0.0/16", f"10.{50 + index}.0.0/16"
    home, peer = build_interconnect(
        api, home_cidr, peer_cidr, peer_tunnel=case.tunnel | case.peer_tunnel, **case.tunnel
    )
    for site in (home, peer):
        api.wait_for(lambda s=site: instance_status(api, s.region, s.instance_id) == "running", interval=0.1)
    return home, peer


def _op_statuses(api: SdkClient) -> dict[str, str]:
    """Every tunnel's opStatus, two list calls (a call per tunnel per poll would hit the rate limit)."""
    return {
        t["vpnTunnelId"]: t["opStatus"] for r in (HOME, PEER) for t in api.call("DescribeVpnTunnels", r)["vpnTunnels"]
    }


def _settled_states(sides: dict[tuple[str, str], tuple[SdkClient, Site, Site]]) -> dict[tuple[str, str], list[str]]:
    """Poll every side's tunnel states until none has changed for ``SETTLED_S`` and the two modes agree, or,
    when they do not, until ``SETTLE_TIMEOUT_S`` (real IKE on a busy machine may take a few attempts: the test
    compares verdicts, not how fast they come)."""
    last: dict[tuple[str, str], list[str]] = {}
    since = time.monotonic()
    deadline = since + SETTLE_TIMEOUT_S
    while True:
        now = time.monotonic()
        statuses = {id(api): _op_statuses(api) for api, _, _ in sides.values()}
        states = {
            key: [statuses[id(api)][t] for t in home.tunnel_ids + peer.tunnel_ids]
            for key, (api, home, peer) in sides.items()
        }
        if states != last:
            last, since = states, now
        agree = all(last[(name, "model")] == last[(name, "real")] for name, _ in last)
        if now - since >= SETTLED_S and (agree or now >= deadline):
            return last
        assert now < deadline + SETTLED_S, f"tunnel states did not settle within {SETTLE_TIMEOUT_S}s: {last}"
        time.sleep(0.5)


def _verdict(api: SdkClient, home: Site, peer: Site) -> tuple[str, int]:
    result = run_ping(api, home, peer.private_ip)
    found = REPLIES.search(result["output"])
    return result["exitCode"], int(found.group(2)) if found else 0


@pytest.fixture(scope="module")
def outcomes(model_emulator: RunningEmulator, real_emulator: RunningEmulator) -> dict[str, dict]:
    """Per case: each mode's settled tunnel states and ping verdict."""
    emulators = {"model": model_emulator, "real": real_emulator}
    names = list(CASES)
    seen: dict[str, dict] = {}
    for first in range(0, len(names), BATCH):
        batch = names[first : first + BATCH]
        with reset_control(model_emulator), reset_control(real_emulator):
            sides = {}
            for index, name in enumerate(batch):
                for mode, emulator in emulators.items():
                    api = SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
                    home, peer = _build(api, CASES[name], index)
                    CASES[name].break_hop(api, home, peer)
                    sides[(name, mode)] = (api, home, peer)
            states = _settled_states(sides)
            for name in batch:
                seen[name] = {
                    "states": {mode: states[(name, mode)] for mode in emulators},
                    "verdicts": {mode: _verdict(*sides[(name, mode)]) for mode in emulators},
                }
    return seen


@pytest.mark.parametrize("name", list(CASES))
def test_model_and_real_data_planes_agree(outcomes, name):
    outcome = outcomes[name]
    assert outcome["states"]["model"] == outcome["states"]["real"], outcome
    assert outcome["verdicts"]["model"] == outcome["verdicts"]["real"], outcome
