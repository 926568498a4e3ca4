"""The compose ``jdcloud-seed`` command (``python -m include.jdcloud_vpn.demo``) against a live emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from include.jdcloud_vpn import demo
from include.jdcloud_vpn.conf import validate_conf


def test_seeding_twice_reuses_the_demo_sites_and_writes_a_valid_conf(
    emulator: Any, control: Any, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "demo" / "interconnect.demo.conf.json"
    demo.main(["--endpoint", emulator.endpoint, "--conf-out", str(out)])
    first = json.loads(out.read_text())
    demo.main(["--endpoint", emulator.endpoint, "--conf-out", str(out)])  # the service runs on every `up`
    assert json.loads(out.read_text()) == first
    state = control.get("/state").json()
    assert sorted(v["vpcName"] for v in state["vpcs"]) == ["demo-home-vpc", "demo-peer-vpc"]
    conf = validate_conf(first)
    assert conf.home.vpc_id != conf.peer.vpc_id and conf.psk_secret.variable == "jdcloud_vpn_psk_secret_demo"
    # The network has the well-known ids the trigger forms are pre-filled with.
    assert {key: first[key] for key in ("name", "home", "peer")} == demo.form_defaults()
    ids = {(v["vpcId"], v["vpcName"]) for v in state["vpcs"]}
    assert ids == {("vpc-demohome01", "demo-home-vpc"), ("vpc-demopeer01", "demo-peer-vpc")}
    instances = {i["instanceId"]: i["subnetId"] for i in state["instances"]}
    assert instances == {"i-demohome01": "subnet-demohome01", "i-demopeer01": "subnet-demopeer01"}
    assert f"conf written to {out}" in capsys.readouterr().out
