"""Keep the interconnect, teardown and DR-drill DAGs from running at the same time.

Each DAG has ``max_active_runs=1``; this guard, the first task after the conf check, also fails a run
while a run of one of the other two DAGs is active, so a drill never tears down what a build is creating.
It is deliberately coarse (any interconnect): runs are short and a failed guard says what to wait for.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

VPN_DAG_IDS = ("jdcloud_vpn_interconnect", "jdcloud_vpn_teardown", "jdcloud_vpn_dr_drill")
ACTIVE_STATES = ["running", "queued"]


@task(retries=0)
def ensure_exclusive_run(conf: Any = None) -> dict[str, int]:
    """Fail when another jdcloud_vpn DAG (interconnect, teardown, drill) has an active run."""
    own = get_current_context()["ti"].dag_id
    active = {
        dag_id: RuntimeTaskInstance.get_dr_count(dag_id=dag_id, states=ACTIVE_STATES)
        for dag_id in VPN_DAG_IDS
        if dag_id != own
    }
    busy = {dag_id: count for dag_id, count in active.items() if count}
    if busy:
        raise AirflowFailException(
            f"{own} must not overlap another VPN run; active now: "
            + ", ".join(f"{dag_id} ({count} run)" for dag_id, count in busy.items())
            + ". Trigger again when it has finished."
        )
    return active
