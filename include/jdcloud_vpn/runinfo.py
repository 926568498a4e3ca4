"""What a DAG run did, read back from Airflow: step states, attempts, durations and step results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

from include.jdcloud_vpn.naming import DIRECTIONS
from include.jdcloud_vpn.report import build_report, write_report

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


def record_attempt(context: Any) -> None:
    """``on_execute_callback``: remember which try this is, so the report can count attempts."""
    ti = context["ti"]
    ti.xcom_push(key=ATTEMPT_KEY, value=ti.try_number)


def _pull(ti: Any, task_id: str, map_index: int, key: str = "return_value") -> Any:
    return ti.xcom_pull(task_ids=task_id, map_indexes=map_index, key=key)


def step_records(ti: Any) -> list[dict[str, Any]]:
    """One record per finished task instance of this run (the running report task excluded)."""
    crumbs = RuntimeTaskInstance.get_task_breadcrumbs(ti.dag_id, ti.run_id)
    return [
        {
            "task_id": c["task_id"],
            "map_index": c["map_index"],
            "status": str(c["state"]),
            "attempts": _pull(ti, c["task_id"], c["map_index"], ATTEMPT_KEY),
            "duration_s": round(c["duration"], 3) if c.get("duration") is not None else None,
        }
        for c in crumbs
    ]


def resources_and_drift(ti: Any, steps: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Gather resource ids per side and every drift finding from the steps' XCom results."""
    resources: dict[str, dict[str, Any]] = {"home": {}, "peer": {}}
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
                if key in item:
                    side[key] = item[key]
            if "vpn_tunnel_id" in item and item["vpn_tunnel_id"] not in side.setdefault("vpn_tunnel_ids", []):
                side["vpn_tunnel_ids"].append(item["vpn_tunnel_id"])  # sensors echo the tunnels they waited for
            if not step["task_id"].endswith(SENSOR_SUFFIXES):
                drift.extend({**d, "task_id": step["task_id"]} for d in item.get("drift") or [])
    for side in resources.values():
        side.get("vpn_tunnel_ids", []).sort()
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
) -> tuple[dict[str, Any], tuple[Path, Path]]:
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
    return report, write_report(report, report_dir, stem)
