"""``make airflow``'s stack (``python -m include.airflow_stack``, the command the target runs) as a user sees it.

One stack, started as a subprocess in a fresh state directory, serves the module's two tests, in this order:

1. the UI in a real browser (Debian's headless Chromium driven by Playwright's Python package, no browser
   download): log in with the printed password, open the interconnect DAG, trigger it from the trigger form as
   it opens (its sections, pre-filled for the seeded demo network's well-known ids), watch the run's state badge
   reach Success (Playwright polls the page; the UI refreshes itself), open ``home_region.create_border_gateway``
   and find its extra link to the JD Cloud console page of the gateway the emulator holds; screenshots go to the
   test's tmp dir;
2. Ctrl-C (SIGINT to the process group, as a terminal sends it) stops every process of the stack; a second start
   on the same directory takes the state over (the same login and seeded ids, the run of test 1 still listed);
   SIGTERM stops it as cleanly.

Evidence comes from Airflow's REST API, the emulator's state and the process table, not from the stack's code.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from include.airflow_stack.__main__ import READY_LINE

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAG_ID = "jdcloud_vpn_interconnect"
DRILL_DAG_ID = "jdcloud_vpn_dr_drill"
ARTIFACTS = REPO / "test-artifacts" / "browser"  # kept after the run (CI artifacts); gitignored
RETRIED_TASK = "home_region.create_customer_gateway"
START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 300  # a build takes about a minute; CI runs other suites alongside
STOP_TIMEOUT_S = 60

pytestmark = pytest.mark.slow


@dataclass
class Banner:
    """What the stack printed for the user."""

    url: str
    password: str
    emulator_url: str
    conf: dict[str, Any]
    conf_file: Path


class StackCommand:
    """``python -m include.airflow_stack`` in its own process group, its output collected line by line."""

    def __init__(self, base_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        env["PYTHONPATH"] = str(REPO)
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "include.airflow_stack",
                "--dir",
                str(base_dir),
                "--port",
                "0",
                "--time-scale",
                "0.02",
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: SIGINT to the group is a terminal's Ctrl-C
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> Banner:
        """Block until the ready line is printed; fail with the output when the process exits first."""
        with self._changed:
            ready = self._changed.wait_for(
                lambda: READY_LINE in self.lines or self.popen.poll() is not None, timeout=timeout
            )
        assert ready and READY_LINE in self.lines, f"the stack did not come up:\n{self.output[-4000:]}"
        return _parse_banner(self.output)

    def sessions(self) -> set[int]:
        """The session ids of the stack's process and of its children (each component has its own)."""
        parent = psutil.Process(self.popen.pid)
        return {os.getsid(self.popen.pid)} | {os.getsid(child.pid) for child in parent.children()}

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig`` (SIGINT to the process group, SIGTERM to the process) and wait for the exit status."""
        if sig == signal.SIGINT:
            os.killpg(self.popen.pid, sig)
        else:
            self.popen.send_signal(sig)
        status = self.popen.wait(timeout=STOP_TIMEOUT_S)
        self._reader.join(timeout=10)
        return status

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.stop(signal.SIGTERM)


def _parse_banner(output: str) -> Banner:
    def field(pattern: str) -> str:
        match = re.search(pattern, output, re.M)
        assert match, f"{pattern!r} not in the output:\n{output[-3000:]}"
        return match.group(1)

    conf_line = field(r"^(\{.*\})$")
    conf_file = Path(field(r"^it is also in (\S+):$"))
    return Banner(
        url=field(r"^  UI:\s+(http://127\.0\.0\.1:\d+)$"),
        password=field(r"^  login:\s+admin / (\S+)$"),
        emulator_url=field(r"^  emulator:\s+(http://127\.0\.0\.1:\d+) "),
        conf=json.loads(conf_line),
        conf_file=conf_file,
    )


def _live_in_sessions(sessions: set[int]) -> list[str]:
    """Live (non-zombie) processes whose session is one of ``sessions``."""
    found = []
    for proc in psutil.process_iter(["pid", "status", "cmdline"]):
        try:
            if os.getsid(proc.pid) in sessions and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])[:100]}")
        except (ProcessLookupError, psutil.Error):
            continue
    return found


@contextmanager
def _rest(banner: Banner) -> Iterator[httpx.Client]:
    """Airflow's REST API, logged in with the printed password."""
    with httpx.Client(base_url=banner.url, timeout=30) as client:
        token = client.post("/auth/token", json={"username": "admin", "password": banner.password})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def _tunnel_psk(banner: Banner) -> str:
    """The PSK the build gave the tunnels, read from the emulator (the cloud stores it)."""
    state = httpx.get(f"{banner.emulator_url}/emulator-api/state", timeout=30).json()
    psks = {t["psk"] for t in state["vpnTunnels"]}
    assert len(psks) == 1 and len(next(iter(psks))) >= 8, "expected one generated PSK on every tunnel"
    return psks.pop()


