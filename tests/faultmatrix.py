"""The fault matrix (issue 5): every mutating operation type x every fault kind, build then teardown.

Five columns run with ``dag.test()`` (``tests/dags/test_fault_matrix.py``): each scenario resets the emulator,
seeds two VPCs, injects one count-limited fault, runs the interconnect DAG and then the teardown DAG (a
fault on ``ModifyAdminStatus`` is injected before the teardown, which is where that operation is called),
and checks:

* the build succeeded and both pings passed (the run's JSON report);
* 0 duplicates, by listing through the hook: exactly 2 border gateways, 2 VPC attachments, 2 customer
  gateways, 2 VPN connections, 4 tunnels, 2 static routes, 2 ping commands, and at most 2 live probe VMs;
* 0 resources left after the teardown, read from the emulator's ``/emulator-api/state`` (:func:`leftovers`);
* the fault fired: its count is spent, and the request log shows the faulted answers;
* the run reports list every task Airflow ran, with Airflow's try count.

It records the highest try of any task (from Airflow's task instances) and the API calls beyond a fault-free
baseline run, run by run, without the waiters' status polls (their number depends on timing, not on the
fault).

The fifth column, the task process SIGKILLed inside the call (Airflow retries it), needs a real executor:
``tests/realexec/test_kill_matrix.py`` holds each operation's first call in the emulator after applying it,
SIGKILLs the task runner making it, and checks the same things.

Both modules record their results in the pytest session; ``tests/conftest.py`` prints the one table and
the ``N passed, N failed`` line at the end of the session (``make faults`` runs just the matrix).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import SIDES
from tests.waits import fast_waits

if TYPE_CHECKING:  # Airflow is imported only when a scenario runs: a script sets AIRFLOW_HOME first
    import httpx

    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
    from include.jdcloud_vpn.conf import TeardownTarget

INTERCONNECT_DAG = "jdcloud_vpn_interconnect"
TEARDOWN_DAG = "jdcloud_vpn_teardown"

# Rows: the mutating operation types of a build and its teardown, in build order (ModifyAdminStatus is
# called only by the teardown: a tunnel is set DOWN before it is deleted).
OPERATIONS = (
    "CreateBgw",
    "CreateVpcAttachment",
    "CreateCustomerGateway",
    "ModifyCustomerGateway",
    "CreateVpnConnection",
    "CreateVpnTunnel",
    "ModifyAdminStatus",
    "CreateBgwRoute",
    "CreateInstances",
    "InvokeCommand",
)
TEARDOWN_OPERATIONS = frozenset({"ModifyAdminStatus"})

# Columns: the fault kinds; the first five as the emulator injects them (dag.test), the last with a real
# executor (the emulator holds the applied call; the test SIGKILLs the task runner making it).
FAULTS = ("rate_limit", "server_error", "applied_server_error", "read_timeout", "lost_response")
SIGKILL = "sigkill"
ALL_FAULTS = (*FAULTS, SIGKILL)
FAULT_TITLES = {
    "rate_limit": "RATE_LIMIT burst (429 x3)",
    "server_error": "5xx (503 x2)",
    "applied_server_error": "commit, then JSON 500",
    "read_timeout": "read timeout after commit",
    "lost_response": "commit, then lost response (504)",
    SIGKILL: "task process SIGKILLed inside the call, after the commit (real scheduler + LocalExecutor; for "
    "CreateVpnConnection the whole worker)",
}
# The answers the emulator logs for the faulted calls (a slow response is a 200 the client gave up on).
FAULTED_STATUSES = {
    "rate_limit": [429] * 3,
    "server_error": [503] * 2,
    "applied_server_error": [500],
    "read_timeout": [200],
    "lost_response": [504],
}
RATE_LIMIT_BURST = 3
SERVER_ERRORS = 2
SIGKILL_HOLD_S = 6.0  # how long the emulator holds the call the test kills inside (under the SDK's 10 s timeout)

# Calls of each matrix operation by a fault-free build (ModifyAdminStatus: by its teardown), with ephemeral
# probes; the baseline scenario checks these numbers.
FAULT_FREE_CALLS = {
    "CreateBgw": 2,
    "CreateVpcAttachment": 2,
    "CreateCustomerGateway": 2,
    "ModifyCustomerGateway": 2,
    "CreateVpnConnection": 2,
    "CreateVpnTunnel": 4,
    "ModifyAdminStatus": 4,
    "CreateBgwRoute": 2,
    "CreateInstances": 2,
    "InvokeCommand": 2,
}

# What one build must leave, by listing (both regions together).
EXPECTED_COUNTS = {
    "bgws": 2,
    "vpc_attachments": 2,
    "customer_gateways": 2,
    "vpn_connections": 2,
    "vpn_tunnels": 4,
    "static_routes": 2,
    "commands": 2,
}
MAX_LIVE_PROBES = 2

# Waits for the sensors and pings: short polls, generous timeouts (the emulator runs at a tiny time scale).
MATRIX_WAITS = fast_waits(timeout_s=30, poll_interval_s=0.1)
# Operations the waiters poll (attachments active, cloud IPs allocated, tunnels UP, VMs running, routes learned,
# invocation ended; in the teardown: connections, attachments and VMs gone, and a tunnel delete retried while
# the tunnel goes DOWN): how often they are called depends on timing, not on the fault, so extra calls are
# counted without them.
POLL_OPERATIONS = frozenset(
    {
        "DescribeVpnTunnel",
        "DescribeInstance",
        "DescribeRouteTableRules",
        "DescribeInvocations",
        "DescribeVpnConnection",
        "DescribeVpcAttachment",
        "DeleteVpnTunnel",
    }
)
# Tasks that run after their DAG's report is written, so the report cannot list them.
RUNS_AFTER_REPORT = frozenset({"write_report", "delete_probe_vms", "write_teardown_report"})
DEFAULT_CLIENT_TIMEOUT_S = 2  # the connection's ``timeout`` extra while the matrix runs
DEFAULT_NAME = "fmx"


@dataclass(frozen=True)
class Scenario:
    """One cell of the matrix: a fault of kind ``fault`` on the next calls of ``operation``."""

    operation: str
    fault: str

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.fault}"

    @property
    def phase(self) -> str:
        """``build`` or ``teardown``: the run that calls the operation, and before which the fault is injected."""
        return "teardown" if self.operation in TEARDOWN_OPERATIONS else "build"

    def fault_config(self, client_timeout_s: float) -> dict[str, Any]:
        """The emulator's fault config (``PUT /emulator-api/faults``) of this scenario."""
        op = self.operation
        if self.fault == "rate_limit":
            return {"operation_faults": [{"operation": op, "kind": "rate_limit", "count": RATE_LIMIT_BURST}]}
        if self.fault == "server_error":
            return {"operation_faults": [{"operation": op, "kind": "server_error", "count": SERVER_ERRORS}]}
        if self.fault == "applied_server_error":
            return {"operation_faults": [{"operation": op, "kind": "applied_server_error", "count": 1}]}
        if self.fault == "read_timeout":
            delay = client_timeout_s + 1.0  # applied at once, answered after the client gave up
            return {"operation_faults": [{"operation": op, "kind": "slow_response", "count": 1, "delay_s": delay}]}
        if self.fault == "lost_response":
            return {"drop_responses": {op: 1}}
        if self.fault == SIGKILL:  # applied, then held while the test kills the caller
            return {
                "operation_faults": [{"operation": op, "kind": "slow_response", "count": 1, "delay_s": SIGKILL_HOLD_S}]
            }
        raise ValueError(f"unknown fault kind {self.fault!r}; expected one of {', '.join(ALL_FAULTS)}")


