"""Exclusion per interconnect (include/jdcloud_vpn/guard.py) under ``dag.test()``.

Each test makes a *blocking* run: a teardown run in the metadata DB, started a minute ago, still running,
whose conf task has succeeded with a teardown request for some interconnect (its XCom) and whose final task
has not run. Then it runs the interconnect DAG and reads what happened from the emulator's request log.
The same order under a real scheduler is tested in tests/realexec/test_real_executor.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from include.jdcloud_vpn.guard import VPN_DAGS
from tests.dags.conftest import LOCK_WAIT_TIMEOUT_S, preserved_params, seeded_conf

TEARDOWN = VPN_DAGS["jdcloud_vpn_teardown"]
GUARD_TASK_ID = "wait_for_interconnect_lock"

pytestmark = pytest.mark.usefixtures("quick_dag_test_loop")


@contextmanager
def blocking_teardown_run(dagbag: Any, name: str) -> Iterator[threading.Event]:
    """A running teardown run holding interconnect ``name``; set the yielded event to end it (success)."""
    from airflow.models.dagrun import DagRun, get_or_create_dagrun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.xcom import XComModel
    from airflow.utils import timezone
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        if SerializedDagModel.get_dag(TEARDOWN.dag_id, session=session) is None:
            with preserved_params(dagbag):  # registers the DAG in the metadata DB; every task marked success
                dagbag.dags[TEARDOWN.dag_id].test(run_conf={"name": "nothing"}, mark_success_pattern=".*")
    started = timezone.utcnow() - timedelta(minutes=1)
    run_id = f"blocking-{name}-{time.monotonic_ns()}"
    with create_session() as session:
        dag_run = get_or_create_dagrun(
            dag=SerializedDagModel.get_dag(TEARDOWN.dag_id, session=session),
            run_id=run_id,
            logical_date=None,
            data_interval=None,
            run_after=started,
            conf={"name": name},
            triggered_by=DagRunTriggeredByType.TEST,
            triggering_user_name="test",
            start_date=started,
            session=session,
        )
        dag_run.state = DagRunState.RUNNING
        dag_run.start_date = started
        dag_run.get_task_instance(TEARDOWN.conf_task_id, session=session).state = TaskInstanceState.SUCCESS
        request = {"target": {"name": name, "home_region": "cn-north-1", "peer_region": "cn-east-2"}}
        XComModel.set(  # stored as a task would store it (the Task SDK sends JSON-ready values, not strings)
            "return_value",
            request,
            dag_id=TEARDOWN.dag_id,
            task_id=TEARDOWN.conf_task_id,
            run_id=run_id,
            serialize=False,
        )
    release = threading.Event()

    def end_when_released() -> None:
        release.wait()
        with create_session() as session:
            ended = session.query(DagRun).filter(DagRun.run_id == run_id).one()
            ended.get_task_instance(TEARDOWN.final_task_id, session=session).state = TaskInstanceState.SUCCESS
            ended.state = DagRunState.SUCCESS

    ender = threading.Thread(target=end_when_released, daemon=True)
    ender.start()
    try:
        yield release
    finally:
        release.set()
        ender.join(timeout=30)


def mutating_calls(control: Any, since: float) -> list[dict[str, Any]]:
    served = control.get("/requests", params={"since": since}).json()["requests"]
    return [r for r in served if not r["operation"].startswith("Describe")]


def guard_result(dag_run: Any) -> tuple[str, Any]:
    ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == GUARD_TASK_ID)
    return ti.state, ti.xcom_pull(task_ids=GUARD_TASK_ID) if ti.state == "success" else None


def guard_pokes_since(since: float) -> int:
    """How many times the guard of the newest interconnect run was rescheduled (each: one poke that waited)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    with create_session() as session:
        guards = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == "jdcloud_vpn_interconnect", TaskInstance.task_id == GUARD_TASK_ID)
            .all()
        )
        ids = [ti.id for ti in guards if ti.start_date and ti.start_date.timestamp() >= since]
        return session.query(TaskReschedule).filter(TaskReschedule.ti_id.in_(ids)).count() if ids else 0


def test_a_run_on_the_same_interconnect_waits_until_the_earlier_run_ends(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="lock-same")
    with blocking_teardown_run(dagbag, "lock-same") as release:
        since = time.time()
        released: dict[str, Any] = {}

        def release_once_the_guard_waited_twice() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and guard_pokes_since(since) < 2:
                time.sleep(0.1)
            released["calls_before"] = mutating_calls(emulator_control, since)
            released["at"] = time.time()
            release.set()

        releaser = threading.Thread(target=release_once_the_guard_waited_twice, daemon=True)
        releaser.start()
        with preserved_params(dagbag):
            dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
        releaser.join(timeout=5)
    assert released.get("calls_before") == [], "the run changed something while an earlier run held the interconnect"
    assert dag_run.state == "success"
    state, waited = guard_result(dag_run)
    assert state == "success" and waited["holds"] == ["interconnect:lock-same"]
    calls = mutating_calls(emulator_control, since)
    assert calls and min(r["time"] for r in calls) >= released["at"]


def test_a_run_on_another_interconnect_does_not_wait(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="lock-free")
    with blocking_teardown_run(dagbag, "lock-other"):
        since = time.time()
        with preserved_params(dagbag):
            dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
    assert dag_run.state == "success"
    state, waited = guard_result(dag_run)
    assert state == "success" and waited == {"holds": ["interconnect:lock-free"], "waited_s": 0.0}
    assert mutating_calls(emulator_control, since), "the build made no change"


def test_a_run_gives_up_naming_the_run_it_waited_for(dagbag, hook, emulator_control, tmp_path):
    conf = seeded_conf(hook, tmp_path, name="lock-held")
    with blocking_teardown_run(dagbag, "lock-held"):
        since = time.time()
        with preserved_params(dagbag):
            dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf)
        elapsed = time.time() - since
    assert dag_run.state == "failed"
    assert guard_result(dag_run)[0] == "failed"
    assert elapsed >= LOCK_WAIT_TIMEOUT_S
    assert mutating_calls(emulator_control, since) == []
