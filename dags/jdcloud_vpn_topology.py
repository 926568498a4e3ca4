"""
### Many interconnects in one run: a topology of sites, as a mesh, a hub or a list of pairs

Trigger with a topology conf (`include/topology.example.json`): named `sites` (each as the interconnect's
home or peer), and `topology: "mesh"` (every pair of sites in different regions), `topology: "hub"` with
`hub: <site>` (the hub to every other site), or `interconnects: [{"home": .., "peer": ..}]`; `settings` are
the interconnect settings every pair takes (tunnel parameters, waits, ping).

1. **Check** (`validate_topology`, `check_topology`): every pair's conf, overlapping CIDRs, JD Cloud's quotas
   (5 border gateways and 10 customer gateways per region, 10 VPN connections and 50 static routes per border
   gateway), the sites as the conf says: nothing is created when one fails.
2. **Sites** (`create_site_gateway`, mapped over the sites): tutorial steps 1-2 / 5-6 once per site, a border
   gateway and VPC attachment shared by the site's pairs.
3. **Pairs** (`build_pairs`, mapped over the pairs): one run of `jdcloud_vpn_interconnect` per pair, all at
   once; each makes its own customer gateways, VPN connections, tunnels and static routes (steps 3-13,
   routing), pings both ways and writes its report. A failed pair does not stop the others.
4. **Report** (`write_topology_report`): each pair's run and state and, for a failed pair, its failed steps and
   the diagnosis of its ping test; the run fails if a pair failed.
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
    tags=["jdcloud", "vpn", "topology"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_topology() -> None:
    topology = topology_tasks.validate_topology_conf()
    checked = topology_tasks.check_topology(topology)
    lock_sensor()(topology) >> checked

    # Steps 1-2 / 5-6, once per site: the border gateway and VPC attachment its pairs share.
    site_list = topology_tasks.topology_sites(topology)
    checked >> site_list
    sites = topology_tasks.create_site_gateway.expand(site=site_list)

    # Steps 3-13, routing and the ping test, per pair: a run of the interconnect DAG each, all at once.
    runs = topology_tasks.pair_runs(topology, "build")
    sites >> runs
    pairs = topology_tasks.trigger_pairs("build", runs)

    pairs >> topology_tasks.write_topology_report(topology, "build")


jdcloud_vpn_topology()