def scenarios(faults: Iterable[str] = FAULTS) -> list[Scenario]:
    """The matrix cells of the ``faults`` columns, row by row."""
    unknown = [f for f in faults if f not in ALL_FAULTS]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; expected some of {', '.join(ALL_FAULTS)}")
    return [Scenario(op, fault) for op in OPERATIONS for fault in faults]


@dataclass
class ScenarioResult:
    """What one scenario did and whether it met every check (``problems`` lists the failed ones)."""

    scenario: Scenario | None  # None: the fault-free baseline
    problems: list[str] = field(default_factory=list)
    attempts: int = 0
    api_calls: int = 0
    extra_calls: int | None = None
    extra_by_operation: dict[str, int] = field(default_factory=dict)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)  # run (build, teardown) -> operation -> calls
    counts: dict[str, int] = field(default_factory=dict)
    remaining: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.scenario.id if self.scenario else "baseline (no fault)"

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def outcome(self) -> str:
        return "pass" if self.passed else "FAIL: " + "; ".join(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.id,
            "operation": self.scenario.operation if self.scenario else None,
            "fault": self.scenario.fault if self.scenario else None,
            "passed": self.passed,
            "problems": self.problems,
            "attempts": self.attempts,
            "api_calls": self.api_calls,
            "extra_calls": self.extra_calls,
            "extra_by_operation": self.extra_by_operation,
            "calls": self.calls,
            "counts": self.counts,
            "remaining": self.remaining,
            "notes": self.notes,
            "durations": self.durations,
        }


