"""The simulated data plane: which tunnels negotiate, and whether a ping crosses the interconnect."""

from __future__ import annotations

import re

import pytest
from jdcloud_sdk.services.common.models.Filter import Filter

from tests.emulator.scenario import (
    HOME,
    PEER,
    TUNNEL_DEFAULTS,
    Site,
    add_tunnel,
    assert_holds,
    build_interconnect,
    build_sites,
    create_connections,
    instance_status,
    launch_vm,
    negotiation,
    op_statuses,
    route_table_rules,
    run_ping,
    wait_until_connected,
)

# Three negotiation latencies at the suite's time scale (20 s x 0.002 = 40 ms): long enough to have come UP.
HOLD_S = 0.15
LOST = "4 packets transmitted, 0 received, 100% packet loss"


def _all_down(api, home: Site, peer: Site):
    return op_statuses(api, home, peer) == ["DOWN"] * 4


def _reasons(control, home: Site, peer: Site) -> tuple[set, set]:
    return {negotiation(control, t) for t in home.tunnel_ids}, {negotiation(control, t) for t in peer.tunnel_ids}


@pytest.mark.parametrize(
    ("mismatch", "home_value", "reason"),
    [
        ({"psk": "Another_PSK"}, TUNNEL_DEFAULTS["psk"], "psk_mismatch"),
        ({"ikeVersion": "v1"}, "v2", "ike_version_mismatch"),
        ({"ikeCipher": "aes256"}, "aes128", "ike_proposal_mismatch"),
        ({"ikeAuth": "sha1"}, "sha256", "ike_proposal_mismatch"),
        ({"ikeKeyExchange": "modp2048"}, "ecp256", "ike_proposal_mismatch"),
        ({"ipsecCipher": "aes256"}, "aes128", "ipsec_proposal_mismatch"),
        ({"ipsecAuth": "sha384"}, "sha256", "ipsec_proposal_mismatch"),
        ({"ipsecKeyExchange": "modp2048"}, "null", "ipsec_proposal_mismatch"),  # PFS on one side only
    ],
)
def test_tunnel_stays_down_on_parameter_mismatch(api, control, mismatch, home_value, reason):
    home, peer = build_interconnect(api, peer_tunnel=mismatch)
    assert _reasons(control, home, peer) == ({reason}, {reason})
    assert_holds(lambda: _all_down(api, home, peer), HOLD_S)
    # Put the peer's parameter back to the home side's value: the mismatch alone kept the tunnels DOWN.
    [field] = mismatch
    peer.modify_tunnels(api, "ModifyVpnTunnel", **{field: home_value})
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)


def test_ike_mode_matters_only_for_ikev1(api, control):
    home, peer = build_interconnect(api, ikeVersion="v2", peer_tunnel={"ikeMode": "aggressive"})
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)
    home, peer = build_interconnect(
        api, home_cidr="10.11.0.0/16", peer_cidr="10.21.0.0/16", ikeVersion="v1", peer_tunnel={"ikeMode": "aggressive"}
    )
    assert _reasons(control, home, peer) == ({"ike_mode_mismatch"}, {"ike_mode_mismatch"})
    assert_holds(lambda: _all_down(api, home, peer), HOLD_S)


def test_tunnel_stays_down_when_one_side_is_admin_down(api, control):
    home, peer = build_interconnect(api)
    peer.modify_tunnels(api, "ModifyAdminStatus", adminStatus="DOWN")
    assert _reasons(control, home, peer) == ({"peer_admin_down"}, {"admin_down"})
    assert_holds(lambda: _all_down(api, home, peer), HOLD_S)
    peer.modify_tunnels(api, "ModifyAdminStatus", adminStatus="UP")
    api.wait_for(lambda: op_statuses(api, home, peer) == ["UP"] * 4)


def test_tunnel_stays_down_when_the_cgw_is_not_cross_wired(api, control):
    # Skip tutorial step 5: home's CGW keeps its placeholder IPs, so home's tunnels point nowhere.
    home, peer = build_sites(api, with_vms=False)
    create_connections(api, home, peer, home_sees=0)
    for cloud_ip, placeholder, remote_ip in zip(home.cloud_ips, ["1.0.0.1", "1.0.0.2"], peer.cloud_ips, strict=True):
        add_tunnel(api, home, cloud_ip, placeholder)
        add_tunnel(api, peer, remote_ip, cloud_ip)
    assert _reasons(control, home, peer) == ({"no_peer_tunnel"}, {"no_peer_tunnel"})
    assert_holds(lambda: _all_down(api, home, peer), HOLD_S)


# ---------------------------------------------------------------- ping across the interconnect


@pytest.fixture
def connected(api) -> tuple[Site, Site]:
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    return home, peer


def _assert_lost(result: dict) -> None:
    assert result["exitCode"] == "1", result
    assert result["status"] == "failed"
    assert LOST in result["output"], result["output"]
    assert "rtt min/avg/max/mdev" not in result["output"]


