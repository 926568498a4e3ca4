"""The real data plane as a process: it refuses to start where it cannot run, cleans up on SIGTERM, and sweeps
what a killed emulator left behind (namespaces and charons) when the next one starts."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from include.jdcloud_emulator import __main__ as cli
from include.jdcloud_emulator import netns
from include.jdcloud_emulator.process import EmulatorProcess
from include.jdcloud_emulator.realplane import NAMESPACE_PREFIX
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import HOME, PEER, Site, build_interconnect, run_ping, wait_until_connected
from tests.realdataplane.conftest import charon_pids
from tests.sdk_client import SdkClient

pytestmark = pytest.mark.timeout(120)


def _namespaces(pid: int) -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.startswith(f"{NAMESPACE_PREFIX}{pid}x")}


def _connected_emulator(tmp_path, name: str, *args: str) -> tuple[EmulatorProcess, int]:
    emulator = EmulatorProcess(time_scale=0.01, dataplane="real", log_path=tmp_path / f"{name}.log", args=args)
    emulator.start()
    api = SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    pid = emulator.pid
    assert len(_namespaces(pid)) == 9 and len(charon_pids(f"{NAMESPACE_PREFIX}{pid}x")) == 2
    return emulator, pid


def test_a_restart_with_state_builds_the_same_network_again(tmp_path):
    """``--state``: after a restart the stored interconnect is rebuilt, renegotiated and pings again."""
    state = tmp_path / "state.sqlite"
    first, _ = _connected_emulator(tmp_path, "first", "--state", str(state))
    first.stop()
    with EmulatorProcess(time_scale=0.01, dataplane="real", args=("--state", str(state))) as second:
        api = SdkClient(second.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        tunnels = {r: api.call("DescribeVpnTunnels", r)["vpnTunnels"] for r in (HOME, PEER)}
        api.wait_for(
            lambda: (
                {t["opStatus"] for r in (HOME, PEER) for t in api.call("DescribeVpnTunnels", r)["vpnTunnels"]} == {"UP"}
            ),
            timeout=20,
            interval=0.2,
        )
        assert sum(len(t) for t in tunnels.values()) == 4 and len(_namespaces(second.pid)) == 9
        [home_vm] = api.call("DescribeInstances", HOME)["instances"]
        [peer_vm] = api.call("DescribeInstances", PEER)["instances"]
        home = Site(HOME, "10.10.0.0/16", instance_id=home_vm["instanceId"])
        assert run_ping(api, home, peer_vm["privateIpAddress"])["exitCode"] == "0"
        # Nothing beyond the namespaces is ever a target: a public address is not even tried.
        refused = run_ping(api, home, "8.8.8.8")
        assert refused["exitCode"] == "2" and "Network is unreachable" in refused["output"], refused


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_removes_every_namespace_and_charon(tmp_path, signum):
    emulator, pid = _connected_emulator(tmp_path, signum.name)
    emulator.popen.send_signal(signum)
    emulator.popen.wait(timeout=30)
    assert _namespaces(pid) == set() and charon_pids(f"{NAMESPACE_PREFIX}{pid}x") == set()
    emulator.stop()


def test_a_killed_emulators_leftovers_are_swept_by_the_next_start(tmp_path):
    killed, pid = _connected_emulator(tmp_path, "killed")
    killed.popen.send_signal(signal.SIGKILL)
    killed.popen.wait()
    assert len(_namespaces(pid)) == 9  # nothing cleaned up after a SIGKILL...
    with EmulatorProcess(time_scale=0.01, dataplane="real", log_path=tmp_path / "next.log"):
        assert _namespaces(pid) == set()  # ...until the next real-mode emulator starts
        assert charon_pids(f"{NAMESPACE_PREFIX}{pid}x") == set()
    killed.stop()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("root", "the real data plane needs root"),
        ("charon", "/usr/lib/ipsec/charon is missing (Debian packages: strongswan-charon"),
    ],
)
def test_it_refuses_to_start_and_says_what_is_missing(monkeypatch, capsys, missing, message):
    if missing == "root":
        monkeypatch.setattr(os, "geteuid", lambda: 1000)
    else:
        monkeypatch.setattr(netns, "CHARON", Path("/usr/lib/ipsec/no-such-charon"))
        message = message.replace("charon is", "no-such-charon is")
    with pytest.raises(SystemExit) as refused:
        cli.parse_args(["--dataplane", "real"])
    assert refused.value.code == 2
    assert f"--dataplane real cannot run here: {message}" in capsys.readouterr().err