SeedFunction = Callable[["JDCloudHook", Path], dict[str, Any]]  # seeds after a reset, returns the build conf


class FaultMatrix:
    """Runs scenarios against one emulator with ``dag.test()``.

    :param dags: the interconnect and teardown DAGs by dag id (a ``DagBag``'s ``dags``)
    :param control: an httpx client on the emulator's ``/emulator-api``
    :param hook: a hook on the same emulator, for seeding and listing (not the DAG's connection)
    :param report_dir: each scenario writes its reports under ``report_dir/<scenario id>``
    :param client_timeout_s: the ``timeout`` of the DAG's connection; a read-timeout fault answers 1 s later
    :param seed: seeds the network after a reset and returns the build conf
    """

    def __init__(
        self,
        *,
        dags: Mapping[str, Any],
        control: httpx.Client,
        hook: JDCloudHook,
        report_dir: Path,
        client_timeout_s: float = DEFAULT_CLIENT_TIMEOUT_S,
        seed: SeedFunction,
    ) -> None:
        self.dags = dags
        self.control = control
        self.hook = hook
        self.report_dir = Path(report_dir)
        self.client_timeout_s = client_timeout_s
        self.seed = seed
        self.baseline: ScenarioResult | None = None

    # ------------------------------------------------------------------ running

    def run_baseline(self) -> ScenarioResult:
        """A fault-free build and teardown: the reference for extra API calls (and a check of its own)."""
        self.baseline = self._run(None)
        return self.baseline

    def run(self, scenario: Scenario) -> ScenarioResult:
        if scenario.fault not in FAULTS:
            raise ValueError(f"{scenario.id}: dag.test() runs the columns {', '.join(FAULTS)} only")
        result = self._run(scenario)
        if self.baseline is not None:
            self._compare(result, self.baseline)
        return result

    def _run(self, scenario: Scenario | None) -> ScenarioResult:
        from include.jdcloud_vpn.conf import TeardownTarget

        result = ScenarioResult(scenario)
        started = time.monotonic()
        report_dir = self.report_dir / (scenario.id if scenario else "baseline")
        self.control.delete("/faults").raise_for_status()
        self.control.post("/reset").raise_for_status()
        conf = self.seed(self.hook, report_dir)
        target = TeardownTarget(
            name=conf["name"], home_region=conf["home"]["region"], peer_region=conf["peer"]["region"]
        )
        windows: dict[str, tuple[float, float]] = {}
        result.durations["seed_s"] = round(time.monotonic() - started, 2)
        try:
            if scenario is not None and scenario.phase == "build":
                self._inject(scenario)
            windows["build"] = self._build(conf, result)
            result.counts = count_resources(self.hook, target)
            result.problems += count_problems(result.counts)
            if scenario is not None and scenario.phase == "teardown":
                self._inject(scenario)
            windows["teardown"] = self._teardown(conf, target, result)
            self._wait_until_answered()
            if scenario is not None:
                self._check_fired(scenario, result)
        finally:
            self.control.delete("/faults").raise_for_status()
        self._count_calls(windows, result)
        result.durations["total_s"] = round(time.monotonic() - started, 2)
        return result

    def _params_kept(self) -> Any:
        """dag.test() keeps a run's conf as the DAG's Params in this process: put them back for the next test."""
        from types import SimpleNamespace

        from tests.dags.conftest import preserved_params

        return preserved_params(SimpleNamespace(dags=self.dags))

    def _inject(self, scenario: Scenario) -> None:
        self.control.put("/faults", json=scenario.fault_config(self.client_timeout_s)).raise_for_status()

    def _build(self, conf: dict[str, Any], result: ScenarioResult) -> tuple[float, float]:
        began, clock = time.time(), time.monotonic()
        with self._params_kept():
            dag_run = self.dags[INTERCONNECT_DAG].test(run_conf=conf)
        window = (began, time.time())
        result.durations["build_s"] = round(time.monotonic() - clock, 2)
        report = latest_report(Path(conf["report_dir"]), "interconnect")
        if not _succeeded(dag_run):
            failed = ", ".join((report or {}).get("failed_steps") or []) or "see the run's log"
            result.problems.append(f"build failed ({failed})")
        result.problems += ping_problems(report)
        if report is not None:
            _check_attempts(dag_run, report, result)
        return window

    def _teardown(self, conf: dict[str, Any], target: TeardownTarget, result: ScenarioResult) -> tuple[float, float]:

        # Every option explicit: dag.test() keeps a run's conf as the DAG's Param defaults in this process.
        request = {**target.model_dump(), "report_dir": conf["report_dir"], "dry_run": False}
        began, clock = time.time(), time.monotonic()
        with self._params_kept():
            dag_run = self.dags[TEARDOWN_DAG].test(run_conf=request)
        window = (began, time.time())
        result.durations["teardown_s"] = round(time.monotonic() - clock, 2)
        if not _succeeded(dag_run):
            result.problems.append("teardown run failed")
        report = latest_report(Path(conf["report_dir"]), "teardown")
        if report is None:
            result.problems.append("the teardown wrote no report")
        else:
            _check_attempts(dag_run, report, result)
        result.remaining = leftovers(self.control.get("/state").json(), target)
        if result.remaining:
            result.problems.append(leftover_problem(result.remaining))
        return window

    def _wait_until_answered(self) -> None:
        """Wait until the emulator has answered every request: a ``slow_response`` fault answers the request the
        client gave up on after the run may have ended, and the request log records a request when answered."""
        deadline = time.monotonic() + self.client_timeout_s + 30
        while self.control.get("/requests/in-flight").json()["count"]:
            assert time.monotonic() < deadline, "the emulator still holds a request 30 s after the client timeout"
            time.sleep(0.05)

    def _check_fired(self, scenario: Scenario, result: ScenarioResult) -> None:
        faults = self.control.get("/faults").json()
        left = sum(f["remaining"] for f in faults["operation_faults"]) + sum(faults["drop_responses"].values())
        if left:
            result.problems.append(f"the fault did not fire fully ({left} hit(s) left)")
        served = self.control.get("/requests", params={"operation": scenario.operation}).json()["requests"]
        statuses = [entry["status"] for entry in served]
        wanted = FAULTED_STATUSES[scenario.fault]
        if statuses[: len(wanted)] != wanted:
            result.problems.append(f"{scenario.operation} answered {statuses[: len(wanted)]}, expected {wanted} first")
        applied = sum(1 for status in statuses if status in (200, 504))  # a dropped (504) answer was applied too
        if scenario.operation == "InvokeCommand" and applied > 2:
            result.notes.append(f"{applied} invocations for 2 pings: the retried ping task invoked again")

    def _count_calls(self, windows: Mapping[str, tuple[float, float]], result: ScenarioResult) -> None:
        """API calls made by each DAG run (seeding and the matrix's own listing calls are left out)."""
        entries = self.control.get("/requests").json()["requests"]
        for phase, (start, end) in windows.items():
            ops = Counter(e["operation"] for e in entries if start <= e["time"] < end)
            result.calls[phase] = dict(sorted(ops.items()))
        result.api_calls = sum(n for ops in result.calls.values() for n in ops.values())

    @staticmethod
    def _compare(result: ScenarioResult, baseline: ScenarioResult) -> None:
        """Extra calls over the baseline, run by run, leaving out the waiters' status polls (timing noise)."""
        extra: Counter[str] = Counter()
        for phase, ops in result.calls.items():
            base = baseline.calls.get(phase, {})
            for op in set(ops) | set(base):
                if op not in POLL_OPERATIONS:
                    extra[op] += ops.get(op, 0) - base.get(op, 0)
        result.extra_by_operation = {op: n for op, n in sorted(extra.items()) if n}
        result.extra_calls = sum(extra.values())


