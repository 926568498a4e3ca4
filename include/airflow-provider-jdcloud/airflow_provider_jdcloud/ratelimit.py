"""Client-side rate limiting, so a burst of calls stays under JD Cloud's 1000 calls/minute per service."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class SlidingWindowRateLimiter:
    """Allow at most ``max_calls`` calls in any window of ``period`` seconds; block until a slot is free.

    Thread-safe. The clock and sleep functions are injectable so tests run without real waiting.

    :param max_calls: calls allowed per window
    :param period: window length in seconds
    :param clock: monotonic time source
    :param sleep: function that waits the given number of seconds
    """

    def __init__(
        self,
        max_calls: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError(f"Invalid rate limit: {max_calls} calls per {period} s")
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one call slot, sleeping until one is free.

        :return: the total number of seconds slept
        """
        slept = 0.0
        while True:
            wait = self._try_acquire()
            if wait <= 0:
                return slept
            self._sleep(wait)
            slept += wait

    def _try_acquire(self) -> float:
        """Take a slot and return 0, or return how long to wait until the oldest call leaves the window."""
        with self._lock:
            now = self._clock()
            while self._calls and self._calls[0] <= now - self.period:
                self._calls.popleft()
            if len(self._calls) < self.max_calls:
                self._calls.append(now)
                return 0.0
            return self._calls[0] + self.period - now


_shared: dict[Hashable, SlidingWindowRateLimiter] = {}
_shared_lock = threading.Lock()


def shared_rate_limiter(key: Hashable, max_calls: int, period: float = 60.0) -> SlidingWindowRateLimiter:
    """Return the process-wide limiter for ``key``, creating it on first use.

    Hooks in one process (e.g. many triggers in the triggerer) that call the same service with the same
    account share one budget this way.

    :param key: identifies the budget, e.g. ``(access_key, endpoint, service)``
    :param max_calls: calls allowed per window (hooks with different limits get separate limiters)
    :param period: window length in seconds
    """
    with _shared_lock:
        limiter = _shared.get((key, max_calls, period))
        if limiter is None:
            limiter = _shared[(key, max_calls, period)] = SlidingWindowRateLimiter(max_calls, period)
        return limiter
