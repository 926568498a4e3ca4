"""Preflight of an interconnect: describe-only checks to run before the first build against a real cloud.

Each check is one named row, ``pass``, ``fail`` or ``not checked``, with a one-line detail:

* ``credentials``: ``DescribeVpcs`` answers in both regions (not 401/403);
* ``api path <Operation>``: every inferred read (``Describe*``) of :data:`api_paths.OPERATIONS` answers like an
  API that exists (the rule is :func:`classify_path_answer`);
* ``quota <kind> (<side>, <region>)``: what the build creates fits in what is left of JD's documented quotas;
  a resource the build would adopt (its deterministic name, :mod:`naming`, or natural key) needs no quota;
* ``probe image (<side>, <region>)``: the image of a probe VM the build creates exists (``DescribeImage``);
* ``sites``: the VPCs, CIDRs, subnets and existing probe VMs match the conf (:func:`steps.check_sites`).

Nothing here creates, modifies or deletes: every call is a ``Describe*`` operation. So the inferred *write*
paths (``Create*``, ``Modify*``, ``Delete*``) stay unchecked: a passing preflight proves the read paths only,
and the first build is the first use of the others.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from airflow_provider_jdcloud import api_paths, quotas
from airflow_provider_jdcloud.api_paths import ApiOperation
from airflow_provider_jdcloud.exceptions import (
    Forbidden,
    JDCloudApiError,
    JDCloudError,
    JDCloudTransportError,
    NotFound,
    Unauthenticated,
)
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.models import Bgw
from include.jdcloud_vpn import naming, steps
from include.jdcloud_vpn.conf import SIDES, CreateProbe, InterconnectConf, Side
from include.jdcloud_vpn.report import markdown_table
from include.jdcloud_vpn.results import CheckStatus, PreflightCheck

log = logging.getLogger(__name__)

PASS: CheckStatus = "pass"
FAIL: CheckStatus = "fail"
NOT_CHECKED: CheckStatus = "not checked"

#: The id sent to single-resource describes: no resource has it, so a path that exists answers NOT_FOUND naming it.
NONEXISTENT_ID = "preflight-nonexistent-0"
#: Words of an answer about the API path itself, not about a resource: the emulator's unknown-path answer is
#: ``api GET /v1/regions/... not found``; gateways name the route, the method or the path.
_ABOUT_THE_PATH = re.compile(
    r"\bapi\b|/v1/|/regions/|\broute\b|\bmethod\b|not supported|unknown (operation|action)|no such", re.IGNORECASE
)
_DETAIL_MAX = 240


def _one_line(text: str) -> str:
    """``text`` on one line, cut to a table cell's length."""
    line = " ".join(str(text).split())
    return line if len(line) <= _DETAIL_MAX else line[: _DETAIL_MAX - 1] + "…"


def _check(name: str, status: CheckStatus, detail: str) -> PreflightCheck:
    return PreflightCheck(name=name, status=status, detail=_one_line(detail))


def _error_text(error: JDCloudError) -> str:
    """The error without the hook's ``[requestId=...]`` suffix: status, code and the server's message."""
    if isinstance(error, JDCloudApiError):
        return f"{error.operation}: {error.status} ({error.http_code}) {error.message}"
    return str(error)


def _guarded(name: str, check: Callable[[], PreflightCheck]) -> PreflightCheck:
    """Run one check; an API error (or an ambiguous answer) makes it ``fail`` with the error as detail."""
    try:
        return check()
    except JDCloudError as error:
        return _check(name, FAIL, f"could not check: {_error_text(error)}")
    except ValueError as error:  # e.g. two resources with the build's deterministic name
        return _check(name, FAIL, f"could not check: {error}")


# --------------------------------------------------------------------- credentials


def check_credentials(hook: JDCloudHook, conf: InterconnectConf) -> list[PreflightCheck]:
    """``DescribeVpcs`` (one small page) in each region: the key pair is accepted and may read."""
    name = "credentials"
    regions = [conf.site(side).region for side in SIDES]
    try:
        for region in regions:
            hook.call("DescribeVpcs", {"pageNumber": 1, "pageSize": 10}, region=region)
    except (Unauthenticated, Forbidden) as error:
        return [_check(name, FAIL, f"refused: {_error_text(error)}")]
    except JDCloudError as error:
        return [_check(name, FAIL, f"could not check: {_error_text(error)}")]
    return [_check(name, PASS, f"DescribeVpcs answered in {' and '.join(regions)}")]


