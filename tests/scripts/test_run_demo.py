"""``scripts/run_demo.py`` (what ``make run`` calls) end to end, and the step-progress listener plugin."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_run_demo_connects_both_ways_and_prints_the_summary(tmp_path: Path) -> None:
    report_dir = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "run_demo.py"), "--report-dir", str(report_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-4000:]

    # One progress line per finished task, from the listener plugin; Airflow's own logging is not on stdout.
    assert re.search(r"^\[\s*\d+\.\ds\] vpn_tunnels\.wait_tunnels_up \.+ success \(try 1, \d+\.\ds\)$", out, re.M)
    assert re.search(r"^\[\s*\d+\.\ds\] connectivity_test\.ping_peer_to_home \.+ success", out, re.M)
    assert "[DAG TEST]" not in out and "[info" not in out
    assert (report_dir / "airflow.log").stat().st_size > 0

    # The summary table: both directions 4/4, 0 % loss, an RTT, ok.
    for direction in ("home_to_peer", "peer_to_home"):
        assert re.search(rf"^{direction}\s+4\s+4\s+0\.00\s+\d+\.\d+\s+ok$", out, re.M), out
    assert re.search(r"^vpn_tunnel_ids\s+vpntnl-\w+, vpntnl-\w+\s+vpntnl-\w+, vpntnl-\w+$", out, re.M)
    assert re.search(r"^Emulator API calls by the DAG run: \d+ in total, \d+ Create\* \(.*CreateVpnTunnel 4", out, re.M)
    assert "Both pings passed." in out

    # The JSON report exists, is the one printed, and agrees.
    reports = list(report_dir.glob("interconnect-demo-*.json"))
    assert len(reports) == 1, reports
    assert f"Report: {reports[0]}" in out
    report = json.loads(reports[0].read_text())
    assert report["status"] == "success"
    assert all(report["connectivity"][d]["ok"] for d in ("home_to_peer", "peer_to_home"))
    # The conf written for the run: the seeded VPCs and probe VMs, and only a reference to the PSK.
    conf = json.loads((report_dir / "interconnect.demo.conf.json").read_text())
    for side, cidr in (("home", "10.10.0.0/16"), ("peer", "10.20.0.0/16")):
        assert conf[side]["vpc_cidr"] == cidr and conf[side]["vpc_id"].startswith("vpc-")
        assert conf[side]["probe"]["instance_id"] == report["resources"][side]["instance_id"]
    assert conf["psk_secret"] == {"variable": "jdcloud_vpn_psk_secret_demo"}

    # The emulator subprocess was stopped.
    pid = int(re.search(r"emulator up at http://\S+ \(pid (\d+)", out).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _load_plugin():
    spec = importlib.util.spec_from_file_location("step_progress_under_test", REPO / "plugins" / "step_progress.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_step_progress_listener_logs_one_line_per_finished_task_without_error_messages() -> None:
    plugin = _load_plugin()
    assert [type(listener).__name__ for listener in plugin.StepProgressPlugin.listeners] == ["StepProgressListener"]
    listener = plugin.StepProgressListener()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ti = SimpleNamespace(task_id="vpn_tunnels.create_vpn_tunnel_home", map_index=1, try_number=2, start_date=start)
    ti.end_date = start + timedelta(seconds=1.25)

    logger, collect = logging.getLogger(plugin.LOGGER_NAME), _Collect()
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    try:
        listener.on_task_instance_success(previous_state="running", task_instance=ti)
        ti.state = "up_for_retry"
        listener.on_task_instance_failed(
            previous_state="running", task_instance=ti, error=ValueError("psk=Secret_Key_123 rejected")
        )
        listener.on_task_instance_skipped(previous_state="running", task_instance=SimpleNamespace(task_id="x"))
    finally:
        logger.removeHandler(collect)

    messages = [record.getMessage() for record in collect.records]
    assert messages == [
        "step vpn_tunnels.create_vpn_tunnel_home[1] success (try 2, 1.2s)",
        "step vpn_tunnels.create_vpn_tunnel_home[1] up_for_retry (try 2, 1.2s): ValueError",
        "step x skipped (try None)",
    ]
    assert collect.records[0].step["duration_s"] == 1.25
    assert not any("Secret_Key_123" in repr(vars(record)) for record in collect.records)
