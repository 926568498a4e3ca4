"""
### Connect two JD Cloud VPCs in two regions over IPsec VPN

Trigger from the form (pre-filled for the emulator's demo network) or with a JSON conf, flat as the form's
fields or nested as in `include/interconnect.example.json`. The tasks follow the JD Cloud tutorial *Via VPN
connection, cross-region resource interconnection*:

1. **Steps 1-3 / 5-7** (`home_region`, `peer_region`, in parallel): border gateway, VPC attachment and
   customer gateway (placeholder IPs) in each region.
2. **Steps 8-11** (`vpn_connections`): VPN connection in the peer region, home customer gateway takes its
   two cloud IPs, VPN connection in the home region, peer customer gateway takes those.
3. **Steps 12-13** (`vpn_tunnels`): two tunnels per side, one per IP pair, then wait until all are UP.
4. **Routing** (`static_routing`, alongside the tunnels: a route needs its VPN connection, not a tunnel UP): a
   static route to the remote CIDR on each border gateway, then wait until each VPC route table has learned it.
5. **Test** (`probe_vms`, `connectivity_test`): a probe VM per VPC, then ping home -> peer and peer -> home
   (both at once: neither needs the other).

Every step adopts what exists (deterministic names), so a rerun or a retried task creates nothing twice.
The run ends with a JSON and Markdown report under the conf's `report_dir`.
"""

from __future__ import annotations

from airflow.sdk import dag

from include.jdcloud_vpn import tasks
from include.jdcloud_vpn.build import build_interconnect
from include.jdcloud_vpn.demo import form_defaults
from include.jdcloud_vpn.guard import lock_sensor
from include.jdcloud_vpn.params import interconnect_params
from include.jdcloud_vpn.policies import VPN_DAG_ARGS


@dag(
    schedule=None,
    params=interconnect_params(form_defaults()),
    doc_md=__doc__,
    tags=["jdcloud", "vpn", "interconnect"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_interconnect() -> None:
    conf = tasks.validate_interconnect_conf()
    sites = tasks.check_sites_exist(conf)
    lock_sensor()(conf) >> sites

    # The build, in the tutorial's order (the DR drill's rebuild is the same build), once the sites and the
    # pre-shared key have been checked:
    #   steps 1-3 / 5-7  home_region, peer_region  border gateway, VPC attachment, customer gateway per region
    #   steps 8-11       vpn_connections           VPN connection (peer), cross-wire, VPN connection (home), cross-wire
    #   steps 12-13      vpn_tunnels               two tunnels per side, then wait until all are UP
    #   routing          static_routing            a static route per border gateway (once the connections are wired,
    #                                              alongside the tunnels), then wait until the VPCs learn it
    #   test steps a/b   probe_vms                 a probe VM per VPC (started early), then wait until both run
    build = build_interconnect(conf, after=[sites])

    # Test step c: ping home -> peer and peer -> home, once the tunnels are UP and the routes learned.
    pings = tasks.connectivity_test(conf, build.probes, after=build.connected)

    report = tasks.write_report(conf)
    pings >> report
    build.delete_probes_after(report)


jdcloud_vpn_interconnect()
