"""assistant service: commands, invocations and their statuses, base64 output, exit codes."""

from __future__ import annotations

import base64
import re

import pytest

from tests.emulator.scenario import Site, build_vpc, expect_error, instance_status, launch_vm

REGION = "cn-north-1"


@pytest.fixture
def vm(api) -> Site:
    site = Site(REGION, "10.50.0.0/16")
    build_vpc(api, site)
    launch_vm(api, site)
    api.wait_for(lambda: instance_status(api, REGION, site.instance_id) == "running")
    return site


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _invoke(api, site: Site, script: str) -> str:
    command_id = api.call("CreateCommand", REGION, commandName="probe", commandContent=_b64(script))["commandId"]
    return api.call("InvokeCommand", REGION, commandId=command_id, instances=[site.instance_id])["invokeId"]


def _invocation(api, invoke_id: str) -> dict:
    return api.call("DescribeInvocations", REGION, invokeIds=[invoke_id])["invocations"][0]


def _finished(api, invoke_id: str) -> dict:
    return api.wait_for(
        lambda: (inv := _invocation(api, invoke_id))["status"] in ("finish", "failed", "partial_failed") and inv
    )


def test_create_and_describe_command(api):
    command_id = api.call(
        "CreateCommand", REGION, commandName="hello", commandContent=_b64("echo hi"), timeout=30, commandDescription="d"
    )["commandId"]
    [command] = api.call("DescribeCommands", REGION, commandIds=[command_id])["commands"]
    assert command["commandId"] == command_id
    assert (command["commandName"], command["commandContent"], command["commandType"]) == (
        "hello",
        _b64("echo hi"),
        "shell",
    )
    assert (command["timeout"], command["username"], command["workdir"]) == (30, "root", "/root")
    assert api.call("DeleteCommands", REGION, commandIds=[command_id]) == {"commandId": [command_id]}
    assert api.call("DescribeCommands", REGION)["commands"] == []


def test_invocation_goes_pending_running_finish(api, vm, latencies):
    peer_ip = api.call("DescribeInstance", REGION, instanceId=vm.instance_id)["instance"]["privateIpAddress"]
    latencies(invocation_start=150, ping_interval=100)  # starts after 0.3 s, then 0.2 s per echo request
    invoke_id = _invoke(api, vm, f"ping -c 2 {peer_ip}")
    first = _invocation(api, invoke_id)
    assert first["status"] == "pending"
    assert first["invocationInstances"][0]["status"] == "pending"
    assert (first["commandName"], first["instances"], first["timeout"]) == ("probe", [vm.instance_id], "60")
    running = api.wait_for(lambda: (inv := _invocation(api, invoke_id))["status"] == "running" and inv)
    assert running["invocationInstances"][0]["status"] == "running"
    assert running["invocationInstances"][0]["exitCode"] == ""
    finished = _finished(api, invoke_id)
    assert finished["status"] == "finish"
    instance = finished["invocationInstances"][0]
    assert (instance["instanceId"], instance["status"], instance["exitCode"]) == (vm.instance_id, "finish", "0")
    assert instance["startTime"] <= instance["endTime"]
    statuses = api.call("DescribeInvocations", REGION, status="finish")["invocations"]
    assert [i["invokeId"] for i in statuses] == [invoke_id]


def test_ping_output_is_base64_iputils_text(api, vm):
    own_ip = api.call("DescribeInstance", REGION, instanceId=vm.instance_id)["instance"]["privateIpAddress"]
    instance = _finished(api, _invoke(api, vm, f"ping -c 3 {own_ip}"))["invocationInstances"][0]
    assert instance["exitCode"] == "0"
    output = base64.b64decode(instance["output"], validate=True).decode()
    lines = output.splitlines()
    assert lines[0] == f"PING {own_ip} ({own_ip}) 56(84) bytes of data."
    for seq, line in enumerate(lines[1:4], start=1):
        assert re.fullmatch(rf"64 bytes from {re.escape(own_ip)}: icmp_seq={seq} ttl=\d+ time=\d+\.\d ms", line), line
    assert lines[4:6] == ["", f"--- {own_ip} ping statistics ---"]
    assert re.fullmatch(r"3 packets transmitted, 3 received, 0% packet loss, time \d+ms", lines[6])
    assert re.fullmatch(r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", lines[7])


@pytest.mark.parametrize(
    ("script", "exit_code", "status", "output"),
    [
        ("echo hello world", "0", "finish", "hello world\n"),
        ("hostname", "0", "finish", "probe\n"),
        ("frobnicate --now", "127", "failed", "sh: frobnicate: command not found\n"),
        ("ping -c 2 10.99.0.9", "1", "failed", "2 packets transmitted, 0 received, 100% packet loss"),
        ("ping -c 2", "2", "failed", "ping: usage error: Destination address required"),
    ],
)
def test_exit_codes_are_strings(api, vm, script, exit_code, status, output):
    invocation = _finished(api, _invoke(api, vm, script))
    instance = invocation["invocationInstances"][0]
    assert (invocation["status"], instance["status"], instance["exitCode"]) == (status, status, exit_code)
    assert output in base64.b64decode(instance["output"]).decode()


def test_agent_offline_while_instance_is_pending(api, latencies):
    site = Site(REGION, "10.50.0.0/16")
    build_vpc(api, site)
    latencies(vm_boot=5000)
    launch_vm(api, site)
    invocation = _finished(api, _invoke(api, site, "echo hi"))
    instance = invocation["invocationInstances"][0]
    assert (invocation["status"], instance["status"], instance["exitCode"]) == ("failed", "failed", "")
    assert instance["errorInfo"] == "cloud assistant agent is offline"


@pytest.mark.parametrize(
    ("params", "code", "status", "message"),
    [
        (
            {"commandName": "x", "commandContent": "not base64!"},
            400,
            "INVALID_ARGUMENT",
            "commandContent must be base64",
        ),
        ({"commandName": "", "commandContent": "ZWNobw=="}, 400, "INVALID_ARGUMENT", "commandName is required"),
        (
            {"commandName": "x" * 129, "commandContent": "ZWNobw=="},
            400,
            "INVALID_ARGUMENT",
            "commandName must be 1-128",
        ),
        (
            {"commandName": "x", "commandContent": "ZWNobw==", "timeout": 5},
            400,
            "OUT_OF_RANGE",
            "timeout must be in [10, 86400]",
        ),
        (
            {"commandName": "x", "commandContent": "ZWNobw==", "commandType": "bat"},
            400,
            "INVALID_ARGUMENT",
            "commandType must be one of",
        ),
    ],
)
def test_bad_commands_are_refused(api, params, code, status, message):
    expect_error(api, "CreateCommand", REGION, code, status, message, **params)


def test_invoke_unknown_command_or_instance_is_404(api, vm):
    command_id = api.call("CreateCommand", REGION, commandName="x", commandContent=_b64("echo"))["commandId"]
    unknown = {"command cmd-nope": ("cmd-nope", vm.instance_id), "instance i-nope": (command_id, "i-nope")}
    for missing, (command, instance) in unknown.items():
        params = {"commandId": command, "instances": [instance]}
        expect_error(api, "InvokeCommand", REGION, 404, "NOT_FOUND", f"{missing} not found", **params)
