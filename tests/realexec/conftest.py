"""The real Airflow harness, started once for every test of this package (~25 s)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests import summary
from tests.realexec.harness import RealAirflow

# The scheduler's line for a try failed by Airflow's defer-exit race (apache/airflow#72716): the executor's stale
# "success" for the deferral exit arrives after the trigger fired and the task was requeued. (A SIGKILLed try
# gives the same line with "running".)
DEFER_EXIT_RACE = re.compile(
    r"finished with state success, but the task instance's state attribute is (queued|scheduled)"
)


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[RealAirflow]:
    harness = RealAirflow(
        tmp_path_factory.mktemp("realexec"),
        time_scale=0.02,
        heartbeat_timeout_s=10,
        extra_env={"AIRFLOW__JDCLOUD_VPN__LOCK_POLL_INTERVAL_S": "1"},  # the guard's poke: waits end within 1 s
    )
    started = time.monotonic()
    harness.start()
    print(f"\n[harness] Airflow + emulator up in {time.monotonic() - started:.1f}s at {harness.base_dir}")
    try:
        yield harness
    finally:
        killed = harness.stop()
        left = harness.leftover_processes()
        print(f"[harness] stopped; SIGKILLed after the grace period: {killed or 'none'}; left: {left or 'none'}")
        scheduler_log = (harness.proc_dir / "scheduler.out").read_text(encoding="utf-8", errors="replace")
        summary.add(
            pytestconfig,
            summary.RESILIENCE,
            f"real-executor session: {len(DEFER_EXIT_RACE.findall(scheduler_log))} task tries failed by Airflow's "
            "defer-exit race (apache/airflow#72716), each then retried by Airflow",
        )
        assert not left, f"processes outlived the harness: {left}"
