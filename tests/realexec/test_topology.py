"""A topology on real Airflow components: a hub and three spokes in four regions, one spoke broken.

The hub pair to spoke ``c`` is broken outside the project before the build (spoke ``c``'s route table sends the
hub probe's address to the internet, a longer prefix than the propagated route). Then:

* ``jdcloud_vpn_topology`` builds the three pairs at once: each pair is a run of the interconnect DAG; the two
  healthy pairs succeed with both pings, the broken pair fails with its diagnosis, the topology run fails
  naming it; the emulator holds one border gateway per site (shared), not one per pair;
* ``jdcloud_vpn_topology_teardown`` leaves nothing of the topology in the emulator, and never touches the
  route-table rule it did not create.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from airflow_provider_jdcloud.models import RouteTableRuleSpec
from include.airflow_stack.stack import FAST_WAITS
from include.jdcloud_vpn.demo import seed_site, site_conf
from tests import summary
from tests.realexec.harness import INTERCONNECT_DAG, TEARDOWN_DAG, RealAirflow, resource_counts

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # 3 pairs' runs, on a machine running other suites

TOPOLOGY_DAG = "jdcloud_vpn_topology"
TOPOLOGY_TEARDOWN_DAG = "jdcloud_vpn_topology_teardown"
RUN_TIMEOUT_S = 420
SITES = {
    "hub": {"region": "cn-north-1", "cidr": "10.10.0.0/16", "subnet": "10.10.1.0/24"},
    "a": {"region": "cn-east-2", "cidr": "10.20.0.0/16", "subnet": "10.20.1.0/24"},
    "b": {"region": "cn-south-1", "cidr": "10.30.0.0/16", "subnet": "10.30.1.0/24"},
    "c": {"region": "cn-east-1", "cidr": "10.40.0.0/16", "subnet": "10.40.1.0/24"},
}
NAME = "rxt"
BROKEN = f"{NAME}-hub-c"


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _topology_conf(airflow: RealAirflow) -> tuple[dict, dict]:
    hook = airflow.hook()
    seeded = {key: seed_site(hook, key, name=NAME, layout=layout) for key, layout in SITES.items()}
    sites = {key: site_conf(site) for key, site in seeded.items()}
    conf = {
        "name": NAME,
        "sites": sites,
        "topology": "hub",
        "hub": "hub",
        "settings": {"timeouts": FAST_WAITS, "report_dir": str(airflow.report_dir / NAME)},
    }
    return conf, seeded


def _break_spoke_c(airflow: RealAirflow, seeded: dict) -> str:
    """Spoke c's route table sends the hub probe's address to the internet; return the rule's id."""
    hook, c = airflow.hook(), seeded["c"]
    hub_ip = hook.describe_instance(seeded["hub"]["instance_id"], region="cn-north-1").private_ip_address
    route_table_id = hook.describe_subnets(subnet_ids=c["subnet_ids"], region=c["region"])[0].route_table_id
    spec = RouteTableRuleSpec(next_hop_type="internet", next_hop_id="internet", address_prefix=f"{hub_ip}/32")
    hook.add_route_table_rules(route_table_id, [spec], region=c["region"])
    (rule,) = hook.describe_route_table_rules(route_table_id, address_prefix=f"{hub_ip}/32", region=c["region"])
    return rule.rule_id


def _ours(state: dict) -> dict[str, int]:
    """The topology's resources in the emulator: sites' ``tp-<name>-``, pairs' ``ic-<name>-``."""
    return resource_counts(state, f"tp-{NAME}-", f"ic-{NAME}-")


