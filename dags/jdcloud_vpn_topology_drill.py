"""
### DR drill of a topology: every pair torn down and rebuilt at once, each with its own RTO

Trigger with the topology's own conf. Each pair runs `jdcloud_vpn_dr_drill` (baseline ping, teardown of the
pair's own resources, rebuild, ping both ways; RTO = teardown finished -> both pings pass); the sites' shared
border gateways stay. The report lists each pair's RTO and the topology's (the slowest pair's).
"""

from __future__ import annotations

from airflow.sdk import dag

from include.jdcloud_vpn import topology_tasks
from include.jdcloud_vpn.guard import lock_sensor
from include.jdcloud_vpn.policies import VPN_DAG_ARGS


@dag(
    schedule=None,
    params=topology_tasks.topology_params(),
    doc_md=__doc__,
    tags=["jdcloud", "vpn", "topology", "dr-drill"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_topology_drill() -> None:
    topology = topology_tasks.validate_topology_conf()
    checked = topology_tasks.check_topology(topology)
    lock_sensor()(topology) >> checked

    runs = topology_tasks.pair_runs(topology, "drill")
    checked >> runs
    pairs = topology_tasks.trigger_pairs("drill", runs)

    pairs >> topology_tasks.write_topology_report(topology, "drill")


jdcloud_vpn_topology_drill()
