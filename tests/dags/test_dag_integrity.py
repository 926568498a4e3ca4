"""Every DAG imports, is tagged, retries, and the interconnect DAG follows the tutorial's order."""

from __future__ import annotations

import pytest

from include.jdcloud_vpn.guard import VPN_DAGS

INTERCONNECT = "jdcloud_vpn_interconnect"
ALL_DAGS = [INTERCONNECT, "jdcloud_vpn_teardown", "jdcloud_vpn_dr_drill", "jdcloud_vpn_preflight"]
GUARD_TASK_ID = "wait_for_interconnect_lock"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_all_dags_are_loaded(dagbag):
    assert sorted(dagbag.dags) == sorted(ALL_DAGS)


@pytest.mark.parametrize("dag_id", ALL_DAGS)
def test_dag_has_tags_retries_and_doc(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.tags, f"{dag_id} has no tags"
    assert dag.doc_md, f"{dag_id} has no doc_md"
    retries = dag.default_args.get("retries")
    assert retries is not None and retries >= 2, f"{dag_id} retries={retries!r}"
    assert dag.max_active_runs > 1 and not dag.catchup, dag_id  # runs on different interconnects go together


@pytest.mark.parametrize("dag_id", sorted(VPN_DAGS))
def test_the_guard_holds_the_interconnect_before_any_other_task(dagbag, dag_id):
    """The guard's table names each VPN DAG's conf task and final task, and every other task waits for the guard."""
    dag, entry = dagbag.dags[dag_id], VPN_DAGS[dag_id]
    assert [t.task_id for t in dag.roots] == [entry.conf_task_id]
    assert [t.task_id for t in dag.leaves] == [entry.final_task_id]
    guard = dag.get_task(GUARD_TASK_ID)
    assert guard.upstream_task_ids == {entry.conf_task_id}
    assert guard.get_flat_relative_ids(upstream=False) == set(dag.task_ids) - {entry.conf_task_id, GUARD_TASK_ID}


def test_drill_is_scheduled_and_reuses_the_interconnect_and_teardown_tasks(dagbag):
    drill, build = dagbag.dags["jdcloud_vpn_dr_drill"], dagbag.dags[INTERCONNECT]
    assert drill.timetable.summary == "0 3 * * 6"
    rebuilt = {t.task_id for t in build.tasks} - {"validate_conf", "write_report", "delete_probe_vms"}
    assert rebuilt <= {t.task_id for t in drill.tasks}, rebuilt - {t.task_id for t in drill.tasks}
    # Same operator classes and callables, not copies.
    for task_id in ("vpn_tunnels.create_vpn_tunnel_home", "connectivity_test.ping_home_to_peer"):
        assert type(drill.get_task(task_id)) is type(build.get_task(task_id))
    teardown = dagbag.dags["jdcloud_vpn_teardown"]
    phases = [t.task_id for t in teardown.topological_sort() if ".delete_" in t.task_id]
    assert phases == [
        t.task_id for t in drill.topological_sort() if t.task_id.startswith("teardown_interconnect.delete_")
    ]


def _position(order: list[str], suffix: str) -> int:
    matches = [i for i, task_id in enumerate(order) if task_id.endswith(suffix)]
    assert matches, f"no task ends with {suffix}"
    return matches[0]


def test_interconnect_tasks_follow_the_tutorial(dagbag):
    dag = dagbag.dags[INTERCONNECT]
    order = [t.task_id for t in dag.topological_sort()]
    tutorial = [
        "validate_conf",
        "home_region.create_border_gateway",
        "home_region.create_vpc_attachment",
        "home_region.wait_vpc_attachment_active",
        "vpn_connections.create_vpn_connection_peer",  # step 8
        "vpn_connections.wait_cloud_ips_peer",
        "vpn_connections.point_customer_gateway_home",  # step 9
        "vpn_connections.create_vpn_connection_home",  # step 10
        "vpn_connections.wait_cloud_ips_home",
        "vpn_connections.point_customer_gateway_peer",  # step 11
        "vpn_tunnels.create_vpn_tunnel_home",  # step 12
        "vpn_tunnels.wait_tunnels_up",
        "static_routing.add_static_route_home",
        "static_routing.wait_routes_propagated",
        "connectivity_test.ping_home_to_peer",
        "connectivity_test.ping_peer_to_home",
        "write_report",
    ]
    positions = [_position(order, task_id) for task_id in tutorial]
    assert positions == sorted(positions), list(zip(tutorial, positions, strict=True))
    # Step 9 must finish before step 10 starts, and the home CGW must be wired before tunnels exist.
    assert (
        "vpn_connections.point_customer_gateway_home"
        in dag.get_task("vpn_connections.create_vpn_connection_home").upstream_task_ids
    )


def test_waits_are_deferrable_and_steps_document_the_tutorial(dagbag):
    dag = dagbag.dags[INTERCONNECT]
    for task_id in (
        "home_region.wait_vpc_attachment_active",
        "peer_region.wait_vpc_attachment_active",
        "vpn_connections.wait_cloud_ips_peer",
        "vpn_connections.wait_cloud_ips_home",
        "vpn_tunnels.wait_tunnels_up",
        "static_routing.wait_routes_propagated",
        "probe_vms.wait_probe_vms_running",
        "connectivity_test.ping_home_to_peer",
    ):
        assert dag.get_task(task_id).deferrable, task_id
    assert "Step 12" in dag.get_task("vpn_tunnels.create_vpn_tunnel_home").doc_md
    assert "Step 8" in dag.get_task("vpn_connections.create_vpn_connection_peer").doc_md


def test_ephemeral_probes_are_removed_by_a_teardown(dagbag):
    dag = dagbag.dags[INTERCONNECT]
    cleanup = dag.get_task("delete_probe_vms")
    assert cleanup.is_teardown
    assert {"probe_vms.create_probe_vm_home", "probe_vms.create_probe_vm_peer"} <= cleanup.upstream_task_ids
    assert dag.get_task("probe_vms.create_probe_vm_home").is_setup


RESOURCE_TASKS = {
    "create_border_gateway": "border_gateway",
    "create_vpc_attachment": "vpc_attachment",
    "create_customer_gateway": "customer_gateway",
    "create_vpn_connection": "vpn_connection",
    "point_customer_gateway": "customer_gateway",
    "create_vpn_tunnel": "vpn_tunnel",
    "add_static_route": "bgw_route",
    "create_probe_vm": "vm_instance",
}


@pytest.mark.parametrize("dag_id", ["jdcloud_vpn_interconnect", "jdcloud_vpn_dr_drill"])
def test_resource_tasks_have_console_links(dagbag, dag_id: str) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    kinds = {}
    for task in dagbag.dags[dag_id].tasks:
        if isinstance(task, MappedOperator):
            kind = task.partial_kwargs.get("jdcloud_resource")
        else:
            kind = getattr(task, "jdcloud_resource", None)
        if kind:
            kinds[task.task_id.split(".")[-1]] = kind
        assert "JD Cloud console" in {link.name for link in task.operator_extra_links} or not kind, task.task_id
    for task_id, kind in kinds.items():
        base = task_id.removesuffix("_home").removesuffix("_peer")
        assert RESOURCE_TASKS[base] == kind, task_id
    assert {RESOURCE_TASKS[t.removesuffix("_home").removesuffix("_peer")] for t in kinds} == set(
        RESOURCE_TASKS.values()
    )
