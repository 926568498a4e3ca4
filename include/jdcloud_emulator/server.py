"""Run the emulator in a background thread on a free port (pytest fixtures, scripts, the demo)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from include.jdcloud_emulator.app import create_app
from include.jdcloud_emulator.faults import FaultConfig
from include.jdcloud_emulator.process import EmulatorAddress, free_port
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings


@dataclass
class RunningEmulator(EmulatorAddress):
    """A live emulator: its ``endpoint`` (host:port, as the SDK's Config wants it), key pair and app."""

    host: str
    port: int
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    access_key: str = DEMO_ACCESS_KEY
    secret_key: str = field(default=DEMO_SECRET_KEY, repr=False)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.cloud.close()


def start_in_thread(
    settings: EmulatorSettings | None = None,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> RunningEmulator:
    """Start an emulator and return once it accepts connections."""
    settings = settings or EmulatorSettings()
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
    return RunningEmulator(
        host=host,
        port=port,
        app=app,
        server=server,
        thread=thread,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
    )
