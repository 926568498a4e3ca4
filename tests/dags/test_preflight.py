"""The preflight DAG against the emulator: every check passes on a seeded cloud with describe calls only, and
each kind of check fails when its precondition is broken (quota, inferred path, credentials, image, sites).

Evidence of "read-only" is the emulator's request log (``GET /emulator-api/requests``) over the run's time
window: no operation but ``Describe*``. The report is read back from the run's ``report_dir``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_jdcloud import api_paths
from include.jdcloud_emulator import urls
from include.jdcloud_emulator.process import connection_json
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY
from include.jdcloud_vpn import naming, preflight
from include.jdcloud_vpn.conf import validate_conf
from tests.dags.conftest import seeded_conf

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("quick_dag_test_loop")]

PREFLIGHT = "jdcloud_vpn_preflight"
NAME = "pre"
INFERRED_READS = [op.name for op in preflight.inferred_reads()]


@dataclass(frozen=True)
class Run:
    """One preflight run: its state, the report's checks by name, the report files and the calls served."""

    state: str
    checks: dict[str, dict[str, str]]
    report: dict[str, Any]
    markdown: str
    served: list[dict[str, Any]]

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if check["status"] == "fail"]

    @property
    def mutating(self) -> list[str]:
        return [r["operation"] for r in self.served if not r["operation"].startswith("Describe")]


def _preflight(dagbag: Any, control: httpx.Client, conf: dict) -> Run:
    """``dag.test(run_conf=conf)`` of the preflight; its report and the emulator's log of the run."""
    complete = validate_conf(conf).model_dump(mode="json")
    started = time.time()
    dag_run = dagbag.dags[PREFLIGHT].test(run_conf=complete)
    ended = time.time()
    log = control.get("/requests", params={"since": started}).json()["requests"]
    [json_path] = Path(complete["report_dir"]).glob(f"preflight-{complete['name']}-*.json")
    report = json.loads(json_path.read_text(encoding="utf-8"))
    return Run(
        state=str(dag_run.state),
        checks={c["name"]: c for c in report["checks"]},
        report=report,
        markdown=json_path.with_suffix(".md").read_text(encoding="utf-8"),
        served=[r for r in log if r["time"] <= ended],
    )


@pytest.fixture
def conf(dagbag: Any, hook: Any, emulator_control: httpx.Client, tmp_path: Path) -> dict:
    """The conf of a seeded emulator; the build would create both probe VMs (so their images are checked)."""
    return seeded_conf(hook, tmp_path, name=NAME, ephemeral_probes=True)


def test_preflight_passes_on_a_seeded_cloud_with_describe_calls_only(dagbag, emulator_control, conf):
    run = _preflight(dagbag, emulator_control, conf)

    assert run.state == "success", run.failed
    assert run.failed == [] and run.report["status"] == "success"
    expected = {"credentials", "sites: VPCs, CIDRs and subnets", *(f"api path {op}" for op in INFERRED_READS)}
    expected |= {f"probe image ({side}, {region})" for side, region in (("home", "cn-north-1"), ("peer", "cn-east-2"))}
    assert expected <= set(run.checks), expected - set(run.checks)
    assert len([name for name in run.checks if name.startswith("quota ")]) == 10
    assert {c["status"] for c in run.checks.values()} == {"pass"}
    assert "path exists: the nonexistent id is not found" in run.checks["api path DescribeBgw"]["detail"]
    assert "0 of 5 used, 5 left, the build needs 1" in run.checks["quota border gateways (home, cn-north-1)"]["detail"]
    assert "| check | result | detail |" in run.markdown and "**success**" in run.markdown
    # Read-only: every call the emulator served was a Describe*, routed to a known operation.
    served = {r["operation"] for r in run.served}
    assert run.served and run.mutating == [], run.mutating
    assert {*INFERRED_READS, "DescribeVpcs", "DescribeImage", "DescribeSubnets"} <= served


@pytest.mark.parametrize(
    ("others", "own", "status", "detail"),
    [
        (5, False, "fail", "5 of 5 used, 0 left, the build needs 1: creates ic-pre-home-bgw"),
        (4, True, "pass", "5 of 5 used, 0 left, the build needs 0: reuses ic-pre-home-bgw"),
    ],
    ids=["five other gateways", "four others and the build's own"],
)
def test_border_gateway_quota_counts_what_the_build_would_reuse(
    dagbag, hook, emulator_control, conf, others, own, status, detail
):
    for index in range(others):
        hook.create_bgw(f"other-bgw-{index}", region="cn-north-1")
    if own:
        hook.create_bgw(naming.bgw_name(validate_conf(conf), "home"), region="cn-north-1")

    run = _preflight(dagbag, emulator_control, conf)

    check = run.checks["quota border gateways (home, cn-north-1)"]
    assert check["status"] == status and check["detail"].startswith(detail), check
    assert run.failed == ([] if own else ["quota border gateways (home, cn-north-1)"])
    assert run.state == ("success" if own else "failed")
    assert run.checks["quota border gateways (peer, cn-east-2)"]["status"] == "pass"
    if own:  # the reused gateway has room for the build's connection, route and attachment
        on_bgw = ["VPN connections per border gateway", "static routes per border gateway"]
        on_bgw += ["VPC attachments per VPC and border gateway"]
        assert {run.checks[f"quota {kind} (home, cn-north-1)"]["status"] for kind in on_bgw} == {"pass"}
    assert run.mutating == []


