"""Fixtures shared by every suite: a live emulator on a free port and a real-SDK client for it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Airflow reads its configuration when first imported: point it at a throw-away home before any test does.
REPO = Path(__file__).resolve().parents[1]
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="jdcloud-vpn-airflow-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"

import httpx  # noqa: E402
import pytest  # noqa: E402

from include.jdcloud_emulator.server import RunningEmulator, start_in_thread  # noqa: E402
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings  # noqa: E402
from tests import faultmatrix, summary  # noqa: E402
from tests.sdk_client import SdkClient  # noqa: E402

# Every simulated latency x 0.002: a 40 s VM boot takes 80 ms, a 20 s tunnel negotiation 40 ms.
TEST_TIME_SCALE = 0.002


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    running = start_in_thread(EmulatorSettings(time_scale=TEST_TIME_SCALE))
    yield running
    running.stop()


@contextmanager
def reset_control(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    """A client of the emulator's control plane; faults cleared and state reset before, faults cleared after."""
    with httpx.Client(base_url=f"{emulator.url}/emulator-api", timeout=10) as client:
        client.delete("/faults").raise_for_status()
        client.post("/reset").raise_for_status()
        yield client
        client.delete("/faults").raise_for_status()


@pytest.fixture
def control(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    """The emulator's control plane, reset before and after each test."""
    with reset_control(emulator) as client:
        yield client


@pytest.fixture
def api(emulator: RunningEmulator, control: httpx.Client) -> SdkClient:
    """A real-SDK client signed with the demo key pair."""
    return SdkClient(emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The fault matrix's table and ``N passed, N failed`` line, then the other evidence sections, if they ran."""
    faultmatrix.write_summary(terminalreporter, config)
    summary.write(terminalreporter, config)


# ---------------------------------------------------------------------- parallel runs (pytest-xdist)

# The longest suites start first, so that `make test`'s workers do not all wait for one that started last.
SLOWEST_FIRST = (
    "tests/dags/test_fault_matrix.py",
    "tests/realexec/",
    "tests/dags/test_resilience.py",
    "tests/dags/test_teardown_e2e.py",
    "tests/dags/test_dr_drill_e2e.py",
)


def _scope(nodeid: str) -> str:
    """One worker per module (its module fixtures run once); one for the real-executor package (one harness) and one
    for the real data plane (its emulators' charons must not compete with each other on a loaded machine)."""
    path = nodeid.split("::", 1)[0]
    for package in ("tests/realexec/", "tests/realdataplane/"):  # one stack, resp. one set of real-mode emulators
        if path.startswith(package):
            return package
    return path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Hand each scope of :func:`_scope` to one worker.

    (``--dist loadgroup`` with ``xdist_group`` marks does not group under pytest 9: xdist 3.8 appends the group to
    ``item._nodeid``, which pytest 9 no longer reads, so a module's tests ran on several workers at once.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrPackageScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return ModuleOrPackageScheduling(config, log)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next((rank for rank, prefix in enumerate(SLOWEST_FIRST) if path.startswith(prefix)), len(SLOWEST_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the order within a module is kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker: send this worker's evidence (fault matrix, summary sections) to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["evidence"] = {
            "faultmatrix": faultmatrix.export(session.config),
            "summary": summary.export(session.config),
        }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the pytest-xdist controller: merge a finished worker's evidence, printed by pytest_terminal_summary."""
    evidence = getattr(node, "workeroutput", {}).get("evidence")
    if evidence:
        faultmatrix.merge(node.config, evidence["faultmatrix"])
        summary.merge(node.config, evidence["summary"])