def test_healthy_path_pings_both_ways(api, connected):
    home, peer = connected
    for source, target in ((home, peer), (peer, home)):
        result = run_ping(api, source, target.private_ip)
        assert (result["exitCode"], result["status"]) == ("0", "finish")
        assert "4 packets transmitted, 4 received, 0% packet loss" in result["output"]
        times = [float(t) for t in re.findall(r"time=([\d.]+) ms", result["output"])]
        assert len(times) == 4 and all(20 < t < 40 for t in times), times  # cn-north-1 <-> cn-east-2: ~28 ms
        assert re.search(r"^rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms$", result["output"], re.M)


def test_ping_fails_when_the_route_table_lacks_the_remote_cidr(api, connected):
    home, peer = connected
    api.call("DeleteBgwRoute", HOME, bgwId=home.bgw_id, bgwRouteId=home.route_id)
    assert route_table_rules(api, HOME, home.route_table_id, Filter("addressPrefix", [peer.cidr])) == []
    _assert_lost(run_ping(api, home, peer.private_ip))
    _assert_lost(run_ping(api, peer, home.private_ip))  # the replies have no way back either


def test_ping_fails_when_only_the_return_bgw_lacks_the_route(api, connected):
    home, peer = connected
    # The peer VPC still sends home-bound traffic to its BGW (a static rule), but the BGW has no route onward.
    api.call("DeleteBgwRoute", PEER, bgwId=peer.bgw_id, bgwRouteId=peer.route_id)
    spec = {"nextHopType": "bgw", "nextHopId": peer.bgw_id, "addressPrefix": home.cidr}
    api.call("AddRouteTableRules", PEER, routeTableId=peer.route_table_id, routeTableRuleSpecs=[spec])
    home_rules = route_table_rules(api, HOME, home.route_table_id, Filter("nextHopTypes", ["bgw"]))
    assert [r["addressPrefix"] for r in home_rules] == [peer.cidr]  # the forward path is intact
    _assert_lost(run_ping(api, home, peer.private_ip))


def test_ping_fails_when_tunnels_are_admin_down_on_one_side(api, connected):
    home, peer = connected
    home.modify_tunnels(api, "ModifyAdminStatus", adminStatus="DOWN")
    _assert_lost(run_ping(api, home, peer.private_ip))
    _assert_lost(run_ping(api, peer, home.private_ip))


def test_ping_fails_on_psk_mismatch(api, connected):
    home, peer = connected
    peer.modify_tunnels(api, "ModifyVpnTunnel", psk="Changed_PSK")
    _assert_lost(run_ping(api, home, peer.private_ip))


def test_ping_fails_when_the_destination_vm_is_deleted(api, connected):
    home, peer = connected
    api.call("DeleteInstance", PEER, instanceId=peer.instance_id)
    _assert_lost(run_ping(api, home, peer.private_ip))


def test_ping_passes_with_one_tunnel_of_two_down(api, connected):
    home, peer = connected
    api.call("ModifyAdminStatus", HOME, vpnTunnelId=home.tunnel_ids[0], adminStatus="DOWN")
    assert op_statuses(api, home, peer) == ["DOWN", "UP", "DOWN", "UP"]
    result = run_ping(api, home, peer.private_ip)
    assert result["exitCode"] == "0"
    assert "4 packets transmitted, 4 received, 0% packet loss" in result["output"]


def test_ping_to_a_new_vm_in_the_peer_subnet(api, connected):
    home, peer = connected
    second = Site(PEER, peer.cidr, vpc_id=peer.vpc_id, subnet_id=peer.subnet_id)
    launch_vm(api, second, name="second")
    api.wait_for(lambda: instance_status(api, PEER, second.instance_id) == "running")
    assert run_ping(api, home, second.private_ip)["exitCode"] == "0"


def test_private_addresses_are_per_vpc_two_interconnects_with_the_same_cidrs_each_reach_their_own_peer(api):
    """JD Cloud VPCs are isolated: two VPC pairs may use the same CIDRs, and a ping stays inside its interconnect."""
    first = build_interconnect(api)
    second = build_interconnect(api)
    for home, peer in (first, second):
        wait_until_connected(api, home, peer)
    assert first[1].private_ip == second[1].private_ip and first[1].vpc_id != second[1].vpc_id
    for home, peer in (first, second):
        result = run_ping(api, home, peer.private_ip)
        assert (result["exitCode"], result["status"]) == ("0", "finish"), result["output"]
    api.call("DeleteInstance", PEER, instanceId=first[1].instance_id)  # only the first pair loses its peer VM
    _assert_lost(run_ping(api, first[0], first[1].private_ip))
    result = run_ping(api, second[0], second[1].private_ip)
    assert (result["exitCode"], result["status"]) == ("0", "finish"), result["output"]
