"""Extra link of the report tasks: the run's Markdown report.

The report is a file under the conf's ``report_dir`` on the worker; nothing serves it over HTTP, so the link
is a ``file://`` URL. The UI shows it as a button opening a new tab; browsers refuse to open ``file://`` from
an ``http(s)`` page, so it is a copyable location (right-click, copy link) rather than a page to open.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from airflow_provider_jdcloud.links.console import BaseJdcloudLink


class RunReportLink(BaseJdcloudLink):
    """The Markdown report of the run, from a report task's ``ReportFiles`` result."""

    name: ClassVar[str] = "Run report"

    def url_for(self, operator: Any, result: Any) -> str:
        if not isinstance(result, Mapping) or not {"status", "json_path", "markdown_path"} <= result.keys():
            return ""  # not a report task
        return Path(str(result["markdown_path"])).absolute().as_uri()
