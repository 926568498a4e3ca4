"""The connectivity test: a cloud-assistant ping judged against the conf, diagnosed when it fails."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.operators.jdcloud import JDCloudRunCommandOperator
from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import InterconnectConf
from include.jdcloud_vpn.connectivity import parse_ping
from include.jdcloud_vpn.diagnosis import diagnose
from include.jdcloud_vpn.results import ProbeVm


class ConnectivityTestOperator(JDCloudRunCommandOperator):
    """Ping the other side's probe VM from this side's, through the cloud assistant.

    Pushes ``connectivity`` (sent, received, loss, rtt, ok) and, on failure, ``diagnosis`` (the first
    blocking hop found with describe calls). A failure with a diagnosis is final (no retry): the path is
    broken; one without is retried.

    :param direction: ``home_to_peer`` or ``peer_to_home``
    :param conf: the validated interconnect conf (JSON); templated
    :param probes: the two probe VM results (``side``, ``region``, ``instance_id``, ``private_ip``); templated
    """

    template_fields: Sequence[str] = (*JDCloudRunCommandOperator.template_fields, "conf", "probes")

    def __init__(self, *, direction: str, conf: Any, probes: Any, **kwargs: Any) -> None:
        if direction not in naming.DIRECTIONS:
            raise ValueError(f"Invalid direction: {direction}; expected one of {', '.join(naming.DIRECTIONS)}")
        super().__init__(**kwargs)
        self.direction = direction
        self.conf = conf
        self.probes = probes

    def _prepare(self) -> InterconnectConf:
        if self.conf is None or not self.probes:
            raise AirflowFailException("the conf or the probe VMs are missing: an earlier step did not succeed")
        model = InterconnectConf.model_validate(self.conf)
        source, target = naming.direction_sides(self.direction)
        by_side = {probe.side: probe for probe in (ProbeVm.model_validate(p) for p in self.probes)}
        self.region = by_side[source].region
        self.instance_id = by_side[source].instance_id
        self.script = f"ping -c {model.ping.count} -W 2 {by_side[target].private_ip}"
        self.command_name = naming.command_name(model, self.direction)
        return model

    def execute(self, context: Any) -> dict[str, Any]:
        self._prepare()
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        model = self._prepare()
        try:
            result = super().execute_complete(context, event)
        except AirflowException as error:
            self.log.error("%s", error)
            result = {"output": "", "exit_code": None}
        stats = parse_ping(result["output"], max_loss_pct=model.ping.max_loss_pct, exit_code=result["exit_code"])
        context["ti"].xcom_push(key="connectivity", value={**stats.model_dump(), "finished_at": time.time()})
        self.log.info(
            "%s: %s sent, %s received, %s%% loss, rtt avg %s ms",
            self.direction,
            stats.sent,
            stats.received,
            stats.loss_pct,
            stats.rtt_avg_ms,
        )
        if stats.ok:
            return stats.model_dump()
        finding = diagnose(JDCloudHook(self.jdcloud_conn_id), model, naming.direction_sides(self.direction)[0])
        context["ti"].xcom_push(key="diagnosis", value=finding.to_json() if finding else None)
        message = f"ping {self.direction} failed: {stats.received}/{stats.sent} received, {stats.loss_pct}% loss"
        if finding is None:
            raise AirflowException(f"{message}; no blocking hop found, retrying")
        raise AirflowFailException(f"{message}; {finding.reason} at {finding.hop}: {finding.detail}")
