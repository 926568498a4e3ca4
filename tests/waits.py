"""Short waits for the confs tests trigger: the emulator runs at a small time scale."""

from __future__ import annotations

from include.jdcloud_vpn.conf import WaitConf


def fast_waits(timeout_s: float, poll_interval_s: float) -> dict[str, dict[str, float]]:
    """The conf's ``timeouts``: every wait (sensors and pings) with the same bounds."""
    return {wait: {"timeout_s": timeout_s, "poll_interval_s": poll_interval_s} for wait in WaitConf.model_fields}
