"""Rehearsal network for the emulator: two VPCs in two regions, a subnet and a probe VM each."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

DEMO_CONF_PATH = Path(__file__).resolve().parents[1] / "interconnect.demo.json"
DEMO_SITES = {
    "home": {"region": "cn-north-1", "cidr": "10.10.0.0/16", "subnet": "10.10.1.0/24"},
    "peer": {"region": "cn-east-2", "cidr": "10.20.0.0/16", "subnet": "10.20.1.0/24"},
}


def seed_site(hook: JDCloudHook, side: str, *, name: str = "demo", with_probe: bool = True) -> dict[str, Any]:
    """Create (through the vpc and vm APIs) a VPC with one subnet and, optionally, a probe VM."""
    site = DEMO_SITES[side]
    region = site["region"]
    vpc_id = hook.call("CreateVpc", {"vpcName": f"{name}-{side}-vpc", "addressPrefix": site["cidr"]}, region=region)[
        "vpcId"
    ]
    subnet_id = hook.call(
        "CreateSubnet",
        {"vpcId": vpc_id, "subnetName": f"{name}-{side}-subnet", "addressPrefix": site["subnet"]},
        region=region,
    )["subnetId"]
    seeded = {"region": region, "vpc_id": vpc_id, "vpc_cidr": site["cidr"], "subnet_ids": [subnet_id]}
    if with_probe:
        spec = {
            "name": f"{name}-{side}-probe",
            "az": f"{region}a",
            "instanceType": "g.n2.medium",
            "imageId": "img-emulator-centos7",
            "primaryNetworkInterface": {"networkInterface": {"subnetId": subnet_id}},
        }
        seeded["instance_id"] = hook.create_instances(spec, region=region)[0]
    return seeded


def demo_conf(seeded: dict[str, dict[str, Any]], template: Path = DEMO_CONF_PATH, **overrides: Any) -> dict[str, Any]:
    """The demo conf file with the seeded ids filled in; probes are the seeded VMs when there are any."""
    conf = json.loads(template.read_text(encoding="utf-8"))
    conf = copy.deepcopy(conf)
    for side, site in seeded.items():
        target = conf[side]
        target.update(
            region=site["region"], vpc_id=site["vpc_id"], vpc_cidr=site["vpc_cidr"], subnet_ids=site["subnet_ids"]
        )
        if "instance_id" in site:
            target["probe"] = {"instance_id": site["instance_id"]}
        else:
            target["probe"] = {"create_in_subnet": site["subnet_ids"][0]}
    conf.update(overrides)
    return conf
