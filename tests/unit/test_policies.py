"""The shared retry policy: which failures a task retry can heal."""

from __future__ import annotations

from airflow.sdk import RetryAction

from airflow_provider_jdcloud.exceptions import FailedPrecondition
from include.jdcloud_vpn.policies import JDCLOUD_RETRY_POLICY
from include.jdcloud_vpn.teardown import DeleteInProgress


def test_a_delete_still_in_progress_is_retried_and_a_failed_precondition_is_not():
    in_progress = JDCLOUD_RETRY_POLICY.evaluate(DeleteInProgress("vpnc-1 is still deleting", ["vpnc-1"]), 1, 4)
    assert in_progress.action == RetryAction.RETRY
    refused = FailedPrecondition("DeleteCustomerGateway", 400, "FAILED_PRECONDITION", "in use")
    assert JDCLOUD_RETRY_POLICY.evaluate(refused, 1, 4).action == RetryAction.FAIL
