"""Extra link of the report tasks: the run's Markdown report, where it was written.

Reports go through Airflow's object storage (``include/jdcloud_vpn/report.py``), so the link is the report's
URL: ``file://`` on the worker's disk (browsers refuse to open ``file://`` from an ``http(s)`` page: copy it),
or the object store's (``s3://bucket/...``). When ``[jdcloud_vpn] report_url_base`` is set to an ``http(s)``
URL that serves ``[jdcloud_vpn] report_base`` (a bucket's web endpoint, a CDN), a report under that base links
to the same path below the web URL instead, a page the browser opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_jdcloud.links.console import BaseJdcloudLink
from include.jdcloud_vpn.report import REPORT_BASE_OPTION, report_location
from include.jdcloud_vpn.settings import option

REPORT_URL_BASE_OPTION = "report_url_base"


def report_url(location: str) -> str:
    """The browsable URL of a report at ``location`` (the URL the report task returned)."""
    web = option(REPORT_URL_BASE_OPTION, "").rstrip("/")
    base = option(REPORT_BASE_OPTION, "")
    if web and base:
        prefix = str(report_location(base)).rstrip("/") + "/"
        if location.startswith(prefix):
            return f"{web}/{location.removeprefix(prefix)}"
    return location


class RunReportLink(BaseJdcloudLink):
    """The Markdown report of the run, from a report task's ``ReportFiles`` result."""

    name: ClassVar[str] = "Run report"

    def url_for(self, operator: Any, result: Any) -> str:
        if not isinstance(result, Mapping) or not {"status", "json_path", "markdown_path"} <= result.keys():
            return ""  # not a report task
        return report_url(str(result["markdown_path"]))
