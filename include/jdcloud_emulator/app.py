"""The FastAPI application: one catch-all API route that authenticates, routes and renders the envelope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from include.jdcloud_emulator import auth, urls
from include.jdcloud_emulator.cloud import EmulatedCloud
from include.jdcloud_emulator.control import LoggedRequest, RequestLog, control_router
from include.jdcloud_emulator.exceptions import (
    InternalError,
    InvalidArgument,
    JdcloudApiError,
    NotFound,
    RateLimited,
    SourceUnavailable,
    Unavailable,
)
from include.jdcloud_emulator.faults import FaultConfig, Faults
from include.jdcloud_emulator.settings import REGIONS, EmulatorSettings

REQUEST_ID_HEADER = "x-jdcloud-request-id"
_ERRORS_BY_CODE: dict[int, type[JdcloudApiError]] = {500: InternalError, 502: SourceUnavailable, 503: Unavailable}


def new_request_id() -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))


def parse_query(query: str) -> dict[str, Any]:
    """Turn ``filters.1.name=a&filters.1.values.1=b&ids.1=x`` into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InvalidArgument(f"query parameter {key} conflicts with another parameter")
        node[parts[-1]] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _envelope(request_id: str, status_code: int, payload: dict) -> JSONResponse:
    return JSONResponse(
        {"requestId": request_id, **payload}, status_code=status_code, headers={REQUEST_ID_HEADER: request_id}
    )


def create_app(settings: EmulatorSettings | None = None, faults: FaultConfig | None = None) -> FastAPI:
    """Build an emulator app; the emulated cloud lives on ``app.state.cloud``."""
    settings = settings or EmulatorSettings()
    cloud = EmulatedCloud(settings, Faults(faults, seed=settings.seed))
    request_log = RequestLog()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        cloud.close()  # uvicorn re-raises SIGTERM/SIGINT after shutdown: the real data plane is released here

    app = FastAPI(
        title="JD Cloud API emulator",
        docs_url="/emulator-api/docs",
        openapi_url="/emulator-api/openapi.json",
        lifespan=lifespan,
    )
    app.state.cloud = cloud
    app.state.request_log = request_log
    app.include_router(control_router)
    credentials = {settings.access_key: settings.secret_key}

    @app.api_route("/{full_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def api(request: Request, full_path: str) -> Response:
        request_id = new_request_id()
        started = time.time()
        path = request.scope["raw_path"].decode()
        service, operation, http_status = "", "", 500
        try:
            body = await request.body()
            caller = auth.verify(
                credentials,
                method=request.method,
                path=path,
                query=request.scope["query_string"].decode(),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
            service = caller.service
            found = urls.match(request.method, request.url.path)
            if found is None:
                raise NotFound(f"api {request.method} {request.url.path} not found")
            route, path_params = found
            operation, service = route.operation.name, route.operation.service
            request_log.begin(_logged(started, service, operation, request, 0, request_id))
            result, dropped = await _dispatch(cloud, route, path_params, request, body)
            http_status = 504 if dropped else 200
            if dropped:
                return PlainTextResponse("upstream request timeout", status_code=504)
            return _envelope(request_id, 200, {"result": result})
        except JdcloudApiError as error:
            http_status = error.http_code
            return _envelope(request_id, error.http_code, {"error": error.to_json()})
        finally:
            request_log.add(_logged(started, service, operation, request, http_status, request_id))

    return app


def _logged(
    started: float, service: str, operation: str, request: Request, status: int, request_id: str
) -> LoggedRequest:
    client = f"{request.client.host}:{request.client.port}" if request.client else ""
    return LoggedRequest(started, service, operation, request.method, request.url.path, status, request_id, client)


async def _dispatch(
    cloud: EmulatedCloud, route: urls.Route, path_params: dict, request: Request, body: bytes
) -> tuple[dict, bool]:
    """Apply faults, run the handler and commit; returns (result, response_dropped)."""
    operation = route.operation.name
    faults = cloud.faults
    if not faults.allow_call(route.operation.service, time.time()):
        limit, window_s = faults.config.rate_limit_per_minute, faults.config.rate_limit_window_s
        per = "minute" if window_s == 60 else f"{window_s:g} s"
        raise RateLimited(f"requests too frequent: over {limit} calls/{per}")
    fault = faults.take_operation_fault(operation)
    if fault is not None and fault.kind == "rate_limit":
        raise RateLimited(f"injected fault: requests too frequent for {operation}")
    if fault is not None and fault.kind == "server_error":
        raise Unavailable(f"injected fault: {operation} is temporarily unavailable")
    injected = faults.injected_error_code(operation)
    if injected:
        error = _ERRORS_BY_CODE.get(injected, Unavailable)(f"injected fault: {operation} failed")
        error.http_code = injected
        raise error
    delay = faults.added_latency_s(operation)
    if delay:
        await asyncio.sleep(delay)
    try:
        result = _apply(cloud, route, path_params, request, body)
    finally:
        if fault is not None and fault.kind == "slow_response":  # applied (or refused), then answered late
            await asyncio.sleep(fault.delay_s)
    if fault is not None and fault.kind == "applied_server_error":  # committed, then a JSON 500
        raise InternalError(f"injected fault: {operation} failed after it was applied")
    return result


def _apply(
    cloud: EmulatedCloud, route: urls.Route, path_params: dict, request: Request, body: bytes
) -> tuple[dict, bool]:
    params = _request_params(request, body)
    params.update(path_params)
    region = path_params["regionId"]
    if region not in REGIONS:
        raise InvalidArgument(f"regionId {region} is not a supported region: {', '.join(REGIONS)}")
    with cloud.lock:
        cloud.before_request()
        result = route.handler(cloud, region, params)
        if not route.read_only:
            cloud.after_change()
            return result, cloud.faults.take_drop(route.operation.name)
        return result, False


def _request_params(request: Request, body: bytes) -> dict:
    if request.method in ("GET", "DELETE"):
        return parse_query(request.scope["query_string"].decode())
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidArgument("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgument("request body must be a JSON object")
    return _drop_nulls(data)
