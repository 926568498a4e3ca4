"""The run report's Markdown (repairs and unrepaired drift are listed apart) and where reports are written."""

from __future__ import annotations

import json

import pytest

from include.jdcloud_vpn.drill import append_history
from include.jdcloud_vpn.report import build_report, render_markdown, report_location, save_report
from include.jdcloud_vpn.results import Drift

PSK_DRIFT = Drift(
    resource="vpnTunnel vpntnl-1", field="psk", expected="(the stored pre-shared key)", actual="(a different key)"
)
ROUTE_DRIFT = Drift(resource="bgwRoute bgwr-1", field="bgwRouteNexthop", expected="vpnc-1", actual="vpca-1")


def _markdown(drift: list[Drift]) -> str:
    report = build_report(
        kind="interconnect",
        interconnect="demo",
        dag_id="d",
        run_id="r",
        steps=[],
        resources={},
        drift=[d.model_dump(mode="json") for d in drift],
        connectivity={},
        diagnosis={},
    )
    return render_markdown(report)


def _section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_every_repair_is_listed_with_what_it_was_and_is_now():
    markdown = _markdown([PSK_DRIFT.model_copy(update={"repaired": True}), ROUTE_DRIFT])

    repairs = _section(markdown, "Repairs")
    assert "| resource | field | was | now |" in repairs
    assert "| vpnTunnel vpntnl-1 | psk | (a different key) | (the stored pre-shared key) |" in repairs
    assert "bgwr-1" not in repairs
    unrepaired = _section(markdown, "Drift")
    assert "| bgwRoute bgwr-1 | bgwRouteNexthop | vpnc-1 | vpca-1 |" in unrepaired
    assert "vpntnl-1" not in unrepaired


def test_no_drift_no_sections():
    markdown = _markdown([])

    assert "## Repairs" not in markdown and "## Drift" not in markdown


def test_drift_is_not_repaired_unless_said():
    assert PSK_DRIFT.repaired is False
    assert "## Repairs" not in _markdown([PSK_DRIFT])


# --- where reports go (Airflow's object storage) -------------------------------------------------------


@pytest.fixture
def memory_store() -> None:
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())


def test_report_location_default_base_and_urls(tmp_path, monkeypatch, memory_store):
    monkeypatch.delenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", raising=False)
    monkeypatch.chdir(tmp_path)

    assert str(report_location("reports")) == (tmp_path / "reports").as_uri()
    assert str(report_location(str(tmp_path / "abs"))) == (tmp_path / "abs").as_uri()
    assert str(report_location("memory://bucket/x")) == "memory://bucket/x"

    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", "memory://bucket/vpn")
    assert str(report_location("reports")) == "memory://bucket/vpn/reports"
    assert str(report_location(str(tmp_path / "abs"))) == (tmp_path / "abs").as_uri()  # absolute: as it is
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", "shared")
    assert str(report_location("reports")) == (tmp_path / "shared" / "reports").as_uri()


def test_save_report_to_a_store_and_the_drill_history_there(monkeypatch, memory_store, tmp_path):
    from airflow.sdk import ObjectStoragePath

    base = f"memory://reports-unit/{tmp_path.name}"
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", base)

    json_path, md_path = save_report({"status": "success"}, "team", "run-1", markdown="# hi\n")

    assert (str(json_path), str(md_path)) == (f"{base}/team/run-1.json", f"{base}/team/run-1.md")
    assert json.loads(ObjectStoragePath(f"{base}/team/run-1.json").read_text()) == {"status": "success"}
    history = report_location("team") / "drill-history.jsonl"
    assert append_history(history, {"rto_s": 1}) == [{"rto_s": 1}]
    assert append_history(history, {"rto_s": 2}) == [{"rto_s": 1}, {"rto_s": 2}]
    assert history.read_text().splitlines() == ['{"rto_s": 1}', '{"rto_s": 2}']
