"""Run the emulator in a background thread on a free port (pytest fixtures, scripts, the demo)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from include.jdcloud_emulator.app import create_app
from include.jdcloud_emulator.faults import FaultConfig
from include.jdcloud_emulator.settings import EmulatorSettings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class RunningEmulator:
    """A live emulator: its ``endpoint`` (host:port, as the SDK's Config wants it) and its app."""

    host: str
    port: int
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(
    settings: EmulatorSettings | None = None,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> RunningEmulator:
    """Start an emulator and return once it accepts connections."""
    app = create_app(settings, faults)
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"jdcloud-emulator-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the emulator did not start on {host}:{port}")
        time.sleep(0.01)
    return RunningEmulator(host=host, port=port, app=app, server=server, thread=thread)
