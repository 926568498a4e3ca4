"""Tests of the shared call store and the limiter over it: fake clocks, threads and processes.

Counts are read from the store's table with the ``sqlite3`` module, not through the code under test.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.ratelimit import (
    TABLE_NAME,
    CallStore,
    RateLimiter,
    budget_bucket,
    rate_limit_url,
    rate_limit_window_s,
)
from tests.provider import ratelimit_worker
from tests.provider.conftest import ScriptedApi

BUCKET = "vpc:test"


class FakeClock:
    """Wall time that only moves when the limiter sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "calls.db"


@pytest.fixture
def store(db: Path) -> CallStore:
    return CallStore(f"sqlite:///{db}")


def stored_times(db: Path, bucket: str = BUCKET) -> list[float]:
    """The call times the table holds for ``bucket``, read with plain sqlite3."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"SELECT at FROM {TABLE_NAME} WHERE bucket = ? ORDER BY at", (bucket,)).fetchall()
    return [at for (at,) in rows]


def limiter(store: CallStore, clock: FakeClock, max_calls: int, window_s: float = 60.0) -> RateLimiter:
    return RateLimiter(store, BUCKET, max_calls, window_s, clock=clock, sleep=clock.sleep)


def make_calls(limiter: RateLimiter, count: int) -> list[float]:
    """``count`` instant calls; the seconds each waited."""
    waits = []
    for _ in range(count):
        with limiter.call() as waited:
            waits.append(waited)
    return waits


def test_calls_within_the_budget_do_not_wait(store: CallStore, db: Path, clock: FakeClock) -> None:
    assert make_calls(limiter(store, clock, 3), 3) == [0.0, 0.0, 0.0]
    assert clock.sleeps == []
    assert stored_times(db) == [clock.now] * 3


def test_a_call_over_the_budget_waits_until_the_oldest_leaves_the_window(
    store: CallStore, db: Path, clock: FakeClock
) -> None:
    start = clock.now
    two = limiter(store, clock, 2)
    make_calls(two, 1)
    clock.now += 10
    make_calls(two, 1)

    assert make_calls(two, 1) == [pytest.approx(50.0)]
    assert clock.now == pytest.approx(start + 60)
    assert stored_times(db) == [pytest.approx(start + 10), pytest.approx(start + 60)]


def test_a_call_counts_from_its_answer(store: CallStore, db: Path, clock: FakeClock) -> None:
    """The cloud counts a call when it arrives, somewhere before the answer: the window starts at the answer."""
    one = limiter(store, clock, 1)
    start = clock.now
    with one.call():
        clock.now += 4  # the request and its answer take 4 s

    assert stored_times(db) == [start + 4]
    assert make_calls(one, 1) == [pytest.approx(60.0)]
    assert clock.now == pytest.approx(start + 64)


def test_the_window_slides(store: CallStore, clock: FakeClock) -> None:
    two = limiter(store, clock, 2)
    make_calls(two, 2)
    clock.now += 61

    assert make_calls(two, 3) == [0.0, 0.0, pytest.approx(60.0)]


def test_a_reservation_never_answered_leaves_the_window(store: CallStore, db: Path, clock: FakeClock) -> None:
    """A process killed mid-call leaves its reservation, which expires like any call."""
    call_id, _ = store.reserve(BUCKET, 1, 60.0, clock.now)
    assert call_id is not None

    assert make_calls(limiter(store, clock, 1), 1) == [pytest.approx(60.0)]
    assert len(stored_times(db)) == 1


def test_buckets_have_separate_budgets(store: CallStore, db: Path, clock: FakeClock) -> None:
    make_calls(limiter(store, clock, 1), 1)
    other = RateLimiter(store, "bgw:test", 1, clock=clock, sleep=clock.sleep)

    assert make_calls(other, 1) == [0.0]
    assert len(stored_times(db)) == len(stored_times(db, "bgw:test")) == 1


def test_the_default_budget_admits_900_calls_per_minute(store: CallStore, clock: FakeClock) -> None:
    waits = make_calls(limiter(store, clock, 900), 901)

    assert sum(waits) == pytest.approx(60.0)
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(("max_calls", "window_s"), [(0, 60.0), (10, 0.0)])
def test_invalid_limits_are_rejected(store: CallStore, max_calls: int, window_s: float) -> None:
    with pytest.raises(ValueError, match="Invalid rate limit"):
        RateLimiter(store, BUCKET, max_calls, window_s)


def test_only_sqlite_and_postgresql_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match=r"must be an sqlite or postgresql URL, got mysql://u:\*\*\*@db/x"):
        CallStore("mysql://u:secret@db/x")


# ----------------------------------------------------------------- concurrency: threads and processes


def test_threads_get_exactly_the_budget_per_window(store: CallStore, db: Path) -> None:
    """Eight threads try 5 reservations each at one instant, then one window later: 10 granted each time."""
    granted: list[int] = []

    def contend(now: float) -> None:
        granted.append(sum(store.reserve(BUCKET, 10, 60.0, now)[0] is not None for _ in range(5)))

    for now in (1000.0, 1060.0):
        granted.clear()
        threads = [threading.Thread(target=contend, args=(now,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(granted) == 10
        assert stored_times(db) == [now] * 10


def test_processes_get_exactly_the_budget_per_window(db: Path) -> None:
    """Four processes share one SQLite file: 10 of their 32 reservations per window are granted."""
    url = f"sqlite:///{db}"
    CallStore(url)  # the table exists before the children race
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        for now in (1000.0, 1060.0):
            granted = pool.starmap(ratelimit_worker.reserve_at, [(url, BUCKET, 10, 60.0, now, 8)] * 4)
            assert sum(granted) == 10
            assert stored_times(db) == [now] * 10


def test_processes_that_wait_never_exceed_the_budget_in_any_window(db: Path, tmp_path: Path) -> None:
    """Four processes make 3 calls each against 4 per 1 s: every 5 consecutive calls span at least 1 s.

    Each call writes its wall time to a log of the test from inside its slot, where the cloud would see it.
    """
    log = tmp_path / "calls.log"
    url = f"sqlite:///{db}"
    CallStore(url)
    processes = [
        multiprocessing.get_context("spawn").Process(
            target=ratelimit_worker.call_and_log, args=(url, BUCKET, 4, 1.0, 3, str(log))
        )
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    times = sorted(float(line) for line in log.read_text().split())
    assert len(times) == 12
    spans = [later - earlier for earlier, later in zip(times, times[4:], strict=False)]
    assert min(spans) >= 1.0
    assert times[-1] - times[0] >= 2.0, "12 calls at 4 per second need three windows"


# ----------------------------------------------------------------- the hook's limiter


def test_the_hook_counts_its_calls_in_the_configured_store(
    hook: JDCloudHook, api_server: ScriptedApi, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__JDCLOUD__RATE_LIMIT_URL", f"sqlite:///{db}")
    bucket = budget_bucket("AK-TEST", api_server.endpoint, "vpc")

    hook.call("DescribeVpcs")
    hook.call("DescribeSubnets")
    hook.call("DescribeBgws")

    assert len(stored_times(db, bucket)) == 2
    assert len(stored_times(db, budget_bucket("AK-TEST", api_server.endpoint, "bgw"))) == 1
    assert b"AK-TEST" not in db.read_bytes(), "the access key stays out of the store"


def test_the_default_store_is_a_file_in_airflow_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIRFLOW__JDCLOUD__RATE_LIMIT_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))

    assert rate_limit_url() == f"sqlite:///{tmp_path}/jdcloud_api_calls.db"


def test_the_window_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__JDCLOUD__RATE_LIMIT_WINDOW_S", raising=False)
    assert rate_limit_window_s() == 60.0
    monkeypatch.setenv("AIRFLOW__JDCLOUD__RATE_LIMIT_WINDOW_S", "2.5")
    assert rate_limit_window_s() == 2.5
    monkeypatch.setenv("AIRFLOW__JDCLOUD__RATE_LIMIT_WINDOW_S", "0")
    with pytest.raises(ValueError, match=r"\[jdcloud\] rate_limit_window_s must be a positive number"):
        rate_limit_window_s()
