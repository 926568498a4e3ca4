"""``python -m include.jdcloud_emulator``: serve the JD Cloud API emulator."""

from __future__ import annotations

import argparse
import json
import logging

import uvicorn

from include.jdcloud_emulator.app import create_app
from include.jdcloud_emulator.faults import FaultConfig
from include.jdcloud_emulator.netns import unavailable_reason
from include.jdcloud_emulator.settings import DATAPLANES, DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m include.jdcloud_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--state", metavar="PATH", help="SQLite file to keep state across restarts (default: memory)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies every simulated latency")
    parser.add_argument("--access-key", default=DEMO_ACCESS_KEY)
    parser.add_argument("--secret-key", default=DEMO_SECRET_KEY)
    parser.add_argument("--faults", metavar="FILE", help="JSON fault configuration to start with")
    parser.add_argument("--seed", type=int, default=0, help="seed ids and fault dice (0: random)")
    parser.add_argument(
        "--dataplane",
        choices=DATAPLANES,
        default="model",
        help="real: network namespaces, strongSwan IPsec and iputils ping (root, Debian packages; docs/emulator.md)",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    if args.dataplane == "real" and (reason := unavailable_reason()):
        parser.error(f"--dataplane real cannot run here: {reason}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    faults = None
    if args.faults:
        with open(args.faults, encoding="utf-8") as handle:
            faults = FaultConfig.model_validate(json.load(handle))
    settings = EmulatorSettings(
        access_key=args.access_key,
        secret_key=args.secret_key,
        state_path=args.state,
        time_scale=args.time_scale,
        seed=args.seed,
        dataplane=args.dataplane,
    )
    logging.basicConfig(level=args.log_level.upper())
    print(f"JD Cloud API emulator on http://{args.host}:{args.port} (time scale {args.time_scale})", flush=True)
    app = create_app(settings, faults)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        app.state.cloud.close()


if __name__ == "__main__":
    main()
