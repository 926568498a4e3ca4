"""assistant service: commands and invocations; ``ping`` runs on the emulator's data plane."""

from __future__ import annotations

import base64
import shlex

from include.jdcloud_emulator.dataplane import PingRequest
from include.jdcloud_emulator.models.core import RegionalBackend, apply_filters, iso
from include.jdcloud_emulator.models.state import Command, Instance, Invocation, InvocationResult


class AssistantBackend(RegionalBackend):
    """Cloud assistant commands; each invocation's outcome is fixed when it is invoked and revealed over time."""

    def create_command(
        self,
        region: str,
        *,
        name: str,
        content: str,
        command_type: str,
        description: str,
        timeout: int,
        username: str,
        workdir: str,
    ) -> Command:
        return self._new(
            self.state.commands,
            Command,
            region,
            command_name=name,
            command_content=content,
            command_type=command_type,
            command_description=description,
            timeout=timeout,
            username=username,
            workdir=workdir,
        )

    def get_command(self, region: str, command_id: str) -> Command:
        return self.get_in_region(self.state.commands, "command", region, command_id)

    def describe_commands(self, region: str, filters: dict[str, list[str]]) -> list[Command]:
        getters = {"commandIds": "command_id", "commandNames": "command_name"}
        return apply_filters(self.in_region(self.state.commands, region), filters, getters)

    def delete_commands(self, region: str, command_ids: list[str]) -> None:
        for command_id in command_ids:
            self.get_command(region, command_id)
        for command_id in command_ids:
            del self.state.commands[command_id]

    def invoke_command(
        self,
        region: str,
        *,
        command_id: str,
        instance_ids: list[str],
        timeout: int | None,
        username: str | None,
        workdir: str | None,
    ) -> Invocation:
        """Run a command on instances; timeout, username and workdir default to the command's."""
        command = self.get_command(region, command_id)
        instances = [self.cloud.vm.get_instance(region, i) for i in instance_ids]
        start_at = self.cloud.now() + self.cloud.latency("invocation_start")
        script = base64.b64decode(command.command_content).decode()  # checked when the command was created
        return self._new(
            self.state.invocations,
            Invocation,
            region,
            command_id=command.command_id,
            command_name=command.command_name,
            command_type=command.command_type,
            command_content=command.command_content,
            instances=instance_ids,
            timeout=command.timeout if timeout is None else timeout,
            username=username or command.username,
            workdir=workdir or command.workdir,
            created_at=self.cloud.now(),
            results=[self._run(i, script, start_at) for i in instances],
        )

    def _run(self, instance: Instance, script: str, start_at: float) -> InvocationResult:
        online = self.cloud.vm.status(instance, start_at) == "running"
        result = InvocationResult(
            instance_id=instance.instance_id,
            instance_name=instance.instance_name,
            agent_online=online,
            exit_code=1,
            output="",
            start_at=start_at,
            end_at=start_at,
        )
        if online:
            self.execute(result, instance, script)
        return result

    def execute(self, result: InvocationResult, instance: Instance, script: str) -> None:
        """Run the few commands the emulated guest knows: ``ping`` (on the data plane), ``hostname`` and ``echo``."""
        try:
            argv = shlex.split(script.strip())
        except ValueError:
            result.exit_code, result.output = 2, "sh: syntax error\n"
            return
        if not argv:
            result.exit_code = 0
        elif argv[0] == "ping":
            self._ping(result, instance, argv[1:])
        elif argv[0] == "hostname":
            result.exit_code, result.output = 0, instance.hostname + "\n"
        elif argv[0] == "echo":
            result.exit_code, result.output = 0, " ".join(argv[1:]) + "\n"
        else:
            result.exit_code, result.output = 127, f"sh: {argv[0]}: command not found\n"

    def _ping(self, result: InvocationResult, instance: Instance, args: list[str]) -> None:
        request = parse_ping(args)
        if request is None:
            result.exit_code, result.output = 2, "ping: usage error: Destination address required\n"
            return
        self.cloud.dataplane.ping(result, instance, request, self.cloud.latency("ping_interval"))

    def invocation_json(self, invocation: Invocation) -> dict:
        now = self.cloud.now()
        data = invocation.to_json()
        data["instances"] = invocation.instances
        data["timeout"] = str(invocation.timeout)
        data["sourceType"] = "self"
        data["createTime"] = iso(invocation.created_at)
        data["execTime"] = iso(invocation.created_at)
        data["invocationInstances"] = [_result_json(r, now) for r in invocation.results]
        data["status"] = self.status(invocation, now)
        return data

    @staticmethod
    def status(invocation: Invocation, now: float) -> str:
        statuses = {_result_status(r, now) for r in invocation.results}
        if statuses <= {"pending"}:
            return "pending"
        if statuses & {"pending", "running"}:
            return "running"
        if statuses == {"finish"}:
            return "finish"
        if "finish" in statuses:
            return "partial_failed"
        return "failed"

    def describe_invocations(self, region: str, filters: dict[str, list[str]], status: str | None) -> list[Invocation]:
        """Invocations matching ``filters`` and, when given, the overall ``status``."""
        now = self.cloud.now()
        getters = {
            "invokeIds": "invoke_id",
            "commandIds": "command_id",
            "commandNames": "command_name",
        }
        selected = apply_filters(self.in_region(self.state.invocations, region), filters, getters)
        return [i for i in selected if status is None or self.status(i, now) == status]


def parse_ping(args: list[str]) -> PingRequest | None:
    """The iputils options the guest honours (``-c``, ``-s``, ``-M do``, ``-W``); None without a destination."""
    fields: dict = {}
    destination = None
    it = iter(args)
    try:
        for arg in it:
            if arg == "-c":
                fields["count"] = int(next(it, "4"))
            elif arg == "-s":
                fields["size"] = int(next(it, "56"))
            elif arg == "-M":
                fields["dont_fragment"] = next(it, "") == "do"
            elif arg == "-W":
                fields["reply_wait_s"] = float(next(it, ""))
            elif arg in ("-i", "-w"):
                next(it, None)
            elif not arg.startswith("-"):
                destination = arg
    except ValueError:
        return None
    request = PingRequest(destination=destination or "", **fields)
    wait_ok = request.reply_wait_s is None or request.reply_wait_s > 0
    if not destination or request.count < 1 or not 0 <= request.size <= 65507 or not wait_ok:
        return None
    return request


def _result_status(result: InvocationResult, now: float) -> str:
    if now < result.start_at:
        return "pending"
    if not result.agent_online:
        return "failed"
    if result.end_at is None or now < result.end_at:
        return "running"
    return "finish" if result.exit_code == 0 else "failed"


def _result_json(result: InvocationResult, now: float) -> dict:
    """One instance's part of an invocation; exit code and output appear only once the run has ended."""
    status = _result_status(result, now)
    data = {"instanceId": result.instance_id, "instanceName": result.instance_name, "invokeTimes": "1"}
    data |= {"status": status, "exitCode": "", "output": "", "errorInfo": ""}
    if status == "pending":
        return data
    if not result.agent_online:
        return data | {"errorInfo": "cloud assistant agent is offline"}
    data["startTime"] = iso(result.start_at)
    if status == "running":
        return data
    return data | {
        "exitCode": str(result.exit_code),
        "output": base64.b64encode(result.output.encode()).decode(),
        "errorInfo": "" if result.exit_code == 0 else f"exit code {result.exit_code}",
        "endTime": iso(result.end_at),
    }