def _succeeded(dag_run: Any) -> bool:
    from airflow.utils.state import DagRunState

    return dag_run.state == DagRunState.SUCCESS


def ping_problems(report: Mapping[str, Any] | None) -> list[str]:
    """What an interconnect report says went wrong with the pings (both directions must pass)."""
    if report is None:
        return ["the build wrote no report"]
    pings = report.get("connectivity") or {}
    bad = [d for d in naming.DIRECTIONS if not (pings.get(d) or {}).get("ok")]
    return [f"ping {' and '.join(bad)} failed"] if bad else []


def latest_report(report_dir: Path, kind: str) -> dict[str, Any] | None:
    found = sorted(report_dir.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(found[-1].read_text(encoding="utf-8")) if found else None


def _check_attempts(dag_run: Any, report: dict[str, Any], result: ScenarioResult) -> None:
    """Take the highest try from Airflow's task instances and check that the run report agrees with them."""
    tries = {
        (ti.task_id, ti.map_index): ti.try_number
        for ti in dag_run.get_task_instances()
        if str(getattr(ti.state, "value", ti.state)) in ("success", "failed")
    }
    result.attempts = max(result.attempts, *tries.values(), 0)
    steps = {(s["task_id"], s.get("map_index", -1)): s.get("attempts") for s in report.get("steps") or []}
    for key, tried in sorted(tries.items()):
        label = key[0] + (f"[{key[1]}]" if key[1] >= 0 else "")
        if key not in steps and key[0] not in RUNS_AFTER_REPORT:
            result.problems.append(f"the {report.get('kind')} report misses {label} (try {tried} ended after it)")
        elif key in steps and steps[key] != tried:
            result.problems.append(f"the {report.get('kind')} report says {label} ran {steps[key]}x, Airflow {tried}x")


def count_resources(hook: JDCloudHook, target: TeardownTarget) -> dict[str, int]:
    """Count, by listing in both regions, every resource kind a build creates (the emulator was reset)."""
    counts: Counter[str] = Counter()
    for side in SIDES:
        region = target.region(side)
        bgws = hook.describe_bgws(region=region)
        counts["bgws"] += len(bgws)
        counts["vpc_attachments"] += len(hook.describe_vpc_attachments(region=region))
        counts["customer_gateways"] += len(hook.describe_customer_gateways(region=region))
        counts["vpn_connections"] += len(hook.describe_vpn_connections(region=region))
        counts["vpn_tunnels"] += len(hook.describe_vpn_tunnels(region=region))
        counts["static_routes"] += sum(
            len(hook.describe_bgw_routes(b.bgw_id, origin="static", region=region)) for b in bgws
        )
        probe = naming.probe_vm_name(target, side)
        instances = hook.describe_instances(name=probe, region=region)
        counts["live_probe_vms"] += sum(1 for i in instances if i.instance_name == probe and i.status != "deleting")
        counts["commands"] += len(hook.describe_commands(region=region))
    return dict(counts)


#: The kinds of the emulator's ``/emulator-api/state`` that a build creates (besides its probe VMs).
BUILT_KINDS = ("bgws", "vpcAttachments", "customerGateways", "vpnConnections", "vpnTunnels", "bgwRoutes", "commands")


def leftovers(state: Mapping[str, list[dict[str, Any]]], target: TeardownTarget) -> list[dict[str, Any]]:
    """What the emulator still holds of a build after its teardown, read from the emulator's own state (not
    from the client's plan): every VPN resource and command (the emulator was reset before the build, so each
    is the build's) and each of the interconnect's probe VMs that is not being deleted."""
    left = [{"kind": kind, "resource": resource} for kind in BUILT_KINDS for resource in state.get(kind, [])]
    probes = {naming.probe_vm_name(target, side) for side in SIDES}
    left += [
        {"kind": "instances", "resource": vm}
        for vm in state.get("instances", [])
        if vm["instanceName"] in probes and vm["status"] != "deleting"
    ]
    return left


def leftover_problem(left: list[dict[str, Any]]) -> str:
    kinds = Counter(item["kind"] for item in left)
    return "left after teardown: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))


def count_problems(counts: Mapping[str, int]) -> list[str]:
    """Duplicates (or missing resources) against :data:`EXPECTED_COUNTS`."""
    problems = [
        f"{counts.get(kind, 0)} {kind}, expected {wanted}"
        for kind, wanted in EXPECTED_COUNTS.items()
        if counts.get(kind, 0) != wanted
    ]
    if counts.get("live_probe_vms", 0) > MAX_LIVE_PROBES:
        problems.append(f"{counts['live_probe_vms']} live probe VMs, expected at most {MAX_LIVE_PROBES}")
    return problems


# ---------------------------------------------------------------------- output


def _signed(value: int | None) -> str:
    return "-" if value is None else f"{value:+d}"


def render_table(results: Sequence[ScenarioResult], baseline: ScenarioResult | None = None) -> list[str]:
    """The matrix as a text table (scenario, outcome, attempts, extra API calls, where they went), then notes.

    Rows come in matrix order: by operation, then by fault kind (whatever order they ran in).
    """
    headers = ["scenario", "outcome", "attempts", "extra API calls", "extra calls by operation", "seconds", "notes"]
    rows = []
    if baseline is not None:
        polls = sum(n for ops in baseline.calls.values() for op, n in ops.items() if op in POLL_OPERATIONS)
        rows.append(
            [
                baseline.id,
                baseline.outcome,
                str(baseline.attempts),
                f"({baseline.api_calls} calls)",
                f"of which {polls} waiter polls",
                f"{baseline.durations.get('total_s', 0):.1f}",
                "; ".join(baseline.notes),
            ]
        )
    for r in sorted(results, key=_matrix_order):
        rows.append(
            [
                r.id,
                r.outcome,
                str(r.attempts),
                _signed(r.extra_calls),
                ", ".join(f"{op} {n:+d}" for op, n in r.extra_by_operation.items()) or "-",
                f"{r.durations['total_s']:.1f}" if "total_s" in r.durations else "-",
                "; ".join(r.notes),
            ]
        )
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [
        line(headers),
        line(["-" * w for w in widths]),
        *(line(row) for row in rows),
        "",
        "columns: " + "; ".join(f"{k} = {v}" for k, v in FAULT_TITLES.items()),
        "attempts: the highest try of any task in the build and teardown runs (2 = Airflow retried a task); "
        f"{SIGKILL} rows: the try that finished the killed task",
        "extra API calls: over the fault-free baseline, run by run, without the waiters' status polls "
        f"({', '.join(sorted(POLL_OPERATIONS))}), whose number depends on timing; {SIGKILL} rows: calls of "
        "the killed operation beyond a fault-free build's",
        f"{SIGKILL} rows share one build and one teardown on a real scheduler: every operation's first call is "
        "held by the emulator after it applied it and the task runner making it is SIGKILLed; both runs are "
        "checked like a dag.test scenario, each row for its own retry",
    ]


def _matrix_order(result: ScenarioResult) -> tuple[int, int]:
    scenario = result.scenario
    return (OPERATIONS.index(scenario.operation), ALL_FAULTS.index(scenario.fault)) if scenario else (-1, -1)


def summary_line(results: Sequence[ScenarioResult]) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed} passed, {len(results) - passed} failed"