def _run_drill(banner: Banner) -> Path:
    """Unpause the drill, trigger it on the demo interconnect, wait for success; return its RTO chart's path."""
    with _rest(banner) as rest:
        rest.patch(f"/api/v2/dags/{DRILL_DAG_ID}", json={"is_paused": False}).raise_for_status()
        run_id = rest.post(
            f"/api/v2/dags/{DRILL_DAG_ID}/dagRuns", json={"logical_date": None, "conf": {"interconnect": banner.conf}}
        ).json()["dag_run_id"]
        deadline = time.monotonic() + 2 * RUN_TIMEOUT_S
        while (state := rest.get(f"/api/v2/dags/{DRILL_DAG_ID}/dagRuns/{run_id}").json()["state"]) not in (
            "success",
            "failed",
        ):
            assert time.monotonic() < deadline, f"drill {run_id} still {state}"
            time.sleep(2)
    assert state == "success", f"drill {run_id} {state}"
    chart = Path(banner.conf["report_dir"]) / f"drill-history-{banner.conf['name']}.svg"
    assert chart.exists(), chart
    return chart


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("airflow-local")


@pytest.fixture(scope="module")
def stack(stack_dir: Path) -> Iterator[tuple[StackCommand, Banner]]:
    started = time.monotonic()
    command = StackCommand(stack_dir)
    try:
        banner = command.wait_ready()
        print(f"\n[make airflow] up in {time.monotonic() - started:.1f}s at {banner.url}")
        yield command, banner
    finally:
        command.kill()


@pytest.mark.browser
@pytest.mark.timeout(1200)  # includes the stack's start and a DR drill
def test_trigger_from_the_ui_form_and_watch_it_succeed(stack: tuple[StackCommand, Banner], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    _, banner = stack
    shots = ARTIFACTS
    shots.mkdir(parents=True, exist_ok=True)
    # A retried task to look at: the first CreateCustomerGateway calls get a 503 (nothing applied); the hook never
    # resends a create after a 5xx, so each gateway task fails its first try and Airflow's retry creates it.
    fault = {"operation_faults": [{"operation": "CreateCustomerGateway", "kind": "server_error", "count": 2}]}
    httpx.put(f"{banner.emulator_url}/emulator-api/faults", json=fault, timeout=30).raise_for_status()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        page = browser.new_page()
        page.set_default_timeout(30_000)
        expect.set_options(timeout=60_000)  # a page still loading on a busy machine (CI runs other suites alongside)

        # Log in with what make airflow printed.
        page.goto(f"{banner.url}/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(banner.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/auth/login"))

        # The trigger form as it opens: sections of the conf model, pre-filled for the seeded demo network.
        page.goto(f"{banner.url}/dags/{DAG_ID}")
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Run Parameters")).to_be_visible()
        for section in ("Home site", "Peer site", "Tunnel 1 (IKE/IPsec)", "Waits", "Ping test"):
            expect(dialog.get_by_role("button", name=section, exact=True)).to_be_visible()
        dialog.get_by_role("button", name="Home site", exact=True).click()  # a section opens: a region drop-down
        expect(dialog.get_by_role("combobox", name=re.compile("Region")).first).to_be_visible()
        expect(dialog.get_by_text(re.compile(r"^VPC id")).first).to_be_visible()  # a human title, not "Home Vpc Id"
        values = dialog.locator("input").evaluate_all("inputs => inputs.map(i => i.value)")
        assert banner.conf["home"]["vpc_id"] in values, values  # pre-filled with the seeded network's id
        submit = dialog.get_by_test_id("trigger-dag-submit")
        expect(submit).to_be_enabled()
        page.screenshot(path=shots / "1-trigger-form.png", full_page=True)
        submit.click()
        expect(dialog).to_be_hidden(timeout=60_000)  # the trigger POST, slow on a busy machine

        # The new run in the grid; its page's state badge turns Success (the UI refreshes a running run).
        run_link = page.locator(f'a[href^="/dags/{DAG_ID}/runs/"][href$="/"]')
        expect(run_link).to_have_count(1)
        run_link.click()
        run_id = re.search(rf"/dags/{DAG_ID}/runs/([^/]+)", page.url).group(1)
        state = page.locator(f'div:has(> h2:text-is("{run_id}")) > [data-testid="state-badge"]')
        expect(state).to_have_text("Success", timeout=RUN_TIMEOUT_S * 1000)
        page.screenshot(path=shots / "2-run-success-grid.png", full_page=True)
        page.keyboard.press("g")  # the UI's shortcut from grid to graph
        expect(page.locator(".react-flow__node").first).to_be_visible()
        page.screenshot(path=shots / "2b-run-success-graph.png", full_page=True)

        # The retried task: its page lists both tries.
        page.goto(f"{banner.url}/dags/{DAG_ID}/runs/{run_id}/tasks/{RETRIED_TASK}")
        expect(page.get_by_text("Task Tries").first).to_be_visible()  # the UI shows a try selector past one try
        page.screenshot(path=shots / "4-retried-task-tries.png", full_page=True)

        # A resource-creating task: its Details tab shows the extra link to the gateway's console page.
        page.goto(f"{banner.url}/dags/{DAG_ID}/runs/{run_id}/tasks/home_region.create_border_gateway")
        page.get_by_role("link", name="Details", exact=True).click()
        console_link = page.get_by_role("link", name="JD Cloud console")
        expect(console_link).to_be_visible()
        href = console_link.get_attribute("href")
        page.screenshot(path=shots / "3-task-extra-link.png", full_page=True)
        # The gateway the emulator holds under the interconnect's name now (the drill below makes a new one).
        held = httpx.get(f"{banner.emulator_url}/emulator-api/state", timeout=30).json()["bgws"]

        # The Variables page lists the PSK's Variable, masked.
        psk_key = f"jdcloud_vpn_psk_secret_{banner.conf['name']}"
        page.goto(f"{banner.url}/variables")
        expect(page.get_by_text(psk_key)).to_be_visible()
        psk = _tunnel_psk(banner)
        assert psk not in page.content(), "the Variables page shows the PSK"
        page.screenshot(path=shots / "5-variables-psk-masked.png", full_page=True)

        # A DR drill of the same interconnect (REST), then its report's RTO chart in the browser.
        drill_chart = _run_drill(banner)
        page.set_content(f"<html><body>{drill_chart.read_text(encoding='utf-8')}</body></html>")
        expect(page.get_by_text(re.compile(r"DR drill RTO"))).to_be_visible()
        page.screenshot(path=shots / "6-drill-rto-chart.png")
        browser.close()

    print(f"\n[browser] run {run_id}: Success; screenshots in {shots}")
    # Evidence outside the browser: Airflow ran the form's pre-filled values, the seeded network's ids, to success ...
    with _rest(banner) as rest:
        run = rest.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()
    assert run["state"] == "success" and run["run_type"] == "manual"
    with _rest(banner) as rest:
        tries = rest.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{RETRIED_TASK}/tries").json()
    assert [t["state"] for t in tries["task_instances"]] == ["failed", "success"], tries
    for side in ("home", "peer"):
        assert run["conf"][f"{side}_vpc_id"] == banner.conf[side]["vpc_id"], run["conf"]
    # ... and the link names the border gateway the emulator holds under the interconnect's name.
    gateways = [g for g in held if g["bgwName"] == f"ic-{banner.conf['name']}-home-bgw"]
    assert len(gateways) == 1, held
    assert href.startswith("https://cns-console.jdcloud.com/"), href
    assert f"id={gateways[0]['bgwId']}" in href and "regionId=cn-north-1" in href, href
    shots_taken = ("1-trigger-form.png", "2-run-success-grid.png", "2b-run-success-graph.png", "3-task-extra-link.png")
    shots_taken += ("4-retried-task-tries.png", "5-variables-psk-masked.png", "6-drill-rto-chart.png")
    for name in shots_taken:
        assert (shots / name).stat().st_size > 5_000, name  # a picture, not a blank page


