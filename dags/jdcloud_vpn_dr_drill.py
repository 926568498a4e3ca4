"""
### Scheduled DR drill: tear the interconnect down, rebuild it, prove connectivity, measure the RTO

Runs on the cron of Airflow option `[jdcloud_vpn] drill_cron` (environment variable
`AIRFLOW__JDCLOUD_VPN__DRILL_CRON`; default `0 3 * * 6`, Saturday 03:00) in the time zone of
`[jdcloud_vpn] drill_timezone` (`AIRFLOW__JDCLOUD_VPN__DRILL_TIMEZONE`; default `Asia/Shanghai`), against
the conf in Variable `jdcloud_vpn_drill_conf`; on demand, against the interconnect of the trigger form (the
interconnect DAG's form, plus the drill's options) or of a JSON conf (either shape, or `{"interconnect": {...}}`).

1. **Baseline**: probe VMs and a ping both ways on the interconnect as it is (a failure is recorded; the
   drill goes on, since a rebuild is also a repair).
2. **Gate**: with `require_approval`, a person approves the destruction in the UI first; without an answer
   within `[jdcloud_vpn] drill_approval_timeout_s` (default 3600) the drill fails before deleting anything.
3. **Teardown**: the teardown DAG's task group (safe order, verify nothing is left).
4. **Rebuild**: the interconnect DAG's build (the same tasks, not a copy).
5. **Verify**: ping both ways. RTO = teardown finished -> both pings pass.

The report (JSON + Markdown with the last drills' RTO table and chart) is appended to the drill history;
a drill that failed, or whose RTO exceeded `[jdcloud_vpn] drill_rto_objective_s` (default 1800), fails the
run, and the DAG's failure notifier (`[jdcloud_vpn] alert_notifier`) alerts with where it stopped.
"""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import dag

from include.jdcloud_vpn import drill_tasks, tasks, teardown_tasks
from include.jdcloud_vpn.build import build_interconnect
from include.jdcloud_vpn.guard import lock_sensor
from include.jdcloud_vpn.policies import VPN_DAG_ARGS


@dag(
    schedule=drill_tasks.drill_schedule(),
    params=drill_tasks.drill_params(),
    doc_md=__doc__,
    tags=["jdcloud", "vpn", "dr-drill"],
    **VPN_DAG_ARGS,
)
def jdcloud_vpn_dr_drill() -> None:
    conf = drill_tasks.validate_drill_conf()
    started = drill_tasks.milestone.override(task_id="milestone_drill_started")("drill_started")
    lock_sensor()(conf) >> tasks.check_sites_exist(conf) >> started

    # 1. Baseline connectivity of the interconnect as it is.
    baseline_probes = tasks.probe_vms.override(group_id="baseline_probe_vms")(conf)
    started >> [baseline_probes["home"], baseline_probes["peer"]]
    baseline = tasks.connectivity_test.override(group_id="baseline_connectivity")(conf, baseline_probes, after=[])
    baseline_done = drill_tasks.milestone.override(task_id="milestone_baseline_done", trigger_rule="all_done")(
        "baseline_done"
    )
    baseline >> baseline_done

    # 2. Gate the destructive phase (approval only when asked for).
    gate = drill_tasks.gate_destruction()
    baseline_done >> gate
    approved = [drill_tasks.approval_gate(), EmptyOperator(task_id="no_approval_needed")]
    gate >> approved
    teardown_started = drill_tasks.milestone.override(
        task_id="milestone_teardown_started", trigger_rule="none_failed_min_one_success"
    )("teardown_started")
    approved >> teardown_started

    # 3. Teardown, reusing the teardown DAG's task group.
    request = teardown_tasks.teardown_request_from_conf(conf)
    teardown_started >> request
    teardown = teardown_tasks.teardown_interconnect(request)
    teardown_finished = drill_tasks.milestone.override(task_id="milestone_teardown_finished")("teardown_finished")
    teardown["verified"] >> teardown_finished

    # 4. Rebuild: the interconnect DAG's build (tutorial steps 1-13, routing, probe VMs).
    build = build_interconnect(conf, after=[teardown_finished])
    rebuild_finished = drill_tasks.milestone.override(task_id="milestone_rebuild_finished")("rebuild_finished")
    [*build.connected, build.probes["running"]] >> rebuild_finished

    # 5. Verify: ping both ways; the RTO ends when both pass.
    pings = tasks.connectivity_test(conf, build.probes, after=[rebuild_finished])
    report = drill_tasks.write_drill_report(conf)
    pings >> report
    build.delete_probes_after(report)


jdcloud_vpn_dr_drill()
