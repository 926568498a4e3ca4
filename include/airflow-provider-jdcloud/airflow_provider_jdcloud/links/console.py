"""Extra link to the JD Cloud console page of the resource a task created or adopted.

Airflow 3.3 resolves an operator's own links in the worker: when the task ends, the task runner calls
``get_link`` for each of ``operator.operator_extra_links`` and stores the URL as XCom ``_link_<class name>``;
the UI (API server) only reads that XCom back, it never imports this class. So the link must be declared
on the operator class and may read the task's XCom through the task SDK.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from airflow_provider_jdcloud.console_urls import CONSOLE_URLS, console_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

log = logging.getLogger(__name__)

RESOURCE_ATTR = "jdcloud_resource"
"""Operator attribute naming the resource kind (a key of ``CONSOLE_URLS``) its result describes."""


def task_result(ti_key: TaskInstanceKey) -> Any:
    """The task's return value (XCom ``return_value``), or ``None``."""
    return XCom.get_value(ti_key=ti_key, key="return_value")


class BaseJdcloudLink(BaseOperatorLink):
    """A link built from the task's result; ``""`` when the task has none or an error occurs."""

    name: ClassVar[str] = ""

    def url_for(self, operator: BaseOperator, result: Any) -> str:
        """The URL for this operator's result; ``""`` when the link does not apply."""
        raise NotImplementedError

    def applies_to(self, operator: BaseOperator) -> bool:
        """Whether the link can apply to ``operator`` at all (checked before any XCom read)."""
        return True

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        if not self.applies_to(operator):
            return ""
        try:
            return self.url_for(operator, task_result(ti_key))
        except Exception:  # a link must never fail the task's finalisation
            log.warning("Could not build the %s link of %s", self.name, getattr(ti_key, "task_id", "?"), exc_info=True)
            return ""


class JDCloudConsoleLink(BaseJdcloudLink):
    """The console page of the resource named by the operator's ``jdcloud_resource`` (see ``CONSOLE_URLS``)."""

    name: ClassVar[str] = "JD Cloud console"

    def applies_to(self, operator: BaseOperator) -> bool:
        return getattr(operator, RESOURCE_ATTR, None) in CONSOLE_URLS

    def url_for(self, operator: BaseOperator, result: Any) -> str:
        return console_url(getattr(operator, RESOURCE_ATTR), result)
