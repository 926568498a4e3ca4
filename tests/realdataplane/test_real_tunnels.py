"""The real data plane through the real SDK: tunnels negotiated by strongSwan, pings that are real ICMP.

Evidence comes from outside the emulator's own answers where it can: charon's log, ``ip netns list``,
``swanctl --list-sas`` over each charon's VICI socket, and /proc for the charon processes.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path

import pytest

from include.jdcloud_emulator.settings import TEST_NETS
from tests.emulator.scenario import (
    Site,
    assert_holds,
    build_interconnect,
    op_statuses,
    route_table_rules,
    run_ping,
    wait_until_connected,
)
from tests.realdataplane.conftest import charon_pids, dataplane, our_namespaces

pytestmark = pytest.mark.timeout(120)

STAYS_DOWN_S = 3.0  # three initiator retries: a tunnel that stays DOWN this long is not coming up
REPLIES = re.compile(r"(\d+) packets transmitted, (\d+) received")


def _charon_logs(emulator) -> str:
    return "\n".join(p.read_text() for p in sorted(dataplane(emulator).directory.glob("*/charon.log")))


def _all_down(api, home: Site, peer: Site) -> bool:
    return op_statuses(api, home, peer) == ["DOWN"] * 4


def _received(result: dict) -> tuple[int, int]:
    found = REPLIES.search(result["output"])
    assert found, result["output"]
    return int(found.group(1)), int(found.group(2))


def test_an_interconnect_pings_both_ways_over_real_esp(real_api, real_emulator):
    home, peer = build_interconnect(real_api)
    wait_until_connected(real_api, home, peer)
    for site in (home, peer):  # cloud IPs come from TEST-NET in real mode
        assert all(any(ipaddress.ip_address(ip) in n for n in TEST_NETS) for ip in site.cloud_ips)
    for source, target in ((home, peer), (peer, home)):
        result = run_ping(real_api, source, target.private_ip)
        assert result["exitCode"] == "0", result["output"]
        assert _received(result) == (4, 4)
        # iputils' own lines: 6 routers on the way (VPC, BGW, connection on each side), sub-ms RTTs, not the
        # model's 27.8 ms inter-region figure.
        assert f"from {target.private_ip}: icmp_seq=1 ttl=58 time=" in result["output"]
        rtt_avg = float(re.search(r"rtt min/avg/max/mdev = [\d.]+/([\d.]+)/", result["output"]).group(1))
        assert rtt_avg < 20, result["output"]
    # On the internet between the gateways: the echoes travel as ESP in UDP 4500, never as cleartext ICMP.
    icmp, esp = _captured_on_the_internet(real_emulator, lambda: run_ping(real_api, home, peer.private_ip))
    assert icmp == 0 and esp >= 8, (icmp, esp)  # 4 requests + 4 replies, each seen once on the bridge
    # charon itself says the CHILD_SAs are installed and carried the echoes.
    for name in sorted(our_namespaces(real_emulator)):
        if name.removeprefix(dataplane(real_emulator).prefix).startswith("c"):
            sas = _swanctl_sas(real_emulator, name)
            assert sas.count("INSTALLED, TUNNEL-in-UDP") == 2, sas
            assert re.search(r"in .* [1-9]\d* packets?", sas), sas


# Counts the IPv4 packets the internet namespace's bridge ports receive, by protocol (ICMP, and UDP to or from
# port 4500: ESP in UDP), until stdin has a line; run with ``ip netns exec`` in the internet namespace.
CAPTURE = """
import select, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
icmp = esp = 0
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0)[0]:
    if not select.select([s], [], [], 0.05)[0]:
        continue
    frame, (_, _, kind, _, _) = s.recvfrom(65535)
    if kind == socket.PACKET_OUTGOING or frame[12:14] != b"\\x08\\x00":
        continue
    ihl, proto = (frame[14] & 15) * 4, frame[23]
    ports = struct.unpack("!HH", frame[14 + ihl : 18 + ihl])
    icmp += proto == 1
    esp += proto == 17 and 4500 in ports
