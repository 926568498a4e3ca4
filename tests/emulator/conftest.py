"""Fixtures of the emulator suite (the live emulator, ``control`` and ``api`` come from ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest


@pytest.fixture
def latencies(control: httpx.Client) -> Iterator[Callable[..., None]]:
    """``latencies(**seconds)`` changes simulated latencies for one test; the old values come back after it."""
    saved = control.get("/latencies").json()["latencies"]

    def set_latencies(**seconds: float) -> None:
        control.patch("/latencies", json={"latencies": seconds}).raise_for_status()

    yield set_latencies
    control.patch("/latencies", json={"latencies": saved}).raise_for_status()
