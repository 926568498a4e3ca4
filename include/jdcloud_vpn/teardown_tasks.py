"""Teardown tasks: one task per deletion phase, in the safe order; shared by the teardown and DR-drill DAGs."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, get_current_context, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from pydantic import ValidationError

from include.jdcloud_vpn.conf import NAME_PATTERN, REGIONS, ConfError, InterconnectConf, TeardownTarget, validate_conf
from include.jdcloud_vpn.notifiers import note_for_alert
from include.jdcloud_vpn.report import markdown_table, report_stem, save_report, steps_table
from include.jdcloud_vpn.results import PlanItem, ReportFiles, TeardownPlan, TeardownRequest, TeardownVerified
from include.jdcloud_vpn.runinfo import step_records
from include.jdcloud_vpn.taskflow import jdcloud_hook, typed_task
from include.jdcloud_vpn.teardown import PHASES, Teardown

TEARDOWN_OPTIONS = ("dry_run", "report_dir", "home_region", "peer_region")


def teardown_params() -> dict[str, Param]:
    """The teardown DAG's trigger form: the interconnect's name and regions, or a whole build conf."""
    return {
        "name": Param(type="string", pattern=NAME_PATTERN, description="Interconnect name."),
        "home_region": Param(None, type=["null", "string"], enum=[None, *REGIONS], description="Home region."),
        "peer_region": Param(None, type=["null", "string"], enum=[None, *REGIONS], description="Peer region."),
        "dry_run": Param(False, type="boolean", description="List what would be deleted, in order; delete nothing."),
        "report_dir": Param("reports", type="string", description="Directory of the teardown report."),
    }


def parse_request(raw: dict[str, Any]) -> TeardownRequest:
    """Read a teardown request: ``name`` + regions, or a full build conf (its regions are used).

    :raises AirflowFailException: naming each bad field and its rule
    """
    raw = {k: v for k, v in raw.items() if v is not None}
    options = {k: raw.pop(k) for k in TEARDOWN_OPTIONS if k in raw}
    try:
        if isinstance(raw.get("home"), dict):  # a build conf: validate it whole, take its name and regions
            conf = validate_conf(raw)
            target = TeardownTarget.from_conf(conf)
            options.setdefault("report_dir", conf.report_dir)
        else:
            unknown = set(raw) - {"name"}
            if unknown:
                raise ConfError(
                    [f"{key}: unknown field (teardown takes name, home_region, peer_region)" for key in sorted(unknown)]
                )
            target = TeardownTarget(
                name=raw.get("name"), home_region=options.get("home_region"), peer_region=options.get("peer_region")
            )
    except ConfError as error:
        raise AirflowFailException(f"invalid teardown request:\n{error}") from None
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in error.errors(include_input=False)
        ]
        raise AirflowFailException("invalid teardown request:\n" + "\n".join(problems)) from None
    return TeardownRequest(
        target=target, dry_run=bool(options.get("dry_run")), report_dir=options.get("report_dir", "reports")
    )


def _teardown(request: TeardownRequest) -> Teardown:
    return Teardown(jdcloud_hook(), request.target)


@typed_task(retries=0)
def plan_teardown(request: TeardownRequest) -> TeardownPlan:
    """List every resource of the interconnect in deletion order (the whole output of a dry run)."""
    plan = _teardown(request).plan()
    for step, item in enumerate(plan, start=1):
        print(f"{step:3d}. {item.phase:<18} {item.kind:<16} {item.id:<24} {item.region}")
    if not plan:
        print("Nothing to delete: no resource of this interconnect exists.")
    return TeardownPlan(**request.model_dump(), plan=plan)


def _phase_task(phase: str) -> Any:
    @typed_task(task_id=f"delete_{phase}", doc_md=PHASES[phase].doc)
    def delete_phase(plan: TeardownPlan) -> list[PlanItem]:
        if plan.dry_run:
            raise AirflowSkipException("dry run: nothing is deleted")
        return _teardown(plan).run_phase(phase)

    return delete_phase


DELETE_TASKS = {phase: _phase_task(phase) for phase in PHASES}


@typed_task(trigger_rule="all_done", retries=0)
def verify_teardown(plan: TeardownPlan) -> TeardownVerified:
    """List what remains of the interconnect: must be nothing (a dry run only reports it)."""
    left = _teardown(plan).plan()
    for item in left:
        print(f"remaining: {item.kind} {item.id} in {item.region}")
    if left and not plan.dry_run:
        raise AirflowFailException(f"{len(left)} resources of {plan.target.name} remain after the teardown")
    return TeardownVerified(remaining=left)


@typed_task(trigger_rule="all_done", retries=0)
def write_teardown_report(plan: TeardownPlan) -> ReportFiles:
    """Write the teardown report: the plan, each phase's outcome and what remains."""
    ti = get_current_context()["ti"]
    steps = step_records(ti)
    left = _teardown(plan).plan()
    deleted: dict[str, Any] = {phase: [] for phase in PHASES}
    for step in steps:
        phase = step["task_id"].rpartition(".")[2].removeprefix("delete_")
        if phase in deleted and step["status"] == "success":
            deleted[phase] = ti.xcom_pull(task_ids=step["task_id"]) or []
    report = {
        "kind": "teardown",
        "interconnect": plan.target.name,
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "dry_run": plan.dry_run,
        "status": "success" if not left or plan.dry_run else "failed",
        "steps": steps,
        "plan": [item.model_dump(mode="json") for item in plan.plan],
        "deleted": deleted,
        "remaining": [item.model_dump(mode="json") for item in left],
    }
    stem = report_stem("teardown", plan.target.name, ti.run_id)
    paths = save_report(report, plan.report_dir, stem, markdown=render_teardown_markdown(report))
    print(f"Teardown report written to {paths[0]} and {paths[1]}")
    problem = f"{len(left)} resources remain after the teardown" if report["status"] != "success" else None
    note_for_alert(ti, str(paths[1]), problem)
    return ReportFiles(status=report["status"], json_path=str(paths[0]), markdown_path=str(paths[1]))


