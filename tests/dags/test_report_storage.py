"""Reports through Airflow's object storage, end to end: a preflight run (``dag.test()``, real SDK, emulator)
writes its report where ``[jdcloud_vpn] report_base`` and the conf's ``report_dir`` say, and its "Run report"
link points there. The local default and fsspec's ``memory://`` (a non-local store that needs no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dags.conftest import seeded_conf
from tests.dags.test_links_e2e import _stored_link

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("quick_dag_test_loop")]

PREFLIGHT = "jdcloud_vpn_preflight"
LINK_KEY = "_link_RunReportLink"


def _run_preflight(dagbag: Any, conf: dict) -> Any:
    from airflow.utils.state import DagRunState

    dag_run = dagbag.dags[PREFLIGHT].test(run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS
    return dag_run


def test_by_default_a_relative_report_dir_is_on_the_workers_disk(
    dagbag: Any, hook: Any, emulator_control: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", raising=False)
    monkeypatch.chdir(tmp_path)  # the worker's working directory
    conf = seeded_conf(hook, tmp_path, name="store", ephemeral_probes=True, report_dir="reports")

    dag_run = _run_preflight(dagbag, conf)

    [report] = (tmp_path / "reports").glob("preflight-store-*.json")
    assert json.loads(report.read_text())["status"] == "success"
    assert _stored_link(dag_run, "write_preflight_report", LINK_KEY) == report.with_suffix(".md").as_uri()


def test_a_url_report_base_writes_to_that_store_and_the_link_follows(
    dagbag: Any, hook: Any, emulator_control: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())  # what a provider's filesystem entry does for s3://
    base = f"memory://vpn-reports/{tmp_path.name}"
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", base)
    conf = seeded_conf(hook, tmp_path, name="store", ephemeral_probes=True, report_dir="team-a")

    dag_run = _run_preflight(dagbag, conf)

    [report] = (ObjectStoragePath(base) / "team-a").glob("preflight-store-*.json")
    assert json.loads(report.read_text())["status"] == "success"
    assert not (tmp_path / "team-a").exists() and not Path("team-a").exists()  # nothing on the local disk
    markdown = report.with_suffix(".md")
    assert markdown.read_text().startswith("# ")
    assert _stored_link(dag_run, "write_preflight_report", LINK_KEY) == str(markdown)
    assert str(markdown).startswith(f"{base}/team-a/preflight-store-")

    # With a web URL serving the base, the link is a page a browser opens.
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_URL_BASE", "https://reports.example.com/vpn/")
    dag_run = _run_preflight(dagbag, conf)
    link = _stored_link(dag_run, "write_preflight_report", LINK_KEY)
    assert link.startswith("https://reports.example.com/vpn/team-a/preflight-store-") and link.endswith(".md")
    assert (ObjectStoragePath(base) / link.removeprefix("https://reports.example.com/vpn/")).exists()
