"""DR-drill tasks: conf source, milestones, the approval gate (with a timeout) and the drill report (with the
RTO objective)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import ObjectStoragePath, Param, Variable, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from airflow.timetables.trigger import CronTriggerTimetable

from include.jdcloud_vpn.conf import ConfError, InterconnectConf
from include.jdcloud_vpn.demo import form_defaults
from include.jdcloud_vpn.drill import (
    append_history,
    history_entry,
    phase_durations,
    recovery_time,
    render_drill_markdown,
    render_rto_svg,
)
from include.jdcloud_vpn.naming import DIRECTIONS
from include.jdcloud_vpn.notifiers import note_for_alert
from include.jdcloud_vpn.params import conf_from_trigger, interconnect_params
from include.jdcloud_vpn.report import report_location, report_stem, save_report
from include.jdcloud_vpn.results import DrillReportFiles
from include.jdcloud_vpn.runinfo import step_records
from include.jdcloud_vpn.settings import option, seconds_option
from include.jdcloud_vpn.taskflow import typed_task
from include.jdcloud_vpn.tasks import VALIDATE_TASK_ID

DRILL_CONF_VARIABLE = "jdcloud_vpn_drill_conf"
# [jdcloud_vpn] options of the drill (include/jdcloud_vpn/settings.py): drill_cron and drill_timezone (the
# schedule), drill_approval_timeout_s (how long the approval gate waits), drill_rto_objective_s (the RTO above
# which a drill fails and alerts).
DEFAULT_DRILL_CRON = "0 3 * * 6"  # Saturday 03:00: low traffic, people around on Monday
DEFAULT_DRILL_TIMEZONE = "Asia/Shanghai"
DEFAULT_APPROVAL_TIMEOUT_S = 3600.0  # an unanswered gate holds the interconnect (guard.py) for every other run on it
DEFAULT_RTO_OBJECTIVE_S = 1800.0
APPROVAL_TASK_ID = "approve_teardown"
MILESTONES = (
    "drill_started",
    "baseline_done",
    "teardown_started",
    "teardown_finished",
    "rebuild_finished",
)


def drill_schedule() -> CronTriggerTimetable:
    """The drill's cron and time zone from Airflow's config (file or environment), read without a DB query."""
    return CronTriggerTimetable(
        option("drill_cron", DEFAULT_DRILL_CRON), timezone=option("drill_timezone", DEFAULT_DRILL_TIMEZONE)
    )


def approval_timeout() -> timedelta:
    """How long the approval gate waits for a person: ``[jdcloud_vpn] drill_approval_timeout_s`` (1 h)."""
    return timedelta(seconds=seconds_option("drill_approval_timeout_s", DEFAULT_APPROVAL_TIMEOUT_S))


def rto_objective_s() -> float:
    """The recovery time objective: ``[jdcloud_vpn] drill_rto_objective_s`` (30 min), read when the drill reports."""
    return seconds_option("drill_rto_objective_s", DEFAULT_RTO_OBJECTIVE_S)


#: Params of the drill that are not interconnect fields.
DRILL_OPTIONS = ("require_approval", "history_file")
#: Key of a trigger conf holding the whole interconnect conf (nested or flat), as in ``{"interconnect": {...}}``.
INTERCONNECT_KEY = "interconnect"


def drill_params() -> dict[str, Param]:
    """The interconnect's trigger form (pre-filled for the demo network) plus the drill's own options."""
    return {
        **interconnect_params(form_defaults()),
        "require_approval": Param(
            False,
            type="boolean",
            title="Require approval",
            description="Wait for a person to approve in the UI before the destructive teardown (production).",
            section="Drill",
        ),
        "history_file": Param(
            None,
            type=["null", "string"],
            title="History file",
            description="JSON-lines drill history (a path or a URL, like report_dir); empty: "
            "<report_dir>/drill-history-<name>.jsonl",
            section="Drill",
        ),
    }


def drill_interconnect(
    run_conf: Mapping[str, Any], form: Mapping[str, Any], stored: Callable[[], str | None]
) -> InterconnectConf:
    """The interconnect a drill run is about, validated whole.

    It is, in order: the trigger conf's ``interconnect`` object; else the trigger conf itself when it has
    interconnect fields (the form, flat or nested); else (a scheduled run) the JSON ``stored()`` returns (Variable
    ``jdcloud_vpn_drill_conf``). Each is read like the interconnect DAG's conf, in either shape.

    :param run_conf: the run's trigger conf; :param form: the run's resolved params.
    :raises AirflowFailException: no conf anywhere, or an invalid one (naming every problem).
    """
    if INTERCONNECT_KEY in run_conf:
        raw = run_conf[INTERCONNECT_KEY]
    elif set(run_conf) - set(DRILL_OPTIONS):
        raw = run_conf
    else:
        text = stored()
        if text is None:
            raise AirflowFailException(
                f"no interconnect to drill: trigger with one (the form) or set Variable {DRILL_CONF_VARIABLE}"
            )
        raw = json.loads(text)
    if not isinstance(raw, Mapping):
        raise AirflowFailException("invalid interconnect conf:\nconf: Input should be a valid dictionary")
    try:
        return conf_from_trigger(raw, form, ignore=(*DRILL_OPTIONS, INTERCONNECT_KEY))
    except ConfError as error:
        raise AirflowFailException(f"invalid interconnect conf:\n{error}") from None


@typed_task(task_id=VALIDATE_TASK_ID, retries=0)
def validate_drill_conf(params: dict | None = None, dag_run: Any = None) -> InterconnectConf:
    """Read the drill's interconnect conf (:func:`drill_interconnect`) and validate it whole."""
    run_conf = dict(dag_run.conf or {}) if dag_run else {}
    return drill_interconnect(run_conf, params or {}, lambda: Variable.get(DRILL_CONF_VARIABLE, default=None))


