"""The interconnect and teardown DAGs end to end on the real data plane: dag.test() -> real jdcloud-sdk -> the
emulator, whose tunnels are strongSwan SAs and whose pings are iputils ping in the probe VMs' namespaces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.dags.conftest import seeded_conf
from tests.realdataplane.conftest import charon_pids, dataplane, our_namespaces

pytestmark = pytest.mark.timeout(300)

OTHER_PSK = "Another_Key_123"


def _run(dagbag, dag_id: str, conf: dict) -> tuple[bool, dict]:
    from airflow.utils.state import DagRunState

    dag_run = dagbag.dags[dag_id].test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.map_index in (-1, 0)}
    return dag_run.state == DagRunState.SUCCESS, states


def _report(conf: dict) -> tuple[dict, str]:
    reports = sorted(Path(conf["report_dir"]).glob("interconnect-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text()), reports[-1].with_suffix(".md").read_text()


def _charon_logs(emulator) -> str:
    return "\n".join(p.read_text() for p in sorted(dataplane(emulator).directory.glob("*/charon.log")))


def test_build_pings_for_real_and_teardown_leaves_no_charon(dagbag, real_hook, real_emulator, tmp_path):
    conf = seeded_conf(real_hook, tmp_path, name="realdp", ephemeral_probes=True)
    ok, states = _run(dagbag, "jdcloud_vpn_interconnect", conf)
    assert ok, {k: v for k, v in states.items() if v != "success"}
    report, _ = _report(conf)
    for direction in ("home_to_peer", "peer_to_home"):
        stats = report["connectivity"][direction]
        assert stats["ok"] is True and stats["received"] == stats["sent"] == 4, stats
        assert stats["rtt_avg_ms"] < 10, stats  # real sub-millisecond RTTs, not the model's 27.8 ms
    prefix = dataplane(real_emulator).prefix
    assert len(charon_pids(prefix)) == 2
    assert len(re.findall(r"CHILD_SA net\{\d+\} established", _charon_logs(real_emulator))) >= 4  # both ends of 2

    teardown = {"name": conf["name"], "home_region": conf["home"]["region"], "peer_region": conf["peer"]["region"]}
    ok, states = _run(dagbag, "jdcloud_vpn_teardown", {**teardown, "report_dir": conf["report_dir"]})
    assert ok, {k: v for k, v in states.items() if v != "success"}
    # The VPN connections and border gateways are gone, and so are their namespaces and charons; the seeded
    # VPCs stay (they are not the interconnect's), as their router namespaces do.
    left = our_namespaces(real_emulator)
    assert not charon_pids(prefix)
    assert {name.removeprefix(prefix)[0] for name in left} == {"v"}, left


def test_mismatches_made_out_of_band_fail_for_real_and_the_diagnosis_names_them(
    dagbag, real_hook, real_emulator, real_api, tmp_path
):
    """An IKE and an ESP proposal changed on the peer's tunnels (each put back after), then its PSK: each time
    charon logs why the tunnels went down, and the DAG's diagnosis names the mismatch."""
    from include.jdcloud_vpn.conf import validate_conf
    from include.jdcloud_vpn.diagnosis import diagnose

    conf = seeded_conf(real_hook, tmp_path, name="realpsk", on_drift="report")
    assert _run(dagbag, "jdcloud_vpn_interconnect", conf)[0]
    report, _ = _report(conf)
    region, peer_tunnels = conf["peer"]["region"], report["resources"]["peer"]["vpn_tunnel_ids"]
    every_tunnel = set(report["resources"]["home"]["vpn_tunnel_ids"] + peer_tunnels)

    def set_peer(**fields: str) -> None:
        for tunnel_id in peer_tunnels:
            real_api.call("ModifyVpnTunnel", region, vpnTunnelId=tunnel_id, **fields)

    def op_statuses() -> set[str]:
        tunnels = real_api.call("DescribeVpnTunnels", conf["home"]["region"], filters=None)["vpnTunnels"]
        tunnels += real_api.call("DescribeVpnTunnels", region, filters=None)["vpnTunnels"]
        return {t["opStatus"] for t in tunnels if t["vpnTunnelId"] in every_tunnel}

    for field, named, log_line in (
        ("ikeCipher", "ike_cipher aes128 vs aes256", "NO_PROPOSAL_CHOSEN"),
        ("ipsecCipher", "ipsec_cipher aes128 vs aes256", "no CHILD_SA built"),
    ):
        logged = _charon_logs(real_emulator).count(log_line)
        set_peer(**{field: "aes256"})
        real_api.wait_for(lambda line=log_line, n=logged: _charon_logs(real_emulator).count(line) > n, timeout=20)
        real_api.wait_for(lambda: op_statuses() == {"DOWN"}, timeout=20)
        finding = diagnose(real_hook, validate_conf(conf), "home")
        assert finding is not None and finding.reason == "tunnel_down_proposal_mismatch", finding
        assert named in finding.detail, finding
        set_peer(**{field: "aes128"})
        real_api.wait_for(lambda: op_statuses() == {"UP"}, timeout=20)

    set_peer(psk=OTHER_PSK)
    real_api.wait_for(lambda: "AUTHENTICATION_FAILED" in _charon_logs(real_emulator), timeout=20)
    real_api.wait_for(lambda: op_statuses() == {"DOWN"}, timeout=20)

    ok, states = _run(dagbag, "jdcloud_vpn_interconnect", conf)
    assert not ok and states["vpn_tunnels.wait_tunnels_up"] == "failed", states
    report, markdown = _report(conf)
    finding = report["diagnosis"]["home_to_peer"]
    assert finding["reason"] == "tunnel_down_psk_mismatch", finding
    assert OTHER_PSK not in markdown + json.dumps(report) + _charon_logs(real_emulator)
