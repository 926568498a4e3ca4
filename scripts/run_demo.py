"""End-to-end demo: connect two emulated JD Cloud VPCs over IPsec VPN with the interconnect DAG.

Runs on a fresh machine with nothing but the virtualenv (``make run``):

1. a throw-away AIRFLOW_HOME and ``airflow db migrate`` (SQLite), in the background;
2. the JD Cloud API emulator as a subprocess (``python -m include.jdcloud_emulator``) on a free port;
3. two VPCs seeded through the real jdcloud-sdk (cn-north-1 10.10.0.0/16, cn-east-2 10.20.0.0/16), a subnet
   and a probe VM each; the conf ``include/interconnect.demo.json`` with their ids is written to the report dir;
4. the DAG ``jdcloud_vpn_interconnect`` run in this process with ``dag.test()`` against the emulator, one
   progress line per finished task (from the listener in ``plugins/step_progress.py``);
5. a summary read from the run's JSON report (steps, resource ids, both pings) and the emulator's request
   log, then the emulator is stopped.

Exit status 0 only when both pings passed. Airflow's own log output goes to ``<report-dir>/airflow.log``,
the emulator's to ``<report-dir>/emulator.log``.

Usage: ``PYTHONPATH=. .venv/bin/python scripts/run_demo.py [--time-scale 0.05] [--report-dir reports/demo]
[--keep-emulator] [--airflow-home DIR] [--timeout 300]`` (``make run DEMO_ARGS="..."``)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from include.jdcloud_emulator.process import EmulatorProcess  # noqa: E402
from include.jdcloud_emulator.settings import DATAPLANES  # noqa: E402
from include.jdcloud_vpn.dagtest import parsed_dag_callbacks  # noqa: E402
from include.jdcloud_vpn.naming import DIRECTIONS  # noqa: E402

DAG_ID = "jdcloud_vpn_interconnect"
PROGRESS_LOGGER = "jdcloud_vpn.step_progress"  # plugins/step_progress.py
LABEL_WIDTH = 52


class Console:
    """Progress output on the real stdout, stamped with the seconds since the demo started."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def event(self, text: str) -> None:
        self.line(f"[{self.elapsed():6.1f}s] {text}")

    def step(self, label: str, state: str, detail: str = "") -> None:
        dots = "." * max(LABEL_WIDTH - len(label), 3)
        self.event(f"{label} {dots} {state}{f' ({detail})' if detail else ''}")


class ProgressHandler(logging.Handler):
    """Turn the step-progress listener's records into console lines."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console
        self.seen: dict[tuple[str, int], int] = {}  # (task_id, map_index) -> finishing order

    def emit(self, record: logging.LogRecord) -> None:
        step = getattr(record, "step", None)
        if not isinstance(step, dict):
            return
        self.seen.setdefault((step["task_id"], step["map_index"]), len(self.seen))
        detail = [f"try {step['try_number']}"]
        if step.get("duration_s") is not None:
            detail.append(f"{step['duration_s']:.1f}s")
        if step.get("error"):
            detail.append(step["error"])
        self.console.step(step["label"], step["state"], ", ".join(detail))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_demo.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--time-scale", type=float, default=0.05, help="emulator latency multiplier (default 0.05: VM boot 2 s)"
    )
    parser.add_argument("--report-dir", default="reports/demo", help="reports, conf and logs (default reports/demo)")
    parser.add_argument(
        "--keep-emulator", action="store_true", help="leave the emulator running at the end (prints its URL and pid)"
    )
    parser.add_argument(
        "--airflow-home", help="Airflow home to use (default: a temporary directory, removed at the end)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="give up on the DAG run after this many seconds")
    parser.add_argument(
        "--dataplane",
        choices=DATAPLANES,
        default="model",
        help="the emulator's data plane: model (rules) or real (namespaces, strongSwan, ping; root)",
    )
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    return args


def airflow_env(airflow_home: Path) -> dict[str, str]:
    """Settings for Airflow in this process and in ``airflow db migrate``."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }


def write_airflow_cfg(airflow_home: Path) -> None:
    """Create ``airflow.cfg`` before any Airflow process starts.

    Only the ``airflow`` CLI writes a default config, so ``airflow db migrate`` (started in the background)
    would be writing it while this process reads it; the keys also have to outlive a reused ``--airflow-home``.
    """
    path = airflow_home / "airflow.cfg"
    if path.exists():
        return
    from base64 import b64encode

    from cryptography.fernet import Fernet

    path.write_text(
        "# Written by scripts/run_demo.py; every other setting comes from AIRFLOW__* environment variables.\n"
        f"[core]\nfernet_key = {Fernet.generate_key().decode()}\n\n"
        f"[api_auth]\njwt_secret = {b64encode(os.urandom(16)).decode()}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send everything written to file descriptors 1 and 2 to ``log_path`` while inside.

    Airflow writes to the console from several places (stdlib logging, structlog, warnings, task output),
    some through stream objects captured at import time, so the descriptors themselves are redirected;
    the demo's own lines go to a :class:`Console` on a duplicate of the original stdout.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a", encoding="utf-8") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeoutError` in the main thread after ``seconds`` (``dag.test()`` has no timeout)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the DAG run did not finish within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def request_counts(emulator: EmulatorProcess, since: float = 0) -> Counter[str]:
    """Operations the emulator served since ``since`` (epoch seconds; the emulator runs on this host's clock)."""
    import httpx

    params = {"since": since}
    entries = httpx.get(f"{emulator.url}/emulator-api/requests", params=params, timeout=10).json()["requests"]
    return Counter(entry["operation"] for entry in entries)


def seed(emulator: EmulatorProcess) -> dict[str, dict[str, Any]]:
    """Two VPCs with a subnet and a probe VM each, created through the real SDK."""
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
    from include.jdcloud_vpn.demo import seed_site

    hook = JDCloudHook.from_credentials(
        emulator.access_key, emulator.secret_key, endpoint=emulator.endpoint, scheme="http"
    )
    return {side: seed_site(hook, side) for side in ("home", "peer")}


def latest_report(report_dir: Path, since: float) -> Path | None:
    found = [p for p in report_dir.glob("interconnect-*.json") if p.stat().st_mtime >= since]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ok" if value else "FAILED"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def render(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return [render(headers), render(["-" * w for w in widths]), *(render(r) for r in cells)]


def summary(
    report: dict[str, Any], run_calls: Counter[str], seed_calls: int, order: dict[tuple[str, int], int] | None = None
) -> list[str]:
    """The final summary: steps (in the order they finished), resource ids, pings, API calls."""
    lines = [f"Interconnect '{report['interconnect']}': {report['status'].upper()} (run {report['run_id']})", ""]
    order = order or {}
    ordered = sorted(
        enumerate(report["steps"]),
        key=lambda item: order.get((item[1]["task_id"], item[1].get("map_index", -1)), len(order) + item[0]),
    )
    steps = [
        [
            s["task_id"] + (f"[{s['map_index']}]" if s.get("map_index", -1) >= 0 else ""),
            s["status"],
            s.get("attempts"),
            s.get("duration_s"),
        ]
        for _, s in ordered
    ]
    lines += table(["step", "status", "tries", "seconds"], steps)

    resources = report.get("resources") or {}
    keys = sorted({k for side in resources.values() for k in side})
    if keys:
        lines += [
            "",
            *table(
                ["resource", "home", "peer"],
                [[k, *(resources.get(s, {}).get(k) for s in ("home", "peer"))] for k in keys],
            ),
        ]

    rows = []
    for direction in DIRECTIONS:
        stats = (report.get("connectivity") or {}).get(direction) or {}
        rows.append(
            [
                direction,
                stats.get("sent"),
                stats.get("received"),
                stats.get("loss_pct"),
                stats.get("rtt_avg_ms"),
                stats.get("ok", False),
            ]
        )
    lines += ["", *table(["ping", "sent", "received", "loss %", "rtt avg ms", "result"], rows)]

    for direction, finding in (report.get("diagnosis") or {}).items():
        if finding:
            lines.append(f"  diagnosis {direction}: {finding['reason']} at {finding['hop']}: {finding['detail']}")
    if report.get("drift"):
        lines.append(f"  drift: {len(report['drift'])} adopted setting(s) differ from the conf (see the report)")

    creates = {op: n for op, n in sorted(run_calls.items()) if op.startswith("Create")}
    lines += [
        "",
        f"Emulator API calls by the DAG run: {sum(run_calls.values())} in total, {sum(creates.values())} Create* "
        f"({', '.join(f'{op} {n}' for op, n in creates.items()) or 'none'}); seeding before it: {seed_calls}",
    ]
    return lines


def pings_passed(report: dict[str, Any]) -> bool:
    connectivity = report.get("connectivity") or {}
    return all((connectivity.get(d) or {}).get("ok") is True for d in DIRECTIONS)


def run(args: argparse.Namespace, console: Console, airflow_home: Path, report_dir: Path) -> int:
    env = {**os.environ, **airflow_env(airflow_home)}
    os.environ.update(airflow_env(airflow_home))
    airflow_log = report_dir / "airflow.log"
    write_airflow_cfg(airflow_home)

    console.event(f"Airflow home {airflow_home}; Airflow's own output goes to {airflow_log}")
    with open(report_dir / "airflow-db-migrate.log", "w", encoding="utf-8") as migrate_log:
        migrate = subprocess.Popen(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            cwd=REPO,
            env=env,
            stdout=migrate_log,
            stderr=subprocess.STDOUT,
        )

    emulator = EmulatorProcess(
        time_scale=args.time_scale,
        dataplane=args.dataplane,
        env=env,
        log_path=report_dir / "emulator.log",
        start_new_session=True,
    )
    try:
        health = emulator.start()
        console.event(
            f"emulator up at {emulator.url} (pid {emulator.pid}, time scale {health['time_scale']}, "
            f"{health['dataplane']} data plane)"
        )

        started = time.time()
        seeded = seed(emulator)
        for side, site in seeded.items():
            console.event(
                f"seeded {side}: {site['region']} {site['vpc_id']} {site['vpc_cidr']} "
                f"subnet {site['subnet_ids'][0]} probe {site['instance_id']}"
            )

        from include.jdcloud_vpn.demo import demo_conf

        conf = demo_conf(seeded, report_dir=str(report_dir))
        conf_path = report_dir / "interconnect.demo.conf.json"
        conf_path.write_text(json.dumps(conf, indent=2) + "\n", encoding="utf-8")
        console.event(f"conf written to {conf_path}")
        os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"] = emulator.connection_json(region="cn-north-1")

        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(REPO / "dags" / f"{DAG_ID}.py"))
        if DAG_ID not in bag.dags:
            console.event(f"DAG {DAG_ID} did not load: {bag.import_errors or 'not found'}")
            return 2
        dag = bag.dags[DAG_ID]
        if migrate.wait(timeout=120) != 0:
            console.event(f"airflow db migrate failed: see {report_dir / 'airflow-db-migrate.log'}")
            return 2
        console.event(f"airflow db migrate done; running DAG {DAG_ID}")

        seed_calls = sum(request_counts(emulator).values())
        run_started = time.time()
        handler = ProgressHandler(console)
        progress = logging.getLogger(PROGRESS_LOGGER)
        progress.addHandler(handler)
        progress.setLevel(logging.INFO)
        progress.propagate = False
        try:
            with deadline(args.timeout), parsed_dag_callbacks():
                dag_run = dag.test(run_conf=conf)
            instances = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index))
        finally:
            progress.removeHandler(handler)
        for ti in instances:  # tasks that never ran (upstream failed, skipped by trigger rule)
            if (ti.task_id, ti.map_index) not in handler.seen:
                label = ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else "")
                console.step(label, str(getattr(ti.state, "value", ti.state)), "not run")
        console.event(f"DAG run {dag_run.run_id}: {getattr(dag_run.state, 'value', dag_run.state)}")

        report_path = latest_report(report_dir, started)
        run_calls = request_counts(emulator, since=run_started)
    finally:
        if args.keep_emulator and emulator.alive():
            console.event(f"emulator left running at {emulator.url} (pid {emulator.pid})")
        else:
            emulator.stop()
            console.event("emulator stopped")
        if migrate.poll() is None:
            migrate.kill()

    if report_path is None:
        console.line(f"\nNo report was written under {report_dir}; see {airflow_log}")
        return 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    console.line()
    for line in summary(report, run_calls, seed_calls, handler.seen):
        console.line(line)
    console.line()
    console.line(f"Report: {report_path} (and {report_path.with_suffix('.md').name})")
    if pings_passed(report):
        console.line("Both pings passed.")
        return 0
    console.line(f"FAILED: the pings did not both pass; see {report_path} and {airflow_log}")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report_dir = Path(args.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    temporary_home = args.airflow_home is None
    airflow_home = Path(args.airflow_home or tempfile.mkdtemp(prefix="jdcloud-vpn-demo-airflow-")).resolve()
    airflow_home.mkdir(parents=True, exist_ok=True)
    console = Console(os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8"))
    airflow_log = report_dir / "airflow.log"
    airflow_log.write_text("", encoding="utf-8")
    try:
        with output_to(airflow_log):
            return run(args, console, airflow_home, report_dir)
    except Exception as error:
        console.line(f"demo failed: {type(error).__name__}: {error}")
        console.line(f"logs: {airflow_log}, {report_dir / 'emulator.log'}")
        raise
    finally:
        console.line(f"wall time {console.elapsed():.1f} s")
        if temporary_home:
            shutil.rmtree(airflow_home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