print(icmp, esp)
"""


def _captured_on_the_internet(emulator, send) -> tuple[int, int]:
    """(ICMP packets, ESP-in-UDP packets) seen on the internet bridge while ``send()`` runs."""
    wan = dataplane(emulator).prefix + "wan"
    capture = subprocess.Popen(
        ["ip", "netns", "exec", wan, sys.executable, "-c", CAPTURE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert capture.stdout.readline().strip() == "ready"
    send()
    out, _ = capture.communicate("stop\n", timeout=20)
    icmp, esp = out.split()
    return int(icmp), int(esp)


def _swanctl_sas(emulator, namespace: str) -> str:
    vici = dataplane(emulator).directory / namespace / "charon.vici"
    done = subprocess.run(
        ["timeout", "20", "swanctl", "--list-sas", "--uri", f"unix://{vici}"], capture_output=True, text=True
    )
    return done.stdout


@pytest.mark.parametrize(
    "tunnel",
    [
        {"ikeVersion": "v1"},
        {"ikeVersion": "v1", "ikeMode": "aggressive"},
        {"ikeKeyExchange": "modp2048", "ikeCipher": "aes256", "ikeAuth": "sha384", "ipsecCipher": "aes192"},
        {"ikeCipher": "3des", "ikeAuth": "sha1", "ikeKeyExchange": "modp1024", "ipsecAuth": "sha1"},
        {"ipsecKeyExchange": "ecp384", "ipsecAuth": "sha384"},  # PFS on both sides
    ],
    ids=["ikev1-main", "ikev1-aggressive", "strong", "legacy", "pfs"],
)
def test_jd_tunnel_options_negotiate_for_real(real_api, tunnel):
    """JD's IKE/IPsec option values, the same on both ends, are strongSwan proposals that really negotiate."""
    home, peer = build_interconnect(real_api, **tunnel)
    real_api.wait_for(lambda: op_statuses(real_api, home, peer) == ["UP"] * 4, timeout=20, interval=0.2)
    assert run_ping(real_api, home, peer.private_ip)["exitCode"] == "0"


@pytest.mark.parametrize(
    ("peer_tunnel", "log_line"),
    [
        ({"psk": "Another_PSK_42"}, "AUTHENTICATION_FAILED"),
        ({"ikeCipher": "aes256"}, "NO_PROPOSAL_CHOSEN"),  # IKE proposal: no IKE SA
        ({"ipsecCipher": "aes256"}, "no CHILD_SA built"),  # ESP proposal: the IKE SA stands, no CHILD_SA
    ],
    ids=["psk", "ike-proposal", "esp-proposal"],
)
def test_a_mismatch_keeps_the_tunnels_down_until_it_is_fixed(real_api, real_emulator, peer_tunnel, log_line):
    home, peer = build_interconnect(real_api, peer_tunnel=peer_tunnel)
    real_api.wait_for(lambda: log_line in _charon_logs(real_emulator), timeout=20)
    assert_holds(lambda: _all_down(real_api, home, peer), STAYS_DOWN_S, interval=0.2)
    result = run_ping(real_api, home, peer.private_ip)
    assert result["exitCode"] == "1" and _received(result) == (4, 0), result["output"]
    # Put the peer's value back: the changed tunnel ends are reloaded and negotiate again.
    [(field, _)] = peer_tunnel.items()
    default = {"psk": "Emulator_Test_PSK_1", "ikeCipher": "aes128", "ipsecCipher": "aes128"}
    peer.modify_tunnels(real_api, "ModifyVpnTunnel", **{field: default[field]})
    real_api.wait_for(lambda: op_statuses(real_api, home, peer) == ["UP"] * 4, timeout=20)
    assert run_ping(real_api, home, peer.private_ip)["exitCode"] == "0"
    assert "Another_PSK_42" not in _charon_logs(real_emulator)  # the key never reaches charon's log


def test_pfs_on_one_side_only_still_negotiates_the_first_child_sa(real_api, model_api):
    """Where the model is stricter than strongSwan: the first CHILD_SA is keyed by IKE_AUTH, without a key
    exchange, so a PFS group on one side alone does not stop it (it would fail at the first rekey). The
    model calls it an ``ipsec_proposal_mismatch`` and keeps the tunnels DOWN."""
    pfs = {"ipsecKeyExchange": "modp2048"}
    home, peer = build_interconnect(real_api, peer_tunnel=pfs)
    real_api.wait_for(lambda: op_statuses(real_api, home, peer) == ["UP"] * 4, timeout=20)
    assert run_ping(real_api, home, peer.private_ip)["exitCode"] == "0"
    model_home, model_peer = build_interconnect(model_api, peer_tunnel=pfs)
    assert_holds(lambda: _all_down(model_api, model_home, model_peer), 1.0, interval=0.1)


