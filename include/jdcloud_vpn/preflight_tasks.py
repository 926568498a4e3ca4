"""The preflight's tasks: one per kind of check (each returns its rows, never fails on a failed check), then
the report, which fails the run when any check failed, after writing it."""

from __future__ import annotations

from collections.abc import Callable

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from include.jdcloud_vpn import preflight
from include.jdcloud_vpn.conf import InterconnectConf
from include.jdcloud_vpn.report import report_stem, save_report
from include.jdcloud_vpn.results import PreflightCheck, ReportFiles
from include.jdcloud_vpn.taskflow import JDCLOUD_CONN_ID, jdcloud_hook, typed_task

# A wrong path answers at once; more attempts would only wait longer on a gateway's non-JSON page.
PATH_PROBE_ATTEMPTS = 2


Check = Callable[[JDCloudHook, InterconnectConf], list[PreflightCheck]]


def _run(kind: str, check: Check, hook: JDCloudHook, conf: InterconnectConf) -> list[PreflightCheck]:
    """Run one kind of check and print its rows to the task log."""
    checks = check(hook, conf)
    print(f"Preflight {kind}:")
    print("\n".join(preflight.checks_table(checks)))
    return checks


@typed_task()
def check_credentials(conf: InterconnectConf) -> list[PreflightCheck]:
    """The key pair is accepted: ``DescribeVpcs`` answers in both regions."""
    return _run("credentials", preflight.check_credentials, jdcloud_hook(), conf)


@typed_task()
def check_api_paths(conf: InterconnectConf) -> list[PreflightCheck]:
    """Every inferred border-gateway read path answers like an API that exists (describe calls only)."""
    hook = JDCloudHook(JDCLOUD_CONN_ID, max_attempts=PATH_PROBE_ATTEMPTS)
    return _run("api paths", preflight.check_api_paths, hook, conf)


@typed_task()
def check_quotas(conf: InterconnectConf) -> list[PreflightCheck]:
    """What the build creates fits in the quotas left in each region (what it would reuse needs none)."""
    return _run("quotas", preflight.check_quotas, jdcloud_hook(), conf)


@typed_task()
def check_probe_images(conf: InterconnectConf) -> list[PreflightCheck]:
    """The image of each probe VM the build creates exists in its region."""
    return _run("probe images", preflight.check_probe_images, jdcloud_hook(), conf)


@typed_task()
def check_sites(conf: InterconnectConf) -> list[PreflightCheck]:
    """The VPCs, CIDRs, subnets and existing probe VMs are as the conf says."""
    return _run("sites", preflight.check_sites, jdcloud_hook(), conf)


@typed_task(trigger_rule="all_done", retries=0)
def write_preflight_report(
    conf: InterconnectConf,
    credentials: list[PreflightCheck] | None,
    api_paths: list[PreflightCheck] | None,
    quotas: list[PreflightCheck] | None,
    probe_images: list[PreflightCheck] | None,
    sites: list[PreflightCheck] | None,
) -> ReportFiles:
    """Write the pass/fail table (JSON and Markdown), print it, and fail the run when a check failed."""
    context = get_current_context()
    groups = {
        "credentials": credentials,
        "api paths": api_paths,
        "quotas": quotas,
        "probe images": probe_images,
        "sites": sites,
    }
    checks: list[PreflightCheck] = []
    for kind, rows in groups.items():
        if rows is None:  # the check task itself failed (see its log)
            rows = [PreflightCheck(name=kind, status="fail", detail="the check task did not finish: see its log")]
        checks.extend(rows)
    report = preflight.preflight_report(conf, checks, dag_id=context["dag"].dag_id, run_id=context["run_id"])
    markdown = preflight.render_preflight_markdown(report)
    paths = save_report(report, conf.report_dir, report_stem("preflight", conf.name, context["run_id"]), markdown)
    print(markdown)
    print(f"Report written to {paths[0]} and {paths[1]}")
    if report["failed_checks"]:
        raise AirflowFailException(f"preflight failed: {', '.join(report['failed_checks'])}")
    return ReportFiles(status=report["status"], json_path=str(paths[0]), markdown_path=str(paths[1]))
