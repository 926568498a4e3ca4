"""Shared fixtures: a scripted loopback HTTP server that speaks the JD Cloud response envelope."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class ScriptedApi:
    """Answers requests with queued ``(http_status, body)`` pairs, then with an empty success."""

    endpoint: str
    replies: list[tuple[int, str]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)

    def reply(self, result: dict[str, Any] | None = None, *, request_id: str = "req-ok") -> None:
        """Queue a success envelope."""
        self.replies.append((200, json.dumps({"requestId": request_id, "result": result or {}})))

    def fail(self, code: int, status: str, message: str, *, request_id: str = "req-err") -> None:
        """Queue an error envelope."""
        error = {"code": code, "status": status, "message": message}
        self.replies.append((code, json.dumps({"requestId": request_id, "error": error})))

    def raw(self, code: int, body: str) -> None:
        """Queue a body that is not a JD Cloud envelope."""
        self.replies.append((code, body))

    def json_body(self, index: int) -> dict[str, Any]:
        """Return the JSON body of the ``index``-th request."""
        return json.loads(self.requests[index].body)


def _handler_for(api: ScriptedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            api.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), body))
            code, payload = api.replies.pop(0) if api.replies else (200, '{"requestId": "req-default"}')
            data = payload.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean."""

    return Handler


@pytest.fixture
def api_server() -> Iterator[ScriptedApi]:
    """Run a scripted JD Cloud API on 127.0.0.1 for one test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    api = ScriptedApi(endpoint=f"127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler_for(api)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook(api_server: ScriptedApi) -> JDCloudHook:
    """A hook pointed at the scripted API, with millisecond backoffs."""
    return JDCloudHook.from_credentials(
        "AK-TEST",
        "SK-TEST-SECRET",
        endpoint=api_server.endpoint,
        scheme="http",
        region="cn-north-1",
        timeout=5,
        max_attempts=4,
        retry_base_wait=0.001,
        retry_max_wait=0.01,
    )
