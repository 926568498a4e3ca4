"""``make bench``: interconnect builds under a real scheduler, against the cloud's own critical path.

Starts real Airflow components (api-server, scheduler with LocalExecutor, dag-processor, triggerer; metadata DB
a throw-away PostgreSQL cluster when ``initdb`` is on PATH) and the JD Cloud API emulator at ``--time-scale``
(it enforces its documented 1000 calls/min/service limit), then, each run triggered through the REST API and
measured from Airflow's API and the emulator's request log:

1. one build of a fresh interconnect: wall time, API calls by operation against the minimal count, and the
   lower bound, the critical path of the emulator's latencies through the cloud's own step graph
   (``include/jdcloud_emulator/critical_path.py``);
2. the DR drill on that interconnect: its RTO (teardown finished -> both pings passed) against the bound of
   the rebuild;
3. the fixed scheduler overhead: a generated DAG of the interconnect DAG's shape (same tasks, edges, mapped
   and deferring tasks) whose tasks do nothing;
4. scale: N disjoint interconnects (each on its own pair of seeded VPCs) as N concurrent runs of the
   interconnect DAG, when the deployment lets such runs overlap (it says so otherwise).

Prints a table, writes ``bench/results.json`` and ``bench/results.md`` (``--out``). It measures; it is not a
timed test. See ``docs/bench.md``.

Usage: ``PYTHONPATH=. .venv/bin/python scripts/bench.py [--time-scale 1.0] [--scales 1,4,10]
[--probes create|existing] [--airflow-config SECTION__KEY=VALUE ...] [--out bench]`` (``make bench BENCH_ARGS=...``)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from include.airflow_stack.stack import INTERCONNECT_DAG, RealAirflow, StackError  # noqa: E402
from include.jdcloud_emulator.critical_path import (  # noqa: E402
    build_steps,
    critical_path,
    minimal_calls,
    scaled,
    teardown_steps,
)
from include.jdcloud_emulator.process import free_port  # noqa: E402
from include.jdcloud_vpn import demo  # noqa: E402
from include.jdcloud_vpn.conf import WaitConf  # noqa: E402

DRILL_DAG = "jdcloud_vpn_dr_drill"
SHAPE_DAG = "bench_shape_jdcloud_vpn_interconnect"
PRODUCT_DAGS = ("jdcloud_vpn_interconnect.py", "jdcloud_vpn_dr_drill.py")
DEFAULT_TIME_SCALE = 1.0
PARALLELISM = 32
PING_COUNT = 4
OVERHEAD_RUNS = 3
RUN_TIMEOUT_S = 900
# The scheduler's line for a try failed by Airflow's defer-exit race (apache/airflow#72716): the trigger fired
# before the scheduler saw the deferral exit; Airflow retries the task after its retry delay.
DEFER_EXIT_RACE = re.compile(
    r"finished with state success, but the task instance's state attribute is (queued|scheduled)"
)
TARGETS = {"ratio_wall_to_bound": 1.10, "api_calls_ratio": 1.3, "scale_10_ratio": 1.5, "drill_rto_ratio": 1.1}

# Sites of the scale runs: each interconnect joins two regions; K4's six region pairs plus two perfect matchings
# put at most 5 sites (border gateways, JD's quota) in each of the 4 regions for 10 interconnects.
REGION_PAIRS = [
    ("cn-north-1", "cn-east-2"),
    ("cn-east-1", "cn-south-1"),
    ("cn-north-1", "cn-east-1"),
    ("cn-east-2", "cn-south-1"),
    ("cn-north-1", "cn-south-1"),
    ("cn-east-1", "cn-east-2"),
    ("cn-north-1", "cn-east-2"),
    ("cn-east-1", "cn-south-1"),
    ("cn-north-1", "cn-east-1"),
    ("cn-east-2", "cn-south-1"),
]


# ---------------------------------------------------------------------------------------------- metadata DB


@contextmanager
def throwaway_postgres() -> Iterator[str | None]:
    """A PostgreSQL cluster for the run (``initdb``/``pg_ctl`` from PATH): its SQLAlchemy URL, or None without them.

    Many concurrent runs lock SQLite (``database is locked`` stops the dag-processor), as Airflow warns. As root,
    the cluster runs as the ``postgres`` user (``initdb`` refuses root).
    """
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="jdcloud-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off"
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "airflow"], check=True, capture_output=True
        )
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "postgres.log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- seeding


def seed_site(hook: Any, name: str, side: str, region: str, octet: int, *, with_probe: bool) -> dict[str, Any]:
    """A VPC 10.<octet>.0.0/16 with one /24 subnet (and a running probe VM) in ``region``, through the SDK."""
    layout = {"region": region, "cidr": f"10.{octet}.0.0/16", "subnet": f"10.{octet}.1.0/24"}
    seeded = demo.seed_site(hook, side, name=name, with_probe=with_probe, layout=layout)
    instance_id = seeded.pop("instance_id", None)
    probe = {"instance_id": instance_id} if instance_id else {"create_in_subnet": seeded["subnet_ids"][0]}
    return {**seeded, "propagate": "partial", "probe": probe}


def seed_interconnects(airflow: RealAirflow, prefix: str, count: int, *, existing_probes: bool) -> list[dict]:
    """Seed ``count`` disjoint site pairs and return one interconnect conf each (the conf's default waits)."""
    if count > len(REGION_PAIRS):
        raise SystemExit(f"at most {len(REGION_PAIRS)} interconnects fit JD's quotas across the 4 regions")
    hook = airflow.hook()
    confs = []
    for k, (home, peer) in enumerate(REGION_PAIRS[:count]):
        name = f"{prefix}-{k + 1}"
        sites = {
            side: seed_site(hook, name, side, region, 2 * k + i + 1, with_probe=existing_probes)
            for i, (side, region) in enumerate((("home", home), ("peer", peer)))
        }
        confs.append(
            {
                "name": name,
                **sites,
                "timeouts": WaitConf().model_dump(mode="json"),
                "ping": {"count": PING_COUNT, "max_loss_pct": 0},
                "report_dir": str(airflow.report_dir / name),
            }
        )
    if existing_probes:
        _wait_probes_running(hook, confs)
    return confs


def _wait_probes_running(hook: Any, confs: list[dict], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    pending = [(c[s]["region"], c[s]["probe"]["instance_id"]) for c in confs for s in ("home", "peer")]
    while pending:
        pending = [(r, i) for r, i in pending if hook.describe_instance(i, region=r).status != "running"]
        if time.monotonic() > deadline:
            raise SystemExit(f"seeded probe VMs not running after {timeout_s}s: {pending}")
        time.sleep(1)


# ---------------------------------------------------------------------------------------------- runs


def ts(value: str | None) -> float | None:
    """Epoch seconds of an Airflow API timestamp."""
    return datetime.fromisoformat(value).timestamp() if value else None


@dataclass
class Measured:
    """Runs of one phase, with their task instances and the emulator requests made while they ran."""

    dag_id: str
    runs: list[dict]
    tis: dict[str, list[dict]]
    requests: list[dict]
    defer_exit_races: int = 0
    started: float = field(init=False)
    ended: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = min(ts(r["start_date"]) for r in self.runs)
        self.ended = max(ts(r["end_date"]) for r in self.runs)

    @property
    def wall_s(self) -> float:
        return self.ended - self.started

    def api_calls(self) -> Counter:
        return Counter(r["operation"] for r in self.requests)

    def failed_tries(self) -> int:
        """Task tries that failed: every try before the last, and the last when the task failed."""
        return sum(
            ti["try_number"] - 1 + (ti["state"] in ("failed", "upstream_failed"))
            for tis in self.tis.values()
            for ti in tis
        )

    def max_concurrent_runs(self) -> int:
        edges = sorted([(ts(r["start_date"]), 1) for r in self.runs] + [(ts(r["end_date"]), -1) for r in self.runs])
        level = peak = 0
        for _, step in edges:
            level += step
            peak = max(peak, level)
        return peak


def run_dag(airflow: RealAirflow, dag_id: str, confs: list[dict], label: str) -> Measured:
    """Trigger one run per conf at once (REST), wait for all, and collect what they did."""
    since, races = time.time(), defer_exit_races(airflow)
    run_ids = [f"bench_{label}_{i + 1}_{int(since)}" for i in range(len(confs))]
    for run_id, conf in zip(run_ids, confs, strict=True):
        airflow.trigger(dag_id, run_id, conf)
    runs = [airflow.wait_for_run(dag_id, run_id, timeout=RUN_TIMEOUT_S, interval=2) for run_id in run_ids]
    until = max(ts(r["end_date"]) for r in runs) + 1
    requests = [r for r in airflow.emulator_requests(since=since) if r["time"] <= until]
    tis = {run_id: airflow.task_instances(dag_id, run_id) for run_id in run_ids}
    return Measured(dag_id, runs, tis, requests, defer_exit_races(airflow) - races)


def defer_exit_races(airflow: RealAirflow) -> int:
    """Task tries the scheduler has failed so far for Airflow's defer-exit race."""
    log = airflow.proc_dir / "scheduler.out"
    return len(DEFER_EXIT_RACE.findall(log.read_text(encoding="utf-8", errors="replace"))) if log.exists() else 0


# ---------------------------------------------------------------------------------------------- overhead DAG

SHAPE_TEMPLATE = '''"""Generated by scripts/bench.py: the shape of {dag_id} (tasks, edges, mapped and deferring tasks),
no work in any task: the bench's scheduler overhead."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import DAG, BaseOperator

SHAPE = {shape!r}


class NoOp(BaseOperator):
    def __init__(self, *, index: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def execute(self, context):
        return None


class DeferOnce(NoOp):
    """Defer to a trigger that fires at once, as a wait whose state is not reached yet does."""

    def execute(self, context):
        self.defer(trigger=DateTimeTrigger(moment=datetime.now(UTC)), method_name="resume")

    def resume(self, context, event=None):
        return None


with DAG({shape_dag!r}, schedule=None, catchup=False, max_active_runs={max_active_runs}, tags=["bench"]):
    ops = {{}}
    for task in SHAPE:
        cls = DeferOnce if task["defers"] else NoOp
        task_id = task["task_id"].replace(".", "__")
        if task["mapped"]:
            ops[task["task_id"]] = cls.partial(task_id=task_id).expand(index=list(range(task["mapped"])))
        else:
            ops[task["task_id"]] = cls(task_id=task_id)
    for task in SHAPE:
        for upstream in task["upstream"]:
            ops[upstream] >> ops[task["task_id"]]
'''


def dag_tasks(airflow: RealAirflow, dag_id: str) -> tuple[list[dict], dict[str, list[str]]]:
    """The DAG's tasks as Airflow parsed them (REST), and each task's upstream task ids."""
    tasks = airflow.api("GET", f"/api/v2/dags/{dag_id}/tasks").json()["tasks"]
    upstream: dict[str, list[str]] = {t["task_id"]: [] for t in tasks}
    for t in tasks:
        for down in t["downstream_task_ids"]:
            upstream[down].append(t["task_id"])
    return tasks, upstream


def dag_shape(airflow: RealAirflow, dag_id: str, build: Measured) -> list[dict]:
    """The DAG's tasks and edges as Airflow parsed them, the map widths of the build's run, which tasks defer."""
    tasks, upstream = dag_tasks(airflow, dag_id)
    widths = Counter(ti["task_id"] for ti in next(iter(build.tis.values())) if ti["map_index"] >= 0)
    return [
        {
            "task_id": t["task_id"],
            "upstream": sorted(upstream[t["task_id"]]),
            "mapped": widths.get(t["task_id"], 0),
            "defers": _defers(t),
        }
        for t in tasks
    ]


def _defers(task: dict) -> bool:
    """Deferrable JD Cloud waits (sensors) and the ping operator defer when their state is not reached yet."""
    name = (task.get("class_ref") or {}).get("class_name") or task.get("operator_name") or ""
    return name.endswith("Sensor") or name == "ConnectivityTestOperator"


def write_shape_dag(dags_dir: Path, shape: list[dict], max_active_runs: int) -> Path:
    path = dags_dir / f"{SHAPE_DAG}.py"
    path.write_text(
        SHAPE_TEMPLATE.format(
            dag_id=INTERCONNECT_DAG, shape=shape, shape_dag=SHAPE_DAG, max_active_runs=max_active_runs
        ),
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------------------------------------- the bound

# Which task of the interconnect DAG makes each mutating call of the cloud's step graph, and which wait task
# ends when each awaited cloud event has happened: for the breakdown only.
STEP_OPERATIONS = {
    "CreateBgw": "create_bgw",
    "CreateCustomerGateway": "create_customer_gateway",
    "CreateVpcAttachment": "create_vpc_attachment",
    "CreateVpnConnection": "create_vpn_connection",
    "ModifyCustomerGateway": "point_customer_gateway",
    "CreateBgwRoute": "create_static_route",
    "CreateInstances": "launch_probe_vm",
    "CreateVpnTunnel": "create_vpn_tunnel",
    "InvokeCommand": "invoke_ping",
    "DeleteInstance": "delete_probe_vm",
}
WAIT_EVENTS = {
    "home_region.wait_vpc_attachment_active": ["create_vpc_attachment_home"],
    "peer_region.wait_vpc_attachment_active": ["create_vpc_attachment_peer"],
    "vpn_connections.wait_cloud_ips_peer": ["cloud_ips_peer"],
    "vpn_connections.wait_cloud_ips_home": ["cloud_ips_home"],
    "vpn_tunnels.wait_tunnels_up": ["tunnel_1_up", "tunnel_2_up"],
    "static_routing.wait_routes_propagated": ["route_learned_home", "route_learned_peer"],
    "probe_vms.wait_probe_vms_running": ["probe_vm_running_home", "probe_vm_running_peer"],
    "connectivity_test.ping_home_to_peer": ["ping_home_to_peer"],
    "connectivity_test.ping_peer_to_home": ["ping_peer_to_home"],
}


def step_call_times(conf: dict, requests: list[dict]) -> dict[str, float]:
    """When each mutating step of the cloud's graph was called (first successful call), from the request log."""
    sides = {conf[side]["region"]: side for side in ("home", "peer")}
    other = {"home": "peer", "peer": "home"}
    calls: dict[str, float] = {}
    tunnels: Counter = Counter()
    for request in sorted(requests, key=lambda r: r["time"]):
        prefix = STEP_OPERATIONS.get(request["operation"])
        region = request["path"].split("/regions/")[-1].split("/")[0]
        if prefix is None or request["status"] != 200 or region not in sides:
            continue
        side = sides[region]
        if prefix == "create_vpn_tunnel":
            tunnels[side] += 1
            name = f"{prefix}_{side}_{tunnels[side]}"
        elif prefix == "invoke_ping":
            name = f"{prefix}_{side}_to_{other[side]}"
        else:
            name = f"{prefix}_{side}"
        calls.setdefault(name, request["time"])
    return calls


@dataclass
class Replay:
    """The cloud's graph replayed with the calls as made (offsets from the run's start)."""

    possible: dict[str, float]  # the preconditions had ended: the cloud would have accepted the call
    called: dict[str, float]  # the call was made (a cloud event: it began)
    ends: dict[str, float]
    binding: dict[str, str | None]  # the precondition that ended last


def replay(steps: list, latencies: dict[str, float], calls: dict[str, float], start: float) -> Replay:
    """Each step begins when called (a call) or when its preconditions ended (an event); a ping's echo requests
    begin when its invocation started, and their preconditions are the path (not the invocation)."""
    by_name = {s.name: s for s in steps}
    result = Replay({}, {}, {}, {})

    def end(name: str) -> float:
        if name not in result.ends:
            step = by_name[name]
            invocations = [n for n in step.needs if n.startswith("invoke_")]
            needs = [(end(n), n) for n in step.needs if n not in invocations]
            possible, result.binding[name] = max(needs) if needs else (0.0, None)
            if step.operations:
                called = calls[name] - start if name in calls else possible
            else:
                called = max([end(n) for n in invocations], default=possible)
            result.possible[name], result.called[name] = possible, called
            result.ends[name] = max(called, possible) + step.duration(latencies)
        return result.ends[name]

    for step in steps:
        end(step.name)
    return result


def as_run_chain(steps: list, latencies: dict[str, float], run: Replay) -> list[dict]:
    """Walk back from the last ping along the precondition that ended last; each entry with its idle time (a
    ping's: from its path ready to its echo requests' start)."""
    by_name = {s.name: s for s in steps}
    last: str | None = max((s.name for s in steps if s.name.startswith("ping_")), key=run.ends.__getitem__)
    chain = []
    while last is not None:
        chain.append(
            {
                "step": last,
                "possible_s": round(run.possible[last], 2),
                "called_s": round(run.called[last], 2),
                "ended_s": round(run.ends[last], 2),
                "idle_s": round(max(0.0, run.called[last] - run.possible[last]), 2),
                "cloud_s": round(by_name[last].duration(latencies), 2),
            }
        )
        last = run.binding[last]
    return list(reversed(chain))


def breakdown(airflow: RealAirflow, build: Measured, conf: dict, steps: list, latencies: dict[str, float]) -> dict:
    """Where the build's wall time went, seen from the cloud and from Airflow (offsets from the run's start)."""
    run = build.runs[0]
    start = ts(run["start_date"])
    replayed = replay(steps, latencies, step_call_times(conf, build.requests), start)
    tis: dict[str, dict] = {}
    for ti in build.tis[run["dag_run_id"]]:  # a mapped task: its map index that ended last
        if ti.get("end_date") and (ti["task_id"] not in tis or ti["end_date"] > tis[ti["task_id"]]["end_date"]):
            tis[ti["task_id"]] = ti
    _, upstream = dag_tasks(airflow, INTERCONNECT_DAG)
    cloud = as_run_chain(steps, latencies, replayed)
    for entry in cloud:
        entry["task"] = _task_of(entry["step"], tis)
    dag = dag_chain(tis, upstream, start, replayed)
    totals = {
        key: round(sum(e.get(key) or 0.0 for e in dag), 2)
        for key in ("scheduling_s", "running_s", "cloud_wait_s", "poll_lag_s")
    }
    return {
        "cloud_chain": cloud,
        "cloud_idle_s": round(sum(e["idle_s"] for e in cloud), 2),
        "dag_chain": dag,
        "dag_totals": totals,
        "after_last_task_s": round(build.ended - start - dag[0]["ended_s"], 2) if dag else None,
    }


def dag_chain(tis: dict[str, dict], upstream: dict[str, list[str]], start: float, cloud: Replay) -> list[dict]:
    """The DAG's own critical path, from the task that ended last back along the upstream task that ended last.

    Each task: ``scheduling`` (upstream ended -> task started: scheduler loop, executor, process start), then
    for a wait the time the cloud state was not reached yet (``cloud_wait``) and the time after it was
    (``poll_lag``: the last poll pause, the trigger event, the resume), for any other task its ``running`` time.
    """
    ended = {task_id: ts(ti["end_date"]) - start for task_id, ti in tis.items()}
    last: str | None = max(ended, key=ended.__getitem__) if ended else None
    chain = []
    while last is not None:
        previous = max((u for u in upstream.get(last, []) if u in ended), key=ended.__getitem__, default=None)
        began, end = ts(tis[last]["start_date"]) - start, ended[last]
        entry: dict[str, Any] = {"task": last, "started_s": round(began, 2), "ended_s": round(end, 2)}
        entry["scheduling_s"] = round(began - (ended[previous] if previous else 0.0), 2)
        if last in WAIT_EVENTS:
            reached = max(cloud.ends[e] for e in WAIT_EVENTS[last])
            entry["state_reached_s"] = round(reached, 2)
            entry["cloud_wait_s"] = round(max(0.0, min(end, reached) - began), 2)
            entry["poll_lag_s"] = round(end - max(reached, began), 2)
        else:
            entry["running_s"] = round(end - began, 2)
        chain.append(entry)
        last = previous
    return chain


def _task_of(step: str, tis: dict[str, dict]) -> str | None:
    """The interconnect DAG's task that makes a step's call (by its task id's words), if any."""
    words = {
        "create_bgw": "create_border_gateway",
        "create_customer_gateway": "create_customer_gateway",
        "create_vpc_attachment": "create_vpc_attachment",
        "create_vpn_connection": "create_vpn_connection",
        "point_customer_gateway": "point_customer_gateway",
        "create_static_route": "add_static_route",
        "launch_probe_vm": "create_probe_vm",
        "create_vpn_tunnel": "create_vpn_tunnel",
        "invoke_ping": "ping",
    }
    for prefix, word in words.items():
        if not step.startswith(prefix + "_"):
            continue
        rest = step.removeprefix(prefix + "_")
        side = rest.split("_")[0]
        for task_id in tis:
            group, _, leaf = task_id.rpartition(".")
            if leaf in (f"{word}_{rest}", f"{word}_{side}") or (leaf == word and group == f"{side}_region"):
                return task_id
    return None


# ---------------------------------------------------------------------------------------------- report


def machine(time_scale: float, parallelism: int, airflow_config: dict[str, str]) -> dict[str, Any]:
    import psutil

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "airflow": metadata.version("apache-airflow"),
        "time_scale": time_scale,
        "executor": f"LocalExecutor, parallelism {parallelism}",
        "airflow_config": airflow_config,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def summary_rows(results: dict) -> list[tuple[str, Any, str, str]]:
    """(metric, value, target, met) rows of the printed and Markdown table."""

    def target(name: str, value: float | None) -> tuple[str, str]:
        if name not in TARGETS:
            return "", ""
        return f"<= {TARGETS[name]}", "-" if value is None else ("yes" if value <= TARGETS[name] else "no")

    rows = []
    for name in (
        "wall_s",
        "lower_bound_s",
        "overhead_s",
        "ratio_wall_to_bound",
        "task_failures",
        "defer_exit_races",
        "api_calls_total",
        "api_calls_minimal",
        "api_calls_ratio",
        "drill_rto_s",
        "drill_rto_bound_s",
        "drill_rto_ratio",
        "scale_10_ratio",
    ):
        rows.append((name, results.get(name), *target(name, results.get(name))))
    return rows


def render_table(headers: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return lines


def render_markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# `make bench` results",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, load average at start "
        f"{m['load_avg_at_start']}; {m['os']}; Python {m['python']}, Airflow {m['airflow']}; {m['executor']}, "
        f"triggerer; emulator time scale {m['time_scale']}, rate limit {results['rate_limit_per_minute']}/min/service; "
        f"probe VMs: {results['probes']}; metadata DB {m['metadata_db']}. Airflow settings: "
        f"{m['airflow_config'] or 'defaults'}.",
        "",
        *render_table(["metric", "value", "target", "met"], summary_rows(results)),
        "",
        "## API calls of the build by operation",
        "",
        *render_table(["operation", "calls"], sorted(results["api_calls"].items())),
        "",
        f"Minimal ({results['api_calls_minimal_definition']}): {results['api_calls_minimal_parts']}.",
        "",
        "## Scale: N disjoint interconnects, N concurrent runs",
        "",
        *render_table(
            [
                "interconnects",
                "wall_s",
                "api_calls",
                "rate_limit_responses",
                "task_failures",
                "defer-exit races",
                "max concurrent runs",
                "note",
            ],
            (
                [
                    s["interconnects"],
                    s.get("wall_s"),
                    s.get("api_calls"),
                    s.get("rate_limit_responses"),
                    s.get("task_failures"),
                    s.get("defer_exit_races"),
                    s.get("max_concurrent_runs"),
                    s.get("note", ""),
                ]
                for s in results["scale"]
            ),
        ),
    ]
    b = results.get("breakdown")
    if b:
        lines += [
            "",
            "## Where the build's time went",
            "",
            "**Airflow's view**: the DAG's own critical path, from the task that ended last back along the upstream "
            "task that ended last (task instance times from the REST API). `scheduling`: upstream ended -> task "
            "started; for a wait, `cloud_wait` (the awaited state not reached yet, replayed from the emulator's "
            "request log) and `poll_lag` (state reached -> task ended: the last poll pause, the trigger event, the "
            "resume); for any other task, `running`. Seconds from the run's start.",
            "",
            *render_table(
                ["task", "started", "ended", "scheduling", "running", "state reached", "cloud_wait", "poll_lag"],
                (
                    [
                        e["task"],
                        e["started_s"],
                        e["ended_s"],
                        e["scheduling_s"],
                        e.get("running_s"),
                        e.get("state_reached_s"),
                        e.get("cloud_wait_s"),
                        e.get("poll_lag_s"),
                    ]
                    for e in reversed(b["dag_chain"])
                ),
            ),
            "",
            f"Totals on this chain: {b['dag_totals']}; after its last task: {b['after_last_task_s']} s.",
            "",
            "**The cloud's view**: the cloud's step graph replayed with the calls as the build made them, walked back "
            "from the last ping along the need that ended last. `possible`: its needs had ended, the cloud would "
            "have accepted the call; `called`: the build made it; `idle` between: time the DAG's ordering and "
            "Airflow added on the cloud's critical path.",
            "",
            *render_table(
                ["step", "task", "possible", "called", "ended", "idle", "cloud"],
                (
                    [e["step"], e.get("task"), e["possible_s"], e["called_s"], e["ended_s"], e["idle_s"], e["cloud_s"]]
                    for e in b["cloud_chain"]
                ),
            ),
            "",
            f"Idle on the cloud's chain: {b['cloud_idle_s']} s.",
        ]
    if results.get("notes"):
        lines += ["", "## Notes", "", *(f"- {note}" for note in results["notes"])]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- main


def overlap_blocker(airflow: RealAirflow) -> str | None:
    """Why concurrent runs of the interconnect DAG cannot overlap in this deployment (None: they can)."""
    dag = airflow.api("GET", f"/api/v2/dags/{INTERCONNECT_DAG}").json()
    tasks = {t["task_id"] for t in dag_tasks(airflow, INTERCONNECT_DAG)[0]}
    if dag.get("max_active_runs") == 1:
        return f"{INTERCONNECT_DAG} has max_active_runs=1: its runs queue one after the other"
    if "ensure_exclusive_run" in tasks:
        return f"{INTERCONNECT_DAG} runs ensure_exclusive_run, which fails a run while another VPN run is active"
    return None


def scale_entry(measured: Measured) -> dict[str, Any]:
    failed_runs = [r["dag_run_id"] for r in measured.runs if r["state"] != "success"]
    entry = {
        "interconnects": len(measured.runs),
        "wall_s": round(measured.wall_s, 2),
        "api_calls": len(measured.requests),
        "rate_limit_responses": sum(1 for r in measured.requests if r["status"] == 429),
        "task_failures": measured.failed_tries(),
        "defer_exit_races": measured.defer_exit_races,
        "max_concurrent_runs": measured.max_concurrent_runs(),
    }
    if failed_runs:
        entry["note"] = f"{len(failed_runs)} run(s) failed"
    return entry


def prepare_dags_folder(base: Path) -> Path:
    """The bench's own DAGs folder: links to the product DAGs it runs (the shape DAG is written here later)."""
    dags = base / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    for name in PRODUCT_DAGS:
        (dags / name).symlink_to(REPO / "dags" / name)
    return dags


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, help="emulator time scale")
    parser.add_argument("--scales", default="1,4,10", help="interconnect counts of the scale runs")
    parser.add_argument("--probes", choices=("create", "existing"), default="create", help="probe VMs")
    parser.add_argument("--parallelism", type=int, default=PARALLELISM)
    parser.add_argument("--skip-drill", action="store_true")
    parser.add_argument(
        "--airflow-config",
        action="append",
        default=[],
        metavar="SECTION__KEY=VALUE",
        help="extra Airflow setting for every component, e.g. scheduler__scheduler_idle_sleep_time=0.1",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench", help="directory of results.json and results.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scales = [int(n) for n in args.scales.split(",") if n]
    airflow_config = dict(item.split("=", 1) for item in args.airflow_config)
    create_probes = args.probes == "create"
    started = time.monotonic()

    def say(message: str) -> None:
        print(f"[bench {time.monotonic() - started:6.1f}s] {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="jdcloud-bench-") as tmp, throwaway_postgres() as database:
        base = Path(tmp)
        dags = prepare_dags_folder(base)
        env = {
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(args.parallelism),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",  # finds the generated shape DAG quickly
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",  # parsed once: no re-parsing during runs
            # The checkout's provider, not whichever one the virtualenv's editable install points at.
            "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'include' / 'airflow-provider-jdcloud'}",
            **{f"AIRFLOW__{key.upper()}": value for key, value in airflow_config.items()},
        }
        notes: list[str] = []
        if database:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = database
        else:
            notes.append("no PostgreSQL (initdb, pg_ctl) found: SQLite metadata DB, which locks under many runs")
        airflow = RealAirflow(base, time_scale=args.time_scale, parallelism=args.parallelism, extra_env=env)
        results: dict[str, Any] = {"machine": machine(args.time_scale, args.parallelism, airflow_config)}
        results["machine"]["metadata_db"] = "PostgreSQL (throw-away cluster)" if database else "SQLite"
        results["probes"] = "created by the build" if create_probes else "existing, running"
        say(f"starting Airflow and the emulator (time scale {args.time_scale}) in {base}")
        airflow.start()
        try:
            airflow.wait_for_dag(DRILL_DAG)
            airflow.reset_emulator()
            faults = airflow.emulator_api("GET", "/faults")
            results["rate_limit_per_minute"] = faults["rate_limit_per_minute"]
            table = airflow.emulator_api("GET", "/latencies")
            latencies = scaled(table["latencies"], table["time_scale"])
            steps = build_steps(create_probes=create_probes, ping_count=PING_COUNT)
            bound = critical_path(steps, latencies)

            say("1/4 one build of a fresh interconnect")
            (conf,) = seed_interconnects(airflow, "bench", 1, existing_probes=not create_probes)
            build = run_dag(airflow, INTERCONNECT_DAG, [conf], "build")
            say(f"    {build.runs[0]['state']} in {build.wall_s:.1f}s, {len(build.requests)} API calls")
            minimal = minimal_calls(steps)
            results |= {
                "wall_s": round(build.wall_s, 2),
                "run_state": build.runs[0]["state"],
                "task_failures": build.failed_tries(),
                "defer_exit_races": build.defer_exit_races,
                "lower_bound_s": round(bound.bound_s, 2),
                "lower_bound_chain": bound.chain,
                "api_calls": dict(sorted(build.api_calls().items())),
                "api_calls_total": len(build.requests),
                "api_calls_minimal": minimal["total"],
                "api_calls_minimal_parts": minimal,
                "api_calls_minimal_definition": (
                    "each mutation of the cloud's step graph, one idempotency lookup per mutation, one confirming "
                    "read per awaited resource"
                ),
            }
            results["api_calls_ratio"] = ratio(results["api_calls_total"], minimal["total"])
            results["breakdown"] = breakdown(airflow, build, conf, steps, latencies)

            if not args.skip_drill:
                say("2/4 DR drill of that interconnect (teardown, rebuild, pings)")
                drill = run_dag(airflow, DRILL_DAG, [{"interconnect": conf, "require_approval": False}], "drill")
                results |= drill_results(drill, steps, latencies, create_probes)
                say(f"    {drill.runs[0]['state']}: RTO {fmt(results['drill_rto_s'])}s")

            say("3/4 scheduler overhead: an empty DAG of the interconnect DAG's shape")
            shape = dag_shape(airflow, INTERCONNECT_DAG, build)
            write_shape_dag(dags, shape, max_active_runs=1)
            airflow.wait_for_dag(SHAPE_DAG, timeout=180)
            # The fixed cost: the shortest of a few runs (a load spike only ever adds to one).
            overheads = [run_dag(airflow, SHAPE_DAG, [{}], f"overhead{i}").wall_s for i in range(OVERHEAD_RUNS)]
            results["overhead_runs_s"] = [round(wall, 2) for wall in overheads]
            results["overhead_s"] = round(min(overheads), 2)
            results["ratio_wall_to_bound"] = ratio(build.wall_s, bound.bound_s + min(overheads))

            say("4/4 scale")
            blocker = overlap_blocker(airflow)
            results["scale"] = []
            for n in scales:
                if n == 1:
                    entry = scale_entry(build) | {"note": "the build of step 1"}
                elif blocker:
                    entry = {"interconnects": n, "note": f"not measured: {blocker}"}
                    notes.append(f"scale {n}: not measured, the runs cannot overlap yet ({blocker})")
                else:
                    airflow.reset_emulator()
                    confs = seed_interconnects(airflow, f"s{n}", n, existing_probes=not create_probes)
                    try:
                        entry = scale_entry(run_dag(airflow, INTERCONNECT_DAG, confs, f"scale{n}"))
                    except StackError as error:  # a component died or a run did not finish: say so, keep the rest
                        # The first line only: the rest is component output, which the results file does not need.
                        entry = {"interconnects": n, "note": f"not measured: {str(error).splitlines()[0]}"}
                        notes.append(f"scale {n}: {entry['note']}")
                        results["scale"].append(entry)
                        break
                say(f"    {n}: {entry}")
                results["scale"].append(entry)
            walls = {s["interconnects"]: s.get("wall_s") for s in results["scale"]}
            results["scale_10_ratio"] = ratio(walls.get(10), walls.get(1))
        finally:
            airflow.stop()
    results["notes"] = notes
    results["bench_s"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(render_markdown(results), encoding="utf-8")
    print()
    print("\n".join(render_table(["metric", "value", "target", "met"], summary_rows(results))))
    print("scale:", json.dumps(results["scale"]))
    print(f"written: {args.out / 'results.json'}, {args.out / 'results.md'} ({results['bench_s']}s)")
    return 0 if results.get("run_state") == "success" else 1


def drill_results(drill: Measured, steps: list, latencies: dict[str, float], create_probes: bool) -> dict[str, Any]:
    """RTO from the drill's task instances: milestone_teardown_finished ended -> the last rebuild ping ended."""
    tis = {ti["task_id"]: ti for ti in next(iter(drill.tis.values()))}
    finished = tis.get("milestone_teardown_finished", {}).get("end_date")
    pings = [tis.get(f"connectivity_test.ping_{d}", {}).get("end_date") for d in ("home_to_peer", "peer_to_home")]
    rto = max(ts(p) for p in pings) - ts(finished) if finished and all(pings) else None
    teardown_started = tis.get("milestone_teardown_started", {}).get("end_date")
    teardown = ts(finished) - ts(teardown_started) if finished and teardown_started else None
    rebuild_bound = critical_path(steps, latencies).bound_s
    teardown_bound = critical_path(teardown_steps(delete_probes=create_probes), latencies).bound_s
    return {
        "drill_state": drill.runs[0]["state"],
        "drill_wall_s": round(drill.wall_s, 2),
        "drill_rto_s": round(rto, 2) if rto is not None else None,
        "drill_rto_bound_s": round(rebuild_bound, 2),
        "drill_rto_ratio": ratio(rto, rebuild_bound),
        "drill_teardown_s": round(teardown, 2) if teardown is not None else None,
        "drill_teardown_bound_s": round(teardown_bound, 2),
        "drill_api_calls": len(drill.requests),
    }


if __name__ == "__main__":
    sys.exit(main())
