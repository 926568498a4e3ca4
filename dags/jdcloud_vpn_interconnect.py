"""
### Connect two JD Cloud VPCs in two regions over IPsec VPN

Trigger with a JSON conf (see `include/interconnect.example.json`; the form lists every field). The
tasks follow the JD Cloud tutorial *Via VPN connection, cross-region resource interconnection*:

1. **Steps 1-3 / 5-7** (`home_region`, `peer_region`, in parallel): border gateway, VPC attachment and
   customer gateway (placeholder IPs) in each region.
2. **Steps 8-11** (`vpn_connections`): VPN connection in the peer region, home customer gateway takes its
   two cloud IPs, VPN connection in the home region, peer customer gateway takes those.
3. **Steps 12-13** (`vpn_tunnels`): two tunnels per side, one per IP pair, then wait until all are UP.
4. **Routing** (`static_routing`): a static route to the remote CIDR on each border gateway, then wait
   until each VPC route table has learned it.
5. **Test** (`probe_vms`, `connectivity_test`): a probe VM per VPC, ping home -> peer, then peer -> home.

Every step adopts what exists (deterministic names), so a rerun or a retried task creates nothing twice.
The run ends with a JSON and Markdown report under the conf's `report_dir`.
"""

from __future__ import annotations

from airflow.sdk import cross_downstream, dag

from include.jdcloud_vpn import tasks
from include.jdcloud_vpn.guard import ensure_exclusive_run
from include.jdcloud_vpn.params import interconnect_params
from include.jdcloud_vpn.policies import VPN_DEFAULT_ARGS


@dag(
    schedule=None,
    catchup=False,
    max_active_runs=1,
    params=interconnect_params(),
    doc_md=__doc__,
    tags=["jdcloud", "vpn", "interconnect"],
    default_args=VPN_DEFAULT_ARGS,
)
def jdcloud_vpn_interconnect() -> None:
    conf = tasks.validate_interconnect_conf()
    sites = tasks.check_sites_exist(conf)
    ensure_exclusive_run(conf) >> sites
    psk = tasks.ensure_pre_shared_key(conf)

    # Steps 1-3 (home region) and 5-7 (peer region): border gateway, VPC attachment, customer gateway.
    home = tasks.site_gateways.override(group_id="home_region")(conf, "home")
    peer = tasks.site_gateways.override(group_id="peer_region")(conf, "peer")
    # Nothing is created before the conf, the two sites and the pre-shared key have been checked.
    cross_downstream([sites, psk], [home["bgw"], home["cgw"], peer["bgw"], peer["cgw"]])

    # Steps 8-11: VPN connection in the peer region, cross-wire, VPN connection in the home region, cross-wire.
    connections = tasks.vpn_connections(conf, home, peer)

    # Steps 12-13: tunnels on both sides, then wait until they are UP.
    tunnels_up = tasks.vpn_tunnels(conf, connections, psk)

    # Routing: static routes on both border gateways, then wait until the VPC route tables learn them.
    routes_learned = tasks.static_routing(conf, home, peer, connections, after=tunnels_up)

    # Test: probe VMs (started early, they take longest), then ping home -> peer and peer -> home.
    probes = tasks.probe_vms(conf)
    sites >> [probes["home"], probes["peer"]]
    pings = tasks.connectivity_test(conf, probes, after=[routes_learned])

    report = tasks.write_report(conf)
    pings >> report
    cleanup = tasks.delete_probe_vms(conf).as_teardown(setups=[probes["home"].operator, probes["peer"].operator])
    report >> cleanup


jdcloud_vpn_interconnect()
