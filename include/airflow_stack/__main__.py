"""``python -m include.airflow_stack`` (``make airflow``): the real Airflow UI on a seeded emulator, until Ctrl-C.

Starts :class:`~include.airflow_stack.stack.RealAirflow` with ``persistent=True`` in ``--dir`` (a second start
takes over the DB, the emulator's resources and the secrets), seeds the demo network (or finds the one seeded
before), unpauses the DAGs without a schedule (the DR drill stays paused: it is scheduled), prints the URL, the
login and the conf to paste into the trigger form, and stops every process on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from include.airflow_stack.stack import INTERCONNECT_DAG, PREFLIGHT_DAG, TEARDOWN_DAG, RealAirflow, StackError
from include.jdcloud_vpn.demo import demo_conf, find_or_seed_site

DEFAULT_DIR = Path(".airflow-local")
CONF_FILE = "interconnect.demo.conf.json"
READY_LINE = "Airflow is up. Ctrl-C stops it."
MANUAL_DAGS = (INTERCONNECT_DAG, TEARDOWN_DAG, PREFLIGHT_DAG)
CHECK_INTERVAL_S = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m include.airflow_stack", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state directory (default: .airflow-local)")
    parser.add_argument("--port", type=int, default=8080, help="the UI and REST API port on 127.0.0.1 (0: any free)")
    parser.add_argument("--time-scale", type=float, default=0.05, help="emulator latency multiplier (default 0.05)")
    parser.add_argument("--parallelism", type=int, default=4, help="LocalExecutor task slots (default 4)")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _lock(base_dir: Path) -> TextIO:
    """Lock ``<base_dir>/.lock`` (held while the returned file is open); exit when another stack holds it."""
    base_dir.mkdir(parents=True, exist_ok=True)
    handle = (base_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another stack is running in {base_dir} (make airflow): stop it first")
    return handle


def seed_demo(stack: RealAirflow, conf_path: Path) -> dict:
    """Seed the demo network into the stack's emulator (or find it) and write the interconnect conf for it."""
    hook = stack.hook()
    control_url = f"{stack.emulator.url}/emulator-api"  # a new demo network gets the ids the form is pre-filled with
    seeded = {side: find_or_seed_site(hook, side, control_url=control_url) for side in ("home", "peer")}
    conf = demo_conf(seeded, report_dir=str((stack.report_dir / "demo").resolve()))
    conf_path.write_text(json.dumps(conf, indent=2) + "\n", encoding="utf-8")
    return conf


def banner(stack: RealAirflow, conf: dict, conf_path: Path) -> str:
    """What the user needs: the conf to paste, then the URL, the login and where the state is."""
    return "\n".join(
        [
            "",
            f"Trigger {INTERCONNECT_DAG} with this conf (Trigger > Advanced Options > Configuration JSON);",
            f"it is also in {conf_path.resolve()}:",
            json.dumps(conf),
            "",
            "Airflow 3.3 (api-server, scheduler with LocalExecutor, dag-processor, triggerer; SQLite) on the emulator",
            f"  UI:        {stack.api_url}",
            f"  login:     admin / {stack.admin_password}",
            f"  emulator:  {stack.emulator.url} (connection jdcloud_default, set in the components' environment)",
            f"  state:     {stack.base_dir.resolve()} (delete it to start afresh)",
            f"  logs:      {stack.proc_dir.resolve()} (components), {stack.logs_dir.resolve()} (tasks)",
            READY_LINE,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the stack until SIGINT/SIGTERM; 0 after a clean stop, 1 when a component failed."""
    args = parse_args(argv)
    lock = _lock(args.dir)
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell may start a command with it ignored
        signal.signal(signum, _interrupt)
    stack = RealAirflow(
        args.dir,
        time_scale=args.time_scale,
        parallelism=args.parallelism,
        heartbeat_timeout_s=60,
        api_port=args.port or None,
        persistent=True,
        extra_env={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"},
    )
    status = 0
    try:
        print(f"Starting Airflow and the emulator in {args.dir.resolve()} (about 30 s) ...", flush=True)
        stack.start()
        for dag_id in MANUAL_DAGS:
            stack.wait_for_dag(dag_id)
        conf_path = args.dir / CONF_FILE
        conf = seed_demo(stack, conf_path)
        print(banner(stack, conf, conf_path), flush=True)
        while True:
            stack.check_components()
            time.sleep(CHECK_INTERVAL_S)
    except KeyboardInterrupt:
        pass
    except StackError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        status = 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        print("\nStopping Airflow and the emulator ...", flush=True)
        stack.stop()
        left = stack.leftover_processes()
        print(f"Stopped{': still running: ' + '; '.join(left) if left else '; no process left'}.", flush=True)
        lock.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
