"""The call store on PostgreSQL (the multi-host deployment): a private server on loopback for this module.

Counts are read with psycopg2 directly, not through the code under test.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from airflow_provider_jdcloud.ratelimit import TABLE_NAME, CallStore, RateLimiter
from tests.provider import ratelimit_worker

BUCKET = "vpc:test"


@pytest.fixture(scope="module")
def postgres_dsn() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port; its libpq DSN."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("the PostgreSQL server (initdb, pg_ctl) is not installed")
    # The server refuses to run as root: run it as the postgres user, in a directory it owns.
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="jdcloud-ratelimit-pg-"))
    if as_postgres:
        shutil.chown(base, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = base / "data"
    subprocess.run(
        [*as_postgres, initdb, "-D", str(data), "-U", "postgres", "--auth=trust"], check=True, capture_output=True
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    start = [*as_postgres, pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def url(postgres_dsn: str) -> str:
    """A SQLAlchemy URL of the server, with an empty call table."""
    with psycopg2.connect(postgres_dsn) as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE_NAME}")
    port = dict(item.split("=") for item in postgres_dsn.split())["port"]
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"


def stored_times(dsn: str) -> list[float]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT at FROM {TABLE_NAME} WHERE bucket = %s ORDER BY at", (BUCKET,))
        return [at for (at,) in cursor.fetchall()]


def test_a_call_over_the_budget_waits_for_the_window(url: str, postgres_dsn: str) -> None:
    now = [1000.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(CallStore(url), BUCKET, 2, 60.0, clock=lambda: now[0], sleep=sleep)
    for step in (0.0, 10.0, 0.0):
        now[0] += step
        with limiter.call():
            pass

    assert sleeps == [pytest.approx(50.0)]
    assert stored_times(postgres_dsn) == [pytest.approx(1010.0), pytest.approx(1060.0)]


def test_processes_get_exactly_the_budget_per_window(url: str, postgres_dsn: str) -> None:
    """Four processes try 8 reservations each at one instant, then one window later: 10 granted each time."""
    CallStore(url)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        for now in (1000.0, 1060.0):
            granted = pool.starmap(ratelimit_worker.reserve_at, [(url, BUCKET, 10, 60.0, now, 8)] * 4)
            assert sum(granted) == 10
            assert stored_times(postgres_dsn) == [now] * 10


def test_processes_create_the_table_together(url: str) -> None:
    """The first use by several processes at once creates the table once, without an error."""
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        granted = pool.starmap(ratelimit_worker.reserve_at, [(url, BUCKET, 10, 60.0, 1000.0, 1)] * 4)

    assert granted == [1, 1, 1, 1]
