"""Deferrable waits: poll a waiter in the triggerer, no worker slot held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.waiters import Target, async_wait


class JDCloudWaiterTrigger(BaseTrigger):
    """Poll ``waiter`` over ``targets`` (backing off to ``poll_interval``) until success, failure or ``deadline``.

    :param waiter: a name from :data:`airflow_provider_jdcloud.waiters.WAITERS`
    :param targets: JSON-able dicts the waiter reads (regions and resource ids; never secrets)
    :param deadline: epoch seconds; fixed when the task deferred, so a restarted trigger keeps it
    :param poll_interval: longest pause between checks (see :func:`~airflow_provider_jdcloud.waiters.wait`)
    :param jdcloud_conn_id: the Airflow connection holding the credentials
    """

    def __init__(
        self,
        *,
        waiter: str,
        targets: list[Target],
        deadline: float,
        poll_interval: float,
        jdcloud_conn_id: str = JDCloudHook.default_conn_name,
    ) -> None:
        super().__init__()
        self.waiter = waiter
        self.targets = targets
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.jdcloud_conn_id = jdcloud_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "waiter": self.waiter,
                "targets": self.targets,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "jdcloud_conn_id": self.jdcloud_conn_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = await JDCloudHook.from_connection_async(self.jdcloud_conn_id)
        status, check = await async_wait(
            hook, self.waiter, self.targets, deadline=self.deadline, poll_interval=self.poll_interval
        )
        # The event repeats the targets: a resumed task reads its ids from here, not from defer kwargs.
        yield TriggerEvent({**check.to_event(status), "targets": self.targets})
