"""DR-drill bookkeeping: the recovery time (RTO), phase durations, the history file and its chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from airflow.sdk import ObjectStoragePath

from include.jdcloud_vpn.report import fmt, markdown_table, steps_table

HISTORY_ROWS = 10


def phase_durations(milestones: dict[str, float | None]) -> dict[str, float | None]:
    """Seconds per phase from milestone timestamps; None when the drill did not get that far."""

    def between(start: str, end: str) -> float | None:
        a, b = milestones.get(start), milestones.get(end)
        return round(b - a, 3) if a is not None and b is not None else None

    return {
        "baseline_s": between("drill_started", "baseline_done"),
        "teardown_s": between("teardown_started", "teardown_finished"),
        "rebuild_s": between("teardown_finished", "rebuild_finished"),
        "verify_s": between("rebuild_finished", "connectivity_restored"),
    }


def recovery_time(milestones: dict[str, float | None]) -> float | None:
    """RTO: from the end of the teardown until both pings pass again."""
    done, restored = milestones.get("teardown_finished"), milestones.get("connectivity_restored")
    return round(restored - done, 3) if done is not None and restored is not None else None


def append_history(path: ObjectStoragePath, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Append one drill to the JSON-lines history; return the whole history, oldest first.

    The file is read and written whole, as object stores have no append (drills of one interconnect take turns,
    and each interconnect has its own history file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    text += json.dumps(entry, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def render_rto_svg(history: list[dict[str, Any]], rows: int = HISTORY_ROWS) -> str:
    """A bar chart of the last ``rows`` drills' RTO (failed drills drawn as a red stub)."""
    recent = history[-rows:]
    width, height, margin, bar_gap = 640, 240, 40, 8
    values = [d.get("rto_s") or 0.0 for d in recent]
    top = max([*values, 1.0])
    bar_width = (width - 2 * margin) / max(len(recent), 1) - bar_gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{margin}" y="20" font-family="sans-serif" font-size="14">'
        f"DR drill RTO (s), last {len(recent)}</text>",
        f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" y2="{height - margin}" stroke="black"/>',
    ]
    for i, drill in enumerate(recent):
        value = drill.get("rto_s")
        x = margin + i * (bar_width + bar_gap) + bar_gap / 2
        bar = (height - 2 * margin - 20) * ((value or top * 0.05) / top)
        color = "#2e7d32" if drill.get("status") == "success" else "#c62828"
        label = f"{value:.1f}" if value is not None else "failed"
        parts += [
            f'<rect x="{x:.1f}" y="{height - margin - bar:.1f}" width="{bar_width:.1f}" height="{bar:.1f}" '
            f'fill="{color}">'
            f"<title>{escape(str(drill.get('run_id')))}: {label}</title></rect>",
            f'<text x="{x + bar_width / 2:.1f}" y="{height - margin - bar - 4:.1f}" font-family="sans-serif" '
            f'font-size="11" text-anchor="middle">{label}</text>',
            f'<text x="{x + bar_width / 2:.1f}" y="{height - margin + 14:.1f}" font-family="sans-serif" '
            f'font-size="10" text-anchor="middle">{escape(str(drill.get("date", ""))[5:16])}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_drill_markdown(report: dict[str, Any], history: list[dict[str, Any]], chart_name: str) -> str:
    recent = list(reversed(history[-HISTORY_ROWS:]))
    lines = [
        f"# DR drill report: interconnect `{report['interconnect']}`",
        "",
        f"- status: **{report['status']}**"
        + (f", stopped at `{report['stopped_at']}`" if report["stopped_at"] else ""),
        f"- RTO (teardown finished -> both pings pass): **{fmt(report['rto_s'])} s**"
        + (f" (objective {fmt(report['rto_objective_s'])} s)" if report.get("rto_objective_s") else ""),
        f"- baseline connectivity before the drill: {'ok' if report['baseline_ok'] else 'FAILED'}",
        f"- DAG run: `{report['dag_id']}` / `{report['run_id']}`",
        "",
        "## Phases",
        "",
        *markdown_table(["phase", "duration (s)"], ([n.removesuffix("_s"), v] for n, v in report["phases"].items())),
        "",
        f"## Last {len(recent)} drills",
        "",
        f"![RTO of the last drills]({chart_name})",
        "",
        *markdown_table(
            ["date", "status", "RTO (s)", "teardown (s)", "rebuild (s)", "stopped at"],
            (
                [
                    d.get("date"),
                    d.get("status"),
                    d.get("rto_s"),
                    (d.get("phases") or {}).get("teardown_s"),
                    (d.get("phases") or {}).get("rebuild_s"),
                    d.get("stopped_at"),
                ]
                for d in recent
            ),
        ),
        "",
        "## Steps",
        "",
        *steps_table(report["steps"]),
    ]
    return "\n".join(lines) + "\n"


def history_entry(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": report["run_id"],
        "interconnect": report["interconnect"],
        "status": report["status"],
        "rto_s": report["rto_s"],
        "phases": report["phases"],
        "stopped_at": report["stopped_at"],
    }
