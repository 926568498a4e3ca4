"""Fault injection and the per-service rate limit, configurable at start (``--faults FILE``) and at runtime."""

from __future__ import annotations

import random
import time
from collections import deque
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from include.jdcloud_emulator.settings import DEFAULT_RATE_LIMIT_PER_MINUTE

TRANSITIONS = (
    "vm_boot",
    "attachment_create",
    "vpn_connection_provision",
    "tunnel_negotiation",
    "attachment_delete",
    "vpn_connection_delete",
)
OperationFaultKind = Literal["rate_limit", "server_error", "applied_server_error", "slow_response"]
OPERATION_FAULT_KINDS: tuple[str, ...] = get_args(OperationFaultKind)


class StuckTransition(BaseModel):
    """A transition that never completes, for one resource or (resource_id None) for all."""

    model_config = ConfigDict(extra="forbid")
    transition: str = Field(json_schema_extra={"enum": list(TRANSITIONS)})
    resource_id: str | None = None


class TunnelFlap(BaseModel):
    """Take a tunnel (and its mirror) DOWN for ``seconds``, starting ``start_in_s`` after it is applied."""

    model_config = ConfigDict(extra="forbid")
    vpn_tunnel_id: str
    seconds: float = Field(gt=0)
    start_in_s: float = Field(default=0, ge=0)


class OperationFault(BaseModel):
    """The next ``count`` calls of one operation fail (or answer late); then the fault is spent.

    ``rate_limit``: a 429 ``RATE_LIMIT`` envelope, nothing applied. ``server_error``: a 503 ``UNAVAILABLE``
    envelope, nothing applied. ``applied_server_error``: the change is applied, then a 500 ``INTERNAL``
    envelope is answered (a backend that committed and then failed, as a JSON 5xx from a gateway can hide).
    ``slow_response``: the change is applied, then the answer waits ``delay_s`` seconds, so a client with a
    shorter timeout sees a read timeout although the change is committed.
    """

    model_config = ConfigDict(extra="forbid")
    operation: str = Field(min_length=1, description="API operation name, e.g. CreateVpnTunnel")
    kind: OperationFaultKind
    count: int = Field(default=1, ge=1, description="calls it hits; it then stays listed with remaining 0")
    delay_s: float = Field(default=0.0, ge=0, le=300, description="slow_response only: seconds before answering")
    remaining: int | None = Field(default=None, ge=0, description="calls still to hit; starts at count")

    @model_validator(mode="after")
    def _check(self) -> OperationFault:
        if self.kind == "slow_response" and self.delay_s <= 0:
            raise ValueError("a slow_response fault needs delay_s > 0")
        if self.kind != "slow_response" and self.delay_s:
            raise ValueError(f"delay_s applies only to slow_response, not to {self.kind}")
        if self.remaining is None:
            self.remaining = self.count
        elif self.remaining > self.count:
            raise ValueError("remaining cannot exceed count")
        return self


class FaultConfig(BaseModel):
    """Everything that can be injected; the JSON form of ``--faults FILE`` and ``/emulator-api/faults``."""

    model_config = ConfigDict(extra="forbid")
    rate_limit_per_minute: int = Field(default=DEFAULT_RATE_LIMIT_PER_MINUTE, ge=1)
    rate_limit_window_s: float = Field(
        default=60.0, gt=0, description="the window rate_limit_per_minute counts in; shorter only for fast tests"
    )
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_http_code: int = Field(default=503, json_schema_extra={"enum": [500, 502, 503]})
    error_operations: list[str] = Field(default_factory=list, description="empty: every operation")
    latency_ms: float = Field(default=0.0, ge=0)
    latency_operations: list[str] = Field(default_factory=list, description="empty: every operation")
    drop_responses: dict[str, int] = Field(
        default_factory=dict, description="operation -> how many responses to drop after the change is committed"
    )
    operation_faults: list[OperationFault] = Field(
        default_factory=list, description="count-limited faults of single operations, applied in list order"
    )
    stuck_transitions: list[StuckTransition] = Field(default_factory=list)
    tunnel_flaps: list[TunnelFlap] = Field(default_factory=list)


class Faults:
    """The active faults plus the sliding-window rate limiter."""

    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self._rng = random.Random(seed or None)
        self._windows: dict[str, deque[float]] = {}
        self._flaps: list[tuple[str, float, float]] = []
        self.config = FaultConfig()
        self.apply(config or FaultConfig())

    def apply(self, config: FaultConfig) -> None:
        """Replace the active faults; flaps are anchored at the moment they are applied."""
        now = time.time()
        self.config = config
        self._flaps = [
            (f.vpn_tunnel_id, now + f.start_in_s, now + f.start_in_s + f.seconds) for f in config.tunnel_flaps
        ]

    def to_json(self) -> dict:
        data = self.config.model_dump()
        data["active_flaps"] = [{"vpn_tunnel_id": t, "start": s, "end": e} for t, s, e in self._flaps]
        return data

    def allow_call(self, service: str, now: float) -> bool:
        """Count one call against the service's limit per window; False when over it."""
        window = self._windows.setdefault(service, deque())
        while window and window[0] <= now - self.config.rate_limit_window_s:
            window.popleft()
        if len(window) >= self.config.rate_limit_per_minute:
            return False
        window.append(now)
        return True

    def forget_calls(self) -> None:
        """Empty the rate limiter's windows: a reset forgets past calls, as it forgets the request log."""
        self._windows.clear()

    def injected_error_code(self, operation: str) -> int | None:
        c = self.config
        targeted = not c.error_operations or operation in c.error_operations
        if c.error_rate and targeted and self._rng.random() < c.error_rate:
            return c.error_http_code
        return None

    def added_latency_s(self, operation: str) -> float:
        c = self.config
        if c.latency_ms and (not c.latency_operations or operation in c.latency_operations):
            return c.latency_ms / 1000
        return 0.0

    def take_drop(self, operation: str) -> bool:
        """True (and one fewer left) when this operation's response is to be dropped."""
        left = self.config.drop_responses.get(operation, 0)
        if left <= 0:
            return False
        self.config.drop_responses[operation] = left - 1
        return True

    def take_operation_fault(self, operation: str) -> OperationFault | None:
        """The first unspent fault of ``operation``, one call fewer left on it; ``None`` when there is none."""
        for fault in self.config.operation_faults:
            if fault.operation == operation and fault.remaining:
                fault.remaining -= 1
                return fault
        return None

    def is_stuck(self, transition: str, resource_id: str) -> bool:
        return any(
            s.transition == transition and s.resource_id in (None, resource_id) for s in self.config.stuck_transitions
        )

    def flaps(self, tunnel_ids: list[str]) -> list[tuple[float, float]]:
        return [(start, end) for tid, start, end in self._flaps if tid in tunnel_ids]
