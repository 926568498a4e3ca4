"""Drill alerts: an Airflow notifier that logs by default; set the Variable ``jdcloud_vpn_drill_notifier``
to the dotted path of another ``BaseNotifier`` subclass (e.g. a Slack or SMTP notifier) to send it elsewhere."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from airflow.sdk import BaseNotifier, Variable

NOTIFIER_VARIABLE = "jdcloud_vpn_drill_notifier"
log = logging.getLogger(__name__)


class LogDrillNotifier(BaseNotifier):
    """Write one ERROR line per failed drill: interconnect, where it stopped, the report path."""

    template_fields = ("message",)

    def __init__(
        self, message: str = "DR drill of {{ params.get('interconnect_name', 'interconnect') }} failed"
    ) -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        summary = context.get("drill_summary") or {}
        log.error(
            "ALERT %s: stopped at %s; RTO %s s; report %s",
            self.message,
            summary.get("stopped_at"),
            summary.get("rto_s"),
            summary.get("report"),
        )


def drill_notifiers() -> list[BaseNotifier]:
    """The configured drill notifiers (the log notifier unless the Variable names another class)."""
    path = Variable.get(NOTIFIER_VARIABLE, default=None)
    if not path:
        return [LogDrillNotifier(message="DR drill failed")]
    module, _, name = path.rpartition(".")
    notifier = getattr(importlib.import_module(module), name)()
    if not isinstance(notifier, BaseNotifier):
        raise TypeError(f"{path} (from Variable {NOTIFIER_VARIABLE}) is not an Airflow BaseNotifier")
    return [notifier]
