"""Run alerts: the notifier chosen by Airflow config, the alert text, the SMTP path into a local SMTP server,
and the drill's timeout and RTO options."""

from __future__ import annotations

from datetime import timedelta

import pytest

from include.jdcloud_vpn import drill_tasks, notifiers
from include.jdcloud_vpn.notifiers import LogAlertNotifier, RunAlert, SmtpAlertNotifier, failure_notifier
from tests.smtp_sink import SmtpSink

ALERT = RunAlert(
    dag_id="jdcloud_vpn_interconnect",
    run_id="manual__2026-01-01",
    failed_tasks=["check_sites_exist", "write_report"],
    report="/reports/interconnect-demo.md",
    problem="interconnect run failed: check_sites_exist",
)


@pytest.fixture(autouse=True)
def clean_alert_env(monkeypatch):
    for key in ("ALERT_NOTIFIER", "ALERT_TO", "ALERT_FROM", "ALERT_CONN_ID", "DRILL_APPROVAL_TIMEOUT_S"):
        monkeypatch.delenv(f"AIRFLOW__JDCLOUD_VPN__{key}", raising=False)


def test_the_default_notifier_logs():
    assert type(failure_notifier()) is LogAlertNotifier


def test_smtp_notifier_is_built_from_config(monkeypatch):
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_NOTIFIER", "smtp")
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_TO", "sre@example.com, oncall@example.com")
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_CONN_ID", "alert_smtp")
    notifier = failure_notifier()
    assert isinstance(notifier, SmtpAlertNotifier)
    assert notifier.to == ["sre@example.com", "oncall@example.com"]
    assert notifier.smtp_conn_id == "alert_smtp" and notifier.from_email is None
    assert "alert.failed_tasks" in notifier.subject


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALERT_NOTIFIER": "pager"}, "alert_notifier must be one of log, smtp, got 'pager'"),
        ({"ALERT_NOTIFIER": "smtp"}, "alert_notifier = smtp needs [jdcloud_vpn] alert_to"),
    ],
)
def test_a_bad_alert_config_fails_naming_the_option(monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(f"AIRFLOW__JDCLOUD_VPN__{key}", value)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        failure_notifier()


def test_alert_text_names_run_failed_tasks_report_and_problem():
    assert ALERT.text() == (
        "dag_id=jdcloud_vpn_interconnect run_id=manual__2026-01-01 failed_tasks=check_sites_exist, write_report "
        "report=/reports/interconnect-demo.md problem=interconnect run failed: check_sites_exist"
    )
    bare = RunAlert(dag_id="d", run_id="r", failed_tasks=[])
    assert bare.text() == "dag_id=d run_id=r failed_tasks=none (the run could not go on) report=none"


def test_mapped_task_states_count_as_their_task():
    assert notifiers._failed("ping", {"ping_3"})
    assert not notifiers._failed("ping", {"ping_home_to_peer"})
    assert not notifiers._failed("ping", {"pings"})


def _callback_context() -> dict:
    from airflow.sdk import DAG

    return {"dag": DAG(dag_id=ALERT.dag_id, schedule=None), "run_id": ALERT.run_id, "reason": "task_failure"}


def test_log_notifier_logs_one_line_and_keeps_its_template_for_the_next_run(monkeypatch, caplog):
    monkeypatch.setattr(notifiers, "run_alert", lambda context: ALERT)
    notifier = LogAlertNotifier()
    notifier(_callback_context())
    notifier(_callback_context())
    lines = [r.getMessage() for r in caplog.records if r.name == "jdcloud_vpn.alerts"]
    assert lines == [f"ALERT jdcloud_vpn_interconnect run manual__2026-01-01 failed: {ALERT.text()}"] * 2
    assert notifier.message == notifiers.DEFAULT_MESSAGE


def test_smtp_notifier_sends_the_rendered_alert_to_an_smtp_server(monkeypatch):
    monkeypatch.setattr(notifiers, "run_alert", lambda context: ALERT)
    with SmtpSink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_ALERT_SMTP", sink.connection_json())
        monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_NOTIFIER", "smtp")
        monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_TO", "sre@example.com")
        monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_FROM", "airflow@example.com")
        monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__ALERT_CONN_ID", "alert_smtp")
        failure_notifier()(_callback_context())
        [message] = sink.wait_for(1)
    assert message["Subject"] == ("[jdcloud_vpn] jdcloud_vpn_interconnect failed: check_sites_exist, write_report")
    assert message["To"] == "sre@example.com" and message["From"] == "airflow@example.com"
    body = message.get_body(("html",)).get_content()
    assert ALERT.text() in body and "manual__2026-01-01" in body


def test_the_approval_timeout_comes_from_config(monkeypatch):
    assert drill_tasks.approval_timeout() == timedelta(hours=1)
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__DRILL_APPROVAL_TIMEOUT_S", "90")
    gate = drill_tasks.approval_gate()
    assert gate.response_timeout == timedelta(seconds=90)
    assert "0:01:30" in gate.body
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__DRILL_APPROVAL_TIMEOUT_S", "soon")
    with pytest.raises(ValueError, match=r"\[jdcloud_vpn\] drill_approval_timeout_s must be a positive number"):
        drill_tasks.approval_timeout()


def test_an_unanswered_approval_fails_with_a_clear_message():
    gate = drill_tasks.approval_gate()
    event = {"error": "The Human-in-the-loop response timeout has passed without a response.", "error_type": "timeout"}
    with pytest.raises(Exception, match="nobody approved the teardown within 1:00:00: the drill stopped before"):
        gate.execute_complete(context={}, event=event)


def test_rto_objective_decides_the_drill_problem(monkeypatch):
    monkeypatch.delenv("AIRFLOW__JDCLOUD_VPN__DRILL_RTO_OBJECTIVE_S", raising=False)
    assert drill_tasks.rto_objective_s() == 1800
    assert drill_tasks._drill_problem("demo", "success", None, 12.0, 1800) is None
    assert drill_tasks._drill_problem("demo", "rto_exceeded", None, 2000.04, 1800) == (
        "DR drill of demo: RTO 2000.0 s exceeded the objective of 1800 s"
    )
    assert drill_tasks._drill_problem("demo", "failed", "approve_teardown", None, 1800) == (
        "DR drill of demo failed at approve_teardown"
    )
