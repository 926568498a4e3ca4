"""The emulator as a subprocess (``python -m include.jdcloud_emulator``), and how a client reaches any emulator.

:class:`EmulatorProcess` starts the CLI on a free port, waits until ``/emulator-api/health`` answers and stops it
again; ``make run`` (``scripts/run_demo.py``), SRE rehearsals and the tests that need a real process use it::

    with EmulatorProcess(time_scale=0.05, log_path="emulator.log") as emulator:
        os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"] = emulator.connection_json()
        ...

:func:`connection_json` is the Airflow connection (``jdcloud`` type) for an emulator, the one definition used by
:class:`EmulatorProcess`, by the in-thread emulator (``server.RunningEmulator``) and by the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "cn-north-1"
HEALTH_PATH = "/emulator-api/health"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def connection_json(
    endpoint: str,
    access_key: str = DEMO_ACCESS_KEY,
    secret_key: str = DEMO_SECRET_KEY,
    *,
    region: str = DEFAULT_REGION,
) -> str:
    """The Airflow connection for an emulator at ``endpoint`` (host:port), as ``AIRFLOW_CONN_<ID>`` takes it."""
    return json.dumps(
        {
            "conn_type": "jdcloud",
            "login": access_key,
            "password": secret_key,
            "extra": {"endpoint": endpoint, "scheme": "http", "region": region},
        }
    )


class EmulatorAddress:
    """Where an emulator listens and the key pair it accepts (``host``, ``port``, ``access_key``, ``secret_key``)."""

    host: str
    port: int
    access_key: str
    secret_key: str

    @property
    def endpoint(self) -> str:
        """``host:port``, as the SDK's ``Config`` and the connection's ``extra.endpoint`` want it."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def connection_json(self, region: str = DEFAULT_REGION) -> str:
        """The Airflow connection for this emulator, signed with its key pair."""
        return connection_json(self.endpoint, self.access_key, self.secret_key, region=region)


class EmulatorStartError(RuntimeError):
    """The emulator process exited or did not answer its health check before the deadline."""


