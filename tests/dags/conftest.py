"""Fixtures for DAG tests: a migrated Airflow metadata DB, the emulator as ``jdcloud_default``, a seeded network."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from include.jdcloud_emulator.server import RunningEmulator, start_in_thread
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings
from include.jdcloud_vpn.dagtest import parsed_dag_callbacks
from tests.conftest import reset_control
from tests.waits import fast_waits

# The guard (include/jdcloud_vpn/guard.py) polls every 0.5 s and gives up after 15 s; read when the DAGs are parsed.
LOCK_WAIT_TIMEOUT_S = 15.0
os.environ["AIRFLOW__JDCLOUD_VPN__LOCK_POLL_INTERVAL_S"] = "0.5"
os.environ["AIRFLOW__JDCLOUD_VPN__LOCK_WAIT_TIMEOUT_S"] = str(LOCK_WAIT_TIMEOUT_S)

# Latencies x 0.01: a 40 s VM boot takes 0.4 s, a 20 s tunnel negotiation 0.2 s.
DAG_TEST_TIME_SCALE = 0.01
FAST_WAITS = fast_waits(timeout_s=30, poll_interval_s=0.2)


@pytest.fixture(scope="session", autouse=True)
def schema_checks_cached() -> Iterator[None]:
    """Check each Param schema against the JSON-schema metaschema once, not on every ``Param.resolve()``.

    ``jsonschema.validate()`` checks the *schema* before it validates the value, and ``dag.test()`` resolves
    every Param of the DAG a few hundred times a run (each task start, serialization, comparison): ~2800
    schema checks, ~12 s of a 16 s interconnect build. Values are still validated on every call; only the
    unchanging schema check is remembered. (A real worker resolves the Params a few times per task.)
    """
    import jsonschema
    from jsonschema import exceptions, validators

    original = jsonschema.validate
    checked: set[str] = set()

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        cls = cls or validators.validator_for(schema)
        key = f"{cls.__name__}:{json.dumps(schema, sort_keys=True, default=repr)}"
        if key not in checked:
            cls.check_schema(schema)
            checked.add(key)
        error = exceptions.best_match(cls(schema, *args, **kwargs).iter_errors(instance))
        if error is not None:
            raise error

    jsonschema.validate = validate
    yield
    jsonschema.validate = original


@pytest.fixture(scope="session", autouse=True)
def dag_test_parses_the_bundle_once() -> Iterator[None]:
    """Parse and store the DAG bundle once per session, not on every ``dag.test()``.

    Airflow 3.3's ``dag.test()`` parses every DAG file of the bundle and writes each serialized DAG to the DB on
    every call (so that sibling DAGs are there: apache/airflow#64884): ~2 s of a fault-matrix cell's ~9 s run on
    an idle machine. The files do not change during a test session, so the first parse and write stand for all;
    the run itself is unchanged (it runs the DAG object ``dag.test()`` was called on).
    """
    from airflow.dag_processing import dagbag

    bags: dict[str, Any] = {}
    synced: set[int] = set()
    original_bag, original_sync = dagbag.BundleDagBag, dagbag.sync_bag_to_db

    def bundle_dag_bag(*args: Any, **kwargs: Any) -> Any:
        key = str(kwargs.get("bundle_path"))
        if key not in bags:
            bags[key] = original_bag(*args, **kwargs)
        return bags[key]

    def sync_bag_to_db(bag: Any, *args: Any, **kwargs: Any) -> None:
        if id(bag) not in synced:
            original_sync(bag, *args, **kwargs)
            synced.add(id(bag))

    dagbag.BundleDagBag, dagbag.sync_bag_to_db = bundle_dag_bag, sync_bag_to_db
    yield
    dagbag.BundleDagBag, dagbag.sync_bag_to_db = original_bag, original_sync


@pytest.fixture(scope="session", autouse=True)
def dag_test_runs_callbacks_like_the_dag_processor() -> Iterator[None]:
    """``dag.test()`` runs DAG callbacks (the failure alert) with the parsed DAG, as the DAG processor does."""
    with parsed_dag_callbacks():
        yield


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """``airflow db migrate`` once per session, in the temporary AIRFLOW_HOME set by tests/conftest.py."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ)


@pytest.fixture(scope="session")
def dag_emulator(airflow_db: None) -> Iterator[RunningEmulator]:
    running = start_in_thread(EmulatorSettings(time_scale=DAG_TEST_TIME_SCALE))
    os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"] = running.connection_json()
    yield running
    running.stop()


@pytest.fixture
def emulator_control(dag_emulator: RunningEmulator) -> Iterator[httpx.Client]:
    """The DAG emulator's control plane, reset before and after each test."""
    with reset_control(dag_emulator) as client:
        yield client


@pytest.fixture(scope="session")
def dagbag(airflow_db: None):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


@pytest.fixture
def hook(dag_emulator: RunningEmulator, emulator_control: httpx.Client):
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

    return JDCloudHook.from_credentials(
        DEMO_ACCESS_KEY, DEMO_SECRET_KEY, endpoint=dag_emulator.endpoint, scheme="http", retry_base_wait=0.05
    )


def seeded_conf(hook: Any, tmp_path: Any, *, ephemeral_probes: bool = False, name: str = "demo", **overrides) -> dict:
    """Seed two VPCs (and probe VMs unless ephemeral) and return the demo conf for them."""
    from include.jdcloud_vpn.demo import demo_conf, seed_site

    seeded = {side: seed_site(hook, side, name=name, with_probe=not ephemeral_probes) for side in ("home", "peer")}
    overrides = {"name": name, "timeouts": FAST_WAITS, "report_dir": str(tmp_path / "reports"), **overrides}
    overrides.setdefault("psk_secret", {"variable": f"jdcloud_vpn_psk_secret_{name}"})
    return demo_conf(seeded, **overrides)


def create_calls(control: httpx.Client, since: float = 0) -> dict[str, int]:
    """Count the Create* calls the emulator served (status 200) since ``since``."""
    counts: dict[str, int] = {}
    for entry in control.get("/requests", params={"since": since}).json()["requests"]:
        if entry["operation"].startswith("Create") and entry["status"] == 200:
            counts[entry["operation"]] = counts.get(entry["operation"], 0) + 1
    return counts


@contextmanager
def preserved_params(dagbag: Any) -> Iterator[None]:
    """Put every DAG param of ``dagbag`` back to its value of now when the block ends.

    ``dag.test()`` resolves a run's conf into the tasks' own Param objects, so in one process a run's conf
    would become the next run's defaults (a worker parses the DAG afresh for each task).
    """
    holders = [dag.params for dag in dagbag.dags.values()]
    holders += [task.params for dag in dagbag.dags.values() for task in dag.tasks]
    params = [holder.get_param(key) for holder in holders for key in holder]
    saved = [(param, copy.deepcopy(param.value)) for param in params]
    try:
        yield
    finally:
        for param, value in saved:
            param.value = value


@pytest.fixture(autouse=True)
def isolated_dag_params(request: pytest.FixtureRequest) -> Iterator[None]:
    """Put every DAG param back to its default after each test that uses the dagbag."""
    if "dagbag" not in request.fixturenames:
        yield
        return
    with preserved_params(request.getfixturevalue("dagbag")):
        yield


@pytest.fixture(scope="module")
def quick_dag_test_loop() -> Iterator[None]:
    """Shorten ``dag.test()``'s own 1 s waits to 0.05 s for a module; every other ``time.sleep`` is untouched.

    In a failed run, ``dag.test()`` settles the downstream states one level per loop and sleeps 1 s after
    each pass where no task is ready (about 2 s of a 2.7 s run). Only the wait between two reads of the task
    states from the DB gets shorter: what runs, and in which order, is unchanged.
    """
    sleep = time.sleep

    def quick(seconds: float) -> None:
        caller = sys._getframe(1).f_globals.get("__name__")
        sleep(min(seconds, 0.05) if caller == "airflow.sdk.definitions.dag" else seconds)

    patch = pytest.MonkeyPatch()
    patch.setattr(time, "sleep", quick)
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def dag_params_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that runs DAGs leaves their Params as it found them (see :func:`preserved_params`): tests of
    several modules share one worker's DagBag, so one module's run conf must not become the next one's form."""
    if "dagbag" not in request.fixturenames:
        yield
        return
    with preserved_params(request.getfixturevalue("dagbag")):
        yield
