"""
### Preflight: check, read-only, that an interconnect can be built

Trigger with the interconnect's own conf (the same form). Run it before the first build against the real
cloud, and again whenever credentials, quotas or `api_paths.py` change. Describe calls only: nothing is
created, modified or deleted.

Checks, each a named row (pass, fail or not checked) with a one-line detail:

1. **credentials**: `DescribeVpcs` answers in both regions (not 401/403);
2. **api paths**: every *inferred* border-gateway read path of `api_paths.py` answers like an API that exists
   (a nonexistent id is "not found" as a resource, not as a path); the inferred write paths cannot be checked
   without changing something, so they are not;
3. **quotas**: border gateways (5/region), customer gateways (10/region), VPN connections (10/BGW), static
   routes (50/BGW), 1 attachment per VPC and BGW, against what the build would create; what it would reuse
   (deterministic names) needs no quota;
4. **probe images**: the image of each probe VM the build creates exists in its region;
5. **sites**: the VPCs, CIDRs, subnets and existing probe VMs are as the conf says.

The last task writes a JSON and Markdown report under the conf's `report_dir` and fails the run when any
check failed.
"""

from __future__ import annotations

from airflow.sdk import dag

from include.jdcloud_vpn import preflight_tasks, tasks
from include.jdcloud_vpn.demo import form_defaults
from include.jdcloud_vpn.params import interconnect_params
from include.jdcloud_vpn.policies import VPN_DAG_ARGS


@dag(
    schedule=None,
    params=interconnect_params(form_defaults()),
    doc_md=__doc__,
    tags=["jdcloud", "vpn", "preflight"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_preflight() -> None:
    conf = tasks.validate_interconnect_conf()
    preflight_tasks.write_preflight_report(
        conf,
        credentials=preflight_tasks.check_credentials(conf),
        api_paths=preflight_tasks.check_api_paths(conf),
        quotas=preflight_tasks.check_quotas(conf),
        probe_images=preflight_tasks.check_probe_images(conf),
        sites=preflight_tasks.check_sites(conf),
    )


jdcloud_vpn_preflight()
