"""Task retries shared by the VPN DAGs: retry what can heal (throttling, 5xx, network), fail at once on what cannot."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

from include.jdcloud_vpn.notifiers import failure_notifier
from include.jdcloud_vpn.runinfo import record_attempt

_EXC = "airflow_provider_jdcloud.exceptions"

JDCLOUD_RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=[f"{_EXC}.RateLimited", f"{_EXC}.ServerError", f"{_EXC}.JDCloudTransportError"],
            action=RetryAction.RETRY,
            retry_delay=timedelta(seconds=5),
        ),
        # Deletes accepted but not finished yet (JD deletes some resources asynchronously): the retry waits again.
        RetryRule(
            exception="include.jdcloud_vpn.teardown.DeleteInProgress",
            action=RetryAction.RETRY,
            retry_delay=timedelta(seconds=10),
        ),
        # 4xx: bad input, auth, quota, a failed precondition; a retry would send the same request again.
        RetryRule(exception=f"{_EXC}.JDCloudApiError", action=RetryAction.FAIL),
        RetryRule(
            exception=[
                "include.jdcloud_vpn.conf.ConfError",
                "include.jdcloud_vpn.psk.PskError",
                "include.jdcloud_vpn.steps.StepConflict",
            ],
            action=RetryAction.FAIL,
        ),
    ]
)

# default_args of every jdcloud_vpn DAG.
VPN_DEFAULT_ARGS = {
    "owner": "sre",
    "retries": 3,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=2),
    "retry_policy": JDCLOUD_RETRY_POLICY,
    "on_execute_callback": record_attempt,
}

# DAG arguments shared by the VPN DAGs: runs on different interconnects at once (runs on the same one take
# turns: include/jdcloud_vpn/guard.py), no backfill, a failed run alerts through the notifier named by
# [jdcloud_vpn] alert_notifier (include/jdcloud_vpn/notifiers.py).
VPN_DAG_ARGS = {
    "catchup": False,
    "max_active_runs": 16,
    "default_args": VPN_DEFAULT_ARGS,
    "on_failure_callback": failure_notifier(),
}