# --------------------------------------------------------------------- inferred API paths


def inferred_reads() -> list[ApiOperation]:
    """The inferred operations that only read (``Describe*``), in table order."""
    return [op for op in api_paths.OPERATIONS.values() if op.inferred and op.name.startswith("Describe")]


def probe_params(op: ApiOperation) -> tuple[dict[str, Any], list[str]]:
    """Harmless parameters for ``op`` and the ids among them: every path id is :data:`NONEXISTENT_ID`; a
    collection (a path not ending in an id) is listed one small page at a time."""
    ids = {name: NONEXISTENT_ID for name in re.findall(r"{(\w+)}", op.path) if name != "regionId"}
    params: dict[str, Any] = dict(ids)
    if not op.path.endswith("}"):
        params.update(pageNumber=1, pageSize=10)
    return params, list(ids.values())


def classify_path_answer(error: JDCloudError | None, sent_ids: Sequence[str]) -> tuple[CheckStatus, str]:
    """Judge from one answer whether an API path exists.

    * a result: it exists;
    * not a JD Cloud envelope (non-JSON, no ``requestId``): the path is wrong (a gateway or web server
      answered, not the API); an unreachable endpoint proves nothing;
    * HTTP 405, or a 404 / ``NOT_FOUND`` envelope, is about the path unless the message names an id we sent
      and nothing about the path (``api``, ``/v1/``, ``/regions/``, route, method, ...): only an operation
      that exists can look the id up and say that *resource* is not found. So a 404 from a list call (no id)
      is always "path wrong", and so is a 404 whose message is ambiguous;
    * 401/403, 429 ``RATE_LIMIT`` and 5xx prove nothing (the gateway may answer them before routing): fail;
    * any other error envelope (``INVALID_ARGUMENT``, ``FAILED_PRECONDITION``, ...): the operation exists
      and checked the request.

    The rule errs towards "wrong": a false alarm costs a look at the API Explorer, a false pass costs a
    build that fails half-way through.
    """
    if error is None:
        return PASS, "path exists: answered with a result"
    if isinstance(error, JDCloudTransportError):
        if isinstance(error.__cause__, requests.RequestException):
            return FAIL, f"not proven: the endpoint did not answer ({error})"
        return FAIL, f"path wrong: the answer is not a JD Cloud API envelope ({error})"
    if not isinstance(error, JDCloudApiError):
        return FAIL, f"not proven: {error}"
    what = _error_text(error)
    if error.http_code == 405 or error.status == "METHOD_NOT_ALLOWED":
        return FAIL, f"path wrong: {what}"
    if error.http_code == 404 or isinstance(error, NotFound):
        names_our_id = any(sent in error.message for sent in sent_ids)
        if names_our_id and not _ABOUT_THE_PATH.search(error.message):
            return PASS, f"path exists: the nonexistent id is not found, as expected ({what})"
        return FAIL, f"path wrong: {what}"
    if isinstance(error, (Unauthenticated, Forbidden)):
        return FAIL, f"not proven: credentials refused ({what})"
    if error.retryable:
        return FAIL, f"not proven: {what}; run the preflight again"
    return PASS, f"path exists: the API checked the request ({what})"


def check_api_paths(hook: JDCloudHook, conf: InterconnectConf) -> list[PreflightCheck]:
    """Call every inferred read once in the home region (paths do not depend on the region) and judge it."""
    region = conf.home.region
    checks = []
    for op in inferred_reads():
        params, sent_ids = probe_params(op)
        try:
            hook.call(op.name, params, region=region)
        except JDCloudError as error:
            status, detail = classify_path_answer(error, sent_ids)
        else:
            status, detail = classify_path_answer(None, sent_ids)
        checks.append(_check(f"api path {op.name}", status, f"{op.method} {op.path}: {detail}"))
    return checks


# --------------------------------------------------------------------- quotas


def _quota(name: str, *, used: int, limit: int, needed: int, plan: str) -> PreflightCheck:
    """One quota row: ``needed`` new resources must fit in ``limit - used``."""
    left = limit - used
    status = PASS if needed <= left else FAIL
    return _check(name, status, f"{used} of {limit} used, {max(left, 0)} left, the build needs {needed}: {plan}")


