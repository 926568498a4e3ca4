"""``make run DATAPLANE=real``: the README demo on real packets, and nothing left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from include.jdcloud_emulator.realplane import NAMESPACE_PREFIX
from tests.realdataplane.conftest import charon_pids

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_demo_passes_with_both_pings_real(tmp_path: Path) -> None:
    report_dir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "run_demo.py"), "--dataplane", "real", "--report-dir", str(report_dir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    pid = re.search(r"emulator up at \S+ \(pid (\d+), time scale [\d.]+, real data plane\)", result.stdout).group(1)
    assert "Both pings passed." in result.stdout
    report = json.loads(next(report_dir.glob("interconnect-demo-*.json")).read_text())
    for direction in ("home_to_peer", "peer_to_home"):
        stats = report["connectivity"][direction]
        assert stats["ok"] and stats["received"] == 4 and stats["rtt_avg_ms"] < 10, stats  # not the model's 28 ms
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert f"{NAMESPACE_PREFIX}{pid}x" not in listed and not charon_pids(f"{NAMESPACE_PREFIX}{pid}x")
