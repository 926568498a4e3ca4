"""JDCloudRunCommandOperator keeps its invocation in the task state store; a retry adopts it until it is read."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_jdcloud.operators.jdcloud import INVOKE_ID_KEY, JUDGED_KEY, JDCloudRunCommandOperator
from include.jdcloud_vpn.demo import seed_site


class _StateStore:
    """The two calls the operator makes on Airflow's ``task_state_store``, backed by a dict."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = value


def _wait(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)


def test_a_retry_adopts_the_earlier_invocation_until_a_try_has_read_its_result(hook, emulator_control):
    site = seed_site(hook, "home", name="cmd")
    region, instance_id = site["region"], site["instance_id"]
    _wait(lambda: hook.describe_instance(instance_id, region=region).status == "running")
    operator = JDCloudRunCommandOperator(
        task_id="ping", region=region, instance_id=instance_id, script="ping -c 3 10.10.1.4", command_name="cmd-test"
    )
    store = _StateStore()
    context = {"task_state_store": store}
    emulator_control.patch("/latencies", json={"latencies": {"ping_interval": 100.0}})  # a ping that runs a while
    try:
        first = operator._invoke(hook, context)
        assert store.values[INVOKE_ID_KEY] == first
        assert operator._unread_invocation(hook, context) == first  # the next try re-attaches to the running one
    finally:
        emulator_control.patch("/latencies", json={"latencies": {"ping_interval": 1.0}})
    _wait(lambda: hook.describe_invocation(first, region=region).finished)
    # Finished but never read (the try waiting for it was lost): the next try judges it, no second ping.
    assert operator._unread_invocation(hook, context) == first
    result = operator.execute_complete(
        context, {"status": "success", "targets": [{"region": region, "invoke_id": first}]}
    )
    assert result["invoke_id"] == first and store.values[JUDGED_KEY] == first
    assert operator._unread_invocation(hook, context) is None  # once read, a retry runs the command again
    store.values[INVOKE_ID_KEY] = "invoke-doesnotexist"
    assert operator._unread_invocation(hook, context) is None
