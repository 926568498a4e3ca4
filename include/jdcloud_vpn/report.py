"""The run report: JSON for scripts and dashboards, Markdown for people. Never holds a secret.

Reports are written through Airflow's object storage (``ObjectStoragePath``): on the worker's disk by default,
or to any store Airflow has a filesystem for (``s3://`` with the Amazon provider, which also reaches an
S3-compatible store such as JD Cloud OSS through the connection's endpoint) when ``[jdcloud_vpn] report_base``
or the conf's ``report_dir`` is a URL; see :func:`report_location`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import ObjectStoragePath

from include.jdcloud_vpn.naming import DIRECTIONS
from include.jdcloud_vpn.settings import option

#: ``[jdcloud_vpn] report_base``: where a relative ``report_dir`` goes (a URL such as
#: ``s3://aws_default@bucket/vpn``, or a local directory); unset: the worker's working directory.
REPORT_BASE_OPTION = "report_base"


def build_report(
    *,
    kind: str,
    interconnect: str,
    dag_id: str,
    run_id: str,
    steps: list[dict[str, Any]],
    resources: dict[str, Any],
    drift: list[dict[str, Any]],
    connectivity: dict[str, Any],
    diagnosis: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the report; ``status`` is ``success`` only when every step succeeded and both pings passed."""
    failed_steps = sorted({s["task_id"] for s in steps if s["status"] not in ("success", "skipped")})
    pings_ok = all((connectivity.get(d) or {}).get("ok") for d in DIRECTIONS) if connectivity else True
    return {
        "kind": kind,
        "interconnect": interconnect,
        "dag_id": dag_id,
        "run_id": run_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "success" if not failed_steps and pings_ok else "failed",
        "failed_steps": failed_steps,
        "steps": steps,
        "resources": resources,
        "drift": drift,
        "connectivity": connectivity,
        "diagnosis": diagnosis,
        **(extra or {}),
    }


def fmt(value: Any) -> str:
    """One report cell: ``-`` for nothing, floats to 2 decimals, lists joined."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """The lines of a Markdown table, every cell through :func:`fmt`."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return lines


def steps_table(steps: list[dict[str, Any]]) -> list[str]:
    """The steps of a run, in the order they started, as a Markdown table."""
    return markdown_table(
        ["task", "started", "status", "attempts", "duration (s)"],
        (
            [
                step["task_id"] + (f"[{step['map_index']}]" if step.get("map_index", -1) >= 0 else ""),
                step.get("started_at"),
                step["status"],
                step.get("attempts"),
                step.get("duration_s"),
            ]
            for step in steps
        ),
    )


def report_stem(kind: str, name: str, run_id: str) -> str:
    """The file name (without suffix) of a report: ``<kind>-<name>-<run id made file-safe>``."""
    return f"{kind}-{name}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)}"


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# {report['kind']} report: interconnect `{report['interconnect']}`",
        "",
        f"- status: **{report['status']}**",
        f"- DAG run: `{report['dag_id']}` / `{report['run_id']}`",
        f"- generated: {report['generated_at']}",
        "",
        "## Steps",
        "",
        *steps_table(report["steps"]),
    ]
    if report.get("connectivity"):
        stats = {d: report["connectivity"].get(d) or {} for d in DIRECTIONS}
        keys = ("sent", "received", "loss_pct", "rtt_avg_ms", "ok")
        lines += ["", "## Connectivity", ""]
        lines += markdown_table(
            ["direction", "sent", "received", "loss %", "rtt avg (ms)", "ok"],
            ([direction, *(stats[direction].get(k) for k in keys)] for direction in DIRECTIONS),
        )
    diagnosis = {k: v for k, v in (report.get("diagnosis") or {}).items() if v}
    if diagnosis:
        lines += ["", "## Diagnosis", ""]
        for direction, found in diagnosis.items():
            lines.append(f"- {direction}: **{found['reason']}** at {found['hop']}: {found['detail']}")
    drift = report.get("drift") or []
    repairs = [d for d in drift if d.get("repaired")]
    if repairs:
        lines += ["", "## Repairs (adopted resources modified back to the conf)", ""]
        lines += markdown_table(
            ["resource", "field", "was", "now"],
            ([d["resource"], d["field"], d["actual"], d["expected"]] for d in repairs),
        )
    if len(repairs) < len(drift):
        lines += ["", "## Drift (adopted resources that differ from the conf, not repaired)", ""]
        lines += markdown_table(
            ["resource", "field", "expected", "actual"],
            ([d["resource"], d["field"], d["expected"], d["actual"]] for d in drift if not d.get("repaired")),
        )
    lines += ["", "## Resources", "", "```json", json.dumps(report["resources"], indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _storage_path(location: str) -> ObjectStoragePath:
    """``location`` as an object storage path: a URL as it is, a local path made absolute (``file://``)."""
    if "://" in location:
        return ObjectStoragePath(location)
    return ObjectStoragePath(Path(location).absolute().as_uri())


def report_location(report_dir: str) -> ObjectStoragePath:
    """Where the reports of a conf's ``report_dir`` go.

    A URL (``s3://conn_id@bucket/prefix``, ``file:///srv/reports``) or an absolute path is used as it is; a
    relative path goes under ``[jdcloud_vpn] report_base`` (a URL or a local directory), by default under the
    worker's working directory.
    """
    if "://" in report_dir or os.path.isabs(report_dir):
        return _storage_path(report_dir)
    base = option(REPORT_BASE_OPTION, "")
    return _storage_path(base) / report_dir if base else _storage_path(report_dir)


def save_report(
    report: dict[str, Any], report_dir: str, stem: str, markdown: str | None = None
) -> tuple[ObjectStoragePath, ObjectStoragePath]:
    """Write ``<stem>.json`` and ``<stem>.md`` (``markdown``, or the interconnect rendering) under
    :func:`report_location` of ``report_dir``; return both paths (``str()`` of one is its URL)."""
    target = report_location(report_dir)
    target.mkdir(parents=True, exist_ok=True)
    json_path, md_path = target / f"{stem}.json", target / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown if markdown is not None else render_markdown(report), encoding="utf-8")
    return json_path, md_path
