"""Parse iputils ``ping`` output and judge it against the conf's loss threshold."""

from __future__ import annotations

import re

from pydantic import BaseModel

_SUMMARY_RE = re.compile(r"(?P<sent>\d+) packets transmitted, (?P<received>\d+) (?:packets )?received")
_RTT_RE = re.compile(
    r"(?:rtt|round-trip) min/avg/max(?:/mdev|/stddev)? = (?P<min>[\d.]+)/(?P<avg>[\d.]+)/(?P<max>[\d.]+)"
)


class PingStats(BaseModel):
    """One direction's connectivity result, as the report and dashboards read it."""

    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    ok: bool
    exit_code: int | None = None


def parse_ping(output: str, *, max_loss_pct: float, exit_code: int | None = None) -> PingStats:
    """Read transmitted/received and the rtt line; ``ok`` when loss is at most ``max_loss_pct``.

    Output without a statistics line (the command never ran) counts as 0 sent, 0 received, not ok.
    """
    summary = _SUMMARY_RE.search(output or "")
    if summary is None:
        return PingStats(sent=0, received=0, loss_pct=100.0, ok=False, exit_code=exit_code)
    sent, received = int(summary["sent"]), int(summary["received"])
    loss = round(100.0 * (sent - received) / sent, 2) if sent else 100.0
    rtt = _RTT_RE.search(output)
    return PingStats(
        sent=sent,
        received=received,
        loss_pct=loss,
        rtt_min_ms=float(rtt["min"]) if rtt else None,
        rtt_avg_ms=float(rtt["avg"]) if rtt else None,
        rtt_max_ms=float(rtt["max"]) if rtt else None,
        ok=received > 0 and loss <= max_loss_pct,
        exit_code=exit_code,
    )
