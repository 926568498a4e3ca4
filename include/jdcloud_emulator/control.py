"""The control plane under ``/emulator-api`` (like moto's ``/moto-api``): reset, state, request log, faults, and
preset ids for a demo network with well-known ids."""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import asdict, dataclass

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from include.jdcloud_emulator.faults import FaultConfig
from include.jdcloud_emulator.models.core import IdFactory, Resource
from include.jdcloud_emulator.settings import DEFAULT_LATENCIES

control_router = APIRouter(prefix="/emulator-api", tags=["control"])


@dataclass
class LoggedRequest:
    time: float
    service: str
    operation: str
    method: str
    path: str
    status: int  # 0 while the request is in flight
    request_id: str
    client: str  # the caller's "host:port", which names its process (e.g. to SIGKILL it mid-call)


class RequestLog:
    """The last requests served (bounded), for tests and benchmarks to count calls, and those in flight."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._in_flight: dict[str, LoggedRequest] = {}
        self._lock = threading.Lock()

    def begin(self, entry: LoggedRequest) -> None:
        """Record a routed request that is being handled (its operation is known, its answer is not)."""
        with self._lock:
            self._in_flight[entry.request_id] = entry

    def add(self, entry: LoggedRequest) -> None:
        """Record an answered request (it is no longer in flight)."""
        with self._lock:
            self._in_flight.pop(entry.request_id, None)
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def in_flight(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._in_flight.values())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class PresetIds(BaseModel):
    ids: list[str] = Field(min_length=1)


def _id_prefixes() -> set[str]:
    return {cls.id_prefix for cls in Resource.__subclasses__() if getattr(cls, "id_prefix", "")}


class LatencyUpdate(BaseModel):
    time_scale: float | None = Field(default=None, gt=0)
    latencies: dict[str, float] = Field(default_factory=dict)


@control_router.get("/health")
def health(request: Request) -> dict:
    settings = request.app.state.cloud.settings
    return {"status": "ok", "time_scale": settings.time_scale, "dataplane": settings.dataplane}


@control_router.post("/reset")
def reset(request: Request) -> dict:
    """Forget every resource, the request log and the rate limiter's count; faults stay (``DELETE /faults``)."""
    request.app.state.cloud.reset()
    request.app.state.request_log.clear()
    return {"reset": True}


@control_router.post("/preset-ids")
def preset_ids(body: PresetIds, request: Request) -> dict:
    """Give the next resources created with each id's prefix these ids, in order (``vpc-demohome01`` goes to
    the next VPC). Only for a demo network with well-known ids; JD Cloud's API has nothing like it.

    Each id must look like a JD id (``<prefix>-`` and 10 of ``a-z0-9``) of a resource kind the emulator makes,
    and be neither in use nor already preset; ``POST /reset`` forgets the presets.
    """
    cloud = request.app.state.cloud
    pattern = re.compile(rf"^([a-z]+)-[a-z0-9]{{{IdFactory.ID_LENGTH}}}$")
    prefixes = _id_prefixes()
    for resource_id in body.ids:
        match = pattern.match(resource_id)
        if match is None or match.group(1) not in prefixes:
            raise HTTPException(
                status_code=422,
                detail=f"{resource_id!r} is not a resource id: <prefix>-<{IdFactory.ID_LENGTH} of a-z0-9>, "
                f"prefix one of {sorted(prefixes)}",
            )
    taken = cloud.state.all_ids() | set(cloud.ids.presets())
    clashes = sorted({i for i in body.ids if i in taken or body.ids.count(i) > 1})
    if clashes:
        raise HTTPException(status_code=409, detail=f"ids already in use or preset: {clashes}")
    for resource_id in body.ids:
        cloud.ids.preset(resource_id)
    return {"preset": cloud.ids.presets()}


@control_router.get("/state")
def dump_state(request: Request) -> dict:
    """Every resource as the API renders it, plus each tunnel's negotiation verdict."""
    cloud = request.app.state.cloud
    cloud.before_request()
    state = cloud.state
    return {
        "vpcs": [cloud.vpc.vpc_json(v) for v in state.vpcs.values()],
        "routeTables": [cloud.vpc.route_table_json(t) for t in state.route_tables.values()],
        "instances": [cloud.vm.instance_json(i) for i in state.instances.values()],
        "bgws": [cloud.bgw.bgw_json(b) for b in state.bgws.values()],
        "vpcAttachments": [cloud.bgw.vpc_attachment_json(a) for a in state.vpc_attachments.values()],
        "customerGateways": [c.to_json() for c in state.customer_gateways.values()],
        "vpnConnections": [cloud.bgw.vpn_connection_json(c) for c in state.vpn_connections.values()],
        "vpnTunnels": [
            cloud.bgw.vpn_tunnel_json(t) | {"regionId": t.region_id, "negotiation": cloud.dataplane.mismatch(t)}
            for t in state.vpn_tunnels.values()
        ],
        "bgwRoutes": [r.to_json() | {"regionId": r.region_id} for r in state.bgw_routes.values()],
        "commands": [c.to_json() | {"regionId": c.region_id} for c in state.commands.values()],
        "invocations": [cloud.assistant.invocation_json(i) for i in state.invocations.values()],
    }


@control_router.get("/requests")
def list_requests(request: Request, operation: str | None = None, service: str | None = None, since: float = 0) -> dict:
    entries = [
        asdict(e)
        for e in request.app.state.request_log.entries()
        if e.time >= since and operation in (None, e.operation) and service in (None, e.service)
    ]
    return {"requests": entries, "count": len(entries)}


@control_router.get("/requests/in-flight")
def list_requests_in_flight(request: Request, operation: str | None = None) -> dict:
    """Requests received and routed but not answered yet (e.g. held by a ``slow_response`` fault)."""
    entries = [asdict(e) for e in request.app.state.request_log.in_flight() if operation in (None, e.operation)]
    return {"requests": entries, "count": len(entries)}


@control_router.delete("/requests")
def clear_requests(request: Request) -> dict:
    request.app.state.request_log.clear()
    return {"cleared": True}


@control_router.get("/faults")
def get_faults(request: Request) -> dict:
    return request.app.state.cloud.faults.to_json()


@control_router.put("/faults")
def put_faults(config: FaultConfig, request: Request) -> dict:
    """Replace every fault with ``config``."""
    request.app.state.cloud.faults.apply(config)
    return request.app.state.cloud.faults.to_json()


@control_router.patch("/faults")
def patch_faults(update: dict, request: Request) -> dict:
    """Change only the given fault fields."""
    faults = request.app.state.cloud.faults
    try:
        merged = FaultConfig.model_validate(faults.config.model_dump() | update)
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    faults.apply(merged)
    return faults.to_json()


@control_router.delete("/faults")
def clear_faults(request: Request) -> dict:
    request.app.state.cloud.faults.apply(FaultConfig())
    return request.app.state.cloud.faults.to_json()


@control_router.get("/latencies")
def get_latencies(request: Request) -> dict:
    settings = request.app.state.cloud.settings
    return {"time_scale": settings.time_scale, "latencies": settings.latencies}


@control_router.patch("/latencies")
def patch_latencies(update: LatencyUpdate, request: Request) -> dict:
    settings = request.app.state.cloud.settings
    unknown = set(update.latencies) - set(DEFAULT_LATENCIES)
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown latencies: {sorted(unknown)}")
    settings.latencies.update(update.latencies)
    if update.time_scale is not None:
        settings.time_scale = update.time_scale
    return {"time_scale": settings.time_scale, "latencies": settings.latencies}