@task(retries=0)
def milestone(name: str) -> float:
    """Record when the drill reached ``name`` (epoch seconds)."""
    return time.time()


@task.branch(retries=0)
def gate_destruction(params: dict[str, Any] | None = None) -> str:
    """Ask for approval before the teardown when ``require_approval``; go straight on otherwise."""
    return APPROVAL_TASK_ID if (params or {}).get("require_approval") else "no_approval_needed"


class DrillApprovalOperator(ApprovalOperator):
    """The approval gate; when nobody answers within ``response_timeout`` the task fails (nothing is deleted)."""

    def process_trigger_event_error(self, event: dict[str, Any]) -> None:
        if event.get("error_type") == "timeout":
            raise AirflowFailException(
                f"nobody approved the teardown within {self.response_timeout}: the drill stopped before "
                f"deleting anything (set [jdcloud_vpn] drill_approval_timeout_s to wait longer)"
            )
        super().process_trigger_event_error(event)


def approval_gate() -> DrillApprovalOperator:
    timeout = approval_timeout()
    return DrillApprovalOperator(
        task_id=APPROVAL_TASK_ID,
        subject="DR drill: tear the interconnect down and rebuild it?",
        body=(
            "The drill deletes every VPN resource of the interconnect, then rebuilds it and measures the RTO. "
            f"Without an answer within {timeout} the drill stops before deleting anything."
        ),
        response_timeout=timeout,
        retries=0,
    )


def _milestones(ti: Any, steps: list[dict[str, Any]]) -> dict[str, float | None]:
    found: dict[str, float | None] = dict.fromkeys(MILESTONES)
    for step in steps:
        name = step["task_id"].rpartition(".")[2].removeprefix("milestone_")
        if name in found and step["status"] == "success":
            found[name] = ti.xcom_pull(task_ids=step["task_id"])
    return found


def _pings(ti: Any, steps: list[dict[str, Any]], group: str) -> dict[str, dict[str, Any] | None]:
    stats: dict[str, dict[str, Any] | None] = dict.fromkeys(DIRECTIONS)
    for direction in DIRECTIONS:
        task_id = f"{group}.ping_{direction}"
        if any(s["task_id"] == task_id for s in steps):
            stats[direction] = ti.xcom_pull(task_ids=task_id, key="connectivity")
    return stats


