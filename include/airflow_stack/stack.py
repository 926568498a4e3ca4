"""Real Airflow components and the JD Cloud API emulator on loopback, each a process with a known PID.

:class:`RealAirflow` starts, in this order and each with a deadline:

1. the emulator (``python -m include.jdcloud_emulator``) on a free 127.0.0.1 port, with its own access and
   secret key and a small ``--time-scale``; its stdout/stderr go to files;
2. ``airflow db migrate`` in ``<base_dir>/airflow_home`` (SQLite: one user on one machine; SQLite serialises
   writers, which the LocalExecutor's few workers tolerate);
3. the four components as separate processes, like ``airflow standalone`` but with known PIDs and every
   port on 127.0.0.1: ``api-server`` (one worker, REST + Execution API), ``scheduler`` (LocalExecutor,
   ``[core] parallelism`` 4), ``dag-processor`` and ``triggerer``; the log servers are skipped
   (``--skip-serve-logs``: the api-server reads the task logs from the same disk), so no 0.0.0.0 port opens.

Every component gets ``PATH`` with the venv's ``bin`` first (``airflow`` is started by name), ``PYTHONPATH``
= the repo, ``AIRFLOW__CORE__DAGS_FOLDER`` = ``dags/``, the repo's ``plugins/``, DAGs unpaused at creation,
no examples, ``AIRFLOW_CONN_JDCLOUD_DEFAULT`` pointing at the emulator, a shared JWT secret and fernet key,
SimpleAuthManager with one ``admin`` user, a task-instance heartbeat timeout of ``heartbeat_timeout_s``
(workers heartbeat every 2 s) so a killed worker is detected quickly.

With ``persistent=True`` a second stack on the same ``base_dir`` takes over the first one's state: the
metadata DB, the emulator's resources (``emulator.sqlite``) and the secrets (``stack-secrets.json``, mode
0600: the fernet key that encrypted the Variables, the admin password, the emulator's key pair).

:meth:`RealAirflow.stop` SIGTERMs the components, waits, then SIGKILLs whatever is left in the components'
sessions (LocalExecutor workers, task runners, the trigger runner, reparented orphans included), so nothing
outlives the stack; each component also gets SIGTERM if the starting process dies (``PR_SET_PDEATHSIG``).

Use it as a context manager or call ``start()``/``stop()``; ``tests/realexec/`` and ``python -m
include.airflow_stack`` (``make airflow``) do.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from cryptography.fernet import Fernet

from include.jdcloud_emulator.process import EmulatorProcess, EmulatorStartError, free_port, log_tail
from include.jdcloud_vpn.conf import WaitConf

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # .venv/bin when run as .venv/bin/python
INTERCONNECT_DAG = "jdcloud_vpn_interconnect"
TEARDOWN_DAG = "jdcloud_vpn_teardown"
PREFLIGHT_DAG = "jdcloud_vpn_preflight"
STACK_MARKER = "JDCLOUD_AIRFLOW_STACK"
SECRETS_FILE = "stack-secrets.json"
FINISHED_RUN_STATES = ("success", "failed")
FINISHED_TI_STATES = ("success", "failed", "skipped", "upstream_failed", "removed")


def uniform_waits(timeout_s: float, poll_interval_s: float) -> dict[str, dict[str, float]]:
    """The conf's ``timeouts``: every wait (sensors and pings) with the same bounds."""
    return {wait: {"timeout_s": timeout_s, "poll_interval_s": poll_interval_s} for wait in WaitConf.model_fields}


# Simulated waits are short at a small time scale; poll the sensors/triggers often.
FAST_WAITS = uniform_waits(timeout_s=60, poll_interval_s=0.3)


class StackError(RuntimeError):
    """A component did not start or exited, a deadline passed, or an API call failed."""


def strong_secret(prefix: str = "", nbytes: int = 18) -> str:
    """A random credential-like value (URL-safe, no character a log formatter would escape)."""
    return prefix + secrets.token_urlsafe(nbytes).replace("-", "x").replace("_", "y")


@dataclass
class Component:
    """One long-running process started by the stack."""

    name: str
    popen: subprocess.Popen
    stdout: Path
    stderr: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def describe_exit(self) -> str:
        return (
            f"{self.name} (pid {self.popen.pid}) exited with {self.popen.returncode}\n"
            f"--- stderr tail ---\n{log_tail(self.stderr)}\n--- stdout tail ---\n{log_tail(self.stdout)}"
        )


