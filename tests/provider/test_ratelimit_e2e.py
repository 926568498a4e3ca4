"""One budget across processes, end to end: task-like processes call the emulator through the hook and the SDK.

The emulator enforces 8 calls per 1.5 s on the vpc service and each connection's budget is the same 8. Four
processes make 6 calls each (24, three windows' worth) at one signal, with one attempt per call. The evidence
is the emulator's request log: with one shared store every call is served and none is refused; with a store
per process (what a per-process limiter amounts to) the same load is refused with 429 ``RATE_LIMIT``. A trigger
counts in the same store as the tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.triggers.jdcloud import JDCloudWaiterTrigger
from include.jdcloud_emulator.server import RunningEmulator
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

REPO = Path(__file__).resolve().parents[2]
WORKERS, CALLS, BUDGET, WINDOW_S = 4, 6, 8, 1.5


@pytest.fixture
def limited(control: httpx.Client) -> httpx.Client:
    """The emulator's control plane, with the vpc service limited to BUDGET calls per WINDOW_S."""
    control.patch("/faults", json={"rate_limit_per_minute": BUDGET, "rate_limit_window_s": WINDOW_S}).raise_for_status()
    return control


def run_workers(emulator: RunningEmulator, store_urls: list[str]) -> list[dict]:
    """Start one worker per store URL, let them all call at once, and return their summaries."""
    env = {
        **os.environ,
        "AIRFLOW__JDCLOUD__RATE_LIMIT_WINDOW_S": str(WINDOW_S),
        "JDCLOUD_TEST_SECRET_KEY": DEMO_SECRET_KEY,
    }
    command = [sys.executable, "-m", "tests.provider.ratelimit_worker", "--endpoint", emulator.endpoint]
    command += ["--access-key", DEMO_ACCESS_KEY, "--calls", str(CALLS), "--budget", str(BUDGET)]
    workers = [
        subprocess.Popen(
            command,
            cwd=REPO,
            env={**env, "AIRFLOW__JDCLOUD__RATE_LIMIT_URL": url},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for url in store_urls
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        return [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()


def vpc_answers(control: httpx.Client) -> list[dict]:
    return control.get("/requests", params={"service": "vpc"}).json()["requests"]


def test_processes_sharing_one_store_stay_within_the_cloud_limit(
    emulator: RunningEmulator, limited: httpx.Client, tmp_path: Path
) -> None:
    shared = f"sqlite:///{tmp_path / 'calls.db'}"

    summaries = run_workers(emulator, [shared] * WORKERS)

    answers = vpc_answers(limited)
    assert [answer["status"] for answer in answers] == [200] * (WORKERS * CALLS)
    assert summaries == [{"ok": CALLS, "errors": []}] * WORKERS
    times = sorted(answer["time"] for answer in answers)
    # 24 calls at 8 per window: the client held back the last 16 for two more windows.
    assert times[-1] - times[0] >= 2 * WINDOW_S


def test_processes_with_a_store_each_are_refused_by_the_cloud(
    emulator: RunningEmulator, limited: httpx.Client, tmp_path: Path
) -> None:
    """The contrast: each process spends the whole budget on its own, as with a per-process limiter."""
    own = [f"sqlite:///{tmp_path / f'calls-{index}.db'}" for index in range(WORKERS)]

    summaries = run_workers(emulator, own)

    statuses = [answer["status"] for answer in vpc_answers(limited)]
    assert len(statuses) == WORKERS * CALLS
    assert statuses.count(429) > 0
    assert sum(len(summary["errors"]) for summary in summaries) == statuses.count(429)


def test_a_trigger_waits_for_the_budget_a_task_spent(
    emulator: RunningEmulator, control: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task's hook spends the connection's 2 calls per 1 s; the trigger's describe waits out the window.

    The wait happens in the triggerer's worker thread: the event loop keeps running meanwhile.
    """
    monkeypatch.setenv("AIRFLOW__JDCLOUD__RATE_LIMIT_URL", f"sqlite:///{tmp_path / 'calls.db'}")
    monkeypatch.setenv("AIRFLOW__JDCLOUD__RATE_LIMIT_WINDOW_S", "1.0")
    extra = {"endpoint": emulator.endpoint, "scheme": "http", "max_calls_per_minute": 2}
    connection = {"conn_type": "jdcloud", "login": DEMO_ACCESS_KEY, "password": DEMO_SECRET_KEY, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_JDCLOUD_BUDGET", json.dumps(connection))
    task_hook = JDCloudHook("jdcloud_budget")
    task_hook.call("DescribeInstances")
    task_hook.call("DescribeInstances")
    trigger = JDCloudWaiterTrigger(
        waiter="instances_running",
        targets=[{"region": "cn-north-1", "instance_id": "i-gone"}],
        deadline=time.time() + 30,
        poll_interval=1.0,
        jdcloud_conn_id="jdcloud_budget",
    )

    async def run_with_ticker() -> tuple[dict, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(tick())
        event = await anext(trigger.run())
        ticker.cancel()
        return event.payload, ticks

    payload, ticks = asyncio.run(run_with_ticker())

    first, _, by_trigger = control.get("/requests", params={"service": "vm"}).json()["requests"]
    assert payload["status"] == "failure" and "i-gone no longer exists" in payload["summary"]
    assert by_trigger["operation"] == "DescribeInstances" and by_trigger["status"] == 200  # an empty list: gone
    assert by_trigger["time"] - first["time"] >= 1.0, "the trigger's call waited for the task's to leave the window"
    assert ticks >= 5, "the event loop ran while the trigger waited for a slot"
