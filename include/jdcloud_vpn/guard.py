"""Exclusion per interconnect: runs on different interconnects proceed together, runs on the same one take turns.

A run of the interconnect, teardown, DR-drill or topology DAGs holds the interconnects its validated conf names
(its *lock keys*, :meth:`InterconnectConf.lock_keys`; a topology run holds each pair and each site) from its
start to its end. The guard sensor, the first task after the conf check, waits (``mode="reschedule"``: no
worker slot between pokes) while an *earlier* running run of any of these DAGs holds one of its keys, and fails
naming those runs when ``[jdcloud_vpn] lock_wait_timeout_s`` has passed. A run that a topology run started on
one of its pairs (``member_of``) passes its parent, which holds the pair for it.

Airflow's Task SDK has no lock, so the order is a total order every run computes alike: runs are ranked by
``(start_date, dag_id, run_id)``, and a run waits only for higher-ranked (earlier) runs. Two runs on one
interconnect never both pass: the later one always sees the earlier one (it was running first), and the
earlier one never waits for the later. A run whose conf is not validated yet holds every key until it is (its
keys are unknown); a run whose conf check failed holds none (it changes nothing).

What a run holds is read through the Task SDK's calls to the execution API, never from the metadata DB:
the states of each DAG's conf task and final task in all its runs (``get_task_states``; a run whose final task
has not finished may be active), the run itself (``state``, ``start_date``) and its conf task's XCom.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from airflow.sdk import PokeReturnValue, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import GetDagRun

from include.jdcloud_vpn import settings
from include.jdcloud_vpn.conf import InterconnectConf
from include.jdcloud_vpn.results import TeardownRequest
from include.jdcloud_vpn.topology import ValidatedTopology

FINISHED_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
log = logging.getLogger(__name__)

UNKNOWN = "*"  # the lock key of a run whose conf is not validated yet: it overlaps every run


ConfKind = Literal["interconnect", "teardown", "topology"]


@dataclass(frozen=True)
class VpnDag:
    """A DAG whose runs change interconnects: where its validated conf is, and which task ends every run."""

    dag_id: str
    conf_task_id: str  # its first task; its XCom is the validated conf
    final_task_id: str  # its only leaf: finished (or skipped) in every run that has ended
    kind: ConfKind = "interconnect"  # what the conf task returns: InterconnectConf, TeardownRequest, ValidatedTopology

    def lock_keys(self, validated: Mapping[str, Any]) -> frozenset[str]:
        """The interconnects (and topology sites) a run of this DAG holds, from its conf task's XCom."""
        if self.kind == "topology":
            return frozenset(ValidatedTopology.model_validate(validated).lock_keys)
        if self.kind == "teardown":
            return TeardownRequest.model_validate(validated).target.lock_keys()
        return InterconnectConf.model_validate(validated).lock_keys()

    def parent(self, validated: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(dag_id, run_id)`` of the topology run that started this run on one of its pairs, if one did."""
        if self.kind == "topology":
            return None
        if self.kind == "teardown":
            member = TeardownRequest.model_validate(validated).target.member_of
        else:
            member = InterconnectConf.model_validate(validated).member_of
        if member is None or member.parent_dag_id is None or member.parent_run_id is None:
            return None
        return member.parent_dag_id, member.parent_run_id


VPN_DAGS = {
    dag.dag_id: dag
    for dag in (
        VpnDag("jdcloud_vpn_interconnect", "validate_conf", "delete_probe_vms"),
        VpnDag("jdcloud_vpn_teardown", "read_teardown_request", "write_teardown_report", "teardown"),
        VpnDag("jdcloud_vpn_dr_drill", "validate_conf", "delete_probe_vms"),
        VpnDag("jdcloud_vpn_topology", "validate_topology", "write_topology_report", "topology"),
        VpnDag("jdcloud_vpn_topology_teardown", "validate_topology", "write_topology_report", "topology"),
        VpnDag("jdcloud_vpn_topology_drill", "validate_topology", "write_topology_report", "topology"),
    )
}


@dataclass(frozen=True)
class Holder:
    """Another active run, ranked, and what it holds."""

    dag_id: str
    run_id: str
    start_date: datetime
    keys: frozenset[str]

    @property
    def rank(self) -> tuple[datetime, str, str]:
        return (self.start_date, self.dag_id, self.run_id)

    def describe(self) -> str:
        held = "an interconnect not validated yet" if UNKNOWN in self.keys else ", ".join(sorted(self.keys))
        return f"{self.dag_id} run {self.run_id} (started {self.start_date.isoformat()}, holds {held})"


def blockers(own: Holder, others: Iterable[Holder]) -> list[Holder]:
    """The runs ``own`` must wait for: ranked before it and holding one of its keys (or unknown keys)."""
    return sorted(
        (o for o in others if o.rank < own.rank and (UNKNOWN in o.keys or o.keys & own.keys)),
        key=lambda o: o.rank,
    )


def _active_runs(ti: Any, vpn_dag: VpnDag, own_run_id: str) -> list[Holder]:
    """The running runs of ``vpn_dag`` (but ``own_run_id``) and the keys each holds."""
    states = task_runner.RuntimeTaskInstance.get_task_states(
        dag_id=vpn_dag.dag_id, task_ids=[vpn_dag.conf_task_id, vpn_dag.final_task_id]
    )
    holders = []
    for run_id, by_task in states.items():
        if run_id == own_run_id or by_task.get(vpn_dag.final_task_id) in FINISHED_TI_STATES:
            continue
        conf_state = by_task.get(vpn_dag.conf_task_id)
        if conf_state in FINISHED_TI_STATES - {"success"}:
            continue  # its conf was rejected: it changes nothing
        # The run's start_date: no public Task SDK call gives it (get_dagrun_state gives the state only).
        dag_run = task_runner.SUPERVISOR_COMMS.send(GetDagRun(dag_id=vpn_dag.dag_id, run_id=run_id))
        if dag_run.state != "running" or dag_run.start_date is None:
            continue  # queued runs rank after every running one: they wait for us, not we for them
        keys = frozenset({UNKNOWN})
        if conf_state == "success":
            validated = ti.xcom_pull(task_ids=vpn_dag.conf_task_id, dag_id=vpn_dag.dag_id, run_id=run_id)
            keys = vpn_dag.lock_keys(validated) if validated else frozenset()
        holders.append(Holder(vpn_dag.dag_id, run_id, dag_run.start_date, keys))
    return holders


def _waited_s(ti: Any, context: Mapping[str, Any]) -> float:
    """Seconds since this sensor's first poke (its earlier pokes are earlier executions: see airflow3-notes)."""
    first = ti.get_first_reschedule_date(context)
    return 0.0 if first is None else time.time() - first.timestamp()


def lock_sensor(**kwargs: Any) -> Any:
    """The guard task (see the module docstring); ``kwargs`` override the ``@task.sensor`` arguments."""
    poke_interval = settings.seconds_option("lock_poll_interval_s", 10.0)
    timeout = settings.seconds_option("lock_wait_timeout_s", 3600.0)

    @task.sensor(
        task_id="wait_for_interconnect_lock",
        mode="reschedule",
        poke_interval=poke_interval,
        timeout=timeout + 3 * poke_interval,  # a backstop: the poke fails first, naming what it waits for
        # The DAG's retries stay: Airflow can fail a try that it rescheduled (executor event race, like the
        # defer-exit race apache/airflow#72716); the retry pokes again.
        **kwargs,
    )
    def wait_for_interconnect_lock(validated: Mapping[str, Any]) -> PokeReturnValue:
        """Wait while an earlier run of a VPN DAG holds one of this run's interconnects."""
        context = get_current_context()
        ti, dag_run = context["ti"], context["dag_run"]
        own_dag = VPN_DAGS[ti.dag_id]
        own = Holder(ti.dag_id, dag_run.run_id, dag_run.start_date, own_dag.lock_keys(validated))
        parent = own_dag.parent(validated)  # it holds our interconnect for us while we work on it
        others = [
            h
            for vpn_dag in VPN_DAGS.values()
            for h in _active_runs(ti, vpn_dag, dag_run.run_id)
            if (h.dag_id, h.run_id) != parent
        ]
        waiting_for = blockers(own, others)
        if not waiting_for:
            waited = {"holds": sorted(own.keys), "waited_s": round(_waited_s(ti, context), 1)}
            return PokeReturnValue(is_done=True, xcom_value=waited)
        names = "; ".join(h.describe() for h in waiting_for)
        if _waited_s(ti, context) >= timeout:
            raise AirflowFailException(
                f"gave up after [{settings.CONFIG_SECTION}] lock_wait_timeout_s={timeout:g} s waiting for {names}"
            )
        log.info("%s run %s holds %s; waiting for %s", ti.dag_id, dag_run.run_id, ", ".join(sorted(own.keys)), names)
        return PokeReturnValue(is_done=False)

    return wait_for_interconnect_lock
