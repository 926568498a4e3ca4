"""What a DAG run did, read back from Airflow: step states, attempts, durations and step results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import ObjectStoragePath
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

from include.jdcloud_vpn.naming import DIRECTIONS
from include.jdcloud_vpn.report import build_report, save_report

ATTEMPT_KEY = "attempt"
SENSOR_SUFFIXES = ("wait_tunnels_up", "wait_routes_propagated", "wait_probe_vms_running")
RESOURCE_KEYS = (
    "bgw_id",
    "vpc_attachment_id",
    "customer_gateway_id",
    "vpn_connection_id",
    "cloud_ips",
    "bgw_route_id",
    "instance_id",
    "private_ip",
)


def try_started(task_instance: Any) -> datetime | None:
    """When the current try started: a task resumed after a deferral has a fresh ``start_date``, and the
    server's run context then carries the original one (``TIRunContext.start_date``)."""
    context = getattr(task_instance, "_ti_context_from_server", None)
    if getattr(context, "next_method", None) and isinstance(getattr(context, "start_date", None), datetime):
        return context.start_date
    start = getattr(task_instance, "start_date", None)
    return start if isinstance(start, datetime) else None


def record_attempt(context: Any) -> None:
    """``on_execute_callback``: remember which try this is and when it started, for the report."""
    ti = context["ti"]
    started = try_started(ti)
    started_at = started.astimezone(UTC).isoformat(timespec="milliseconds") if started else None
    ti.xcom_push(key=ATTEMPT_KEY, value={"try_number": ti.try_number, "started_at": started_at})


def _pull(ti: Any, task_id: str, map_index: int, key: str = "return_value") -> Any:
    return ti.xcom_pull(task_ids=task_id, map_indexes=map_index, key=key)


def step_records(ti: Any) -> list[dict[str, Any]]:
    """One record per finished task instance of this run (the running report task excluded), in the order
    they started; steps that never started (skipped, upstream failed) follow in the DAG's order."""
    records = []
    for crumb in RuntimeTaskInstance.get_task_breadcrumbs(ti.dag_id, ti.run_id):
        attempt = _pull(ti, crumb["task_id"], crumb["map_index"], ATTEMPT_KEY) or {}
        records.append(
            {
                "task_id": crumb["task_id"],
                "map_index": crumb["map_index"],
                "started_at": attempt.get("started_at"),
                "status": str(crumb["state"]),
                "attempts": attempt.get("try_number"),
                "duration_s": round(crumb["duration"], 3) if crumb.get("duration") is not None else None,
            }
        )
    position = {task.task_id: i for i, task in enumerate(ti.task.dag.topological_sort())}
    return sorted(records, key=lambda r: (r["started_at"] or "~", position.get(r["task_id"], 0), r["map_index"]))


def resources_and_drift(ti: Any, steps: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Gather resource ids per side and every drift finding from the steps' XCom results.

    A new VPN connection's cloud IPs are allocated after its create returned, so they are read from the
    tunnels, each of which names its cloud IP.
    """
    resources: dict[str, dict[str, Any]] = {"home": {}, "peer": {}}
    tunnel_ips: dict[str, dict[int, str]] = {"home": {}, "peer": {}}
    drift: list[dict[str, Any]] = []
    for step in steps:
        if step["status"] != "success":
            continue
        result = _pull(ti, step["task_id"], step["map_index"])
        for item in result if isinstance(result, list) else [result]:
            if not isinstance(item, dict) or item.get("side") not in resources:
                continue
            side = resources[item["side"]]
            for key in RESOURCE_KEYS:
                if item.get(key):
                    side[key] = item[key]
            if "vpn_tunnel_id" in item and item["vpn_tunnel_id"] not in side.setdefault("vpn_tunnel_ids", []):
                side["vpn_tunnel_ids"].append(item["vpn_tunnel_id"])  # sensors echo the tunnels they waited for
            if "vpn_tunnel_id" in item and "cloud_ip" in item:
                tunnel_ips[item["side"]][item["index"]] = item["cloud_ip"]
            if not step["task_id"].endswith(SENSOR_SUFFIXES):
                drift.extend({**d, "task_id": step["task_id"]} for d in item.get("drift") or [])
    for name, side in resources.items():
        side.get("vpn_tunnel_ids", []).sort()
        if tunnel_ips[name]:
            side["cloud_ips"] = [tunnel_ips[name][index] for index in sorted(tunnel_ips[name])]
    return resources, drift


def connectivity(ti: Any, steps: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ping statistics and diagnoses pushed by the connectivity test tasks (key ``connectivity``)."""
    stats, findings = {}, {}
    for step in steps:
        for direction in DIRECTIONS:
            if step["task_id"].endswith(f"ping_{direction}"):
                stats[direction] = _pull(ti, step["task_id"], step["map_index"], "connectivity")
                if step["status"] != "success":
                    findings[direction] = _pull(ti, step["task_id"], step["map_index"], "diagnosis")
    return stats, findings


def collect_run(
    context: Any, *, kind: str, interconnect: str, report_dir: str, stem: str, extra: dict | None = None
) -> tuple[dict[str, Any], tuple[ObjectStoragePath, ObjectStoragePath]]:
    """Build and write the report of the current run."""
    ti = context["ti"]
    steps = step_records(ti)
    resources, drift = resources_and_drift(ti, steps)
    stats, findings = connectivity(ti, steps)
    report = build_report(
        kind=kind,
        interconnect=interconnect,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        steps=steps,
        resources=resources,
        drift=drift,
        connectivity=stats,
        diagnosis=findings,
        extra=extra,
    )
    return report, save_report(report, report_dir, stem)