def test_hub_of_three_pairs_with_one_broken_then_teardown(airflow: RealAirflow, pytestconfig: pytest.Config) -> None:
    airflow.reset_emulator()
    conf, seeded = _topology_conf(airflow)
    rule_id = _break_spoke_c(airflow, seeded)

    # The build: three pairs at once, one of them broken.
    run = airflow.trigger(TOPOLOGY_DAG, "rx_topology_build", conf)
    run = airflow.wait_for_run(TOPOLOGY_DAG, run["dag_run_id"], timeout=RUN_TIMEOUT_S)
    assert run["state"] == "failed", "a topology with a failed pair must fail"
    pairs = {
        pair: airflow.dag_run(INTERCONNECT_DAG, f"{NAME}-{pair}__rx_topology_build")
        for pair in ("hub-a", "hub-b", "hub-c")
    }
    assert {pair: r["state"] for pair, r in pairs.items()} == {
        "hub-a": "success",
        "hub-b": "success",
        "hub-c": "failed",
    }
    starts, ends = [_ts(r["start_date"]) for r in pairs.values()], [_ts(r["end_date"]) for r in pairs.values()]
    overlap = min(ends) - max(starts)
    assert overlap > 0, "the pairs did not build at the same time"

    # Shared site gateways: one border gateway and attachment per site, per pair its own connections.
    built = _ours(airflow.emulator_state())
    assert built == {
        "bgws": 4,
        "vpcAttachments": 4,
        "customerGateways": 6,
        "vpnConnections": 6,
        "vpnTunnels": 12,
        "staticRoutes": 6,
    }, built

    # The topology's report: which pair failed and why (from the pair's own report).
    reports = sorted((airflow.report_dir / NAME).glob("topology-build-*.json"))
    assert len(reports) == 1, reports
    report = json.loads(Path(reports[0]).read_text(encoding="utf-8"))
    by_pair = {p["pair"]: p for p in report["pairs"]}
    assert report["status"] == "failed" and report["failed"] == 1
    assert by_pair["hub-c"]["state"] == "failed"
    assert "connectivity_test.ping_home_to_peer" in by_pair["hub-c"]["failed_steps"], by_pair["hub-c"]
    reasons = {finding["reason"] for finding in by_pair["hub-c"]["diagnosis"].values() if finding}
    assert "route_table_missing_remote_cidr" in reasons, by_pair["hub-c"]
    assert by_pair["hub-a"]["failed_steps"] == [] and by_pair["hub-b"]["failed_steps"] == []

    # The teardown of the whole topology leaves nothing, and not the rule the project did not create.
    teardown = airflow.trigger(TOPOLOGY_TEARDOWN_DAG, "rx_topology_teardown", conf)
    teardown = airflow.wait_for_run(TOPOLOGY_TEARDOWN_DAG, teardown["dag_run_id"], timeout=RUN_TIMEOUT_S)
    assert teardown["state"] == "success", teardown
    for pair in pairs:
        assert airflow.dag_run(TEARDOWN_DAG, f"{NAME}-{pair}__rx_topology_teardown")["state"] == "success"
    teardowns = sorted((airflow.report_dir / NAME).glob("topology-teardown-*.json"))
    sites_report = json.loads(teardowns[0].read_text(encoding="utf-8"))["sites"]
    assert sorted((s["site"], len(s["deleted"]), s["kept_for"]) for s in sites_report) == [
        (key, 2, []) for key in sorted(SITES)
    ]  # each site's attachment and border gateway
    left = _ours(airflow.emulator_state())
    assert left == dict.fromkeys(built, 0), left
    c = seeded["c"]
    route_table_id = airflow.hook().describe_subnets(subnet_ids=c["subnet_ids"], region=c["region"])[0].route_table_id
    rules = airflow.hook().describe_route_table_rules(route_table_id, rule_ids=[rule_id], region=c["region"])
    assert [r.rule_id for r in rules] == [rule_id], "the teardown touched a rule it did not create"

    states = ", ".join(f"{pair}={r['state']}" for pair, r in pairs.items())
    line = (
        f"topology hub of 3 pairs, 1 broken: pairs {states}, "
        f"builds overlapped {overlap:.1f}s; emulator held {built}; teardown left {sum(left.values())} resources"
    )
    print(f"[topology] {line}")
    summary.add(pytestconfig, summary.RESILIENCE, line)