def check_quotas(hook: JDCloudHook, conf: InterconnectConf) -> list[PreflightCheck]:
    """Count, by listing, what exists in each region against what the build would create there."""
    return [check for side in SIDES for check in _side_quotas(hook, conf, side)]


def _side_quotas(hook: JDCloudHook, conf: InterconnectConf, side: Side) -> list[PreflightCheck]:
    site = conf.site(side)
    region = site.region
    where = f"({side}, {region})"
    bgw_name = naming.bgw_name(conf, side)

    # Listed once per side, on first use; a failed list fails each check that needs it.
    @functools.cache
    def bgws() -> list[Bgw]:
        return hook.describe_bgws(region=region)

    def our_bgw() -> Bgw | None:
        named = [b for b in bgws() if b.bgw_name == bgw_name]
        if len(named) > 1:
            raise ValueError(f"{len(named)} border gateways are named {bgw_name} in {region}")
        return named[0] if named else None

    def border_gateways(name: str) -> PreflightCheck:
        used = len(bgws())
        bgw = our_bgw()
        plan = f"reuses {bgw_name} ({bgw.bgw_id})" if bgw else f"creates {bgw_name}"
        return _quota(name, used=used, limit=quotas.BORDER_GATEWAYS_PER_REGION, needed=0 if bgw else 1, plan=plan)

    def customer_gateways(name: str) -> PreflightCheck:
        cgw_name = naming.customer_gateway_name(conf, side)
        cgws = hook.describe_customer_gateways(region=region)
        reused = any(c.customer_gateway_name == cgw_name for c in cgws)
        plan = f"reuses {cgw_name}" if reused else f"creates {cgw_name}"
        return _quota(
            name, used=len(cgws), limit=quotas.CUSTOMER_GATEWAYS_PER_REGION, needed=0 if reused else 1, plan=plan
        )

    def vpn_connections(name: str) -> PreflightCheck:
        vpn_name = naming.vpn_connection_name(conf, side)
        bgw = our_bgw()
        if bgw is None:
            return _quota(
                name, used=0, limit=quotas.VPN_CONNECTIONS_PER_BORDER_GATEWAY, needed=1, plan=f"{bgw_name} is new"
            )
        on_bgw = [c for c in hook.describe_vpn_connections(region=region) if c.bgw_id == bgw.bgw_id]
        reused = any(c.vpn_connection_name == vpn_name for c in on_bgw)
        plan = f"reuses {vpn_name}" if reused else f"creates {vpn_name} on {bgw.bgw_id}"
        return _quota(
            name,
            used=len(on_bgw),
            limit=quotas.VPN_CONNECTIONS_PER_BORDER_GATEWAY,
            needed=0 if reused else 1,
            plan=plan,
        )

    def static_routes(name: str) -> PreflightCheck:
        destination = str(conf.site(naming.other_side(side)).vpc_cidr)
        bgw = our_bgw()
        if bgw is None:
            return _quota(
                name, used=0, limit=quotas.STATIC_ROUTES_PER_BORDER_GATEWAY, needed=1, plan=f"{bgw_name} is new"
            )
        listed = hook.describe_bgw_routes(bgw.bgw_id, origin="static", region=region)
        routes = [r for r in listed if r.origin == "static"]
        reused = any(r.bgw_route_destination == destination for r in routes)
        plan = f"reuses the route to {destination}" if reused else f"creates a route to {destination}"
        return _quota(
            name, used=len(routes), limit=quotas.STATIC_ROUTES_PER_BORDER_GATEWAY, needed=0 if reused else 1, plan=plan
        )

    def attachment(name: str) -> PreflightCheck:
        bgw = our_bgw()
        if bgw is None:
            return _quota(
                name,
                used=0,
                limit=quotas.VPC_ATTACHMENTS_PER_VPC_AND_BORDER_GATEWAY,
                needed=1,
                plan=f"{bgw_name} is new",
            )
        pair = [
            a
            for a in hook.describe_vpc_attachments(region=region)
            if a.bgw_id == bgw.bgw_id and a.vpc_id == site.vpc_id
        ]
        # The build adopts the attachment of the (VPC, BGW) pair whatever its name: the pair is its natural key.
        plan = f"reuses {pair[0].vpc_attachment_id}" if pair else f"attaches {site.vpc_id} to {bgw.bgw_id}"
        return _quota(
            name,
            used=len(pair),
            limit=quotas.VPC_ATTACHMENTS_PER_VPC_AND_BORDER_GATEWAY,
            needed=0 if pair else 1,
            plan=plan,
        )

    rows = {
        "border gateways": border_gateways,
        "customer gateways": customer_gateways,
        "VPN connections per border gateway": vpn_connections,
        "static routes per border gateway": static_routes,
        "VPC attachments per VPC and border gateway": attachment,
    }
    names = {kind: f"quota {kind} {where}" for kind in rows}
    return [_guarded(names[kind], functools.partial(check, names[kind])) for kind, check in rows.items()]


