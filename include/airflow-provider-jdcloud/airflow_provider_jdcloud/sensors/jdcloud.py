"""Sensors that wait for JD Cloud resources; deferrable, with timeout and poll interval set at run time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.triggers.jdcloud import JDCloudWaiterTrigger
from airflow_provider_jdcloud.waiters import Target, get_waiter, wait

# Extra time the deferral timeout allows beyond the trigger's own deadline, so the trigger reports first.
DEFERRAL_GRACE_S = 60


class JDCloudWaiterSensor(BaseSensorOperator):
    """Wait until a waiter reports success for every target.

    Unlike plain sensors, ``wait_timeout_s`` and ``poll_interval_s`` are templated, so they can come from a
    DAG run's conf. When the wait times out the task fails with what the last check saw. A timeout and a
    wait that cannot succeed are final (no retry); a try lost otherwise (a dead worker, or Airflow failing a
    resumed deferral, apache/airflow#72716) is retried like any task: a wait only reads.

    :param targets: dicts naming the resources (``region`` plus ids), or lists of them such as the
        results of mapped tasks; templated
    :param wait_timeout_s: seconds to wait before failing; templated
    :param poll_interval_s: longest pause between two checks (they start a second apart and back off to it,
        so the wait ends within max(1 s, 10 %) of the change); templated
    :param jdcloud_conn_id: the Airflow connection
    :param deferrable: wait in the triggerer instead of a worker slot
    """

    waiter_name: str = ""
    template_fields: Sequence[str] = ("targets", "wait_timeout_s", "poll_interval_s")
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        targets: list[Target] | Any,
        wait_timeout_s: float | str = 600,
        poll_interval_s: float | str = 15,
        jdcloud_conn_id: str = JDCloudHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        get_waiter(self.waiter_name)  # fail at parse time on a subclass without a valid waiter
        super().__init__(**kwargs)
        self.targets = targets
        self.wait_timeout_s = wait_timeout_s
        self.poll_interval_s = poll_interval_s
        self.jdcloud_conn_id = jdcloud_conn_id
        self.deferrable = deferrable

    def _targets(self) -> list[Target]:
        """The targets as one list: lists inside it (e.g. the results of mapped tasks) are flattened."""
        flat: list[Target] = []
        for item in self.targets:
            if isinstance(item, dict):
                flat.append(item)
            else:  # indexed, not iterated: iterating Airflow's lazy XCom sequence probes past its end
                flat.extend(item[i] for i in range(len(item)))
        return flat

    def poke(self, context: Any) -> bool:
        check = get_waiter(self.waiter_name)(JDCloudHook(self.jdcloud_conn_id), self._targets())
        if check.failed:
            raise AirflowFailException(f"{self.waiter_name} cannot succeed: {check.summary}")
        return check.done

    def execute(self, context: Any) -> list[Target]:
        timeout_s, interval_s = float(self.wait_timeout_s), float(self.poll_interval_s)
        deadline = time.time() + timeout_s
        self.log.info("Waiting up to %ss (every %ss) for %s", timeout_s, interval_s, self.waiter_name)
        if self.deferrable:
            if self.poke(context):
                return self._targets()
            trigger = JDCloudWaiterTrigger(
                waiter=self.waiter_name,
                targets=self._targets(),
                deadline=deadline,
                poll_interval=interval_s,
                jdcloud_conn_id=self.jdcloud_conn_id,
            )
            self.defer(
                trigger=trigger,
                method_name="execute_complete",
                timeout=timedelta(seconds=timeout_s + DEFERRAL_GRACE_S),
            )
        status, check = wait(
            JDCloudHook(self.jdcloud_conn_id),
            self.waiter_name,
            self._targets(),
            deadline=deadline,
            poll_interval=interval_s,
        )
        return self._finish({"status": status, "summary": check.summary})

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> list[Target]:
        return self._finish(event)

    def _finish(self, event: dict[str, Any] | None) -> list[Target]:
        """Raise unless the wait succeeded; return the targets, so downstream tasks can read them."""
        if not event:
            raise AirflowException(f"{self.waiter_name}: the trigger returned no event")
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(
                f"{self.waiter_name} timed out after {self.wait_timeout_s}s; last seen: {event.get('summary')}"
            )
        if event.get("status") != "success":
            raise AirflowFailException(f"{self.waiter_name} failed: {event.get('summary')}")
        self.log.info("%s: %s", self.waiter_name, event.get("summary"))
        return self._targets()


class JDCloudVpnTunnelsUpSensor(JDCloudWaiterSensor):
    """Wait until every VPN tunnel (``{region, vpn_tunnel_id}``) has ``opStatus`` UP."""

    waiter_name = "vpn_tunnels_up"


class JDCloudInstancesRunningSensor(JDCloudWaiterSensor):
    """Wait until every VM (``{region, instance_id}``) is ``running``."""

    waiter_name = "instances_running"


class JDCloudRouteTableRoutesSensor(JDCloudWaiterSensor):
    """Wait until route tables (``{region, route_table_id, destination, bgw_id}``) route a CIDR to a BGW."""

    waiter_name = "route_tables_have_routes"


class JDCloudVpcAttachmentsActiveSensor(JDCloudWaiterSensor):
    """Wait until every VPC attachment (``{region, vpc_attachment_id}``) is ``active``."""

    waiter_name = "vpc_attachments_active"


class JDCloudVpnConnectionsProvisionedSensor(JDCloudWaiterSensor):
    """Wait until every VPN connection (``{region, vpn_connection_id}``) shows its two cloud public IPs."""

    waiter_name = "vpn_connections_provisioned"
