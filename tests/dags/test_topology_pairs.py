"""Pairs of a topology through the interconnect and teardown DAGs (``dag.test()``), against the emulator.

A hub and two spokes: the topology's site stage makes one border gateway and VPC attachment per site; each pair
is an interconnect run that adopts its sites' gateways (never creates one) and makes the rest; a pair's
teardown leaves the shared gateways and the other pair whole; a site's gateway is deleted only once no pair
uses it. (The topology DAGs themselves, which start these runs, need a scheduler: tests/realexec.)
"""

from __future__ import annotations

import time

import pytest

from include.jdcloud_vpn import naming, steps
from include.jdcloud_vpn.conf import TeardownTarget
from include.jdcloud_vpn.demo import seed_site, site_conf
from include.jdcloud_vpn.teardown import Teardown
from include.jdcloud_vpn.topology import validate_topology
from include.jdcloud_vpn.topology_tasks import live_quota_problems
from tests.dags.conftest import FAST_WAITS, create_calls
from tests.dags.test_teardown_e2e import _run

pytestmark = pytest.mark.timeout(400)

SITES = {
    "hub": {"region": "cn-north-1", "cidr": "10.10.0.0/16", "subnet": "10.10.1.0/24"},
    "a": {"region": "cn-east-2", "cidr": "10.20.0.0/16", "subnet": "10.20.1.0/24"},
    "b": {"region": "cn-south-1", "cidr": "10.30.0.0/16", "subnet": "10.30.1.0/24"},
}


def _plan(hook, tmp_path):
    seeded = {key: seed_site(hook, key, name="tp", layout=layout) for key, layout in SITES.items()}
    sites = {key: site_conf(site) for key, site in seeded.items()}
    settings = {"timeouts": FAST_WAITS, "report_dir": str(tmp_path / "reports")}
    return validate_topology({"name": "tp", "sites": sites, "topology": "hub", "hub": "hub", "settings": settings})


def _state(control) -> dict:
    return control.get("/state").json()


def test_pairs_share_their_sites_gateways_and_a_pair_teardown_leaves_the_other_whole(
    dagbag, hook, emulator_control, tmp_path
):
    plan = _plan(hook, tmp_path)
    confs = {f"{h}-{p}": conf.model_dump(mode="json") for (h, p), conf in plan.interconnects.items()}

    # Before the site stage, a pair finds no shared gateway and creates none (two pairs would race).
    since = time.time()
    ok, states = _run(dagbag, "jdcloud_vpn_interconnect", confs["hub-a"])
    assert not ok and states["home_region.create_border_gateway"] == "failed", states
    assert "CreateBgw" not in create_calls(emulator_control, since)

    # The site stage, then both pairs.
    for site in plan.to_result().sites:
        bgw = steps.ensure_border_gateway(hook, site.anchor, site.side, site_stage=True)
        steps.ensure_vpc_attachment(hook, site.anchor, site.side, bgw.bgw_id, site_stage=True)
    since = time.time()
    for pair in ("hub-a", "hub-b"):
        ok, states = _run(dagbag, "jdcloud_vpn_interconnect", confs[pair])
        assert ok, {k: v for k, v in states.items() if v != "success"}
    created = create_calls(emulator_control, since)
    assert "CreateBgw" not in created and "CreateVpcAttachment" not in created, created
    assert created["CreateVpnConnection"] == 4 and created["CreateBgwRoute"] == 4, created
    built = _state(emulator_control)
    assert sorted(b["bgwName"] for b in built["bgws"]) == ["tp-tp-a-bgw", "tp-tp-b-bgw", "tp-tp-hub-bgw"]
    hub_bgw = next(b["bgwId"] for b in built["bgws"] if b["bgwName"] == "tp-tp-hub-bgw")
    assert sum(1 for r in built["bgwRoutes"] if r["bgwId"] == hub_bgw and r["origin"] == "static") == 2

    # Pair hub-a torn down: hub-b keeps its connections, tunnels and static route on the shared hub gateway.
    hub_b = plan.interconnects[("hub", "b")]
    hub_b_connections = {naming.vpn_connection_name(hub_b, side) for side in ("home", "peer")}
    ok, states = _run(dagbag, "jdcloud_vpn_teardown", confs["hub-a"])
    assert ok, {k: v for k, v in states.items() if v != "success"}
    after = _state(emulator_control)
    assert {c["vpnConnectionName"] for c in after["vpnConnections"]} == hub_b_connections
    assert len(after["vpnTunnels"]) == 4
    assert sorted(b["bgwName"] for b in after["bgws"]) == ["tp-tp-a-bgw", "tp-tp-b-bgw", "tp-tp-hub-bgw"]
    assert len(after["vpcAttachments"]) == 3
    hub_routes = [r for r in after["bgwRoutes"] if r["bgwId"] == hub_bgw and r["origin"] == "static"]
    assert [r["bgwRouteDestination"] for r in hub_routes] == [SITES["b"]["cidr"]]

    # Site gateways: the hub's is still used by hub-b and kept; spoke a's is free and deleted.
    sites = {site.key: site for site in plan.to_result().sites}

    def delete_site_gateway(key: str):
        target = TeardownTarget.from_conf(sites[key].anchor)
        return Teardown(hook, target, sleep=lambda s: time.sleep(min(s, 0.05))).delete_site_gateway(sites[key].side)

    kept = delete_site_gateway("hub")
    assert kept.deleted == [] and any("tp-hub-b-home-vpn" in user for user in kept.kept_for), kept
    freed = delete_site_gateway("a")
    assert freed.kept_for == [] and len(freed.deleted) == 2, freed
    assert sorted(b["bgwName"] for b in _state(emulator_control)["bgws"]) == ["tp-tp-b-bgw", "tp-tp-hub-bgw"]


def test_the_live_quota_check_counts_what_the_region_already_holds(hook, emulator_control, tmp_path):
    plan = _plan(hook, tmp_path)
    topology = plan.to_result()
    hub = topology.sites[0]
    assert live_quota_problems(hook, topology) == []
    # The hub's own gateway and four of someone else's: the region's quota of 5, and the check counts the hub's once.
    ours = steps.ensure_border_gateway(hook, hub.anchor, hub.side, site_stage=True)
    for i in range(4):
        hook.create_bgw(f"someone-else-{i}", region="cn-north-1")
    assert live_quota_problems(hook, topology) == []
    # Five of someone else's: no room for the hub's, before anything is created.
    hook.delete_bgw(ours.bgw_id, region="cn-north-1")
    hook.create_bgw("someone-else-4", region="cn-north-1")
    assert live_quota_problems(hook, topology) == [
        "quota: at most 5 border gateways per region; cn-north-1 has 5 others and the topology needs 1"
    ]