@dataclass
class RealAirflow:
    """Real Airflow components plus the emulator; see the module docstring.

    :param api_port: the api-server's port on 127.0.0.1 (None: a free one)
    :param persistent: take over the state and secrets a stack left in ``base_dir`` (see the module docstring)
    """

    base_dir: Path
    access_key: str = field(default_factory=lambda: strong_secret("JDC_RX_", 12))
    secret_key: str = field(default_factory=lambda: strong_secret("sk-", 24), repr=False)
    time_scale: float = 0.02
    parallelism: int = 4
    heartbeat_timeout_s: int = 10
    extra_env: Mapping[str, str] = field(default_factory=dict)
    start_timeout_s: float = 180.0
    api_port: int | None = None
    persistent: bool = False

    def __post_init__(self) -> None:
        self.base_dir = Path(self.base_dir)
        self.home = self.base_dir / "airflow_home"
        self.logs_dir = self.home / "logs"
        self.report_dir = self.base_dir / "reports"
        self.proc_dir = self.base_dir / "processes"
        self.marker = uuid.uuid4().hex
        self.api_port = self.api_port or free_port()
        self.components: list[Component] = []
        # Shared by every component: tokens the scheduler signs must verify in the api-server.
        stack_secrets = {
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "admin_password": secrets.token_urlsafe(16),
            "jwt_secret": secrets.token_urlsafe(32),
            "api_secret": secrets.token_urlsafe(32),
            "fernet_key": Fernet.generate_key().decode(),
        }
        if self.persistent:
            stack_secrets = _load_or_store_secrets(self.base_dir / SECRETS_FILE, stack_secrets)
        self.access_key, self.secret_key = stack_secrets["access_key"], stack_secrets["secret_key"]
        self.admin_password = stack_secrets["admin_password"]
        self._jwt_secret = stack_secrets["jwt_secret"]
        self._api_secret = stack_secrets["api_secret"]
        self._fernet_key = stack_secrets["fernet_key"]
        # Its stdout/stderr are artifacts the secret scan searches; uvicorn's access log ("info") is one more.
        self.emulator = EmulatorProcess(
            host="127.0.0.1",
            time_scale=self.time_scale,
            access_key=self.access_key,
            secret_key=self.secret_key,
            log_level="info",
            args=["--state", str(self.emulator_state_path)] if self.persistent else [],
            env={**self._process_env(), **{k: v for k, v in self.extra_env.items() if not k.startswith("AIRFLOW")}},
            stdout_path=self.proc_dir / "emulator.out",
            stderr_path=self.proc_dir / "emulator.err",
            cwd=self.base_dir,
            start_new_session=True,  # like every component: see _spawn()
            preexec_fn=_term_with_parent,
        )
        self._api: httpx.Client | None = None
        self._token: str | None = None
        self._sessions: set[int] = set()  # session ids of the components (start_new_session)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> RealAirflow:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

    @property
    def emulator_state_path(self) -> Path:
        """The emulator's SQLite state file (used when ``persistent``)."""
        return self.base_dir / "emulator.sqlite"

    def _process_env(self) -> dict[str, str]:
        """The environment of every process started (the emulator's too): no AIRFLOW* variable leaks in."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        base.update(
            {
                "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
                STACK_MARKER: self.marker,
            }
        )
        return base

    def env(self) -> dict[str, str]:
        """The environment of every Airflow process."""
        base = self._process_env()
        base.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__FERNET_KEY": self._fernet_key,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": self._api_secret,
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout_s),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW_CONN_JDCLOUD_DEFAULT": self.emulator.connection_json(),
            }
        )
        base.update(self.extra_env)
        return base

    def start(self) -> None:
        """Start the emulator, migrate the DB, start the components; raise (after cleaning up) on failure."""
        for directory in (self.home, self.report_dir, self.proc_dir):
            directory.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({"admin": self.admin_password}) + "\n")
        deadline = time.monotonic() + self.start_timeout_s
        try:
            self._start_emulator(deadline)
            self.cli("db", "migrate", timeout=max(30.0, deadline - time.monotonic()))
            self.components.append(self._spawn("api-server", ["airflow", "api-server", "--workers", "1"]))
            self.components.append(self._spawn("scheduler", ["airflow", "scheduler", "--skip-serve-logs"]))
            self.components.append(self._spawn("dag-processor", ["airflow", "dag-processor"]))
            self.components.append(self._spawn("triggerer", ["airflow", "triggerer", "--skip-serve-logs"]))
            self._wait_healthy(deadline)
            self.wait_for_dag(INTERCONNECT_DAG, deadline=deadline)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, argv: list[str]) -> Component:
        stdout, stderr = self.proc_dir / f"{name}.out", self.proc_dir / f"{name}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            popen = subprocess.Popen(
                argv,
                cwd=self.base_dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # a terminal's ^C reaches the starting process only; stop() ends them
                preexec_fn=_term_with_parent,
            )
        self._sessions.add(popen.pid)
        return Component(name, popen, stdout, stderr)

    def _start_emulator(self, deadline: float) -> None:
        try:
            self.emulator.start(timeout=max(1.0, deadline - time.monotonic()))
        except EmulatorStartError as error:
            raise StackError(str(error)) from error
        self._sessions.add(self.emulator.pid)

    def check_components(self) -> None:
        """Raise :class:`StackError` (with its output's tail) when a component has exited."""
        for component in self.components:
            if not component.alive():
                raise StackError(component.describe_exit())

    def _wait_healthy(self, deadline: float) -> None:
        last: Any = None
        while time.monotonic() < deadline:
            self.check_components()
            try:
                response = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5)
                last = response.json() if response.status_code == 200 else response.text
                if response.status_code == 200 and all(
                    (last.get(part) or {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                ):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1)
        raise StackError(f"Airflow did not become healthy in time; last health: {last}")

    def wait_for_dag(self, dag_id: str, *, deadline: float | None = None, timeout: float = 120) -> dict:
        """Wait until the dag-processor has parsed ``dag_id`` (and it is unpaused); fail on an import error."""
        deadline = deadline or time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_components()
            errors = self.api("GET", "/api/v2/importErrors").json().get("import_errors", [])
            if errors:
                raise StackError(f"DAG import errors: {json.dumps(errors, indent=1)[:3000]}")
            response = self.api("GET", f"/api/v2/dags/{dag_id}", check=False)
            if response.status_code == 200:
                dag = response.json()
                if dag.get("is_paused"):
                    self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
                    continue
                return dag
            time.sleep(1)
        raise StackError(f"DAG {dag_id} was not parsed in time")

    def stop(self, grace_s: float = 20.0) -> list[int]:
        """SIGTERM the components (emulator last), wait, SIGKILL leftovers; return the PIDs SIGKILLed."""
        if self._api is not None:
            self._api.close()
            self._api = None
        procs = self.processes()
        for component in self.components:
            if component.alive():
                _signal(component.popen.pid, signal.SIGTERM)
        _wait_all([c.popen for c in self.components], grace_s)
        self.emulator.stop(timeout=10)
        killed: list[psutil.Process] = []
        for proc in procs + self.processes():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    proc.send_signal(signal.SIGKILL)
                    killed.append(proc)
            except psutil.Error:
                pass
        psutil.wait_procs(killed, timeout=10)
        for component in self.components:
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.popen.wait(timeout=10)
        self.components = []
        return sorted({p.pid for p in killed})

    def processes(self) -> list[psutil.Process]:
        """Every live process started by this stack.

        A component runs in its own session, which its descendants inherit (LocalExecutor workers, task
        runners, the trigger runner, also once reparented); the environment marker is a second check, but
        ``setproctitle`` clobbers ``/proc/<pid>/environ`` of the processes it renames.
        """
        sessions = set(self._sessions)
        found = []
        for proc in psutil.process_iter(["pid"]):
            if proc.pid == os.getpid():
                continue
            try:
                if os.getsid(proc.pid) in sessions or proc.environ().get(STACK_MARKER) == self.marker:
                    found.append(proc)
            except (psutil.Error, OSError):
                continue
        return found

    def leftover_processes(self) -> list[str]:
        """Live (non-zombie) processes of this stack, as ``pid cmdline``; empty after :meth:`stop`."""
        left = []
        for proc in self.processes():
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            except psutil.Error:
                continue
        return left

    # ------------------------------------------------------------------ CLI and REST

    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``airflow <args>`` in the stack's environment, with a hard timeout."""
        result = subprocess.run(
            ["airflow", *args],
            cwd=self.base_dir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise StackError(f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def _client(self) -> httpx.Client:
        if self._api is None:
            self._api = httpx.Client(base_url=self.api_url, timeout=30)
        if self._token is None:
            response = self._api.post("/auth/token", json={"username": "admin", "password": self.admin_password})
            if response.status_code not in (200, 201):
                raise StackError(f"POST /auth/token: {response.status_code} {response.text[:300]}")
            self._token = response.json()["access_token"]
            self._api.headers["Authorization"] = f"Bearer {self._token}"
        return self._api

    def api(self, method: str, path: str, *, check: bool = True, **kwargs: Any) -> httpx.Response:
        """Call the public REST API as admin; SQLite "database is locked" answers are retried."""
        for attempt in range(5):
            response = self._client().request(method, path, **kwargs)
            if response.status_code == 401 and attempt == 0:
                self._token = None
                continue
            if response.status_code >= 500 and attempt < 4:
                time.sleep(0.5 * (attempt + 1))
                continue
            break
        if check and response.status_code >= 400:
            raise StackError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any]) -> dict:
        """Create a DAG run through the REST API (``POST /api/v2/dags/{dag_id}/dagRuns``)."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf)}
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body).json()

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of the run (mapped ones one per map index)."""
        items: list[dict] = []
        while True:
            page = self.api(
                "GET",
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": 100, "offset": len(items)},
            ).json()
            items.extend(page["task_instances"])
            if not page["task_instances"] or len(items) >= page["total_entries"]:
                return items

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict | None:
        suffix = f"/{map_index}" if map_index >= 0 else ""
        response = self.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}{suffix}", check=False
        )
        return response.json() if response.status_code == 200 else None

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict]:
        suffix = f"/{map_index}" if map_index >= 0 else ""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}{suffix}/tries"
        return self.api("GET", path).json()["task_instances"]

    def xcom_values(self, dag_id: str, run_id: str, key: str | None = None) -> list[dict]:
        """Every XCom of the run (or those with ``key``) with its stored value: ``task_id, map_index, key, value``."""
        entries: list[dict] = []
        while True:
            params: dict[str, Any] = {"limit": 100, "offset": len(entries)}
            if key is not None:
                params["xcom_key"] = key
            page = self.api(
                "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/~/xcomEntries", params=params
            ).json()
            entries.extend(page["xcom_entries"])
            if not page["xcom_entries"] or len(entries) >= page["total_entries"]:
                break
        values = []
        for entry in entries:
            item = self.api(
                "GET",
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{entry['task_id']}/xcomEntries/{entry['key']}",
                params={"map_index": entry["map_index"]},
            ).json()
            values.append({k: item.get(k) for k in ("task_id", "map_index", "key", "value")})
        return values

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float,
        on_poll: Callable[[dict], None] | None = None,
        interval: float = 1.0,
    ) -> dict:
        """Poll the run until it finishes; raise with the task states when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if on_poll is not None:
                on_poll(run)
            if run["state"] in FINISHED_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                states = {
                    f"{t['task_id']}[{t['map_index']}]": (t["state"], t["try_number"])
                    for t in self.task_instances(dag_id, run_id)
                }
                raise StackError(f"run {run_id} still {run['state']} after {timeout}s: {states}")
            self.check_components()
            time.sleep(interval)

    def wait_for_ti(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        predicate: Callable[[dict], bool],
        *,
        timeout: float,
        map_index: int = -1,
        interval: float = 0.2,
    ) -> dict:
        """Poll one task instance until ``predicate(ti)`` holds."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.task_instance(dag_id, run_id, task_id, map_index)
            if last is not None and predicate(last):
                return last
            time.sleep(interval)
        raise StackError(f"{task_id} of {run_id}: condition not met in {timeout}s; last: {last}")

    def variable(self, key: str) -> str:
        """``airflow variables get <key>`` (the plain value)."""
        return self.cli("variables", "get", key, timeout=60).stdout.strip()

    def db_rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """Read the SQLite metadata DB (read-only) directly."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, tuple(params)).fetchall()

    # ------------------------------------------------------------------ emulator

    def emulator_api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.emulator.url}/emulator-api{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset_emulator(self) -> None:
        self.emulator_api("DELETE", "/faults")
        self.emulator_api("POST", "/reset")

    def emulator_state(self) -> dict:
        return self.emulator_api("GET", "/state")

    def emulator_requests(self, since: float = 0, **filters: str) -> list[dict]:
        return self.emulator_api("GET", "/requests", params={"since": since, **filters})["requests"]

    def hook(self) -> Any:
        """A hook signed with the stack's credentials, talking to the emulator (no Airflow connection)."""
        from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

        return JDCloudHook.from_credentials(
            self.access_key, self.secret_key, endpoint=self.emulator.endpoint, scheme="http", retry_base_wait=0.05
        )

    def seeded_conf(self, name: str, *, ephemeral_probes: bool = False, **overrides: Any) -> dict:
        """Seed two VPCs with a subnet and a probe VM each (through the SDK) and return the demo conf.

        With ``ephemeral_probes`` no VM is seeded: the build creates the probes (``create_in_subnet``).
        """
        from include.jdcloud_vpn.demo import demo_conf, seed_site

        hook = self.hook()
        seeded = {side: seed_site(hook, side, name=name, with_probe=not ephemeral_probes) for side in ("home", "peer")}
        conf_overrides = {
            "name": name,
            "timeouts": FAST_WAITS,
            "report_dir": str(self.report_dir / name),
            "psk_secret": {"variable": f"jdcloud_vpn_psk_secret_{name}"},
            **overrides,
        }
        return demo_conf(seeded, **conf_overrides)


def _term_with_parent() -> None:
    """In the child before exec: SIGTERM it if the starting process dies without calling stop() (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_all(popens: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for popen in popens:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=max(0.1, deadline - time.monotonic()))


def _load_or_store_secrets(path: Path, generated: dict[str, str]) -> dict[str, str]:
    """The secrets stored at ``path`` (any missing one from ``generated``), written back with mode 0600."""
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    merged = {key: stored.get(key) or value for key, value in generated.items()}
    if merged != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(merged, handle, indent=1)
    return merged
