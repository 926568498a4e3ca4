"""assistant service: commands and invocations; ``ping`` runs on the emulator's data plane."""

from __future__ import annotations

import base64
import binascii
import shlex
from typing import TYPE_CHECKING

from include.jdcloud_emulator.exceptions import InvalidArgument, not_found
from include.jdcloud_emulator.models.core import apply_filters, check_enum, check_int_range, require
from include.jdcloud_emulator.models.state import Command, Instance, Invocation, InvocationResult

if TYPE_CHECKING:
    from include.jdcloud_emulator.models import Emulator

MAX_CONTENT_BYTES = 36 * 1024
MAX_INSTANCES = 50


class AssistantBackend:
    """Cloud assistant commands; each invocation's outcome is fixed when it is invoked and revealed over time."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def state(self):
        return self.emu.state

    def create_command(self, region: str, params: dict) -> dict:
        name = require(params, "commandName")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise InvalidArgument("commandName must be 1-128 characters")
        content = require(params, "commandContent")
        script = decode_content(content)
        if len(script.encode()) > MAX_CONTENT_BYTES:
            raise InvalidArgument("commandContent must be under 36KB")
        timeout = params.get("timeout")
        command = Command(
            region_id=region,
            command_id=self.emu.new_id("cmd"),
            command_name=name,
            command_content=content,
            command_type=check_enum("commandType", params.get("commandType") or "shell", ("shell", "powershell")),
            command_description=params.get("commandDescription") or "",
            timeout=60 if timeout is None else check_int_range("timeout", timeout, 10, 86400),
            username=params.get("username") or "root",
            workdir=params.get("workdir") or "/root",
            create_time=self.emu.now_iso(),
        )
        self.state.commands[command.command_id] = command
        return {"commandId": command.command_id}

    def get_command(self, region: str, command_id: str) -> Command:
        command = self.state.commands.get(command_id)
        if command is None or command.region_id != region:
            raise not_found("command", command_id)
        return command

    def describe_commands(self, region: str, params: dict) -> list[dict]:
        commands = [c for c in self.state.commands.values() if c.region_id == region]
        filters = {k: params[k] for k in ("commandIds", "commandNames") if params.get(k)}
        getters = {"commandIds": lambda c: c.command_id, "commandNames": lambda c: c.command_name}
        return [c.to_json() for c in apply_filters(commands, filters, getters)]

    def delete_commands(self, region: str, params: dict) -> dict:
        ids = require(params, "commandIds")
        for command_id in ids:
            self.get_command(region, command_id)
        for command_id in ids:
            del self.state.commands[command_id]
        return {"commandId": ids}

    def invoke_command(self, region: str, params: dict) -> dict:
        command = self.get_command(region, require(params, "commandId"))
        instance_ids = require(params, "instances")
        if not isinstance(instance_ids, list) or len(instance_ids) > MAX_INSTANCES:
            raise InvalidArgument(f"instances must be a list of at most {MAX_INSTANCES} instance ids")
        instances = [self.emu.vm.get_instance(region, i) for i in instance_ids]
        timeout = params.get("timeout")
        timeout = command.timeout if timeout is None else check_int_range("timeout", timeout, 10, 86400)
        start_at = self.emu.now() + self.emu.latency("invocation_start")
        script = decode_content(command.command_content)
        invocation = Invocation(
            region_id=region,
            invoke_id=self.emu.new_id("invoke"),
            command_id=command.command_id,
            command_name=command.command_name,
            command_type=command.command_type,
            command_content=command.command_content,
            instances=instance_ids,
            timeout=timeout,
            username=params.get("username") or command.username,
            workdir=params.get("workdir") or command.workdir,
            created_at=self.emu.now(),
            results=[self._run(i, script, start_at) for i in instances],
        )
        self.state.invocations[invocation.invoke_id] = invocation
        return {"invokeId": invocation.invoke_id}

    def _run(self, instance: Instance, script: str, start_at: float) -> InvocationResult:
        online = self.emu.vm.status(instance, start_at) == "running"
        exit_code, output, duration = (1, "", 0.0)
        if online:
            exit_code, output, duration = self.execute(instance, script, start_at)
        return InvocationResult(
            instance_id=instance.instance_id,
            instance_name=instance.instance_name,
            agent_online=online,
            exit_code=exit_code,
            output=output,
            start_at=start_at,
            end_at=start_at + duration,
        )

    def execute(self, instance: Instance, script: str, start_at: float) -> tuple[int, str, float]:
        """Run the few commands the emulated guest knows: ``ping``, ``hostname`` and ``echo``."""
        try:
            argv = shlex.split(script.strip())
        except ValueError:
            return 2, "sh: syntax error\n", 0.0
        if not argv:
            return 0, "", 0.0
        if argv[0] == "ping":
            return self._ping(instance, argv[1:], start_at)
        if argv[0] == "hostname":
            return 0, instance.hostname + "\n", 0.0
        if argv[0] == "echo":
            return 0, " ".join(argv[1:]) + "\n", 0.0
        return 127, f"sh: {argv[0]}: command not found\n", 0.0

    def _ping(self, instance: Instance, args: list[str], start_at: float) -> tuple[int, str, float]:
        count, destination = 4, None
        it = iter(args)
        for arg in it:
            if arg == "-c":
                count = int(next(it, "4"))
            elif arg in ("-W", "-i", "-s", "-w"):
                next(it, None)
            elif not arg.startswith("-"):
                destination = arg
        if destination is None or count < 1:
            return 2, "ping: usage error: Destination address required\n", 0.0
        interval = self.emu.latency("ping_interval")
        result = self.emu.dataplane.ping(instance, destination, count, start_at, interval)
        exit_code = 0 if result.received else 1
        return exit_code, result.iputils_output(1.0), count * interval

    def invocation_json(self, invocation: Invocation) -> dict:
        now = self.emu.now()
        data = invocation.to_json()
        data["instances"] = invocation.instances
        data["timeout"] = str(invocation.timeout)
        data["sourceType"] = "self"
        data["createTime"] = self.emu.iso(invocation.created_at)
        data["execTime"] = self.emu.iso(invocation.created_at)
        data["invocationInstances"] = [self._instance_json(r, now) for r in invocation.results]
        statuses = {i["status"] for i in data["invocationInstances"]}
        data["status"] = _overall_status(statuses)
        return data

    def _instance_json(self, result: InvocationResult, now: float) -> dict:
        data = {"instanceId": result.instance_id, "instanceName": result.instance_name, "invokeTimes": "1"}
        if now < result.start_at:
            return data | {"status": "pending", "exitCode": "", "output": "", "errorInfo": ""}
        if not result.agent_online:
            return data | {
                "status": "failed",
                "exitCode": "",
                "output": "",
                "errorInfo": "cloud assistant agent is offline",
            }
        if now < result.end_at:
            return data | {
                "status": "running",
                "exitCode": "",
                "output": "",
                "errorInfo": "",
                "startTime": self.emu.iso(result.start_at),
            }
        return data | {
            "status": "finish" if result.exit_code == 0 else "failed",
            "exitCode": str(result.exit_code),
            "output": base64.b64encode(result.output.encode()).decode(),
            "errorInfo": "" if result.exit_code == 0 else f"exit code {result.exit_code}",
            "startTime": self.emu.iso(result.start_at),
            "endTime": self.emu.iso(result.end_at),
        }

    def describe_invocations(self, region: str, params: dict) -> list[dict]:
        invocations = [i for i in self.state.invocations.values() if i.region_id == region]
        filters = {k: params[k] for k in ("invokeIds", "commandIds", "commandNames") if params.get(k)}
        getters = {
            "invokeIds": lambda i: i.invoke_id,
            "commandIds": lambda i: i.command_id,
            "commandNames": lambda i: i.command_name,
        }
        rendered = [self.invocation_json(i) for i in apply_filters(invocations, filters, getters)]
        if params.get("status"):
            rendered = [i for i in rendered if i["status"] == params["status"]]
        return rendered


def decode_content(content: object) -> str:
    if not isinstance(content, str):
        raise InvalidArgument("commandContent must be a base64 string")
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("commandContent must be base64-encoded UTF-8") from None


def _overall_status(statuses: set[str]) -> str:
    if statuses <= {"pending"}:
        return "pending"
    if statuses & {"pending", "running"}:
        return "running"
    if statuses == {"finish"}:
        return "finish"
    if "finish" in statuses:
        return "partial_failed"
    return "failed"