def _first_failure(context: Any, steps: list[dict[str, Any]]) -> str | None:
    failed = {s["task_id"] for s in steps if s["status"] == "failed" and not s["task_id"].startswith("baseline")}
    order = [t.task_id for t in context["dag"].topological_sort()]
    return next((task_id for task_id in order if task_id in failed), None)


def _drill_problem(
    name: str, status: str, stopped_at: str | None, rto_s: float | None, objective_s: float
) -> str | None:
    if status == "rto_exceeded":
        return f"DR drill of {name}: RTO {rto_s:.1f} s exceeded the objective of {objective_s:g} s"
    if status != "success":
        return f"DR drill of {name} failed at {stopped_at or 'the connectivity test'}"
    return None


def _link_from(directory: ObjectStoragePath, target: ObjectStoragePath) -> str:
    """A Markdown link target for ``target`` from a page in ``directory``: relative in the same store."""
    if (directory.protocol, directory.storage_options) == (target.protocol, target.storage_options):
        return os.path.relpath(target.path, directory.path)
    return str(target)


@typed_task(trigger_rule="all_done", retries=0)
def write_drill_report(conf: InterconnectConf, params: dict | None = None) -> DrillReportFiles:
    """Write the drill report and history (with the RTO chart); fail (so the run alerts) when the drill failed or
    its RTO exceeded the objective."""
    context = get_current_context()
    ti = context["ti"]
    steps = step_records(ti)
    marks = _milestones(ti, steps)
    verify = _pings(ti, steps, "connectivity_test")
    restored = [p["finished_at"] for p in verify.values() if p and p.get("ok")]
    marks["connectivity_restored"] = max(restored) if len(restored) == 2 else None
    baseline = _pings(ti, steps, "baseline_connectivity")
    stopped_at = _first_failure(context, steps)
    rto_s, objective_s = recovery_time(marks), rto_objective_s()
    status = "success" if stopped_at is None and marks["connectivity_restored"] else "failed"
    if status == "success" and rto_s is not None and rto_s > objective_s:
        status = "rto_exceeded"
    report = {
        "kind": "dr_drill",
        "interconnect": conf.name,
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "status": status,
        "stopped_at": stopped_at,
        "rto_s": rto_s,
        "rto_objective_s": objective_s,
        "phases": phase_durations(marks),
        "milestones": marks,
        "baseline_ok": all(p and p.get("ok") for p in baseline.values()),
        "baseline": baseline,
        "connectivity": verify,
        "steps": steps,
    }
    report_dir = report_location(conf.report_dir)
    history_file = (params or {}).get("history_file")
    # One history per interconnect: drills of different interconnects may run at once (guard.py).
    default_history = report_dir / f"drill-history-{conf.name}.jsonl"
    history_path = report_location(history_file) if history_file else default_history
    history = append_history(history_path, history_entry(report))
    chart = history_path.with_suffix(".svg")
    chart.write_text(render_rto_svg(history), encoding="utf-8")
    stem = report_stem("drill", conf.name, ti.run_id)
    markdown = render_drill_markdown(report, history, _link_from(report_dir, chart))
    paths = save_report(report, conf.report_dir, stem, markdown=markdown)
    print(f"Drill report written to {paths[0]} and {paths[1]}; RTO {report['rto_s']} s; history {history_path}")
    problem = _drill_problem(conf.name, status, stopped_at, rto_s, objective_s)
    note_for_alert(ti, str(paths[1]), problem)
    if problem:
        # The run fails, so the DAG's failure notifier alerts with this problem and the report's path.
        raise AirflowFailException(problem)
    return DrillReportFiles(
        status=report["status"],
        rto_s=report["rto_s"],
        json_path=str(paths[0]),
        markdown_path=str(paths[1]),
        history_path=str(history_path),
    )