def render_teardown_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# teardown report: interconnect `{report['interconnect']}`",
        "",
        f"- status: **{report['status']}**" + (" (dry run: nothing deleted)" if report["dry_run"] else ""),
        f"- DAG run: `{report['dag_id']}` / `{report['run_id']}`",
        "",
        "## Plan (deletion order)",
        "",
        *markdown_table(
            ["#", "phase", "kind", "id", "region"],
            ([i, p["phase"], p["kind"], p["id"], p["region"]] for i, p in enumerate(report["plan"], start=1)),
        ),
        "",
        "## Steps",
        "",
        *steps_table(report["steps"]),
        "",
        "## Remaining after the teardown",
        "",
    ]
    lines += [f"- {r['kind']} {r['id']} ({r['region']})" for r in report["remaining"]] or ["Nothing."]
    return "\n".join(lines) + "\n"


@typed_task(retries=0)
def read_teardown_request(params: dict | None = None) -> TeardownRequest:
    """Validate the trigger conf: a name and regions, or a full build conf."""
    return parse_request(dict(params or {}))


@typed_task(retries=0)
def teardown_request_from_conf(conf: InterconnectConf, report_dir: str | None = None) -> TeardownRequest:
    """A teardown request for a validated build conf (used by the DR drill)."""
    return TeardownRequest(target=TeardownTarget.from_conf(conf), report_dir=report_dir or conf.report_dir)


@task_group
def teardown_interconnect(request: Any) -> Any:
    """Plan, then delete phase by phase in the safe order, then verify nothing remains."""
    plan = plan_teardown(request)
    previous = plan
    for phase in PHASES:
        deleted = DELETE_TASKS[phase](plan)
        previous >> deleted
        previous = deleted
    verified = verify_teardown(plan)
    previous >> verified
    return {"plan": plan, "verified": verified}
