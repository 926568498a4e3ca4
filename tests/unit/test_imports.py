"""No import cycle: every module of the emulator, the provider, the VPN package and the stack imports on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).parents[2]
PACKAGES = {
    "include.jdcloud_emulator": REPO / "include" / "jdcloud_emulator",
    "include.jdcloud_vpn": REPO / "include" / "jdcloud_vpn",
    "include.airflow_stack": REPO / "include" / "airflow_stack",
    "airflow_provider_jdcloud": REPO / "include" / "airflow-provider-jdcloud" / "airflow_provider_jdcloud",
}


def _modules() -> list[str]:
    found = []
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append(".".join((package, *parts)))
    return found


def _import_alone(module: str) -> tuple[str, str | None]:
    """Import ``module`` first thing in a fresh interpreter; the error's last line, or None."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
        timeout=120,
    )
    return module, None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = _modules()
    assert len(modules) > 40 and "include.jdcloud_emulator.dataplane" in modules
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {module: error for module, error in pool.map(_import_alone, modules) if error}
    assert failures == {}, failures
