"""Operators for JD Cloud actions that are more than one API call."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, conf
from airflow.sdk.exceptions import AirflowException

from airflow_provider_jdcloud.exceptions import NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.sensors.jdcloud import DEFERRAL_GRACE_S
from airflow_provider_jdcloud.triggers.jdcloud import JDCloudWaiterTrigger
from airflow_provider_jdcloud.waiters import wait

INVOKE_ID_KEY = "invoke_id"
JUDGED_KEY = "judged_invoke_id"  # the invocation whose result a try has read: a later try runs the command again


class JDCloudRunCommandOperator(BaseOperator):
    """Run a shell script on one VM through the cloud assistant and return its exit code and output.

    The command is adopted by name (or created); a try invokes it, then waits for the invocation to end,
    deferring to the triggerer when ``deferrable``. The invocation id is kept in the task state store, so a
    try that follows a lost one (a dead worker, or Airflow failing a resumed deferral, apache/airflow#72716)
    adopts its invocation instead of running the command again, unless a try already read that result.
    The task fails only when the wait times out: judging the exit code is the caller's business
    (``exit_code``).

    :param region: region of the VM; templated
    :param instance_id: the VM; templated
    :param script: the shell script; templated
    :param command_name: cloud-assistant command name (1-128 characters); templated
    :param command_timeout_s: seconds the script may run on the VM (10-86400)
    :param wait_timeout_s: seconds to wait for the invocation to end; templated
    :param poll_interval_s: longest pause between two checks (they start a second apart and back off); templated
    """

    template_fields: Sequence[str] = (
        "region",
        "instance_id",
        "script",
        "command_name",
        "wait_timeout_s",
        "poll_interval_s",
    )
    ui_color = "#fff4e0"

    def __init__(
        self,
        *,
        region: str = "",
        instance_id: str = "",
        script: str = "",
        command_name: str = "",
        command_timeout_s: int = 60,
        wait_timeout_s: float | str = 120,
        poll_interval_s: float | str = 5,
        jdcloud_conn_id: str = JDCloudHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.region = region
        self.instance_id = instance_id
        self.script = script
        self.command_name = command_name
        self.command_timeout_s = command_timeout_s
        self.wait_timeout_s = wait_timeout_s
        self.poll_interval_s = poll_interval_s
        self.jdcloud_conn_id = jdcloud_conn_id
        self.deferrable = deferrable

    def execute(self, context: Any) -> dict[str, Any]:
        hook = JDCloudHook(self.jdcloud_conn_id)
        invoke_id = self._unread_invocation(hook, context) or self._invoke(hook, context)
        timeout_s, interval_s = float(self.wait_timeout_s), float(self.poll_interval_s)
        targets = [{"region": self.region, "invoke_id": invoke_id}]
        deadline = time.time() + timeout_s
        if self.deferrable:
            self.defer(
                trigger=JDCloudWaiterTrigger(
                    waiter="invocations_finished",
                    targets=targets,
                    deadline=deadline,
                    poll_interval=interval_s,
                    jdcloud_conn_id=self.jdcloud_conn_id,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=timeout_s + DEFERRAL_GRACE_S),
            )
        status, check = wait(hook, "invocations_finished", targets, deadline=deadline, poll_interval=interval_s)
        return self.execute_complete(context, {"status": status, "summary": check.summary, "targets": targets})

    def _unread_invocation(self, hook: JDCloudHook, context: Any) -> str | None:
        """The invocation an earlier try of this task started and no try read the result of."""
        store = context.get("task_state_store")
        invoke_id = store.get(INVOKE_ID_KEY) if store is not None else None
        if not invoke_id or store.get(JUDGED_KEY) == invoke_id:
            return None
        try:
            invocation = hook.describe_invocation(invoke_id, region=self.region)
        except NotFound:
            return None
        self.log.info("Adopting invocation %s (%s) started by an earlier try", invoke_id, invocation.status)
        return invoke_id

    def _invoke(self, hook: JDCloudHook, context: Any) -> str:
        command_id = hook.ensure_command(
            self.command_name, self.script, timeout=self.command_timeout_s, region=self.region
        )
        invoke_id = hook.invoke_command(command_id, [self.instance_id], region=self.region)
        store = context.get("task_state_store")
        if store is not None:  # Airflow 3.3 task state store: kept across this task's retries
            store.set(INVOKE_ID_KEY, invoke_id)
        self.log.info(
            "Invoked command %s (%s) on %s: invocation %s", self.command_name, command_id, self.instance_id, invoke_id
        )
        return invoke_id

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        if not event or event.get("status") != "success":
            summary = (event or {}).get("summary")
            raise AirflowException(f"command {self.command_name} on {self.instance_id} did not finish: {summary}")
        invoke_id = event["targets"][0]["invoke_id"]
        invocation = JDCloudHook(self.jdcloud_conn_id).describe_invocation(invoke_id, region=self.region)
        run = next((i for i in invocation.invocation_instances if i.instance_id == self.instance_id), None)
        if run is None:
            raise AirflowException(f"invocation {invoke_id} has no result for {self.instance_id}")
        store = context.get("task_state_store")
        if store is not None:
            store.set(JUDGED_KEY, invoke_id)
        exit_code = int(run.exit_code) if run.exit_code not in (None, "") else None
        self.log.info("Invocation %s ended %s with exit code %s", invoke_id, run.status, exit_code)
        return {
            "invoke_id": invoke_id,
            "status": run.status,
            "exit_code": exit_code,
            "error_info": run.error_info,
            "output": run.output_text,
        }
