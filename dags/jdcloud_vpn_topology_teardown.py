"""
### Remove a topology: every pair, then each site's shared gateway

Trigger with the topology's own conf (as built by `jdcloud_vpn_topology`).

1. **Check** (`validate_topology`): the conf, as for the build.
2. **Pairs** (`teardown_pairs`, mapped over the pairs): one run of `jdcloud_vpn_teardown` per pair, all at
   once; each deletes its own static routes, tunnels, VPN connections, customer gateways and probe VMs, and
   leaves the sites' shared border gateways and VPC attachments.
3. **Sites** (`delete_site_gateway_task`, mapped over the sites): each site's VPC attachment and border gateway,
   only when no VPN connection or static route is left on it (a pair whose teardown failed keeps its sites).
4. **Report** (`write_topology_report`).
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
    tags=["jdcloud", "vpn", "topology", "teardown"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_topology_teardown() -> None:
    topology = topology_tasks.validate_topology_conf()
    runs = topology_tasks.pair_runs(topology, "teardown")
    site_list = topology_tasks.topology_sites(topology)
    lock_sensor()(topology) >> [runs, site_list]

    # Each pair's own resources, all pairs at once: a run of the teardown DAG each.
    pairs = topology_tasks.trigger_pairs("teardown", runs)

    # Then each site's shared attachment and border gateway, once no pair uses it.
    sites = topology_tasks.delete_site_gateway_task.expand(site=site_list)
    pairs >> sites

    sites >> topology_tasks.write_topology_report(topology, "teardown")


jdcloud_vpn_topology_teardown()
