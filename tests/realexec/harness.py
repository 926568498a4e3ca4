"""What only the real-executor tests need on top of :mod:`include.airflow_stack.stack`.

The stack itself (:class:`RealAirflow`: the emulator and the four Airflow components in a throw-away
``base_dir``, REST helpers) is the product's; this module adds :class:`CallKiller` (SIGKILL the task runner
inside a held emulator call, for the fault matrix's SIGKILL column) and :class:`SecretScan` (count secret
values in artifacts).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from include.airflow_stack.stack import (
    INTERCONNECT_DAG,
    TEARDOWN_DAG,
    RealAirflow,
    StackError,
    strong_secret,
)

__all__ = [
    "INTERCONNECT_DAG",
    "TEARDOWN_DAG",
    "CallKiller",
    "KilledCall",
    "RealAirflow",
    "SecretScan",
    "StackError",
    "resource_counts",
    "strong_secret",
]


def resource_counts(state: dict, *prefixes: str) -> dict[str, int]:
    """The resources in the emulator's state (``/emulator-api/state``) whose names start with one of ``prefixes``,
    counted by listing; attachments, tunnels and static routes through their named gateway or connection."""
    bgw_ids = {b["bgwId"] for b in state["bgws"] if b["bgwName"].startswith(prefixes)}
    connection_ids = {
        c["vpnConnectionId"] for c in state["vpnConnections"] if c["vpnConnectionName"].startswith(prefixes)
    }
    return {
        "bgws": len(bgw_ids),
        "vpcAttachments": sum(1 for a in state["vpcAttachments"] if a["bgwId"] in bgw_ids),
        "customerGateways": sum(1 for c in state["customerGateways"] if c["customerGatewayName"].startswith(prefixes)),
        "vpnConnections": len(connection_ids),
        "vpnTunnels": sum(1 for t in state["vpnTunnels"] if t["vpnConnectionId"] in connection_ids),
        "staticRoutes": sum(
            1 for r in state["bgwRoutes"] if r.get("bgwId") in bgw_ids and r.get("origin", "static") == "static"
        ),
    }


@dataclass(frozen=True)
class KilledCall:
    """What :meth:`CallKiller.kill_caller` did: the task runner inside an API call, SIGKILLed."""

    operation: str
    ti_id: str  # the task instance try's uuid (the runner's process title)
    mode: str  # "task": the task runner only; "worker": its LocalExecutor worker too
    pids: list[int]
    at: float  # time.time() of the SIGKILL
    into_call_s: float  # how long the call had been in flight


class CallKiller:
    """Watch the emulator's in-flight requests; SIGKILL the task runner inside the first held call of each
    of ``operations`` (held by a ``slow_response`` fault: the emulator has applied it and not answered yet).

    :param kill_worker: operations whose whole LocalExecutor worker is killed, not only the task runner
    :param settle_s: how long a call must have been in flight before the kill, so that it has been applied
    """

    def __init__(
        self,
        airflow: RealAirflow,
        operations: Iterable[str],
        *,
        kill_worker: Iterable[str] = (),
        settle_s: float = 0.3,
    ) -> None:
        self.airflow = airflow
        self.pending = set(operations)
        self.kill_worker = set(kill_worker)
        self.settle_s = settle_s
        self.killed: dict[str, KilledCall] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="call-killer", daemon=True)

    def __enter__(self) -> CallKiller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def process_in_call(self, call: Mapping[str, Any]) -> psutil.Process | None:
        """The process whose socket made ``call`` (an entry of the emulator's ``/requests/in-flight``)."""
        host, _, port = call["client"].rpartition(":")
        for conn in psutil.net_connections(kind="tcp"):
            if (
                conn.pid
                and conn.laddr
                and conn.raddr
                and (conn.laddr.ip, conn.laddr.port) == (host, int(port))
                and conn.raddr.port == self.airflow.emulator.port
            ):
                return psutil.Process(conn.pid)
        return None

    def kill_caller(self, call: Mapping[str, Any], *, mode: str = "task") -> KilledCall:
        """SIGKILL the task runner inside ``call`` (an in-flight request): ``mode="task"`` the runner only (its
        supervisor reports the try failed), ``"worker"`` the runner and its LocalExecutor worker (only the
        scheduler's heartbeat timeout can tell). Any other caller is refused.

        The worker supervises the task: its process title is ``airflow worker -- LocalExecutor: <workload>``;
        the task runner it forks is titled ``airflow worker -- <task instance uuid>``.
        """
        if mode not in ("task", "worker"):
            raise ValueError(f"mode must be 'task' or 'worker', not {mode!r}")
        runner = self.process_in_call(call)
        if runner is None:
            raise StackError(f"no process holds the socket {call['client']} of {call['operation']}")
        title = " ".join(runner.cmdline()).strip()
        if not title.startswith("airflow worker -- ") or runner.pid not in {p.pid for p in self.airflow.processes()}:
            raise StackError(f"{call['operation']} was called by pid {runner.pid} ({title[:80]}), not a task runner")
        targets = [runner]
        if mode == "worker":
            supervisor = runner.parent()
            if supervisor is None or "LocalExecutor" not in " ".join(supervisor.cmdline()):
                raise StackError(f"the parent of {runner.pid} is not a LocalExecutor worker: {supervisor}")
            targets.insert(0, supervisor)
        at = time.time()
        for proc in targets:
            proc.send_signal(signal.SIGKILL)
        return KilledCall(
            call["operation"], title.rsplit(" ", 1)[-1], mode, [p.pid for p in targets], at, at - call["time"]
        )

    def _watch(self) -> None:
        while not self._stop.is_set() and self.pending:
            try:
                calls = self.airflow.emulator_api("GET", "/requests/in-flight")["requests"]
            except httpx.HTTPError as error:
                self.errors.append(f"in-flight requests: {error}")
                calls = []
            for call in calls:
                if call["operation"] in self.pending and time.time() - call["time"] >= self.settle_s:
                    self.pending.discard(call["operation"])
                    try:
                        mode = "worker" if call["operation"] in self.kill_worker else "task"
                        self.killed[call["operation"]] = self.kill_caller(call, mode=mode)
                    except (StackError, psutil.Error) as error:  # the test fails on any
                        self.errors.append(f"{call['operation']}: {error}")
            self._stop.wait(0.05)


# ---------------------------------------------------------------------- secret scanning


@dataclass
class ScanRow:
    kind: str
    searched: str
    count: int
    hits: dict[str, list[str]]  # secret name -> where


@dataclass
class SecretScan:
    """Count occurrences of named secret values in files and in-memory artifacts, per artifact kind."""

    secrets: Mapping[str, str]
    rows: list[ScanRow] = field(default_factory=list)

    def _variants(self, value: str) -> set[str]:
        return {value, json.dumps(value)[1:-1]}  # as is, and JSON-escaped

    def _find(self, text: str) -> list[str]:
        return [name for name, value in self.secrets.items() if any(v in text for v in self._variants(value))]

    def scan_texts(self, kind: str, items: Mapping[str, str], searched: str | None = None) -> ScanRow:
        hits: dict[str, list[str]] = {name: [] for name in self.secrets}
        for label, text in items.items():
            for name in self._find(text):
                hits[name].append(label)
        row = ScanRow(kind, searched or f"{len(items)} values", len(items), hits)
        self.rows.append(row)
        return row

    def scan_files(self, kind: str, paths: Iterable[Path], root: Path | None = None) -> ScanRow:
        items = {}
        for path in sorted(paths):
            if path.is_file():
                label = str(path.relative_to(root)) if root else str(path)
                items[label] = path.read_bytes().decode("utf-8", errors="replace")
        return self.scan_texts(kind, items, f"{len(items)} files")

    def total(self, name: str) -> int:
        return sum(len(row.hits[name]) for row in self.rows)

    def where(self, name: str) -> list[str]:
        return [f"{row.kind}: {label}" for row in self.rows for label in row.hits[name]]

    def table(self) -> str:
        """The rows as a text table: artifact kind, what was searched, hits per secret."""
        names = list(self.secrets)
        width = max([len("artifact kind"), *(len(row.kind) for row in self.rows)])
        header = f"{'artifact kind':<{width}} {'searched':<12} " + " ".join(f"{n + ' hits':>9}" for n in names)
        lines = [header, "-" * len(header)]
        for row in self.rows:
            counts = " ".join(f"{len(row.hits[n]):>9}" for n in names)
            lines.append(f"{row.kind:<{width}} {row.searched:<12} {counts}")
        lines.append("-" * len(header))
        lines.append(f"{'total':<{width}} {'':<12} " + " ".join(f"{self.total(n):>9}" for n in names))
        return "\n".join(lines)
