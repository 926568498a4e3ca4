"""Load-test the JD Cloud API emulator through the real ``jdcloud_sdk``: per-call latency and throughput.

Starts an emulator in this process, creates a few resources, then for each operation (``DescribeVpnTunnel``,
``DescribeBgws``) and each thread count (1 and 4) sends ``--calls`` signed requests, stopping early after
``--max-seconds``. Prints p50/p99 latency and requests per second, one row per run.

Usage: ``PYTHONPATH=. .venv/bin/python scripts/bench_emulator.py [--calls 2000] [--threads 1,4]``
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from jdcloud_sdk.core.config import Config
from jdcloud_sdk.core.credential import Credential
from jdcloud_sdk.core.jdcloudrequest import JDCloudRequest
from jdcloud_sdk.services.bgw.client.BgwClient import BgwClient

from airflow_provider_jdcloud.api_paths import OPERATIONS
from airflow_provider_jdcloud.hooks.base import QuietSdkLogger
from include.jdcloud_emulator.faults import FaultConfig
from include.jdcloud_emulator.server import start_in_thread
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings

REGION = "cn-north-1"


class _Request(JDCloudRequest):
    def __init__(self, operation: str, parameters: dict) -> None:
        op = OPERATIONS[operation]
        super().__init__(op.path, op.method, None, "v1")
        self.parameters = {"regionId": REGION, **parameters}


def _client(endpoint: str) -> BgwClient:
    return BgwClient(Credential(DEMO_ACCESS_KEY, DEMO_SECRET_KEY), Config(endpoint, "http", 10), QuietSdkLogger())


def _call(client: BgwClient, operation: str, **params: Any) -> dict:
    response = client.send(_Request(operation, params))
    if response.error is not None:
        raise RuntimeError(f"{operation}: {response.error.code} {response.error.status}: {response.error.message}")
    return response.result or {}


def create_resources(client: BgwClient) -> dict[str, dict]:
    """Three BGWs, a customer gateway, a VPN connection and its two tunnels; returns each operation's params."""
    bgw_ids = [_call(client, "CreateBgw", bgwName=f"bench-{i}")["bgwId"] for i in range(3)]
    cgw_id = _call(client, "CreateCustomerGateway", customerGatewayName="bench", customerIps=["1.0.0.1"], bgpAsn=65001)[
        "customerGatewayId"
    ]
    connection_id = _call(client, "CreateVpnConnection", vpnConnectionName="bench", bgwId=bgw_ids[0], cgwId=cgw_id)[
        "vpnConnectionId"
    ]
    cloud_ips: list[str] = []
    deadline = time.monotonic() + 60
    while not cloud_ips:  # allocated after the emulated provisioning delay
        if time.monotonic() > deadline:
            raise RuntimeError(f"VPN connection {connection_id} got no cloud IPs within 60 s")
        cloud_ips = _call(client, "DescribeVpnConnection", vpnConnectionId=connection_id)["vpnConnection"][
            "cloudPublicIp"
        ]
    tunnel_ids = [
        _call(
            client,
            "CreateVpnTunnel",
            vpnConnectionId=connection_id,
            cloudPublicIp=ip,
            customerIp="1.0.0.1",
            psk="Bench_PSK_1",
        )["vpnTunnelId"]
        for ip in cloud_ips
    ]
    return {"DescribeVpnTunnel": {"vpnTunnelId": tunnel_ids[0]}, "DescribeBgws": {}}


@dataclass
class Run:
    operation: str
    threads: int
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def run(endpoint: str, operation: str, params: dict, threads: int, calls: int, max_seconds: float) -> Run:
    """Send ``calls`` requests from ``threads`` threads (each with its own SDK client), or stop at ``max_seconds``."""
    result = Run(operation, threads)
    lock = threading.Lock()
    remaining = [calls]
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        client = _client(endpoint)
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                _call(client, operation, **params)
                ok = True
            except Exception:  # a failed call is counted, not timed; the run goes on
                ok = False
            spent = time.perf_counter() - started
            with lock:
                if ok:
                    result.latencies_s.append(spent)
                else:
                    result.errors += 1

    pool = [threading.Thread(target=worker, name=f"bench-{i}") for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    result.elapsed_s = time.perf_counter() - started
    return result


def print_table(runs: list[Run]) -> None:
    header = f"{'operation':<20} {'threads':>7} {'calls':>6} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"
    print(header)
    print("-" * len(header))
    for r in runs:
        done = len(r.latencies_s)
        rate = done / r.elapsed_s if r.elapsed_s else 0.0
        print(
            f"{r.operation:<20} {r.threads:>7} {done:>6} {r.errors:>6} "
            f"{r.percentile(50) * 1000:>8.2f} {r.percentile(99) * 1000:>8.2f} {rate:>8.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="requests per (operation, thread count) run")
    parser.add_argument("--threads", default="1,4", help="comma-separated thread counts")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop a run after this long")
    parser.add_argument("--time-scale", type=float, default=0.002)
    args = parser.parse_args(argv)
    thread_counts = [int(t) for t in args.threads.split(",")]

    # The documented 1000 calls/minute/service would throttle the benchmark itself: lift it.
    emulator = start_in_thread(
        EmulatorSettings(time_scale=args.time_scale), FaultConfig(rate_limit_per_minute=1_000_000_000)
    )
    try:
        params = create_resources(_client(emulator.endpoint))
        for operation, op_params in params.items():  # warm up: imports, first connections
            for _ in range(20):
                _call(_client(emulator.endpoint), operation, **op_params)
        runs = [
            run(emulator.endpoint, operation, op_params, threads, args.calls, args.max_seconds)
            for operation, op_params in params.items()
            for threads in thread_counts
        ]
    finally:
        emulator.stop()
    print(f"emulator at time scale {args.time_scale}, {args.calls} calls per run, python {sys.version.split()[0]}")
    print_table(runs)
    return 1 if any(r.errors for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
