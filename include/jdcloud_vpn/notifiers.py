"""Run alerts: every VPN DAG's ``on_failure_callback`` is an Airflow notifier chosen by Airflow config.

``[jdcloud_vpn]`` options (or ``AIRFLOW__JDCLOUD_VPN__<OPTION>``), read when the DAG files are parsed:

* ``alert_notifier``: ``log`` (default: one ERROR line in the log of the process running DAG callbacks, the
  DAG processor) or ``smtp`` (an e-mail through Airflow's ``SmtpNotifier``);
* ``alert_conn_id``: the SMTP connection (host, port, login/password, extras ``from_email``,
  ``disable_tls``, ``disable_ssl``); default ``[email] email_conn_id``, else ``smtp_default``;
* ``alert_to``: comma-separated recipients (required with ``smtp``); ``alert_from``: the sender, else the
  connection's ``from_email``.

An alert names the DAG, the run, its failed tasks, the report (when a report task wrote one) and what the
report says went wrong. It never carries the conf, so no key or pre-shared key can leak into it.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseNotifier
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from airflow.sdk.execution_time.xcom import XCom

from include.jdcloud_vpn.settings import CONFIG_SECTION, option

ALERT_NOTIFIERS = ("log", "smtp")
#: XCom key under which a report task tells the alert where its report is and what went wrong.
ALERT_NOTE_KEY = "alert_note"
REPORT_TASK_IDS = ("write_report", "write_teardown_report", "write_drill_report", "write_topology_report")
DEFAULT_MESSAGE = "{{ dag.dag_id }} run {{ run_id }} failed"
DEFAULT_SUBJECT = "[jdcloud_vpn] {{ dag.dag_id }} failed: {{ alert.failed_tasks | join(', ') or reason }}"
DEFAULT_BODY = (
    "<p>{{ alert.text() }}</p>"
    "<p>Run <code>{{ run_id }}</code> of DAG <code>{{ dag.dag_id }}</code> (reason: {{ reason }}).</p>"
)
log = logging.getLogger("jdcloud_vpn.alerts")


@dataclass(frozen=True)
class RunAlert:
    """What an alert says about a failed run (available to notifier templates as ``alert``)."""

    dag_id: str
    run_id: str
    failed_tasks: list[str]
    report: str | None = None
    problem: str | None = None

    def text(self) -> str:
        failed = ", ".join(self.failed_tasks) or "none (the run could not go on)"
        line = f"dag_id={self.dag_id} run_id={self.run_id} failed_tasks={failed} report={self.report or 'none'}"
        return f"{line} problem={self.problem}" if self.problem else line


def note_for_alert(ti: Any, report: str, problem: str | None = None) -> None:
    """Tell the run's failure alert where the report is and, if the report found one, the problem."""
    ti.xcom_push(key=ALERT_NOTE_KEY, value={"report": report, "problem": problem})


def run_alert(context: Any) -> RunAlert:
    """Gather the alert of the run in ``context`` (a DAG callback's context) from Airflow."""
    dag, run_id = context["dag"], context["run_id"]
    report_tasks = [task_id for task_id in REPORT_TASK_IDS if task_id in dag.task_dict]
    if hasattr(task_runner, "SUPERVISOR_COMMS"):  # the DAG processor: ask the API through its supervisor
        states = RuntimeTaskInstance.get_task_states(dag_id=dag.dag_id, run_ids=[run_id]).get(run_id, {})
        failed = {key for key, state in states.items() if str(state) == "failed"}
        notes = [
            XCom.get_one(key=ALERT_NOTE_KEY, dag_id=dag.dag_id, task_id=task_id, run_id=run_id)
            for task_id in report_tasks
        ]
    else:  # dag.test() runs DAG callbacks in its own process, next to the DB, with no supervisor
        failed, notes = _read_from_db(dag.dag_id, run_id, report_tasks)
    note = next((n for n in notes if n), {})
    return RunAlert(
        dag_id=dag.dag_id,
        run_id=run_id,
        failed_tasks=[task_id for task_id in dag.task_dict if _failed(task_id, failed)],
        report=note.get("report"),
        problem=note.get("problem"),
    )


def _failed(task_id: str, failed: set[str]) -> bool:
    """Whether ``task_id`` is in ``failed``, as itself or as a mapped instance ``<task_id>_<map index>``."""
    return task_id in failed or any(
        key.startswith(f"{task_id}_") and key[len(task_id) + 1 :].isdigit() for key in failed
    )


def _read_from_db(dag_id: str, run_id: str, report_tasks: list[str]) -> tuple[set[str], list[Any]]:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        failed = session.scalars(
            select(TI.task_id).where(TI.dag_id == dag_id, TI.run_id == run_id, TI.state == "failed")
        ).all()
        rows = session.scalars(
            XComModel.get_many(run_id=run_id, key=ALERT_NOTE_KEY, dag_ids=dag_id, task_ids=report_tasks)
        ).all()
        return set(failed), [XComModel.deserialize_value(row) for row in rows]


class RunAlertNotifier(BaseNotifier):
    """Base of the VPN alert notifiers: templates see ``alert`` (a :class:`RunAlert`) and ``reason``."""

    def __call__(self, *args: Any) -> None:
        context = args[0]
        context["alert"] = run_alert(context)
        context.setdefault("reason", "task_failure")
        # Rendering overwrites the template fields in place: render a copy, keep the templates for the next run.
        super(RunAlertNotifier, copy.copy(self)).__call__(context)


class LogAlertNotifier(RunAlertNotifier):
    """Log one ERROR line per failed run: DAG, run, failed tasks, report path and the report's problem.

    :param message: the line's headline (templated).
    """

    template_fields = ("message",)

    def __init__(self, message: str = DEFAULT_MESSAGE) -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        log.error("ALERT %s: %s", self.message, context["alert"].text())


class SmtpAlertNotifier(RunAlertNotifier, SmtpNotifier):
    """Airflow's ``SmtpNotifier`` with the run's alert in its templates (default subject and HTML body)."""

    def __init__(self, *, subject: str = DEFAULT_SUBJECT, html_content: str = DEFAULT_BODY, **kwargs: Any) -> None:
        super().__init__(subject=subject, html_content=html_content, **kwargs)


def failure_notifier() -> RunAlertNotifier:
    """The notifier named by ``[jdcloud_vpn] alert_notifier``, built with its arguments from the config."""
    kind = option("alert_notifier", "log").strip().lower()
    if kind == "log":
        return LogAlertNotifier()
    if kind == "smtp":
        recipients = [address.strip() for address in option("alert_to", "").split(",") if address.strip()]
        if not recipients:
            raise ValueError(f"[{CONFIG_SECTION}] alert_notifier = smtp needs [{CONFIG_SECTION}] alert_to")
        return SmtpAlertNotifier(
            to=recipients,
            from_email=option("alert_from", "") or None,
            smtp_conn_id=option("alert_conn_id", "") or None,
        )
    raise ValueError(f"[{CONFIG_SECTION}] alert_notifier must be one of {', '.join(ALERT_NOTIFIERS)}, got {kind!r}")
