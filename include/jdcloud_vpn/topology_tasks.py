"""Tasks of the topology DAGs: many interconnects in one run, each pair a run of the interconnect, teardown or
DR-drill DAG.

A topology run validates the whole topology (:func:`include.jdcloud_vpn.topology.validate_topology`: every
pair's conf, overlaps, JD Cloud's quotas) and the live quotas and sites, all before it creates anything. Then:

* **build**: each site's border gateway and VPC attachment, once per site (mapped over the sites), then one run
  of ``jdcloud_vpn_interconnect`` per pair, all at once (``TriggerDagRunOperator`` mapped over the pairs,
  deferred until each run ends). A pair adopts its sites' gateways and makes its own customer gateways, VPN
  connections, tunnels, static routes and probe VMs, with its own idempotency, report and ping test;
* **teardown**: one run of ``jdcloud_vpn_teardown`` per pair (each leaves the shared gateways and deletes on
  them only its own static routes), then each site's attachment and gateway, unless a pair still uses it;
* **drill**: one run of ``jdcloud_vpn_dr_drill`` per pair (its own RTO; the sites' gateways stay).

A pair that fails does not stop the others; the topology report lists each pair's run, its state, and for a
failed pair the steps that failed and the diagnosis of its ping test (from the pair's own report).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any, Literal

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, get_current_context
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

from airflow_provider_jdcloud import quotas
from include.jdcloud_vpn import naming, steps
from include.jdcloud_vpn.conf import SIDES, ConfError, InterconnectConf, TeardownTarget
from include.jdcloud_vpn.drill_tasks import INTERCONNECT_KEY
from include.jdcloud_vpn.notifiers import note_for_alert
from include.jdcloud_vpn.report import markdown_table, report_location, report_stem, save_report
from include.jdcloud_vpn.results import SiteGateway, SiteGatewayTeardown
from include.jdcloud_vpn.taskflow import jdcloud_hook, typed_task
from include.jdcloud_vpn.teardown import Teardown
from include.jdcloud_vpn.topology import TopologyConf, TopologySite, ValidatedTopology, validate_topology

CONF_TASK_ID = "validate_topology"
SITE_TEARDOWN_TASK_ID = "delete_site_gateway_task"
REPORT_TASK_ID = "write_topology_report"
PAIR_RUNS_TASK_ID = "pair_runs"
log = logging.getLogger(__name__)
PAIR_POLL_S = 5  # how often a deferred pair trigger checks its run's state
Action = Literal["build", "teardown", "drill"]
#: What a topology run does to each pair: the DAG it triggers, the pair's report kind.
PAIR_DAGS: dict[Action, tuple[str, str]] = {
    "build": ("jdcloud_vpn_interconnect", "interconnect"),
    "teardown": ("jdcloud_vpn_teardown", "teardown"),
    "drill": ("jdcloud_vpn_dr_drill", "drill"),
}


def topology_params() -> dict[str, Param]:
    """The trigger form: the fields of :class:`TopologyConf` (``include/topology.example.json`` is a whole conf)."""
    fields = TopologyConf.model_fields
    return {
        "name": Param(type="string", pattern=r"^[a-z][a-z0-9]{1,7}$", description=fields["name"].description),
        "sites": Param({}, type="object", description=fields["sites"].description),
        "topology": Param(
            None, type=["null", "string"], enum=[None, "mesh", "hub"], description=fields["topology"].description
        ),
        "hub": Param(None, type=["null", "string"], description=fields["hub"].description),
        "interconnects": Param([], type="array", description=fields["interconnects"].description),
        "settings": Param({}, type="object", description=fields["settings"].description),
    }


@typed_task(task_id=CONF_TASK_ID, retries=0)
def validate_topology_conf(params: dict | None = None) -> ValidatedTopology:
    """Validate the whole topology (each pair's conf, overlaps, JD Cloud's quotas) before any API call."""
    context = get_current_context()
    raw = {key: value for key, value in (params or {}).items() if key in TopologyConf.model_fields}
    raw = {key: value for key, value in raw.items() if value not in (None, [], {}) or key == "sites"}
    try:
        plan = validate_topology(raw, parent=(context["dag"].dag_id, context["run_id"]))
    except ConfError as error:
        raise AirflowFailException(f"invalid topology conf:\n{error}") from None
    return plan.to_result()


def live_quota_problems(hook: Any, topology: ValidatedTopology) -> list[str]:
    """Border and customer gateways already in each region (not this topology's) plus the plan's, against the
    quotas (one list call per region and kind)."""
    bgws: dict[str, set[str]] = defaultdict(set)
    for site in topology.sites:
        bgws[site.region].add(naming.bgw_name(site.anchor, site.side))
    cgws: dict[str, set[str]] = defaultdict(set)
    for pair in topology.pairs:
        for side in SIDES:
            cgws[pair.conf.site(side).region].add(naming.customer_gateway_name(pair.conf, side))
    problems = []
    for region, wanted in sorted(bgws.items()):
        held = [b.bgw_name for b in hook.describe_bgws(region=region)]
        problems += _over_quota(region, wanted, held, quotas.BORDER_GATEWAYS_PER_REGION, "border gateways")
    for region, wanted in sorted(cgws.items()):
        held = [g.customer_gateway_name for g in hook.describe_customer_gateways(region=region)]
        problems += _over_quota(region, wanted, held, quotas.CUSTOMER_GATEWAYS_PER_REGION, "customer gateways")
    return problems


def _over_quota(region: str, wanted: set[str], held: list[str], limit: int, what: str) -> list[str]:
    others = [name for name in held if name not in wanted]
    if len(others) + len(wanted) <= limit:
        return []
    return [
        f"quota: at most {limit} {what} per region; {region} has {len(others)} others and the topology needs "
        f"{len(wanted)}"
    ]


@typed_task(retries=2)
def check_topology(topology: ValidatedTopology) -> list[str]:
    """Describe-only: every site's VPC, CIDR, subnets and probe as the conf says, and room under the live
    quotas for what the topology adds; return the pairs checked."""
    hook = jdcloud_hook()
    problems = live_quota_problems(hook, topology)
    for site in topology.sites:  # each site once, through a pair that holds it
        problems += [f"sites.{site.key}: {problem}" for problem in steps.check_site(hook, site.anchor, site.side)]
    if problems:
        raise AirflowFailException("the topology does not fit the cloud:\n" + "\n".join(problems))
    return [pair.conf.name for pair in topology.pairs]


@typed_task(retries=0)
def topology_sites(topology: ValidatedTopology) -> list[TopologySite]:
    """The sites, one item each: what the site tasks are mapped over."""
    return topology.sites


@typed_task(map_index_template="{{ site_label }}")
def create_site_gateway(site: TopologySite) -> SiteGateway:
    """Steps 1-2 / 5-6 once per site: its border gateway and VPC attachment, shared by the site's pairs."""
    get_current_context()["site_label"] = f"{site.key} ({site.region})"
    hook = jdcloud_hook()
    bgw = steps.ensure_border_gateway(hook, site.anchor, site.side, site_stage=True)
    attachment = steps.ensure_vpc_attachment(hook, site.anchor, site.side, bgw.bgw_id, site_stage=True)
    return SiteGateway(
        site=site.key, region=site.region, bgw_id=bgw.bgw_id, vpc_attachment_id=attachment.vpc_attachment_id
    )


@typed_task(map_index_template="{{ site_label }}", trigger_rule="all_done")
def delete_site_gateway_task(site: TopologySite) -> SiteGatewayTeardown:
    """After the pairs' teardowns: a site's VPC attachment and border gateway, unless a pair still uses it."""
    get_current_context()["site_label"] = f"{site.key} ({site.region})"
    teardown = Teardown(jdcloud_hook(), TeardownTarget.from_conf(site.anchor))  # the anchor pair names the site
    result = teardown.delete_site_gateway(site.side)
    if result.kept_for:  # the report fails the run, naming what kept it
        log.warning("site %s is still used, kept: %s", site.key, "; ".join(result.kept_for))
    return result


@typed_task(task_id=PAIR_RUNS_TASK_ID, retries=0)
def pair_runs(topology: ValidatedTopology, action: Action) -> list[dict[str, Any]]:
    """One trigger per pair: the pair's conf and a run id made from this run's (a retry finds the same run)."""
    run_id = get_current_context()["run_id"]
    return [pair_trigger(action, run_id, pair.conf) for pair in topology.pairs]


def pair_trigger(action: Action, run_id: str, conf: InterconnectConf) -> dict[str, Any]:
    """The ``TriggerDagRunOperator`` arguments of one pair: its run id and the conf its DAG takes (a drill: the
    interconnect under ``interconnect``, without an approval gate per pair)."""
    pair_conf: dict[str, Any] = conf.model_dump(mode="json")
    if action == "drill":
        pair_conf = {INTERCONNECT_KEY: pair_conf, "require_approval": False}
    return {"trigger_run_id": pair_run_id(run_id, conf.name), "conf": pair_conf}


def pair_run_id(run_id: str, pair_name: str) -> str:
    """The run id of a pair's run: ``<pair>__<topology run id>``."""
    return f"{pair_name}__{run_id}"


def trigger_pairs(action: Action, runs: Any) -> Any:
    """Run the pair DAG once per pair, all at once, each deferred until its run ends (success or failed).

    ``reset_dag_run``: a retry of a pair's trigger clears the pair's run and runs it again (every step adopts
    what exists), instead of failing on the existing run id.
    """
    dag_id, _ = PAIR_DAGS[action]
    return TriggerDagRunOperator.partial(
        task_id=f"{action}_pairs",
        trigger_dag_id=dag_id,
        wait_for_completion=True,
        deferrable=True,
        poke_interval=PAIR_POLL_S,
        reset_dag_run=True,
        failed_states=["failed"],
        retries=0,
        map_index_template="{{ task.trigger_run_id.split('__')[0] }}",
    ).expand_kwargs(runs)


def _pair_outcome(topology: ValidatedTopology, action: Action, run_id: str, pair: Any) -> dict[str, Any]:
    dag_id, kind = PAIR_DAGS[action]
    child_run_id = pair_run_id(run_id, pair.conf.name)
    try:
        found = RuntimeTaskInstance.get_dagrun_state(dag_id=dag_id, run_id=child_run_id)
        state = str(getattr(found, "value", found))  # a DagRunState
    except Exception as error:  # never triggered (the topology failed before)
        state = f"not run ({type(error).__name__})"
    outcome: dict[str, Any] = {
        "pair": f"{pair.home}-{pair.peer}",
        "interconnect": pair.conf.name,
        "dag_id": dag_id,
        "run_id": child_run_id,
        "state": state,
        "failed_steps": [],
        "diagnosis": {},
    }
    report = report_location(pair.conf.report_dir) / f"{report_stem(kind, pair.conf.name, child_run_id)}.json"
    if report.exists():
        child = json.loads(report.read_text(encoding="utf-8"))
        outcome["report"] = str(report)
        stopped_at = [child["stopped_at"]] if child.get("stopped_at") else []  # a drill's report
        outcome["failed_steps"] = child.get("failed_steps") or stopped_at
        outcome["diagnosis"] = child.get("diagnosis") or {}
        if "rto_s" in child:
            outcome["rto_s"] = child["rto_s"]
    return outcome


def render_topology_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Topology {report['action']}: {report['topology']} ({report['status']})",
        "",
        f"Run `{report['run_id']}`; {report['failed']} of {len(report['pairs'])} pairs failed.",
        "",
        *markdown_table(
            ("pair", "interconnect", "run", "state", "failed steps", "why"),
            (
                (
                    p["pair"],
                    p["interconnect"],
                    p["run_id"],
                    p["state"],
                    ", ".join(p["failed_steps"]) or "-",
                    "; ".join(f"{d}: {f.get('reason')} at {f.get('hop')}" for d, f in p["diagnosis"].items() if f)
                    or "-",
                )
                for p in report["pairs"]
            ),
        ),
    ]
    if report["sites"]:
        lines += ["", "## Sites", ""]
        rows = [
            (s["site"], s["region"], ", ".join(s["deleted"]) or "-", "; ".join(s["kept_for"]) or "-")
            for s in report["sites"]
        ]
        lines += markdown_table(("site", "region", "deleted", "kept for"), rows)
    if report["excluded"]:
        lines += ["", f"Left out (both sites in one region): {', '.join(report['excluded'])}"]
    return "\n".join(lines) + "\n"


