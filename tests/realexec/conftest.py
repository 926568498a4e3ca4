"""The real Airflow harness, started once for every test of this package (~25 s)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.realexec.harness import RealAirflow


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAirflow]:
    harness = RealAirflow(tmp_path_factory.mktemp("realexec"), time_scale=0.02, heartbeat_timeout_s=10)
    started = time.monotonic()
    harness.start()
    print(f"\n[harness] Airflow + emulator up in {time.monotonic() - started:.1f}s at {harness.base_dir}")
    try:
        yield harness
    finally:
        killed = harness.stop()
        left = harness.leftover_processes()
        print(f"[harness] stopped; SIGKILLed after the grace period: {killed or 'none'}; left: {left or 'none'}")
        assert not left, f"processes outlived the harness: {left}"
