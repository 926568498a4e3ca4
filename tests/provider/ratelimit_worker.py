"""Worker processes of the rate-limit tests: contend for one budget from separate processes.

The functions run in ``multiprocessing`` children (spawned: importable, light imports); ``main`` runs as
``python -m tests.provider.ratelimit_worker`` and calls the emulator through the hook, as a task process would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from airflow_provider_jdcloud.ratelimit import CallStore, RateLimiter


def reserve_at(url: str, bucket: str, max_calls: int, window_s: float, now: float, tries: int) -> int:
    """Try ``tries`` reservations at the fixed time ``now``, never waiting; return how many were granted."""
    store = CallStore(url)
    return sum(store.reserve(bucket, max_calls, window_s, now)[0] is not None for _ in range(tries))


def call_and_log(url: str, bucket: str, max_calls: int, window_s: float, calls: int, log_path: str) -> None:
    """Make ``calls`` calls through a blocking limiter; each appends its wall time to ``log_path`` in its slot."""
    limiter = RateLimiter(CallStore(url), bucket, max_calls, window_s)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        for _ in range(calls):
            with limiter.call():
                os.write(fd, f"{time.time()!r}\n".encode())
    finally:
        os.close(fd)


def main() -> None:
    """Print ``ready``, wait for a line on stdin, make the calls, print ``{"ok": n, "errors": [status, ...]}``.

    The budget and store come from the hook's own configuration (``[jdcloud]`` in the environment).
    """
    from airflow_provider_jdcloud.exceptions import JDCloudError
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--budget", type=int, required=True)
    args = parser.parse_args()
    # One attempt per call: a 429 is reported, not retried away.
    hook = JDCloudHook.from_credentials(
        args.access_key,
        os.environ["JDCLOUD_TEST_SECRET_KEY"],
        endpoint=args.endpoint,
        scheme="http",
        max_calls_per_minute=args.budget,
        max_attempts=1,
    )
    hook.get_rate_limiter("vpc")  # open the store before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    ok, errors = 0, []
    for _ in range(args.calls):
        try:
            hook.call("DescribeVpcs", {"pageNumber": 1, "pageSize": 10})
            ok += 1
        except JDCloudError as err:
            errors.append(getattr(err, "status", type(err).__name__))
    print(json.dumps({"ok": ok, "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
