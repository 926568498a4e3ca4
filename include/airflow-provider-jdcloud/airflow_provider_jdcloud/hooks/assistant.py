"""Hook for the JD Cloud cloud assistant: commands and their invocations on VMs."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Literal

from airflow_provider_jdcloud.exceptions import NotFound
from airflow_provider_jdcloud.hooks.base import JDCloudBaseHook, create_or_adopt
from airflow_provider_jdcloud.models import Invocation


class JDCloudAssistantHook(JDCloudBaseHook):
    """Create cloud-assistant commands, run them on VMs and read the invocations.

    :param jdcloud_conn_id: the Airflow connection id; other arguments as for :class:`JDCloudBaseHook`
    """

    def create_command(
        self,
        command_name: str,
        script: str,
        *,
        command_type: Literal["shell", "powershell"] = "shell",
        timeout: int = 60,
        region: str | None = None,
    ) -> str:
        """Create a cloud-assistant command from a script and return its id.

        :param timeout: seconds the command may run, 10 to 86400
        """
        params = {
            "commandName": command_name,
            "commandContent": _command_content(script),
            "commandType": command_type,
            "timeout": timeout,
        }
        return self.call("CreateCommand", params, region=region)["commandId"]

    def describe_commands(self, *, command_names: Sequence[str] | None = None, region: str | None = None) -> list[dict]:
        """List cloud-assistant commands (``commandId``, ``commandName``, base64 ``commandContent`` ...)."""
        params: dict[str, Any] = {"commandNames": list(command_names)} if command_names else {}
        return self.list_all("DescribeCommands", "commands", params, region=region)

    def ensure_command(self, command_name: str, script: str, *, timeout: int = 60, region: str | None = None) -> str:
        """Return the id of the command named ``command_name`` running ``script``, creating it if needed.

        A command of that name with another script is replaced, so names stay unique. A create answered
        ambiguously (a 5xx, a timeout) is looked up again, not resent.
        """
        content = _command_content(script)

        def find() -> str | None:
            for command in self.describe_commands(command_names=[command_name], region=region):
                if command.get("commandName") != command_name:
                    continue
                if command.get("commandContent") == content:
                    return command["commandId"]
                self.delete_commands([command["commandId"]], region=region)
            return None

        return find() or create_or_adopt(
            f"command {command_name}",
            lambda: self.create_command(command_name, script, timeout=timeout, region=region),
            find,
        )

    def invoke_command(self, command_id: str, instance_ids: Sequence[str], *, region: str | None = None) -> str:
        """Run a command now on up to 50 instances and return the invocation id."""
        params = {"commandId": command_id, "instances": list(instance_ids)}
        return self.call("InvokeCommand", params, region=region)["invokeId"]

    def describe_invocation(self, invoke_id: str, *, region: str | None = None) -> Invocation:
        """Describe one command invocation with its per-instance status, exit code and output."""
        result = self.call("DescribeInvocations", {"invokeIds": [invoke_id]}, region=region)
        invocations = result.get("invocations") or []
        if not invocations:
            raise NotFound("DescribeInvocations", 404, "NOT_FOUND", f"Invocation {invoke_id} not found")
        return Invocation.model_validate(invocations[0])

    def delete_commands(self, command_ids: Sequence[str], *, region: str | None = None) -> None:
        """Delete cloud-assistant commands."""
        self.call("DeleteCommands", {"commandIds": list(command_ids)}, region=region)


def _command_content(script: str) -> str:
    """Encode a script as the API's ``commandContent``: base64 of its UTF-8 bytes."""
    return base64.b64encode(script.encode("utf-8")).decode("ascii")
