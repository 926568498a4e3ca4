"""``python -m include.jdcloud_emulator`` as a real process (``EmulatorProcess``): flags, health, one SDK call,
``--faults FILE``, failing fast, restarting, the Airflow connection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from include.jdcloud_emulator.process import EmulatorProcess, EmulatorStartError, connection_json
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.emulator.scenario import expect_error
from tests.sdk_client import SdkClient

REPO = Path(__file__).resolve().parents[2]
REGION = "cn-north-1"


def test_cli_serves_the_api(tmp_path):
    log = tmp_path / "emulator.log"
    with EmulatorProcess(time_scale=0.01, log_path=log) as emulator:
        assert httpx.get(f"{emulator.url}/emulator-api/health").json() == {
            "status": "ok",
            "time_scale": 0.01,
            "dataplane": "model",
        }
        api = SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        bgw_id = api.call("CreateBgw", REGION, bgwName="from-cli")["bgwId"]
        assert api.call("DescribeBgw", REGION, bgwId=bgw_id)["bgw"]["bgwName"] == "from-cli"
    assert emulator.returncode is not None and not emulator.alive()
    assert f"JD Cloud API emulator on http://127.0.0.1:{emulator.port} (time scale 0.01)" in log.read_text()


def test_cli_applies_faults_file_at_start(tmp_path):
    faults = {
        "error_rate": 1.0,
        "error_http_code": 503,
        "error_operations": ["DescribeBgws"],
        "rate_limit_per_minute": 500,
    }
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(faults))
    with EmulatorProcess(time_scale=0.01, args=("--faults", str(path))) as emulator:
        active = httpx.get(f"{emulator.url}/emulator-api/faults").json()
        assert {k: active[k] for k in faults} == faults
        api = SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        expect_error(api, "DescribeBgws", REGION, 503, "UNAVAILABLE", "injected fault: DescribeBgws failed")
        api.call("CreateBgw", REGION, bgwName="unaffected")


def test_cli_custom_keys_and_state_file(tmp_path):
    options = {"access_key": "AK_CLI", "secret_key": "sk-cli", "args": ("--state", str(tmp_path / "cli.sqlite"))}
    with EmulatorProcess(**options) as emulator:
        SdkClient(emulator.endpoint, "AK_CLI", "sk-cli").call("CreateVpc", REGION, vpcName="kept")
        rejected = SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        expect_error(rejected, "DescribeVpcs", REGION, 401, "ACCESS_ERROR", "access key does not exist")
    with EmulatorProcess(**options) as emulator:
        vpcs = SdkClient(emulator.endpoint, "AK_CLI", "sk-cli").call("DescribeVpcs", REGION)["vpcs"]
        assert [v["vpcName"] for v in vpcs] == ["kept"]


def test_process_fails_at_once_with_the_exit_status_and_the_output_tail(tmp_path):
    emulator = EmulatorProcess(time_scale=0.01, args=("--faults", str(tmp_path / "missing.json")))
    started = time.monotonic()
    with pytest.raises(EmulatorStartError) as failure:
        emulator.start(timeout=60)
    assert time.monotonic() - started < 30, "waited for the deadline although the process had exited"
    message = str(failure.value)
    assert f"the emulator (pid {emulator.pid}) exited with status 1" in message
    assert "--- output tail ---" in message and "FileNotFoundError" in message and "missing.json" in message
    assert not emulator.alive() and emulator.stdout_path is None  # the temporary output file is removed


def test_process_gives_up_at_the_deadline_and_stops_the_process(tmp_path):
    emulator = EmulatorProcess(stdout_path=tmp_path / "out", stderr_path=tmp_path / "err")
    with pytest.raises(EmulatorStartError, match=r"did not answer on http://127\.0\.0\.1:\d+/emulator-api/health"):
        emulator.start(timeout=0.01)
    assert not emulator.alive() and emulator.returncode is not None
    assert emulator.output_paths == [tmp_path / "out", tmp_path / "err"]
    assert all(path.exists() for path in emulator.output_paths)


def test_process_separate_outputs_restart_and_connection(tmp_path):
    out, err = tmp_path / "emulator.out", tmp_path / "emulator.err"
    emulator = EmulatorProcess(
        time_scale=0.5, access_key="AK_P", secret_key="sk-p", log_level="info", stdout_path=out, stderr_path=err
    )
    assert emulator.start() == {"status": "ok", "time_scale": 0.5, "dataplane": "model"}
    first_pid = emulator.pid
    try:
        assert emulator.endpoint == f"127.0.0.1:{emulator.port}" and emulator.url == f"http://{emulator.endpoint}"
        assert json.loads(emulator.connection_json(region="cn-east-2")) == {
            "conn_type": "jdcloud",
            "login": "AK_P",
            "password": "sk-p",
            "extra": {"endpoint": emulator.endpoint, "scheme": "http", "region": "cn-east-2"},
        }
        assert emulator.kill() == -signal.SIGKILL
        emulator.start()  # again, on the same port
        assert emulator.pid != first_pid
        assert httpx.get(f"{emulator.url}/emulator-api/health").status_code == 200
    finally:
        assert emulator.stop() in (0, -signal.SIGTERM)  # SIGTERM was enough: uvicorn shut down, no SIGKILL
    # The files of the second run: the banner and uvicorn's access log on stdout, uvicorn's own log on stderr.
    assert "JD Cloud API emulator on" in out.read_text() and "GET /emulator-api/health" in out.read_text()
    assert "Started server process" in err.read_text() and "JD Cloud API emulator on" not in err.read_text()


def test_in_thread_emulator_gives_the_same_connection(emulator):
    assert emulator.connection_json() == connection_json(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    assert json.loads(emulator.connection_json())["extra"] == {
        "endpoint": emulator.endpoint,
        "scheme": "http",
        "region": "cn-north-1",
    }


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