# ---------------------------------------------------------------------- the pytest session's table

_RESULTS = pytest.StashKey[list[ScenarioResult]]()
_BASELINE = pytest.StashKey[ScenarioResult]()


def record(config: pytest.Config, result: ScenarioResult) -> None:
    """Keep a scenario's result (or the baseline's) for the table printed at the end of the session."""
    if result.scenario is None:
        config.stash[_BASELINE] = result
    else:
        config.stash.setdefault(_RESULTS, []).append(result)


def export(config: pytest.Config) -> list[dict[str, Any]]:
    """This process's results (baseline included) as plain data, for a pytest-xdist worker to send back."""
    baseline = config.stash.get(_BASELINE, None)
    results = ([baseline] if baseline else []) + config.stash.get(_RESULTS, [])
    return [asdict(result) for result in results]


def merge(config: pytest.Config, exported: list[dict[str, Any]]) -> None:
    """Record the results a pytest-xdist worker sent back (the inverse of :func:`export`)."""
    for data in exported:
        scenario = data.pop("scenario")
        record(config, ScenarioResult(scenario=Scenario(**scenario) if scenario else None, **data))


def write_summary(reporter: Any, config: pytest.Config) -> None:
    """Print the matrix and its ``N passed, N failed`` line (``pytest_terminal_summary``), if any ran."""
    results = config.stash.get(_RESULTS, [])
    if not results:
        return
    reporter.section("fault matrix")
    for text in render_table(results, config.stash.get(_BASELINE, None)):
        reporter.write_line(text)
    reporter.write_line(f"fault matrix: {summary_line(results)}")
