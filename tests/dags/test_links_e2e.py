"""Extra links after a real build: the worker stored each link's URL, built from the ids the emulator holds."""

from __future__ import annotations

import pytest

from tests.dags.conftest import seeded_conf

pytestmark = pytest.mark.timeout(300)


def _stored_link(dag_run, task_id: str, key: str, map_index: int = -1):
    """The URL the UI shows: the XCom the task runner stored for the link when the task ended."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key, map_index=map_index)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def test_links_of_a_real_build_point_at_the_emulator_resources(dagbag, hook, emulator_control, tmp_path):
    from airflow.utils.state import DagRunState

    conf = seeded_conf(hook, tmp_path, ephemeral_probes=True)
    dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS
    state = emulator_control.get("/state").json()

    bgw_url = _stored_link(dag_run, "peer_region.create_border_gateway", "_link_JDCloudConsoleLink")
    (bgw,) = [b for b in state["bgws"] if f"id={b['bgwId']}&" in bgw_url]
    assert "regionId=cn-east-2" in bgw_url  # the demo's peer region
    assert bgw_url.startswith("https://cns-console.jdcloud.com/host/borderGateway/detail?")

    vpn_url = _stored_link(dag_run, "vpn_connections.create_vpn_connection_home", "_link_JDCloudConsoleLink")
    (connection,) = [c for c in state["vpnConnections"] if f"id={c['vpnConnectionId']}&" in vpn_url]
    assert "regionId=cn-north-1" in vpn_url and connection["bgwId"] != bgw["bgwId"]  # home's, not peer's

    tunnel_url = _stored_link(dag_run, "vpn_tunnels.create_vpn_tunnel_home", "_link_JDCloudConsoleLink", map_index=0)
    assert any(t["vpnTunnelId"] in tunnel_url for t in state["vpnTunnels"]), tunnel_url

    # Tasks that create nothing have an empty console link; the report task links its Markdown report.
    assert _stored_link(dag_run, "validate_conf", "_link_JDCloudConsoleLink") == ""
    report_url = _stored_link(dag_run, "write_report", "_link_RunReportLink")
    assert report_url.startswith("file://") and report_url.endswith(".md")
    assert _stored_link(dag_run, "write_report", "_link_JDCloudConsoleLink") == ""


def test_the_api_server_path_reads_the_stored_links(dagbag, hook, emulator_control, tmp_path):
    """What the UI's extra-links endpoint does: the serialized task's ``get_extra_links`` for the TI."""
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.state import DagRunState

    conf = seeded_conf(hook, tmp_path, ephemeral_probes=True)
    dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS
    serialized = SerializedDagModel.get_dag(dag_run.dag_id)
    task_id = "peer_region.create_border_gateway"
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    task = serialized.get_task(task_id)

    assert task.extra_links == ["JD Cloud console", "Run report"]
    assert task.get_extra_links(ti, "JD Cloud console") == _stored_link(dag_run, task_id, "_link_JDCloudConsoleLink")
    assert task.get_extra_links(ti, "Run report") == ""
