"""``python -m include.jdcloud_emulator`` as a real process: flags, health, one SDK call, ``--faults FILE``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from include.jdcloud_emulator.server import free_port
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import expect_error
from tests.sdk_client import SdkClient

REPO = Path(__file__).resolve().parents[2]
REGION = "cn-north-1"


@contextmanager
def emulator_process(*args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the CLI on a free port, wait for /emulator-api/health, and terminate it on exit."""
    port = free_port()
    command = [sys.executable, "-m", "include.jdcloud_emulator", "--port", str(port), *args]
    env = os.environ | {"PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{url}/emulator-api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the emulator did not answer /emulator-api/health"
            time.sleep(0.05)  # a process starting up: nothing to poll but the socket
        yield f"127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_cli_serves_the_api():
    with emulator_process("--time-scale", "0.01") as (endpoint, process):
        assert httpx.get(f"http://{endpoint}/emulator-api/health").json() == {"status": "ok", "time_scale": 0.01}
        api = SdkClient(endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        bgw_id = api.call("CreateBgw", REGION, bgwName="from-cli")["bgwId"]
        assert api.call("DescribeBgw", REGION, bgwId=bgw_id)["bgw"]["bgwName"] == "from-cli"
    assert process.returncode is not None
    assert (
        f"JD Cloud API emulator on http://127.0.0.1:{endpoint.split(':')[1]} (time scale 0.01)" in process.stdout.read()
    )


def test_cli_applies_faults_file_at_start(tmp_path):
    faults = {
        "error_rate": 1.0,
        "error_http_code": 503,
        "error_operations": ["DescribeBgws"],
        "rate_limit_per_minute": 500,
    }
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(faults))
    with emulator_process("--time-scale", "0.01", "--faults", str(path)) as (endpoint, _):
        active = httpx.get(f"http://{endpoint}/emulator-api/faults").json()
        assert {k: active[k] for k in faults} == faults
        api = SdkClient(endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        expect_error(api, "DescribeBgws", REGION, 503, "UNAVAILABLE", "injected fault: DescribeBgws failed")
        api.call("CreateBgw", REGION, bgwName="unaffected")


def test_cli_custom_keys_and_state_file(tmp_path):
    state = str(tmp_path / "cli.sqlite")
    args = ("--access-key", "AK_CLI", "--secret-key", "sk-cli", "--state", state)
    with emulator_process(*args) as (endpoint, _):
        SdkClient(endpoint, "AK_CLI", "sk-cli").call("CreateVpc", REGION, vpcName="kept")
        rejected = SdkClient(endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        expect_error(rejected, "DescribeVpcs", REGION, 401, "ACCESS_ERROR", "access key does not exist")
    with emulator_process(*args) as (endpoint, _):
        vpcs = SdkClient(endpoint, "AK_CLI", "sk-cli").call("DescribeVpcs", REGION)["vpcs"]
        assert [v["vpcName"] for v in vpcs] == ["kept"]


def test_cli_rejects_a_bad_time_scale():
    result = subprocess.run(
        [sys.executable, "-m", "include.jdcloud_emulator", "--time-scale", "0"],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--time-scale must be > 0" in result.stderr
