"""Many interconnects in one conf (include/jdcloud_vpn/topology.py): expansion, shared gateways, quotas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import SIDES, ConfError, TeardownTarget
from include.jdcloud_vpn.drill_tasks import drill_interconnect
from include.jdcloud_vpn.guard import VPN_DAGS
from include.jdcloud_vpn.params import conf_from_trigger
from include.jdcloud_vpn.results import TeardownRequest
from include.jdcloud_vpn.teardown_tasks import parse_request
from include.jdcloud_vpn.topology import ValidatedTopology, validate_topology
from include.jdcloud_vpn.topology_tasks import pair_trigger

REGIONS = ("cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1")


def site(index: int, region: str) -> dict:
    """A site whose VPC CIDR is 10.<index>.0.0/16 (distinct per index)."""
    return {
        "region": region,
        "vpc_id": f"vpc-site{index:06d}",
        "vpc_cidr": f"10.{index}.0.0/16",
        "subnet_ids": [f"subnet-site{index:06d}"],
        "probe": {"instance_id": f"i-site{index:06d}"},
    }


def sites_in(*regions: str) -> dict[str, dict]:
    return {f"s{i}": site(i, region) for i, region in enumerate(regions, start=1)}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfError) as caught:
        validate_topology(raw)
    return caught.value.problems


def test_a_mesh_of_four_sites_in_four_regions_is_six_interconnects_sharing_each_sites_gateway():
    plan = validate_topology({"name": "grid", "sites": sites_in(*REGIONS), "topology": "mesh"})
    assert sorted(plan.interconnects) == [
        ("s1", "s2"), ("s1", "s3"), ("s1", "s4"), ("s2", "s3"), ("s2", "s4"), ("s3", "s4")
    ]  # fmt: skip
    assert plan.excluded == []
    assert {site: len(plan.pairs_of(site)) for site in plan.conf.sites} == {"s1": 3, "s2": 3, "s3": 3, "s4": 3}
    conf = plan.interconnects[("s2", "s4")]
    assert (conf.name, conf.home.vpc_id, conf.peer.vpc_id) == ("grid-s2-s4", "vpc-site000002", "vpc-site000004")
    assert conf.psk_secret.variable == "jdcloud_vpn_psk_secret_grid-s2-s4"  # one key per pair
    keys = plan.conf.lock_keys()
    assert {k for k in keys if k.startswith("site:")} == {
        f"site:{r}:vpc-site00000{i}" for i, r in enumerate(REGIONS, start=1)
    }
    assert len(keys) == 4 + 6


def test_a_mesh_leaves_out_pairs_in_one_region_and_says_which():
    plan = validate_topology(
        {"name": "grid", "sites": sites_in("cn-north-1", "cn-north-1", "cn-east-2"), "topology": "mesh"}
    )
    assert sorted(plan.interconnects) == [("s1", "s3"), ("s2", "s3")]
    assert plan.excluded == [("s1", "s2")]


def test_a_hub_connects_the_hub_to_every_other_site_and_rejects_a_spoke_in_its_region():
    plan = validate_topology({"name": "star", "sites": sites_in(*REGIONS), "topology": "hub", "hub": "s2"})
    assert sorted(plan.interconnects) == [("s2", "s1"), ("s2", "s3"), ("s2", "s4")]
    assert len(plan.pairs_of("s2")) == 3 and len(plan.pairs_of("s1")) == 1
    found = problems(
        {"name": "star", "sites": sites_in("cn-north-1", "cn-north-1", "cn-east-2"), "topology": "hub", "hub": "s1"}
    )
    assert len(found) == 1 and found[0].startswith("interconnects[s1-s2].peer.region: same region as home.region")


def test_listed_interconnects_are_checked_like_single_ones_and_each_error_names_its_pair():
    raw = {
        "name": "pairs",
        "sites": sites_in("cn-north-1", "cn-east-2", "cn-south-1"),
        "interconnects": [{"home": "s1", "peer": "s2"}, {"home": "s3", "peer": "s2"}],
        "settings": {"tunnel": {"ike_cipher": "aes256"}, "customer_gateway_bgp_asn": 65010},
    }
    plan = validate_topology(raw)
    assert [c.name for c in plan.interconnects.values()] == ["pairs-s1-s2", "pairs-s3-s2"]
    assert {c.tunnel.ike_cipher for c in plan.interconnects.values()} == {"aes256"}
    raw["settings"] = {"tunnel": {"ike_cipher": "rot13"}}
    found = problems(raw)
    assert [p.split(":")[0] for p in found] == [
        "interconnects[s1-s2].tunnel.ike_cipher",
        "interconnects[s3-s2].tunnel.ike_cipher",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"topology": None}, "conf: give either topology (mesh or hub) or interconnects"),
        ({"topology": "hub"}, "hub: hub names the hub site"),
        ({"topology": "hub", "hub": "s9"}, "conf: unknown site s9; sites are s1, s2, s3"),
        ({"settings": {"name": "x"}}, "settings: name cannot be shared"),
        ({"name": "Bad_Name"}, "name: String should match pattern"),
    ],
)
def test_a_malformed_topology_is_rejected_naming_the_field(change, expected):
    raw = {"name": "grid", "sites": sites_in("cn-north-1", "cn-east-2", "cn-south-1"), "topology": "mesh", **change}
    assert any(p.startswith(expected) for p in problems(raw)), problems(raw)


def test_one_vpc_named_by_two_sites_and_overlapping_cidrs_behind_one_gateway_are_rejected():
    sites = sites_in("cn-north-1", "cn-east-2", "cn-south-1")
    sites["s3"]["vpc_cidr"] = "10.2.128.0/17"  # inside s2's 10.2.0.0/16; both are spokes of s1
    found = problems({"name": "star", "sites": sites, "topology": "hub", "hub": "s1"})
    assert found == [
        "sites: s2 (10.2.0.0/16) and s3 (10.2.128.0/17) overlap and both connect to s1: its border gateway "
        "cannot route to both"
    ]
    sites = sites_in("cn-north-1", "cn-east-2")
    sites["s3"] = dict(sites["s2"])  # the same VPC again
    assert problems({"name": "grid", "sites": sites, "topology": "mesh"}) == [
        "sites: s2 and s3 are the same VPC vpc-site000002 (cn-east-2)",
        "sites: s2 (10.2.0.0/16) and s3 (10.2.0.0/16) overlap and both connect to s1: its border gateway "
        "cannot route to both",
    ]


def test_six_sites_in_one_region_exceed_its_border_gateway_quota():
    sites = {"hub": site(100, "cn-east-2"), **{f"s{i}": site(i, "cn-north-1") for i in range(1, 7)}}
    found = problems({"name": "star", "sites": sites, "topology": "hub", "hub": "hub"})
    assert found == [
        "quota: at most 5 border gateways per region; cn-north-1 would need 6, one per site: s1, s2, s3, s4, s5, s6"
    ]


def test_eleven_spokes_exceed_the_hubs_customer_gateway_and_vpn_connection_quotas():
    spokes = {f"s{i}": site(i, REGIONS[i % 3]) for i in range(1, 12)}  # 11 spokes over cn-north-1, cn-east-1, cn-east-2
    found = problems(
        {"name": "star", "sites": {"hub": site(100, "cn-south-1"), **spokes}, "topology": "hub", "hub": "hub"}
    )
    assert [p.split(";")[0] for p in found] == [
        "quota: at most 10 customer gateways per region",
        "quota: at most 10 VPN connections per border gateway",
    ]
    assert "cn-south-1 would need 11" in found[0] and "site hub's would need 11" in found[1]


def test_the_six_pairs_of_a_mesh_name_four_shared_gateways_and_their_own_connections():
    plan = validate_topology({"name": "grid", "sites": sites_in(*REGIONS), "topology": "mesh"}, parent=("dag", "run"))
    confs = list(plan.interconnects.values())
    bgws = {naming.bgw_name(conf, side) for conf in confs for side in SIDES}
    attachments = {naming.vpc_attachment_name(conf, side) for conf in confs for side in SIDES}
    connections = {naming.vpn_connection_name(conf, side) for conf in confs for side in SIDES}
    cgws = {naming.customer_gateway_name(conf, side) for conf in confs for side in SIDES}
    assert bgws == {f"tp-grid-s{i}-bgw" for i in range(1, 5)}
    assert attachments == {f"tp-grid-s{i}-att" for i in range(1, 5)}
    assert len(connections) == len(cgws) == 12  # each pair's own, on each side
    assert all(naming.is_jd_name(name) for name in bgws | attachments | connections | cgws)
    member = plan.interconnects[("s2", "s4")].member_of
    assert (member.topology, member.home_site, member.peer_site) == ("grid", "s2", "s4")
    assert (member.parent_dag_id, member.parent_run_id) == ("dag", "run")


def test_an_interconnect_outside_a_topology_keeps_its_own_gateway_names():
    plan = validate_topology({"name": "grid", "sites": sites_in(*REGIONS[:2]), "topology": "mesh"})
    alone = plan.interconnects[("s1", "s2")].model_copy(update={"member_of": None})
    assert naming.bgw_name(alone, "home") == "ic-grid-s1-s2-home-bgw"
    assert not naming.shares_gateways(alone)


def test_the_validated_topology_lists_each_site_once_with_a_pair_that_holds_it():
    plan = validate_topology({"name": "star", "sites": sites_in(*REGIONS), "topology": "hub", "hub": "s1"})
    result = ValidatedTopology.model_validate(plan.to_result().model_dump(mode="json"))  # through XCom JSON
    assert [(s.key, s.region) for s in result.sites] == list(zip(("s1", "s2", "s3", "s4"), REGIONS, strict=True))
    for site in result.sites:  # the anchor's side is this site: the shared gateway's name is the site's
        assert naming.bgw_name(site.anchor, site.side) == f"tp-star-{site.key}-bgw"
    assert [(p.home, p.peer) for p in result.pairs] == [("s1", "s2"), ("s1", "s3"), ("s1", "s4")]
    assert set(result.lock_keys) == set(plan.conf.lock_keys())


def test_a_pair_run_passes_its_parent_in_the_guard_and_a_topology_run_has_none():
    plan = validate_topology({"name": "star", "sites": sites_in(*REGIONS[:2]), "topology": "mesh"}, parent=("p", "r"))
    pair = plan.interconnects[("s1", "s2")].model_dump(mode="json")
    assert VPN_DAGS["jdcloud_vpn_interconnect"].parent(pair) == ("p", "r")
    request = TeardownRequest(target=TeardownTarget.from_conf(plan.interconnects[("s1", "s2")]))
    assert VPN_DAGS["jdcloud_vpn_teardown"].parent(request.model_dump(mode="json")) == ("p", "r")
    topology = plan.to_result().model_dump(mode="json")
    assert VPN_DAGS["jdcloud_vpn_topology"].parent(topology) is None
    assert VPN_DAGS["jdcloud_vpn_topology"].lock_keys(topology) == plan.conf.lock_keys()
    assert VPN_DAGS["jdcloud_vpn_interconnect"].lock_keys(pair) == {"interconnect:star-s1-s2"}


def test_the_example_topology_is_a_hub_of_two_pairs():
    example = json.loads((Path(__file__).parents[2] / "include" / "topology.example.json").read_text())
    plan = validate_topology(example)
    assert sorted(plan.interconnects) == [("bj", "gz"), ("bj", "sq")]


@pytest.mark.parametrize("action", ["build", "teardown", "drill"])
def test_each_pair_run_gets_a_conf_its_dag_reads_back_as_the_pair(action):
    """What the topology DAGs trigger per pair, read back the way the pair's DAG reads its trigger conf."""
    plan = validate_topology({"name": "star", "sites": sites_in(*REGIONS[:2]), "topology": "mesh"}, parent=("p", "r"))
    pair = plan.interconnects[("s1", "s2")]
    trigger = pair_trigger(action, "manual__2026-12-02T00:00:00+00:00", pair)
    assert trigger["trigger_run_id"] == "star-s1-s2__manual__2026-12-02T00:00:00+00:00"
    conf = json.loads(json.dumps(trigger["conf"]))  # through the REST API / DB as JSON
    if action == "build":
        read = conf_from_trigger(conf, {})
    elif action == "teardown":
        read = parse_request(conf).target
    else:
        assert conf["require_approval"] is False
        read = drill_interconnect(conf, {}, lambda: None)
    assert read.member_of == pair.member_of and read.name == "star-s1-s2"
