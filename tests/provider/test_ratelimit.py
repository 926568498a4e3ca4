"""Tests of the sliding-window rate limiter, driven by a fake clock."""

from __future__ import annotations

import threading

import pytest

from airflow_provider_jdcloud.ratelimit import SlidingWindowRateLimiter, shared_rate_limiter


class FakeClock:
    """A clock that only moves when the limiter sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_calls_within_the_limit_do_not_wait(clock: FakeClock) -> None:
    limiter = SlidingWindowRateLimiter(3, 60.0, clock=clock, sleep=clock.sleep)

    waits = [limiter.acquire() for _ in range(3)]

    assert waits == [0.0, 0.0, 0.0]
    assert clock.sleeps == []


def test_call_over_the_limit_waits_until_the_oldest_call_leaves_the_window(clock: FakeClock) -> None:
    limiter = SlidingWindowRateLimiter(2, 60.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 10
    limiter.acquire()

    waited = limiter.acquire()

    assert waited == pytest.approx(50.0)
    assert clock.sleeps == [pytest.approx(50.0)]
    assert clock.now == pytest.approx(1060.0)


def test_window_slides(clock: FakeClock) -> None:
    limiter = SlidingWindowRateLimiter(2, 60.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()
    clock.now += 61

    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(60.0)


def test_default_budget_allows_900_calls_per_minute(clock: FakeClock) -> None:
    limiter = SlidingWindowRateLimiter(900, clock=clock, sleep=clock.sleep)

    total_wait = sum(limiter.acquire() for _ in range(901))

    assert total_wait == pytest.approx(60.0)
    assert len(clock.sleeps) == 1


def test_threads_share_the_budget() -> None:
    sleeps: list[float] = []
    limiter = SlidingWindowRateLimiter(5, 60.0, clock=lambda: 0.0, sleep=sleeps.append)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sleeps == [], "five calls fit the budget of five"
    assert len(limiter._calls) == 5


@pytest.mark.parametrize(("max_calls", "period"), [(0, 60.0), (10, 0.0)])
def test_invalid_limits_are_rejected(max_calls: int, period: float) -> None:
    with pytest.raises(ValueError, match="Invalid rate limit"):
        SlidingWindowRateLimiter(max_calls, period)


def test_shared_limiter_is_one_per_key() -> None:
    first = shared_rate_limiter(("AK", None, "bgw"), 900)

    assert shared_rate_limiter(("AK", None, "bgw"), 900) is first
    assert shared_rate_limiter(("AK", None, "vpc"), 900) is not first
    assert shared_rate_limiter(("AK", None, "bgw"), 100) is not first