@typed_task(task_id=REPORT_TASK_ID, trigger_rule="all_done", retries=0)
def write_topology_report(topology: ValidatedTopology, action: Action) -> dict[str, Any]:
    """The topology's report: each pair's run and state, why a failed pair failed, and (teardown) each site's
    gateway; fails if a pair failed or a site's gateway is left."""
    context = get_current_context()
    ti = context["ti"]
    pairs = [_pair_outcome(topology, action, ti.run_id, pair) for pair in topology.pairs]
    sites = []
    if action == "teardown":
        pulled = ti.xcom_pull(task_ids=SITE_TEARDOWN_TASK_ID) or []
        sites = [SiteGatewayTeardown.model_validate(item) for item in pulled if item]
    failed = [p for p in pairs if p["state"] != "success"]
    kept = [s for s in sites if s.kept_for]
    missing_sites = len(topology.sites) - len(sites) if action == "teardown" else 0  # a site task that failed
    report = {
        "kind": "topology",
        "action": action,
        "topology": topology.name,
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "status": "success" if not (failed or kept or missing_sites) else "failed",
        "failed": len(failed),
        "pairs": pairs,
        "sites": [site.model_dump(mode="json") for site in sites],
        "excluded": topology.excluded,
    }
    if action == "drill":
        rtos = [p["rto_s"] for p in pairs if p.get("rto_s") is not None]
        report["rto_s"] = max(rtos) if len(rtos) == len(pairs) else None
    report_dir = topology.pairs[0].conf.report_dir
    markdown = render_topology_markdown(report)
    paths = save_report(report, report_dir, report_stem(f"topology-{action}", topology.name, ti.run_id), markdown)
    print(markdown)
    print(f"Report written to {paths[0]} and {paths[1]}")
    problem = None
    if report["status"] != "success":
        what = [f"pair {p['pair']} failed" for p in failed] + [f"site {s.site} kept" for s in kept]
        if missing_sites:
            what.append(f"{missing_sites} site(s) not torn down")
        problem = f"topology {action}: {', '.join(what)} (see {paths[1]})"
    note_for_alert(ti, str(paths[1]), problem)
    if problem:
        raise AirflowFailException(problem)
    return {"status": report["status"], "json_path": str(paths[0]), "markdown_path": str(paths[1])}
