"""One API budget for the whole deployment: at most N calls per service and account in any window.

JD Cloud allows 1000 calls/minute per service and account. Every task process and the triggerer call the API,
so the calls are counted in one table every process reaches: an SQLite file on one host, PostgreSQL across
hosts (``[jdcloud] rate_limit_url``). Before a call, one locked transaction forgets the calls older than the
window and records the new one if fewer than N remain; otherwise the caller sleeps until the oldest leaves.
After the answer a second transaction moves the call's time to the answer's time, because the cloud counts a
call when it arrives, somewhere between the two. A process that dies mid-call leaves one row that leaves the
window like any other. Internals and the choice of store: docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

CONFIG_SECTION = "jdcloud"
DEFAULT_WINDOW_S = 60.0
TABLE_NAME = "jdcloud_api_calls"

_log = logging.getLogger(__name__)

_metadata = sa.MetaData()
calls_table = sa.Table(
    TABLE_NAME,
    _metadata,
    # SQLite assigns ids only to an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index(f"ix_{TABLE_NAME}_bucket_at", "bucket", "at"),
)


class CallStore:
    """The table of recent API calls, reached through SQLAlchemy at ``url``: ``sqlite:///`` or ``postgresql``.

    Each reservation is one short transaction that holds a lock: SQLite's ``BEGIN IMMEDIATE`` (the database
    write lock), PostgreSQL's ``pg_advisory_xact_lock`` on the bucket (other buckets proceed).

    :param url: SQLAlchemy URL; an SQLite file must be on a local disk (its locks do not work over NFS)
    """

    def __init__(self, url: str) -> None:
        parsed = sa.engine.make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            shown = parsed.render_as_string(hide_password=True)
            raise ValueError(f"[{CONFIG_SECTION}] rate_limit_url must be an sqlite or postgresql URL, got {shown}")
        self.engine = _engine(url)
        with self._locked("schema") as conn:
            conn.execute(sa.schema.CreateTable(calls_table, if_not_exists=True))
            for index in calls_table.indexes:
                conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))

    def __str__(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def reserve(self, bucket: str, max_calls: int, window_s: float, now: float) -> tuple[int | None, float]:
        """Record a call at ``now`` if fewer than ``max_calls`` of ``bucket`` are in the window ending at ``now``.

        :return: ``(call id, 0.0)``, or ``(None, seconds until the oldest call leaves the window)``
        """
        table = calls_table
        with self._locked(bucket) as conn:
            conn.execute(sa.delete(table).where(table.c.bucket == bucket, table.c.at <= now - window_s))
            count, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(table.c.at)).where(table.c.bucket == bucket)
            ).one()
            if count >= max_calls:
                return None, oldest + window_s - now
            inserted = conn.execute(sa.insert(table).values(bucket=bucket, at=now))
            return inserted.inserted_primary_key[0], 0.0

    def stamp(self, call_id: int, now: float) -> None:
        """Move a call's time to ``now``, when its answer came."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(calls_table).where(calls_table.c.id == call_id).values(at=now))

    @contextmanager
    def _locked(self, key: str) -> Iterator[Connection]:
        """A transaction holding the lock of ``key`` (SQLite: the whole database) until it ends."""
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_id(key)})
            yield conn


class RateLimiter:
    """At most ``max_calls`` calls of one bucket in any ``window_s`` seconds, counted in a :class:`CallStore`.

    The clock is wall time, the same on every host (keep them NTP-synced); clock and sleep are injectable so
    tests run without real waiting.
    """

    def __init__(
        self,
        store: CallStore,
        bucket: str,
        max_calls: int,
        window_s: float = DEFAULT_WINDOW_S,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or window_s <= 0:
            raise ValueError(f"Invalid rate limit: {max_calls} calls per {window_s} s")
        self.store = store
        self.bucket = bucket
        self.max_calls = max_calls
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep

    @contextmanager
    def call(self) -> Iterator[float]:
        """Hold one call slot around one API call, sleeping first until one is free.

        :return: (as the ``with`` target) the seconds slept before the slot was free
        """
        slept = 0.0
        while True:
            call_id, wait = self.store.reserve(self.bucket, self.max_calls, self.window_s, self._clock())
            if call_id is not None:
                break
            self._sleep(wait)
            slept += wait
        try:
            yield slept
        finally:
            try:
                self.store.stamp(call_id, self._clock())
            except SQLAlchemyError as err:
                # The reservation stays, at the call's start: the budget is still counted, if less tightly.
                _log.warning("Rate limit store %s: could not record the end of a call: %s", self.store, err)


_stores: dict[tuple[str, int], CallStore] = {}
_stores_lock = threading.Lock()


def call_store(url: str) -> CallStore:
    """The store at ``url`` of this process (a forked process opens its own connections)."""
    key = (url, os.getpid())
    with _stores_lock:
        if key not in _stores:
            _stores[key] = CallStore(url)
        return _stores[key]


def deployment_limiter(access_key: str, endpoint: str | None, service: str, max_calls: int) -> RateLimiter:
    """The limiter of one account's calls to one service, in the store and window of ``[jdcloud]``."""
    return RateLimiter(
        call_store(rate_limit_url()), budget_bucket(access_key, endpoint, service), max_calls, rate_limit_window_s()
    )


def rate_limit_url() -> str:
    """``[jdcloud] rate_limit_url``, by default an SQLite file in ``AIRFLOW_HOME`` shared by the host's processes."""
    from airflow.sdk import conf

    url = conf.get(CONFIG_SECTION, "rate_limit_url", fallback="")
    if url:
        return url
    home = os.path.expanduser(os.environ.get("AIRFLOW_HOME") or "~/airflow")
    return f"sqlite:///{os.path.join(home, 'jdcloud_api_calls.db')}"


def rate_limit_window_s() -> float:
    """``[jdcloud] rate_limit_window_s``: the window the budget counts in (60 s at JD Cloud)."""
    from airflow.sdk import conf

    raw = conf.get(CONFIG_SECTION, "rate_limit_window_s", fallback=str(DEFAULT_WINDOW_S))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"[{CONFIG_SECTION}] rate_limit_window_s must be a positive number of seconds, got {raw!r}")
    return value


def budget_bucket(access_key: str, endpoint: str | None, service: str) -> str:
    """The bucket of one account's calls to one service: the service and a digest (the key stays out of the DB)."""
    digest = hashlib.sha256(f"{access_key}\0{endpoint or ''}".encode()).hexdigest()[:24]
    return f"{service}:{digest}"


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory lock id for ``key``."""
    return int.from_bytes(hashlib.sha256(f"{TABLE_NAME}:{key}".encode()).digest()[:8], "big", signed=True)


def _engine(url: str) -> Engine:
    """An engine whose SQLite transactions start with ``BEGIN IMMEDIATE``: the write lock before the count."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # A busy database is waited for (30 s) instead of failing at once.
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver's own BEGIN is deferred; ours is emitted below
        cursor = dbapi_conn.cursor()
        # WAL: readers never wait; NORMAL: a commit does not fsync (a power cut may lose the last calls).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
