"""The fault matrix (issue 5, item 1): every mutating operation type x every fault kind, build then teardown.

One test per cell (``include/jdcloud_vpn/faultmatrix.py`` runs it): both pings pass, no duplicate by
listing, nothing left after the teardown, the fault fired. A fault-free baseline runs first, once per
module, as the reference for the extra API calls; the table is printed when the module ends (and by
``make faults``). The SIGKILL column needs a real executor: tests/realexec/test_real_executor.py.

``FAULT_MATRIX_TEARDOWN=per_row`` runs the teardown DAG once per row (and for teardown faults) instead of
after every build, to save about 2 s a scenario.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from include.jdcloud_emulator.server import RunningEmulator
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from include.jdcloud_vpn import faultmatrix
from tests.dags.conftest import seeded_conf

pytestmark = [pytest.mark.slow, pytest.mark.faultmatrix, pytest.mark.timeout(240)]

SCENARIOS = faultmatrix.scenarios()
TEARDOWN_MODE = os.environ.get("FAULT_MATRIX_TEARDOWN", "each")


class MatrixSession:
    """The module's matrix runner plus every result so far, for the summary table."""

    def __init__(self, matrix: faultmatrix.FaultMatrix) -> None:
        self.matrix = matrix
        self.results: list[faultmatrix.ScenarioResult] = []


@pytest.fixture(scope="module")
def matrix_session(
    dag_emulator: RunningEmulator, dagbag, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[MatrixSession]:
    from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

    timeout_s = faultmatrix.DEFAULT_CLIENT_TIMEOUT_S
    connection = json.loads(os.environ["AIRFLOW_CONN_JDCLOUD_DEFAULT"])
    connection["extra"] = {**connection.get("extra", {}), "timeout": timeout_s}
    hook = JDCloudHook.from_credentials(
        DEMO_ACCESS_KEY, DEMO_SECRET_KEY, endpoint=dag_emulator.endpoint, scheme="http", retry_base_wait=0.05
    )

    def seed(hook: JDCloudHook, report_dir: Path) -> dict:
        return seeded_conf(
            hook,
            report_dir,
            name=faultmatrix.DEFAULT_NAME,
            ephemeral_probes=True,
            timeouts=faultmatrix.MATRIX_WAITS,
            report_dir=str(report_dir),
        )

    with (
        pytest.MonkeyPatch.context() as patch,
        httpx.Client(base_url=f"{dag_emulator.url}/emulator-api", timeout=30) as control,
        faultmatrix.schema_checks_cached(),
    ):
        patch.setenv("AIRFLOW_CONN_JDCLOUD_DEFAULT", json.dumps(connection))
        session = MatrixSession(
            faultmatrix.FaultMatrix(
                dags=dagbag.dags,
                control=control,
                hook=hook,
                report_dir=tmp_path_factory.mktemp("fault-matrix"),
                client_timeout_s=timeout_s,
                seed=seed,
                teardown=TEARDOWN_MODE,
            )
        )
        yield session
        _print_table(request, session)


def _print_table(request: pytest.FixtureRequest, session: MatrixSession) -> None:
    """Print the matrix to the terminal (past pytest's output capture) when the module ends."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or not session.results:
        return
    lines = ["", *faultmatrix.render_table(session.results, session.matrix.baseline)]
    lines.append(faultmatrix.summary_line(session.results))
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module")
def baseline(matrix_session: MatrixSession) -> faultmatrix.ScenarioResult:
    result = matrix_session.matrix.run_baseline()
    assert result.passed, f"the fault-free baseline failed: {result.outcome}"
    return result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_fault_scenario(matrix_session: MatrixSession, baseline, scenario: faultmatrix.Scenario) -> None:
    result = matrix_session.matrix.run(scenario)
    matrix_session.results.append(result)
    assert result.passed, f"{scenario.id}: {result.outcome}\n{json.dumps(result.to_json(), indent=2, default=str)}"
    assert result.counts.get("vpn_tunnels") == 4 and result.remaining == []
    assert result.torn_down or TEARDOWN_MODE == "per_row"
    resent = result.extra_by_operation.get(scenario.operation, 0)
    if scenario.fault == "rate_limit":
        assert resent == faultmatrix.RATE_LIMIT_BURST and result.attempts == 1  # retried inside the hook
    elif scenario.fault == "server_error":
        assert resent == faultmatrix.SERVER_ERRORS and result.attempts == 1
    elif scenario.operation.startswith("Create"):
        # An ambiguous create is never resent: the task fails, Airflow retries it, the retry adopts by name.
        assert resent == 0 and result.attempts == 2, result.to_json()
    else:
        # Modify/Invoke are resent by the hook, which is harmless for a modify (it sets the same value).
        assert resent == 1 and result.attempts == 1, result.to_json()


def test_scenarios_cover_every_operation_and_fault() -> None:
    assert len(SCENARIOS) == len(faultmatrix.OPERATIONS) * len(faultmatrix.FAULTS) == 40
    assert {s.phase for s in SCENARIOS if s.operation == "ModifyAdminStatus"} == {"teardown"}
    assert faultmatrix.summary_line([]) == "0 passed, 0 failed"
    config = faultmatrix.Scenario("CreateVpnTunnel", "read_timeout").fault_config(client_timeout_s=2)
    assert config == {
        "operation_faults": [{"operation": "CreateVpnTunnel", "kind": "slow_response", "count": 1, "delay_s": 3.0}]
    }
