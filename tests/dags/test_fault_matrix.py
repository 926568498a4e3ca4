"""The fault matrix (issue 5, item 1), dag.test() columns: every mutating operation x five fault kinds.

One test per cell (``tests/faultmatrix.py`` runs it): both pings pass, no duplicate by listing, nothing
left after the teardown, the fault fired. A fault-free baseline runs first, once per module, as the
reference for the extra API calls. The SIGKILL column needs a real executor:
``tests/realexec/test_kill_matrix.py``. The table of every column is printed at the end of the session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from include.jdcloud_emulator.server import RunningEmulator
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests import faultmatrix
from tests.dags.conftest import seeded_conf

pytestmark = [pytest.mark.slow, pytest.mark.faultmatrix, pytest.mark.timeout(240)]

SCENARIOS = faultmatrix.scenarios()


@pytest.fixture(scope="module")
def matrix(
    dag_emulator: RunningEmulator, dagbag, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[faultmatrix.FaultMatrix]:
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
    ):
        patch.setenv("AIRFLOW_CONN_JDCLOUD_DEFAULT", json.dumps(connection))
        yield faultmatrix.FaultMatrix(
            dags=dagbag.dags,
            control=control,
            hook=hook,
            report_dir=tmp_path_factory.mktemp("fault-matrix"),
            client_timeout_s=timeout_s,
            seed=seed,
        )


@pytest.fixture(scope="module")
def baseline(matrix: faultmatrix.FaultMatrix, pytestconfig: pytest.Config) -> faultmatrix.ScenarioResult:
    result = matrix.run_baseline()
    faultmatrix.record(pytestconfig, result)
    assert result.passed, f"the fault-free baseline failed: {result.outcome}"
    made = {
        op: result.calls["teardown" if op in faultmatrix.TEARDOWN_OPERATIONS else "build"].get(op, 0)
        for op in faultmatrix.OPERATIONS
    }
    assert made == faultmatrix.FAULT_FREE_CALLS
    return result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_fault_scenario(
    matrix: faultmatrix.FaultMatrix, baseline, scenario: faultmatrix.Scenario, pytestconfig: pytest.Config
) -> None:
    result = matrix.run(scenario)
    faultmatrix.record(pytestconfig, result)
    assert result.passed, f"{scenario.id}: {result.outcome}\n{json.dumps(result.to_json(), indent=2, default=str)}"
    assert result.counts.get("vpn_tunnels") == 4 and result.remaining == []
    resent = result.extra_by_operation.get(scenario.operation, 0)
    not_resendable = scenario.operation.startswith("Create") or scenario.operation == "InvokeCommand"
    if scenario.fault == "rate_limit":  # a 429 proves nothing was applied: retried inside the hook
        assert resent == faultmatrix.RATE_LIMIT_BURST and result.attempts == 1
    elif not not_resendable:
        # A modify is resent by the hook: harmless, it sets the same value.
        assert resent == (faultmatrix.SERVER_ERRORS if scenario.fault == "server_error" else 1), result.to_json()
        assert result.attempts == 1, result.to_json()
    elif scenario.fault == "server_error":
        # Nothing was applied, but a 5xx cannot prove it: the hook does not resend, the step finds nothing by
        # its natural key and fails, and each Airflow retry looks it up again before it creates. (Two 503s hit
        # one task twice, or the home and peer tasks of a step that runs on both sides at once, once each.)
        assert resent == faultmatrix.SERVER_ERRORS, result.to_json()
        assert 2 <= result.attempts <= faultmatrix.SERVER_ERRORS + 1, result.to_json()
    elif scenario.operation == "InvokeCommand":
        # The invocation's result is lost: the ping task fails, and its retry invokes the command again.
        assert resent == 1 and result.attempts == 2, result.to_json()
    else:
        # An applied create answered ambiguously is never resent: the step adopts it by its natural key.
        assert resent == 0 and result.attempts == 1, result.to_json()


def test_scenarios_cover_every_operation_and_fault() -> None:
    assert len(SCENARIOS) == len(faultmatrix.OPERATIONS) * len(faultmatrix.FAULTS) == 50
    assert {s.phase for s in SCENARIOS if s.operation == "ModifyAdminStatus"} == {"teardown"}
    assert faultmatrix.summary_line([]) == "0 passed, 0 failed"
    config = faultmatrix.Scenario("CreateVpnTunnel", "read_timeout").fault_config(client_timeout_s=2)
    assert config == {
        "operation_faults": [{"operation": "CreateVpnTunnel", "kind": "slow_response", "count": 1, "delay_s": 3.0}]
    }
