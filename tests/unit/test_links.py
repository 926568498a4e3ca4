"""Extra links: the console URL of each resource kind from a task result, the report link, and "" elsewhere."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_jdcloud.console_urls import CONSOLE_BASE, CONSOLE_URLS, console_url
from airflow_provider_jdcloud.links import console
from airflow_provider_jdcloud.links.console import JDCloudConsoleLink
from include.jdcloud_vpn import results
from include.jdcloud_vpn.links import RunReportLink, report_url
from include.jdcloud_vpn.report import report_location
from include.jdcloud_vpn.taskflow import VpnTaskOperator

SITE = {"side": "home", "region": "cn-north-1", "created": True}
SAMPLES = {
    "border_gateway": (
        results.BorderGateway(**SITE, bgw_id="bgw-1a", name="b"),
        "/borderGateway/detail?id=bgw-1a&regionId=cn-north-1",
    ),
    "vpc_attachment": (
        results.VpcAttachment(**SITE, vpc_attachment_id="bgwa-2b", name="a"),
        "/vpcAttachment/detail?id=bgwa-2b&regionId=cn-north-1",
    ),
    "customer_gateway": (
        results.CustomerGateway(**SITE, customer_gateway_id="cgw-3c", name="c"),
        "/customerGateway/detail?id=cgw-3c&regionId=cn-north-1",
    ),
    "vpn_connection": (
        results.VpnConnection(**SITE, vpn_connection_id="vpnc-4d", cloud_ips=["1.1.1.1"], name="v"),
        "/vpnConnection/detail?id=vpnc-4d&regionId=cn-north-1",
    ),
    "vpn_tunnel": (
        results.VpnTunnel(**SITE, vpn_tunnel_id="vpnt-5e", index=0, cloud_ip="1.1.1.1", customer_ip="2.2.2.2"),
        "/vpnConnection/list?regionId=cn-north-1&vpnTunnelId=vpnt-5e",
    ),
    "bgw_route": (
        results.StaticRoute(**SITE, bgw_route_id="bgwr-6f", bgw_id="bgw-1a", destination="10.1.0.0/16"),
        "/borderGateway/detail?id=bgw-1a&regionId=cn-north-1&tab=route&routeId=bgwr-6f",
    ),
    "vm_instance": (
        results.ProbeVm(**SITE, instance_id="i-7g", private_ip="10.0.0.5", ephemeral=True),
        "/compute/detail?id=i-7g&regionId=cn-north-1",
    ),
}


def _link_for(monkeypatch: pytest.MonkeyPatch, link, operator, result) -> str:
    monkeypatch.setattr(console, "task_result", lambda ti_key: result)
    return link.get_link(operator, ti_key=SimpleNamespace(task_id="t"))


def test_every_kind_in_the_table_has_a_sample() -> None:
    assert set(SAMPLES) == set(CONSOLE_URLS)
    assert all(spec.template.startswith(CONSOLE_BASE) for spec in CONSOLE_URLS.values())


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_console_link_of_each_resource_kind(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    result, path = SAMPLES[kind]
    operator = SimpleNamespace(jdcloud_resource=kind)

    url = _link_for(monkeypatch, JDCloudConsoleLink(), operator, result.model_dump(mode="json"))

    assert url == CONSOLE_BASE + path


def test_console_link_is_empty_for_tasks_without_a_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    bgw = SAMPLES["border_gateway"][0].model_dump(mode="json")

    assert _link_for(monkeypatch, JDCloudConsoleLink(), SimpleNamespace(), bgw) == ""
    assert _link_for(monkeypatch, JDCloudConsoleLink(), SimpleNamespace(jdcloud_resource=None), bgw) == ""
    assert _link_for(monkeypatch, JDCloudConsoleLink(), SimpleNamespace(jdcloud_resource="nope"), bgw) == ""


def test_console_link_is_empty_without_a_result_or_its_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    operator = SimpleNamespace(jdcloud_resource="border_gateway")

    assert _link_for(monkeypatch, JDCloudConsoleLink(), operator, None) == ""  # failed task: no return value
    assert _link_for(monkeypatch, JDCloudConsoleLink(), operator, {"region": "cn-north-1"}) == ""
    assert console_url("vpn_tunnel", SAMPLES["border_gateway"][0].model_dump(mode="json")) == ""


def test_link_errors_give_an_empty_link(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ti_key):
        raise RuntimeError("no supervisor")

    monkeypatch.setattr(console, "task_result", boom)

    assert JDCloudConsoleLink().get_link(SimpleNamespace(jdcloud_resource="border_gateway"), ti_key=None) == ""


def test_report_link_is_the_markdown_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    md = tmp_path / "interconnect-x.md"
    files = results.ReportFiles(status="success", json_path=(tmp_path / "x.json").as_uri(), markdown_path=md.as_uri())

    assert _link_for(monkeypatch, RunReportLink(), SimpleNamespace(), files.model_dump(mode="json")) == md.as_uri()
    bgw = SAMPLES["border_gateway"][0].model_dump(mode="json")
    assert _link_for(monkeypatch, RunReportLink(), SimpleNamespace(), bgw) == ""


def test_report_link_under_a_served_base_is_a_web_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_BASE", "s3://aws_default@bucket/vpn")
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__REPORT_URL_BASE", "https://bucket.example.com/vpn")

    written = str(report_location("reports") / "x.md")  # what a report task returns

    assert written == "s3://aws_default@bucket/vpn/reports/x.md"
    assert report_url(written) == "https://bucket.example.com/vpn/reports/x.md"
    assert report_url("s3://other/reports/x.md") == "s3://other/reports/x.md"  # not under the base
    monkeypatch.delenv("AIRFLOW__JDCLOUD_VPN__REPORT_URL_BASE")
    assert report_url(written) == written


def test_every_typed_task_declares_both_links() -> None:
    names = {link.name for link in VpnTaskOperator.operator_extra_links}

    assert names == {"JD Cloud console", "Run report"}
