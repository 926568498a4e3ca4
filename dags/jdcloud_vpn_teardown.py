"""
### Remove a JD Cloud VPN interconnect, in the safe order

Trigger with `{"name": "<interconnect>", "home_region": "cn-north-1", "peer_region": "cn-east-2"}` or with
the build's own conf. Every resource is found by its deterministic name (an old run's XCom is not
needed), so it also cleans up after a build that failed half way. Order: BGW static routes, tunnels
(adminStatus DOWN, then delete), VPN connections, customer gateways, VPC attachments, border gateways,
ephemeral probe VMs, ping commands. Already-gone resources count as done. `dry_run` lists the plan and
deletes nothing. The last task lists what remains (must be nothing) and writes a report.
"""

from __future__ import annotations

from airflow.sdk import dag

from include.jdcloud_vpn import teardown_tasks
from include.jdcloud_vpn.guard import lock_sensor
from include.jdcloud_vpn.policies import VPN_DAG_ARGS


@dag(
    schedule=None,
    params=teardown_tasks.teardown_params(),
    doc_md=__doc__,
    tags=["jdcloud", "vpn", "teardown"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_teardown() -> None:
    request = teardown_tasks.read_teardown_request()
    teardown = teardown_tasks.teardown_interconnect(request)
    lock_sensor()(request) >> teardown["plan"]
    teardown["verified"] >> teardown_tasks.write_teardown_report(teardown["plan"])


jdcloud_vpn_teardown()
