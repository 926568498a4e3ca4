"""The run report's Markdown: repairs and unrepaired drift are listed apart."""

from __future__ import annotations

from include.jdcloud_vpn.report import build_report, render_markdown
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
