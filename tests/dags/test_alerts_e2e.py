"""Failed runs alert through the DAG's ``on_failure_callback`` notifier, under ``dag.test()`` against the emulator:
the default log notifier, the SMTP notifier into a local SMTP server, a drill over its RTO objective and a
drill whose approval nobody gave."""

from __future__ import annotations

import copy
import importlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from include.jdcloud_vpn.notifiers import LogAlertNotifier
from tests.dags.conftest import seeded_conf
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.timeout(300)
INTERCONNECT, DRILL = "jdcloud_vpn_interconnect", "jdcloud_vpn_dr_drill"
VPN_DAGS = (INTERCONNECT, "jdcloud_vpn_teardown", DRILL)
DAGS = Path(__file__).parents[2] / "dags"


def _alerts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jdcloud_vpn.alerts"]


def _failed(dag_run) -> set[str]:
    return {ti.task_id for ti in dag_run.get_task_instances() if ti.state == "failed"}


def _bad_site(hook, tmp_path, name: str) -> dict:
    conf = seeded_conf(hook, tmp_path, name=name)
    conf["home"]["vpc_id"] = "vpc-doesnotexist"
    return conf


@pytest.fixture
def fresh_dag() -> Iterator:
    """Parse one DAG file anew under the given ``[jdcloud_vpn]`` environment (the session's dagbag keeps its own).

    The DAG arguments (with the failure notifier) are built when ``policies`` is imported, once per parse in
    the DAG processor: here the module is imported again, and again afterwards with the environment restored.
    """
    from airflow.dag_processing.dagbag import DagBag

    from include.jdcloud_vpn import policies

    patch = pytest.MonkeyPatch()

    def parse(dag_id: str, **options: str):
        for key, value in options.items():
            patch.setenv(f"AIRFLOW__JDCLOUD_VPN__{key.upper()}", value)
        importlib.reload(policies)
        bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
        assert bag.import_errors == {}
        return bag.dags[dag_id]

    yield parse
    patch.undo()
    importlib.reload(policies)


def test_every_vpn_dag_alerts_on_failure_through_the_log_notifier_by_default(dagbag):
    for dag_id in VPN_DAGS:
        assert isinstance(dagbag.dags[dag_id].on_failure_callback, LogAlertNotifier), dag_id


def test_a_failed_build_logs_one_alert_naming_the_run_and_the_failed_task(
    dagbag, hook, emulator_control, tmp_path, caplog
):
    conf = _bad_site(hook, tmp_path, "alertlog")
    dag_run = dagbag.dags[INTERCONNECT].test(run_conf=conf)
    assert dag_run.state == "failed" and "check_sites_exist" in _failed(dag_run)

    [line] = _alerts(caplog)  # exactly one alert, naming the run and its failed tasks in the DAG's order
    assert f"dag_id={INTERCONNECT} run_id={dag_run.run_id} failed_tasks=check_sites_exist" in line


def test_a_failed_build_mails_one_alert_through_smtp(fresh_dag, hook, emulator_control, tmp_path, monkeypatch):
    conf = _bad_site(hook, tmp_path, "alertmail")
    with SmtpSink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_ALERT_SMTP", sink.connection_json(from_email="airflow@example.com"))
        dag = fresh_dag(INTERCONNECT, alert_notifier="smtp", alert_to="sre@example.com", alert_conn_id="alert_smtp")
        dag_run = dag.test(run_conf=conf)
        messages = sink.wait_for(1, timeout=5)
    assert dag_run.state == "failed"
    assert len(messages) == 1, [m["Subject"] for m in messages]
    [message] = messages
    assert message["Subject"].startswith(f"[jdcloud_vpn] {INTERCONNECT} failed: check_sites_exist")
    assert message["To"] == "sre@example.com" and message["From"] == "airflow@example.com"
    body = message.get_body(("html",)).get_content()
    assert f"run_id={dag_run.run_id} failed_tasks=check_sites_exist" in body
    for secret in (DEMO_ACCESS_KEY, DEMO_SECRET_KEY):
        assert secret not in message.as_string()


def test_a_drill_over_its_rto_objective_fails_and_alerts(dagbag, hook, emulator_control, tmp_path, caplog, monkeypatch):
    conf = seeded_conf(hook, tmp_path, name="alertrto", ephemeral_probes=True)
    assert dagbag.dags[INTERCONNECT].test(run_conf=conf).state == "success"
    caplog.clear()
    # Read by the report task when it runs: no re-parse needed.
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__DRILL_RTO_OBJECTIVE_S", "0.001")

    dag_run = dagbag.dags[DRILL].test(run_conf={"interconnect": conf})
    assert dag_run.state == "failed" and _failed(dag_run) == {"write_drill_report"}
    report = sorted(Path(conf["report_dir"]).glob("drill-*.json"))[-1].read_text()
    assert '"status": "rto_exceeded"' in report and '"rto_objective_s": 0.001' in report
    [line] = _alerts(caplog)
    assert f"dag_id={DRILL}" in line and "failed_tasks=write_drill_report" in line
    assert "exceeded the objective of 0.001 s" in line


@pytest.fixture
def scheduler_timeout_sweep() -> Iterator[threading.Event]:
    """Run the scheduler's Human-in-the-loop timeout sweep every 0.2 s (``dag.test()`` has no scheduler)."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    stop = threading.Event()

    def sweep() -> None:
        while not stop.wait(0.2):
            SchedulerJobRunner.check_awaiting_input_timeouts(SWEEPER)

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(timeout=5)


class _Sweeper:
    """The part of a ``SchedulerJobRunner`` its timeout sweep uses: a logger."""

    log = logging.getLogger("tests.scheduler_sweep")


SWEEPER = _Sweeper()


def test_an_unanswered_approval_times_out_fails_the_drill_before_any_delete_and_alerts(
    fresh_dag, hook, emulator_control, tmp_path, caplog, scheduler_timeout_sweep
):
    waits = {k: {"timeout_s": 1, "poll_interval_s": 0.2} for k in ("tunnels_up", "routes_propagated", "ping")}
    conf = seeded_conf(hook, tmp_path, name="alertgate", timeouts=waits)
    dag = fresh_dag(DRILL, drill_approval_timeout_s="1")
    assert dag.get_task("approve_teardown").response_timeout == timedelta(seconds=1)

    started = time.time()
    dag_run = dag.test(run_conf={"interconnect": copy.deepcopy(conf), "require_approval": True})
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.map_index in (-1, 0)}
    assert states["approve_teardown"] == "failed"
    assert states["milestone_teardown_started"] == "upstream_failed"
    served = emulator_control.get("/requests", params={"since": started}).json()["requests"]
    assert [r["operation"] for r in served if r["operation"].startswith("Delete")] == []

    [line] = _alerts(caplog)
    assert f"dag_id={DRILL} run_id={dag_run.run_id}" in line and "approve_teardown" in line