def test_a_wrong_inferred_path_fails_its_check(dagbag, emulator_control, conf, monkeypatch):
    # The emulator compiled its routes from the table when it started (urls.ROUTES): changing the table now
    # changes only what this process's hook calls, so the emulator does not serve the new paths.
    wrong = {
        "DescribeVpnTunnels": "/regions/{regionId}/ipsecTunnels/",
        "DescribeBgw": "/regions/{regionId}/borderGateways/{bgwId}",
    }
    for name, path in wrong.items():
        monkeypatch.setitem(api_paths.OPERATIONS, name, dataclasses.replace(api_paths.OPERATIONS[name], path=path))
    assert urls.match("GET", "/v1/regions/cn-north-1/ipsecTunnels/") is None

    run = _preflight(dagbag, emulator_control, conf)

    assert run.state == "failed"
    assert sorted(run.failed) == ["api path DescribeBgw", "api path DescribeVpnTunnels"]
    for name, path in wrong.items():
        assert run.checks[f"api path {name}"]["detail"].startswith(f"GET {path}: path wrong: {name}: NOT_FOUND (404)")
    # The two wrong paths reached the emulator unrouted (no operation); every routed call was a Describe*.
    unrouted = [(r["method"], r["path"], r["status"]) for r in run.served if not r["operation"]]
    assert sorted(unrouted) == [
        ("GET", "/v1/regions/cn-north-1/borderGateways/preflight-nonexistent-0", 404),
        ("GET", "/v1/regions/cn-north-1/ipsecTunnels/", 404),
    ]
    assert [op for op in run.mutating if op] == []


def test_bad_credentials_fail_the_credentials_check_and_stay_out_of_the_report(
    dagbag, dag_emulator, emulator_control, conf, monkeypatch
):
    wrong_secret = "not-the-emulator-secret-key"
    monkeypatch.setenv(
        "AIRFLOW_CONN_JDCLOUD_DEFAULT", connection_json(dag_emulator.endpoint, DEMO_ACCESS_KEY, wrong_secret)
    )

    run = _preflight(dagbag, emulator_control, conf)

    assert run.state == "failed"
    credentials = run.checks["credentials"]
    assert credentials["status"] == "fail"
    assert credentials["detail"].startswith("refused: DescribeVpcs: ACCESS_ERROR (401)"), credentials
    # Without credentials nothing can be proven: every path and quota check fails too, none passes.
    assert all(run.checks[f"api path {op}"]["status"] == "fail" for op in INFERRED_READS)
    assert "not proven: credentials refused" in run.checks["api path DescribeBgws"]["detail"]
    assert {r["status"] for r in run.served} == {401}
    assert wrong_secret not in json.dumps(run.report) and wrong_secret not in run.markdown


def test_a_missing_probe_image_fails_its_side(dagbag, emulator_control, conf):
    conf["home"]["probe"]["image_id"] = "img-nosuch"

    run = _preflight(dagbag, emulator_control, conf)

    assert run.failed == ["probe image (home, cn-north-1)"]
    assert run.checks["probe image (home, cn-north-1)"]["detail"] == (
        "img-nosuch does not exist in cn-north-1: set probe.image_id to an image there"
    )
    assert run.checks["probe image (peer, cn-east-2)"]["status"] == "pass"
    assert run.state == "failed" and run.mutating == []


def test_existing_probes_need_no_image_and_a_wrong_cidr_fails_the_site_check(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name=NAME)  # existing probe VMs
    conf["home"]["vpc_cidr"] = "10.11.0.0/16"

    run = _preflight(dagbag, emulator_control, conf)

    assert run.failed == ["sites: VPCs, CIDRs and subnets"]
    assert "home.vpc_cidr: 10.11.0.0/16 is not the CIDR of" in run.checks["sites: VPCs, CIDRs and subnets"]["detail"]
    for side, region in (("home", "cn-north-1"), ("peer", "cn-east-2")):
        image = run.checks[f"probe image ({side}, {region})"]
        assert image["status"] == "not checked" and image["detail"].startswith("the probe is the existing VM i-")
    assert run.report["counts"] == {"pass": len(run.checks) - 3, "fail": 1, "not checked": 2}
    assert run.state == "failed" and run.mutating == []