def log_tail(path: Path | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a process's output file."""
    if path is None:
        return "(no output kept)"
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


class EmulatorProcess(EmulatorAddress):
    """``python -m include.jdcloud_emulator`` as a subprocess on a free port (or ``port``).

    Output goes to ``log_path`` (stdout and stderr), or to ``stdout_path`` and ``stderr_path``, or when none is
    given to a temporary file removed by :meth:`stop`. ``args`` are more CLI flags (``--state``, ``--faults``,
    ``--seed``); ``dataplane`` is ``model`` or ``real`` (``--dataplane``); ``env`` replaces the inherited
    environment (the repo is put on ``PYTHONPATH`` either way);
    ``start_new_session`` and ``preexec_fn`` are passed to :class:`subprocess.Popen`.

    :meth:`start` (or ``with``) launches it and waits for ``/emulator-api/health``; :meth:`stop` SIGTERMs it,
    SIGKILLs it after a timeout. It can be started again after a stop (same port, same output files).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        time_scale: float = 1.0,
        dataplane: str = "model",
        access_key: str = DEMO_ACCESS_KEY,
        secret_key: str = DEMO_SECRET_KEY,
        log_level: str = "warning",
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_path: str | Path | None = None,
        stdout_path: str | Path | None = None,
        stderr_path: str | Path | None = None,
        cwd: str | Path = REPO,
        start_new_session: bool = False,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        if log_path is not None and (stdout_path is not None or stderr_path is not None):
            raise ValueError("give log_path (stdout and stderr together) or stdout_path and stderr_path, not both")
        if (stdout_path is None) != (stderr_path is None):
            raise ValueError("stdout_path and stderr_path go together (or use log_path for both)")
        self.host = host
        self.port = port or free_port(host)
        self.access_key = access_key
        self.secret_key = secret_key
        self.time_scale = time_scale
        self.command = [
            sys.executable,
            "-m",
            "include.jdcloud_emulator",
            "--host",
            host,
            "--port",
            str(self.port),
            "--time-scale",
            str(time_scale),
            "--access-key",
            access_key,
            "--secret-key",
            secret_key,
            "--log-level",
            log_level,
            "--dataplane",
            dataplane,
            *args,
        ]
        self.env = _with_repo_on_pythonpath(os.environ if env is None else env)
        self.cwd = Path(cwd)
        stdout_path = stdout_path if stdout_path is not None else log_path
        self.stdout_path = Path(stdout_path) if stdout_path is not None else None
        self.stderr_path = Path(stderr_path) if stderr_path is not None else None  # None: into stdout_path
        self._temporary_log = self.stdout_path is None
        self.start_new_session = start_new_session
        self.preexec_fn = preexec_fn
        self.popen: subprocess.Popen | None = None

    def __repr__(self) -> str:
        return f"EmulatorProcess(url={self.url!r}, pid={self.pid}, returncode={self.returncode})"

    def __enter__(self) -> EmulatorProcess:
        if not self.alive():
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal), else None."""
        return self.popen.poll() if self.popen is not None else None

    @property
    def output_paths(self) -> list[Path]:
        """The files the process writes to (stdout, then stderr when separate)."""
        return [p for p in (self.stdout_path, self.stderr_path) if p is not None]

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self, timeout: float = 30) -> dict[str, Any]:
        """Launch the process and wait until it answers ``/emulator-api/health``; return that answer.

        Raises :class:`EmulatorStartError` (with the exit status and the output's tail) as soon as the process
        exits, or when ``timeout`` seconds pass; the process is stopped first.
        """
        if self.alive():
            raise RuntimeError(f"the emulator is already running (pid {self.pid})")
        if self.stdout_path is None:  # no output file given: a temporary one, removed by stop()
            handle, name = tempfile.mkstemp(prefix="jdcloud-emulator-", suffix=".log")
            os.close(handle)
            self.stdout_path = Path(name)
        with contextlib.ExitStack() as files:
            stdout = files.enter_context(self.stdout_path.open("wb"))
            stderr = files.enter_context(self.stderr_path.open("wb")) if self.stderr_path else subprocess.STDOUT
            self.popen = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=self.start_new_session,
                preexec_fn=self.preexec_fn,
            )
        try:
            return self._wait_healthy(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, deadline: float) -> dict[str, Any]:
        while True:
            if not self.alive():
                raise EmulatorStartError(self.describe_exit())
            try:
                response = httpx.get(f"{self.url}{HEALTH_PATH}", timeout=1)
                if response.status_code == 200:
                    return response.json()
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise EmulatorStartError(
                    f"the emulator (pid {self.pid}) did not answer on {self.url}{HEALTH_PATH} in time\n"
                    + self._output_tails()
                )
            time.sleep(0.05)  # a process starting up: nothing to poll but the socket

    def describe_exit(self) -> str:
        """How the process ended, with the tail of its output (for error messages)."""
        return f"the emulator (pid {self.pid}) exited with status {self.returncode}\n" + self._output_tails()

    def _output_tails(self) -> str:
        if self.stderr_path is None:
            return f"--- output tail ---\n{log_tail(self.stdout_path)}"
        return f"--- stderr tail ---\n{log_tail(self.stderr_path)}\n--- stdout tail ---\n{log_tail(self.stdout_path)}"

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM the process, wait up to ``timeout`` seconds, then SIGKILL it; return its exit status."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self._temporary_log and self.stdout_path is not None:
            self.stdout_path.unlink(missing_ok=True)
            self.stdout_path = None
        return self.returncode

    def kill(self) -> int | None:
        """SIGKILL the process (a crash: no shutdown), wait for it; return its exit status."""
        if self.alive():
            self.popen.kill()
            self.popen.wait()
        return self.returncode


def _with_repo_on_pythonpath(env: Mapping[str, str]) -> dict[str, str]:
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO) not in paths:
        paths.insert(0, str(REPO))
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}
