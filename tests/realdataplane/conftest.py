"""Fixtures of the real-data-plane suite: an emulator with ``dataplane="real"`` (and a model one to compare with).

Every test here needs root, /dev/net/tun and the Debian packages of ``make dataplane-deps``. Without them the
suite is skipped on a developer's machine and FAILS in CI (``CI=true``), which installs them first.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from include.jdcloud_emulator.netns import unavailable_reason
from include.jdcloud_emulator.realplane import NAMESPACE_PREFIX, RealDataPlane
from include.jdcloud_emulator.server import RunningEmulator, start_in_thread
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings
from tests.conftest import reset_control
from tests.dags.conftest import (  # noqa: F401 - fixtures of the DAG suite, reused by test_dag_e2e.py
    airflow_db,
    dag_test_runs_callbacks_like_the_dag_processor,
    dagbag,
    isolated_dag_params,
    schema_checks_cached,
)
from tests.sdk_client import SdkClient

# Latencies x 0.01 (a VM boots in 0.4 s); tunnels take what IKE really takes (milliseconds), plus the
# data plane's reconciliation pass (0.25 s) and an initiator's retry (1 s) when its peer was not loaded yet.
REAL_TIME_SCALE = 0.01


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.realdataplane)


@pytest.fixture(scope="package", autouse=True)
def real_dataplane_available() -> None:
    """Skip the suite where the real data plane cannot run; in CI that is a failure, not a skip."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the real data plane cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"real data plane unavailable: {reason}")


@pytest.fixture(scope="package")
def real_emulator(real_dataplane_available: None) -> Iterator[RunningEmulator]:
    """An emulator on the real data plane; ``AIRFLOW_CONN_JDCLOUD_DEFAULT`` points at it for the package."""
    running = start_in_thread(EmulatorSettings(time_scale=REAL_TIME_SCALE, dataplane="real"))
    saved = os.environ.get("AIRFLOW_CONN_JDCLOUD_DEFAULT")
    os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"] = running.connection_json()
    dataplane(running).wait_ready()
    yield running
    running.stop()
    if saved is None:
        os.environ.pop("AIRFLOW_CONN_JDCLOUD_DEFAULT", None)
    else:
        os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"] = saved


@pytest.fixture(scope="package")
def model_emulator() -> Iterator[RunningEmulator]:
    """An emulator on the model data plane at the same time scale (the differential test's reference)."""
    running = start_in_thread(EmulatorSettings(time_scale=REAL_TIME_SCALE))
    yield running
    running.stop()


def dataplane(emulator: RunningEmulator) -> RealDataPlane:
    plane = emulator.app.state.cloud.dataplane
    assert isinstance(plane, RealDataPlane)
    return plane


@pytest.fixture
def real_control(real_emulator: RunningEmulator) -> Iterator[httpx.Client]:
    """The real emulator's control plane, reset before and after each test."""
    with reset_control(real_emulator) as client:
        yield client


@pytest.fixture
def real_api(real_emulator: RunningEmulator, real_control: httpx.Client) -> SdkClient:
    return SdkClient(real_emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)


@pytest.fixture
def model_control(model_emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with reset_control(model_emulator) as client:
        yield client


@pytest.fixture
def model_api(model_emulator: RunningEmulator, model_control: httpx.Client) -> SdkClient:
    return SdkClient(model_emulator.endpoint, DEMO_ACCESS_KEY, DEMO_SECRET_KEY)


def our_namespaces(emulator: RunningEmulator) -> set[str]:
    """This emulator's namespaces, as ``ip netns list`` shows them."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    return {n for n in names if n.startswith(dataplane(emulator).prefix)}


def charon_pids(prefix: str = NAMESPACE_PREFIX) -> set[int]:
    """PIDs of charon processes whose private /run is under a data-plane directory with ``prefix``."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(proc, "exe").resolve() != Path("/usr/lib/ipsec/charon"):
                continue
            environ = Path(proc, "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(e.startswith(b"STRONGSWAN_CONF=") and prefix.encode() in e for e in environ):
            pids.add(int(proc.name))
    return pids


@pytest.fixture
def real_hook(real_emulator: RunningEmulator, real_control: httpx.Client):
    """The provider's hook on the real-data-plane emulator (what the DAG's tasks use, via the connection)."""
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

    return JDCloudHook.from_credentials(
        DEMO_ACCESS_KEY, DEMO_SECRET_KEY, endpoint=real_emulator.endpoint, scheme="http", retry_base_wait=0.05
    )
