"""Airflow listener plugin: one log line per finished task instance ("step progress").

Airflow calls the task-instance listener hooks in the task process when a task ends (success, failure,
retry, or a task skipping itself), also under ``dag.test()``. Each call logs one INFO record on the
``jdcloud_vpn.step_progress`` logger:

    step vpn_tunnels.wait_tunnels_up success (try 1, 0.4s)

In a deployment the line lands in the task's own log. The record also carries the fields as
``record.step`` (a dict: ``task_id``, ``label``, ``map_index``, ``state``, ``try_number``, ``duration_s``,
``error``), so a script can format its own console output (``scripts/run_demo.py`` does). ``duration_s``
counts from the task's first start, a deferral included; ``error`` is the exception class name only.

Cheap and safe: no API or database call, and an error is reported by its class name only (exception
messages may quote request bodies); the listener never raises into the task.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from include.jdcloud_vpn.runinfo import try_started

LOGGER_NAME = "jdcloud_vpn.step_progress"
log = logging.getLogger(LOGGER_NAME)


def _state_name(state: Any) -> str:
    return str(getattr(state, "value", state) or "unknown")


def _duration_s(task_instance: Any) -> float | None:
    start, end = try_started(task_instance), getattr(task_instance, "end_date", None)
    if start is not None and isinstance(end, datetime):
        return max((end - start).total_seconds(), 0.0)
    return None


def step_fields(task_instance: Any, state: Any, error: BaseException | str | None = None) -> dict[str, Any]:
    """The fields of one progress record; works for the task SDK's and the core's task instance."""
    task_id = str(getattr(task_instance, "task_id", "?"))
    map_index = getattr(task_instance, "map_index", -1)
    map_index = map_index if isinstance(map_index, int) else -1
    label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    if isinstance(error, BaseException):
        error_name: str | None = type(error).__name__
    elif error:
        error_name = "error"  # a message string: never logged, it may hold request data
    else:
        error_name = None
    return {
        "task_id": task_id,
        "map_index": map_index,
        "label": label,
        "state": _state_name(state),
        "try_number": getattr(task_instance, "try_number", None),
        "duration_s": _duration_s(task_instance),
        "error": error_name,
    }


def _emit(task_instance: Any, state: Any, error: BaseException | str | None = None) -> None:
    try:
        fields = step_fields(task_instance, state, error)
        duration = f", {fields['duration_s']:.1f}s" if fields["duration_s"] is not None else ""
        cause = f": {fields['error']}" if fields["error"] else ""
        log.info(
            "step %s %s (try %s%s)%s",
            fields["label"],
            fields["state"],
            fields["try_number"],
            duration,
            cause,
            extra={"step": fields},
        )
    except Exception:  # a progress line must never break a task
        log.debug("step progress listener failed", exc_info=True)


class StepProgressListener:
    """Task-instance listener hooks (``airflow/sdk/_shared/listeners/spec/taskinstance.py``)."""

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        _emit(task_instance, "success")

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        # Called for a retry too: the task instance's state tells up_for_retry from failed.
        _emit(task_instance, getattr(task_instance, "state", None) or "failed", error)

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        _emit(task_instance, "skipped")


class StepProgressPlugin(AirflowPlugin):
    name = "jdcloud_step_progress"
    listeners = [StepProgressListener()]