@pytest.mark.timeout(420)  # a stop, a second start, a stop
def test_ctrl_c_stops_everything_and_a_second_start_reuses_the_state(
    stack: tuple[StackCommand, Banner], stack_dir: Path
) -> None:
    first, banner = stack
    with _rest(banner) as rest:
        runs_before = {r["dag_run_id"] for r in rest.get(f"/api/v2/dags/{DAG_ID}/dagRuns").json()["dag_runs"]}
    assert json.loads(banner.conf_file.read_text()) == banner.conf
    sessions = first.sessions()
    assert len(sessions) >= 6, sessions  # the stack's own, the emulator and the four components

    stopped = time.monotonic()
    status = first.stop(signal.SIGINT)
    print(f"\n[make airflow] Ctrl-C: exit {status} after {time.monotonic() - stopped:.1f}s")
    assert status == 0, first.output[-3000:]
    assert _live_in_sessions(sessions) == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{banner.url}/api/v2/monitor/health", timeout=5)

    second = StackCommand(stack_dir)
    try:
        again = second.wait_ready()
        assert again.password == banner.password
        assert {side: again.conf[side]["vpc_id"] for side in ("home", "peer")} == {
            side: banner.conf[side]["vpc_id"] for side in ("home", "peer")
        }
        assert again.conf == banner.conf
        with _rest(again) as rest:
            runs_after = {r["dag_run_id"] for r in rest.get(f"/api/v2/dags/{DAG_ID}/dagRuns").json()["dag_runs"]}
        assert runs_after == runs_before
        sessions = second.sessions()
    finally:
        status = second.stop(signal.SIGTERM)
    assert status == 0, second.output[-3000:]
    assert _live_in_sessions(sessions) == []
