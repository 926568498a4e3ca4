"""Run the fault matrix standalone and print it (``make faults``).

Every mutating operation type x every fault kind (see ``include/jdcloud_vpn/faultmatrix.py``): reset the
emulator, seed two VPCs, inject the fault, build with ``dag.test()``, tear down, check pings, duplicates
and leftovers. Sets up its own Airflow home (``airflow db migrate``, SQLite) and an in-process emulator;
Airflow's own output goes to ``<report-dir>/airflow.log``. Prints one line per scenario as it finishes,
then the table and a last line ``N passed, N failed``; exit status 1 when any scenario failed.

Usage: ``PYTHONPATH=. .venv/bin/python scripts/fault_matrix.py [--rows CreateBgw,CreateVpnTunnel]
[--columns rate_limit,lost_response] [--report-dir reports/fault-matrix] [--json results.json]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from include.jdcloud_vpn import faultmatrix  # noqa: E402

DEFAULT_TIME_SCALE = 0.01  # as the DAG tests: a 40 s VM boot takes 0.4 s


def _names(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fault_matrix.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=lambda v: _names(v, faultmatrix.OPERATIONS, "rows"),
        help="comma-separated operations (default: all)\n" + ", ".join(faultmatrix.OPERATIONS),
    )
    parser.add_argument(
        "--columns",
        type=lambda v: _names(v, faultmatrix.FAULTS, "columns"),
        help="comma-separated fault kinds (default: all)\n" + ", ".join(faultmatrix.FAULTS),
    )
    parser.add_argument("--list", action="store_true", help="list the selected scenarios and exit")
    parser.add_argument("--report-dir", default="reports/fault-matrix", help="run reports and logs")
    parser.add_argument("--json", dest="json_path", help="also write the results as JSON to this file")
    parser.add_argument("--dags-folder", default=str(REPO / "dags"), help="DAG folder (default: the repo's dags/)")
    parser.add_argument("--airflow-home", help="Airflow home (default: a temporary directory, removed at the end)")
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, help="emulator latency multiplier")
    parser.add_argument(
        "--client-timeout",
        type=int,
        default=faultmatrix.DEFAULT_CLIENT_TIMEOUT_S,
        help="the connection's timeout in seconds; a read-timeout fault answers 1 s after it",
    )
    parser.add_argument(
        "--teardown",
        choices=faultmatrix.TEARDOWN_MODES,
        default="each",
        help="each: the teardown DAG after every build (default)\n"
        "per_row: after the first scenario of each row and for teardown faults only (faster)",
    )
    parser.add_argument(
        "--no-schema-cache",
        action="store_true",
        help="let jsonschema re-check every DAG Param schema on every resolve (about 3x slower builds)",
    )
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    if args.client_timeout < 1:
        parser.error("--client-timeout must be >= 1")
    return args


def airflow_env(airflow_home: Path, dags_folder: Path) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 (Airflow's console output) to ``log_path`` while inside."""
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


def run(args: argparse.Namespace, out: IO[str], airflow_home: Path, report_dir: Path) -> int:
    selected = faultmatrix.scenarios(args.rows, args.columns)
    started = time.monotonic()

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    dags_folder = Path(args.dags_folder).resolve()
    env = airflow_env(airflow_home, dags_folder)
    os.environ.update(env)
    migrate_log = report_dir / "airflow-db-migrate.log"
    with open(migrate_log, "w", encoding="utf-8") as log:
        code = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    if code != 0:
        say(f"airflow db migrate failed (exit {code}): see {migrate_log}")
        return 2
    say(f"[{time.monotonic() - started:6.1f}s] Airflow home {airflow_home} migrated; {len(selected)} scenarios")

    import httpx

    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
    from include.jdcloud_emulator.server import start_in_thread
    from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings

    emulator = start_in_thread(EmulatorSettings(time_scale=args.time_scale))
    try:
        os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"] = json.dumps(
            {
                "conn_type": "jdcloud",
                "login": DEMO_ACCESS_KEY,
                "password": DEMO_SECRET_KEY,
                "extra": {
                    "endpoint": emulator.endpoint,
                    "scheme": "http",
                    "region": "cn-north-1",
                    "timeout": args.client_timeout,
                },
            }
        )
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(dags_folder))
        missing = {faultmatrix.INTERCONNECT_DAG, faultmatrix.TEARDOWN_DAG} - set(bag.dags)
        if missing:
            say(f"DAGs did not load: {sorted(missing)} {bag.import_errors}")
            return 2
        hook = JDCloudHook.from_credentials(
            DEMO_ACCESS_KEY, DEMO_SECRET_KEY, endpoint=emulator.endpoint, scheme="http", retry_base_wait=0.05
        )
        with httpx.Client(base_url=f"{emulator.url}/emulator-api", timeout=30) as control:
            matrix = faultmatrix.FaultMatrix(
                dags=bag.dags,
                control=control,
                hook=hook,
                report_dir=report_dir / "runs",
                client_timeout_s=args.client_timeout,
                teardown=args.teardown,
            )

            def progress(result: faultmatrix.ScenarioResult) -> None:
                verdict = "pass" if result.passed else "FAIL"
                say(
                    f"[{time.monotonic() - started:6.1f}s] {result.id:<40} {verdict} "
                    f"({result.durations.get('total_s', 0):.1f}s)"
                )

            cache = contextlib.nullcontext() if args.no_schema_cache else faultmatrix.schema_checks_cached()
            with cache:
                results = matrix.run_all(selected, progress=progress)
    finally:
        emulator.stop()

    say()
    for line in faultmatrix.render_table(results, matrix.baseline):
        say(line)
    if args.json_path:
        payload = {
            "baseline": matrix.baseline.to_json() if matrix.baseline else None,
            "results": [r.to_json() for r in results],
            "summary": faultmatrix.summary_line(results),
            "wall_time_s": round(time.monotonic() - started, 1),
        }
        Path(args.json_path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    say(f"wall time {time.monotonic() - started:.1f} s")
    failed = [r for r in results if not r.passed]
    if matrix.baseline is not None and not matrix.baseline.passed:
        say(f"the fault-free baseline failed too: {matrix.baseline.outcome}")
    say(faultmatrix.summary_line(results))
    return 1 if failed or (matrix.baseline is not None and not matrix.baseline.passed) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in faultmatrix.scenarios(args.rows, args.columns):
            print(f"{scenario.id:<40} {scenario.phase}")
        return 0
    report_dir = Path(args.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    temporary_home = args.airflow_home is None
    airflow_home = Path(args.airflow_home or tempfile.mkdtemp(prefix="jdcloud-vpn-faults-airflow-")).resolve()
    airflow_home.mkdir(parents=True, exist_ok=True)
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    airflow_log = report_dir / "airflow.log"
    airflow_log.write_text("", encoding="utf-8")
    try:
        with output_to(airflow_log):
            return run(args, out, airflow_home, report_dir)
    finally:
        if temporary_home:
            shutil.rmtree(airflow_home, ignore_errors=True)
        out.close()


if __name__ == "__main__":
    sys.exit(main())
