"""Teardown tasks: one task per deletion phase, in the safe order; shared by the teardown and DR-drill DAGs."""

from __future__ import annotations

import re
from typing import Any

from airflow.sdk import Param, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from pydantic import ValidationError

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from include.jdcloud_vpn.conf import REGIONS, ConfError, InterconnectConf, validate_conf
from include.jdcloud_vpn.report import write_report
from include.jdcloud_vpn.runinfo import step_records
from include.jdcloud_vpn.teardown import PHASES, Teardown, TeardownTarget

JDCLOUD_CONN_ID = "jdcloud_default"
TEARDOWN_OPTIONS = ("dry_run", "report_dir", "home_region", "peer_region")
PHASE_DOCS = {
    "bgw_routes": "Delete the static routes of the interconnect's border gateways.",
    "vpn_tunnels": "Set every tunnel's adminStatus DOWN (JD Cloud requires it), then delete the tunnels.",
    "vpn_connections": "Delete the VPN connections (they have no tunnels and no routes pointing at them now).",
    "customer_gateways": "Delete the customer gateways (no VPN connection uses them now).",
    "vpc_attachments": "Delete the VPC attachments (their propagated routes go with them).",
    "bgws": "Delete the border gateways (no attachment, connection or route is left on them).",
    "probe_vms": "Delete the ephemeral probe VMs the build created (existing probe VMs are never touched).",
    "commands": "Delete the cloud-assistant ping commands.",
}


def teardown_params() -> dict[str, Param]:
    """The teardown DAG's trigger form: the interconnect's name and regions, or a whole build conf."""
    return {
        "name": Param(type="string", pattern=r"^[a-z][a-z0-9-]{2,19}$", description="Interconnect name."),
        "home_region": Param(None, type=["null", "string"], enum=[None, *REGIONS], description="Home region."),
        "peer_region": Param(None, type=["null", "string"], enum=[None, *REGIONS], description="Peer region."),
        "dry_run": Param(False, type="boolean", description="List what would be deleted, in order; delete nothing."),
        "report_dir": Param("reports", type="string", description="Directory of the teardown report."),
    }


def parse_request(raw: dict[str, Any]) -> dict[str, Any]:
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
    return {
        "target": target.model_dump(),
        "dry_run": bool(options.get("dry_run")),
        "report_dir": options.get("report_dir", "reports"),
    }


def _teardown(request: dict[str, Any]) -> Teardown:
    return Teardown(JDCloudHook(JDCLOUD_CONN_ID), TeardownTarget(**request["target"]))


@task(retries=0)
def plan_teardown(request: dict[str, Any]) -> dict[str, Any]:
    """List every resource of the interconnect in deletion order (the whole output of a dry run)."""
    plan = _teardown(request).plan()
    for step, item in enumerate(plan, start=1):
        print(f"{step:3d}. {item['phase']:<18} {item['kind']:<16} {item['id']:<24} {item['region']}")
    if not plan:
        print("Nothing to delete: no resource of this interconnect exists.")
    return {**request, "plan": plan}


def _phase_task(phase: str):
    @task(task_id=f"delete_{phase}", doc_md=PHASE_DOCS[phase])
    def delete_phase(plan: dict[str, Any]) -> list[dict[str, Any]]:
        if plan["dry_run"]:
            raise AirflowSkipException("dry run: nothing is deleted")
        return _teardown(plan).run_phase(phase)

    return delete_phase


DELETE_TASKS = {phase: _phase_task(phase) for phase in PHASES}


@task(trigger_rule="all_done", retries=0)
def verify_teardown(plan: dict[str, Any]) -> dict[str, Any]:
    """List what remains of the interconnect: must be nothing (a dry run only reports it)."""
    left = _teardown(plan).plan()
    for item in left:
        print(f"remaining: {item['kind']} {item['id']} in {item['region']}")
    if left and not plan["dry_run"]:
        raise AirflowFailException(f"{len(left)} resources of {plan['target']['name']} remain after the teardown")
    return {"remaining": left}


@task(trigger_rule="all_done", retries=0)
def write_teardown_report(plan: dict[str, Any]) -> dict[str, str]:
    """Write the teardown report: the plan, each phase's outcome and what remains."""
    ti = get_current_context()["ti"]
    steps = step_records(ti)
    left = Teardown(JDCloudHook(JDCLOUD_CONN_ID), TeardownTarget(**plan["target"])).plan()
    deleted = {phase: [] for phase in PHASES}
    for step in steps:
        phase = step["task_id"].rpartition(".")[2].removeprefix("delete_")
        if phase in deleted and step["status"] == "success":
            deleted[phase] = ti.xcom_pull(task_ids=step["task_id"]) or []
    report = {
        "kind": "teardown",
        "interconnect": plan["target"]["name"],
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "dry_run": plan["dry_run"],
        "status": "success" if not left or plan["dry_run"] else "failed",
        "steps": steps,
        "plan": plan["plan"],
        "deleted": deleted,
        "remaining": left,
    }
    stem = f"teardown-{plan['target']['name']}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', ti.run_id)}"
    paths = write_report(report, plan["report_dir"], stem, markdown=render_teardown_markdown(report))
    print(f"Teardown report written to {paths[0]} and {paths[1]}")
    return {"json": str(paths[0]), "markdown": str(paths[1])}


def render_teardown_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# teardown report: interconnect `{report['interconnect']}`",
        "",
        f"- status: **{report['status']}**" + (" (dry run: nothing deleted)" if report["dry_run"] else ""),
        f"- DAG run: `{report['dag_id']}` / `{report['run_id']}`",
        "",
        "## Plan (deletion order)",
        "",
        "| # | phase | kind | id | region |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {i} | {p['phase']} | {p['kind']} | {p['id']} | {p['region']} |"
        for i, p in enumerate(report["plan"], start=1)
    ]
    lines += ["", "## Remaining after the teardown", ""]
    lines += [f"- {r['kind']} {r['id']} ({r['region']})" for r in report["remaining"]] or ["Nothing."]
    return "\n".join(lines) + "\n"


@task(retries=0)
def read_teardown_request(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate the trigger conf: a name and regions, or a full build conf."""
    return parse_request(dict(params or {}))


@task(retries=0)
def teardown_request_from_conf(conf: dict[str, Any], report_dir: str | None = None) -> dict[str, Any]:
    """A teardown request for a validated build conf (used by the DR drill)."""
    model = InterconnectConf.model_validate(conf)
    target = TeardownTarget.from_conf(model)
    return {"target": target.model_dump(), "dry_run": False, "report_dir": report_dir or model.report_dir}


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