def test_the_path_mtu_is_the_tunnels(real_api, model_api):
    """ESP in UDP leaves 1400 bytes for an IP packet: a DF ping of 1372 data bytes passes, 1373 gets "Frag needed"
    from the VPN gateway, a larger one without DF is fragmented and passes. The model knows no MTU."""
    home, peer = build_interconnect(real_api)
    wait_until_connected(real_api, home, peer)
    assert run_ping(real_api, home, peer.private_ip, options="-M do -s 1372")["exitCode"] == "0"
    too_big = run_ping(real_api, home, peer.private_ip, options="-M do -s 1373")
    assert too_big["exitCode"] == "1" and "Frag needed and DF set (mtu = 1400)" in too_big["output"], too_big
    assert run_ping(real_api, home, peer.private_ip, options="-s 3000")["exitCode"] == "0"
    model_home, model_peer = build_interconnect(model_api)
    wait_until_connected(model_api, model_home, model_peer)
    assert run_ping(model_api, model_home, model_peer.private_ip, options="-M do -s 1373")["exitCode"] == "0"


def test_admin_down_ends_the_sas_and_up_brings_them_back(real_api, real_emulator):
    home, peer = build_interconnect(real_api)
    wait_until_connected(real_api, home, peer)
    home.modify_tunnels(real_api, "ModifyAdminStatus", adminStatus="DOWN")
    real_api.wait_for(lambda: _all_down(real_api, home, peer), timeout=20)
    assert "deleting IKE_SA" in _charon_logs(real_emulator) or "received DELETE" in _charon_logs(real_emulator)
    assert run_ping(real_api, home, peer.private_ip)["exitCode"] == "1"
    home.modify_tunnels(real_api, "ModifyAdminStatus", adminStatus="UP")
    real_api.wait_for(lambda: op_statuses(real_api, home, peer) == ["UP"] * 4, timeout=20)
    assert run_ping(real_api, peer, home.private_ip)["exitCode"] == "0"


def test_a_route_table_rule_that_sends_the_peer_elsewhere_really_drops_the_ping(real_api, real_emulator):
    home, peer = build_interconnect(real_api)
    wait_until_connected(real_api, home, peer)
    hijack = {"nextHopType": "internet", "nextHopId": "internet", "addressPrefix": f"{peer.private_ip}/32"}
    real_api.call("AddRouteTableRules", home.region, routeTableId=home.route_table_id, routeTableRuleSpecs=[hijack])
    real_api.wait_for(lambda: run_ping(real_api, home, peer.private_ip, count=2)["exitCode"] == "1", timeout=20)
    result = run_ping(real_api, home, peer.private_ip)
    assert _received(result) == (4, 0), result["output"]  # dropped on the way, as traffic sent to the internet
    assert op_statuses(real_api, home, peer) == ["UP"] * 4  # the tunnels are fine: the route is not
    rules = route_table_rules(real_api, home.region, home.route_table_id)
    [rule_id] = [r["ruleId"] for r in rules if r["addressPrefix"] == hijack["addressPrefix"]]
    real_api.call("RemoveRouteTableRules", home.region, routeTableId=home.route_table_id, ruleIds=[rule_id])
    real_api.wait_for(lambda: run_ping(real_api, home, peer.private_ip, count=2)["exitCode"] == "0", timeout=20)


def test_a_removed_route_table_rule_really_drops_the_ping(real_api, real_emulator):
    """Deleting home's static BGW route removes the rule it propagated into home's route table: the echo
    requests (and peer's replies) then have no way through home, though both tunnels stay UP."""
    home, peer = build_interconnect(real_api)
    wait_until_connected(real_api, home, peer)
    assert run_ping(real_api, home, peer.private_ip)["exitCode"] == "0"
    real_api.call("DeleteBgwRoute", home.region, bgwId=home.bgw_id, bgwRouteId=home.route_id)
    real_api.wait_for(
        lambda: (
            not [
                r
                for r in route_table_rules(real_api, home.region, home.route_table_id)
                if r["addressPrefix"] == peer.cidr
            ]
        )
    )
    real_api.wait_for(lambda: run_ping(real_api, home, peer.private_ip, count=2)["exitCode"] == "1", timeout=20)
    for source, target in ((home, peer), (peer, home)):
        result = run_ping(real_api, source, target.private_ip)
        assert result["exitCode"] == "1" and _received(result) == (4, 0), result["output"]
    assert op_statuses(real_api, home, peer) == ["UP"] * 4


def test_reset_and_shutdown_leave_no_namespace_or_charon(real_emulator, real_control, real_api):
    home, peer = build_interconnect(real_api)
    wait_until_connected(real_api, home, peer)
    prefix = dataplane(real_emulator).prefix
    assert len(charon_pids(prefix)) == 2 and len(our_namespaces(real_emulator)) == 9
    real_control.post("/reset").raise_for_status()
    real_api.wait_for(lambda: not our_namespaces(real_emulator) and not charon_pids(prefix), timeout=20)
    assert Path(dataplane(real_emulator).directory).is_dir()  # only closing removes the scratch directory