# --------------------------------------------------------------------- probe image


def check_probe_images(hook: JDCloudHook, conf: InterconnectConf) -> list[PreflightCheck]:
    """``DescribeImage`` of each probe VM the build creates, in its region; an existing probe needs no image."""
    checks = []
    for side in SIDES:
        site = conf.site(side)
        name = f"probe image ({side}, {site.region})"
        if not isinstance(site.probe, CreateProbe):
            checks.append(_check(name, NOT_CHECKED, f"the probe is the existing VM {site.probe.instance_id}"))
            continue
        checks.append(_guarded(name, functools.partial(_probe_image, hook, name, site.probe.image_id, site.region)))
    return checks


def _probe_image(hook: JDCloudHook, name: str, image_id: str, region: str) -> PreflightCheck:
    try:
        image = hook.describe_image(image_id, region=region)
    except NotFound:
        return _check(name, FAIL, f"{image_id} does not exist in {region}: set probe.image_id to an image there")
    if image.status not in (None, "ready"):
        return _check(name, FAIL, f"{image_id} ({image.name}) is {image.status}, not ready")
    return _check(name, PASS, f"{image_id} ({image.name or 'no name'}) is {image.status or 'listed'} in {region}")


# --------------------------------------------------------------------- sites


def check_sites(hook: JDCloudHook, conf: InterconnectConf) -> list[PreflightCheck]:
    """The build's own site check (:func:`steps.check_sites`): VPCs, CIDRs, subnets, existing probe VMs."""
    name = "sites: VPCs, CIDRs and subnets"

    def check() -> PreflightCheck:
        problems = steps.check_sites(hook, conf)
        if problems:
            return _check(name, FAIL, "; ".join(problems))
        vpcs = ", ".join(f"{conf.site(side).vpc_id} ({conf.site(side).vpc_cidr})" for side in SIDES)
        return _check(name, PASS, f"{vpcs} and their subnets are as the conf says")

    return [_guarded(name, check)]


# --------------------------------------------------------------------- report


def preflight_report(
    conf: InterconnectConf, checks: Sequence[PreflightCheck], *, dag_id: str, run_id: str
) -> dict[str, Any]:
    """The report: every check in order, ``status`` ``success`` only when none failed."""
    failed = [c.name for c in checks if c.status == FAIL]
    counts = {status: sum(c.status == status for c in checks) for status in (PASS, FAIL, NOT_CHECKED)}
    return {
        "kind": "preflight",
        "interconnect": conf.name,
        "regions": {side: conf.site(side).region for side in SIDES},
        "dag_id": dag_id,
        "run_id": run_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "failed" if failed else "success",
        "failed_checks": failed,
        "counts": counts,
        "checks": [c.model_dump(mode="json") for c in checks],
    }


def checks_table(checks: Sequence[PreflightCheck]) -> list[str]:
    """The checks as Markdown table lines (also what the task log shows)."""
    return markdown_table(["check", "result", "detail"], ([c.name, c.status, c.detail] for c in checks))


def render_preflight_markdown(report: dict[str, Any]) -> str:
    checks = [PreflightCheck.model_validate(c) for c in report["checks"]]
    counts = report["counts"]
    lines = [
        f"# preflight report: interconnect `{report['interconnect']}`",
        "",
        f"- status: **{report['status']}** ({counts[PASS]} pass, {counts[FAIL]} fail, "
        f"{counts[NOT_CHECKED]} not checked)",
        f"- regions: {json.dumps(report['regions'])}",
        f"- DAG run: `{report['dag_id']}` / `{report['run_id']}`",
        f"- generated: {report['generated_at']}",
        "- calls: describe operations only (nothing created, modified or deleted)",
        "",
        "## Checks",
        "",
        *checks_table(checks),
        "",
    ]
    return "\n".join(lines)
