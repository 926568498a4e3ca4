"""Every DAG imports, is tagged, retries, and the interconnect DAG follows the tutorial's order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from include.jdcloud_vpn.guard import VPN_DAGS

INTERCONNECT = "jdcloud_vpn_interconnect"
ALL_DAGS = [
    INTERCONNECT,
    "jdcloud_vpn_teardown",
    "jdcloud_vpn_dr_drill",
    "jdcloud_vpn_preflight",
    "jdcloud_vpn_topology",
    "jdcloud_vpn_topology_teardown",
    "jdcloud_vpn_topology_drill",
]
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


# --- the trigger form (include/jdcloud_vpn/params.py) ---------------------------------------------------


def _serialized_params(dag: Any) -> dict[str, Any]:
    """The DAG's Params as the API server (and its trigger form) reads them: from the serialized DAG."""
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(json.loads(json.dumps(DagSerialization.to_dict(dag))))
    return {key: serialized.params.get_param(key) for key in serialized.params}


@pytest.mark.parametrize("dag_id", ["jdcloud_vpn_interconnect", "jdcloud_vpn_preflight", "jdcloud_vpn_dr_drill"])
def test_form_of_the_serialized_dag(dagbag, dag_id):
    params = _serialized_params(dagbag.dags[dag_id])

    # Sections, in the model's order; ping is not a wait.
    sections = list(dict.fromkeys(p.schema.get("section") for p in params.values() if p.schema.get("section")))
    expected = [
        "Home site",
        "Peer site",
        "Tunnel 1 (IKE/IPsec)",
        "Tunnel 2 (only when it differs from tunnel 1)",
        "Pre-shared key",
        "Customer gateways",
        "Waits",
        "Ping test",
    ]
    assert sections == expected + (["Drill"] if dag_id == "jdcloud_vpn_dr_drill" else [])
    assert params["ping_count"].schema["section"] == "Ping test"
    assert params["timeouts_ping_timeout_s"].schema["section"] == "Waits"
    assert "section" not in params["name"].schema and "section" not in params["on_drift"].schema
    # Drop-downs.
    regions = ["cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1"]
    assert params["home_region"].schema["enum"] == regions and params["peer_region"].schema["enum"] == regions
    assert params["tunnel_ike_cipher"].schema["enum"] == ["aes128", "aes192", "aes256", "3des"]
    assert params["tunnel_ipsec_key_exchange"].schema["enum"][-1] is None  # PFS off
    assert params["tunnel2_ike_version"].schema["enum"] == ["v1", "v2", None]
    assert params["home_probe"].schema["enum"] == ["existing", "create"]
    assert params["home_probe"].schema["values_display"] == {
        "existing": "Existing VM",
        "create": "New VM (created for the run)",
    }
    # Human titles from the model, a description on every field.
    assert params["home_vpc_id"].schema["title"] == "VPC id"
    assert params["home_vpc_cidr"].schema["title"] == "VPC CIDR"
    assert params["tunnel_ike_key_exchange"].schema["title"] == "IKE DH group"
    assert params["timeouts_tunnels_up_timeout_s"].schema["title"] == "Tunnels up / Timeout (s)"
    for key, param in params.items():
        assert param.description, key
        assert param.schema["title"] != key.replace("_", " ").title(), f"{key}: pydantic's automatic title"
    # bgp_enabled (only false is valid) is no switch: the model's default, its reason when a conf sets it.
    assert "bgp_enabled" not in params
    # Pre-filled for the demo network's well-known ids.
    values = {key: param.value for key, param in params.items()}
    assert values["name"] == "demo"
    assert (values["home_region"], values["home_vpc_id"], values["home_subnet_ids"]) == (
        "cn-north-1",
        "vpc-demohome01",
        ["subnet-demohome01"],
    )
    assert (values["peer_probe"], values["peer_probe_instance_id"]) == ("existing", "i-demopeer01")
    assert values["tunnel2_ike_version"] is None and values["psk_secret_variable"] is None
