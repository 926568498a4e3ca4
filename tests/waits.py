"""Short waits for the confs tests trigger: the emulator runs at a small time scale."""

from __future__ import annotations

from include.airflow_stack.stack import uniform_waits as fast_waits

__all__ = ["fast_waits"]
