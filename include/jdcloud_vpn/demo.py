"""Rehearsal network for the emulator: two VPCs in two regions, a subnet and a probe VM each.

``python -m include.jdcloud_vpn.demo --endpoint HOST:PORT --conf-out FILE`` seeds them into a running emulator
(reusing a network seeded before) and writes the interconnect conf for them: the compose ``jdcloud-seed``
service. That network has the well-known ids of ``include/interconnect.demo.json`` (``vpc-demohome01``...),
which the DAGs' trigger forms are pre-filled with: before creating them, the seeding asks the emulator's
control plane (``POST /emulator-api/preset-ids``, not part of JD Cloud's API) to hand out those ids. Tests seed
other networks with :func:`seed_site` alone, which get random ids.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook

DEMO_CONF_PATH = Path(__file__).resolve().parents[1] / "interconnect.demo.json"
DEMO_SITES = {
    "home": {"region": "cn-north-1", "cidr": "10.10.0.0/16", "subnet": "10.10.1.0/24"},
    "peer": {"region": "cn-east-2", "cidr": "10.20.0.0/16", "subnet": "10.20.1.0/24"},
}


@functools.cache
def _demo_template() -> dict[str, Any]:
    return json.loads(DEMO_CONF_PATH.read_text(encoding="utf-8"))


def well_known_ids(side: str) -> list[str]:
    """The ids the demo network's VPC, subnet and probe VM of ``side`` get (from ``interconnect.demo.json``)."""
    site = _demo_template()[side]
    return [site["vpc_id"], *site["subnet_ids"], site["probe"]["instance_id"]]


def form_defaults() -> dict[str, Any]:
    """What the trigger forms are pre-filled with: the demo network (name, both sites); every other field keeps
    the model's default, which suits the real cloud too."""
    return {key: copy.deepcopy(_demo_template()[key]) for key in ("name", "home", "peer")}


def preset_well_known_ids(control_url: str, side: str) -> None:
    """Ask the emulator (its control plane at ``control_url``) to give the next VPC, subnet and VM the well-known
    ids of ``side``."""
    response = httpx.post(f"{control_url}/preset-ids", json={"ids": well_known_ids(side)}, timeout=10)
    response.raise_for_status()


def seed_site(
    hook: JDCloudHook,
    side: str,
    *,
    name: str = "demo",
    with_probe: bool = True,
    layout: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Create (through the vpc and vm APIs) a VPC with one subnet and, optionally, a probe VM.

    :param layout: ``region``, ``cidr`` and ``subnet`` of the site; default the demo's (``DEMO_SITES[side]``)
    """
    site = layout or DEMO_SITES[side]
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


def find_or_seed_site(
    hook: JDCloudHook, side: str, *, name: str = "demo", control_url: str | None = None
) -> dict[str, Any]:
    """Return the site :func:`seed_site` made before (found by its names), seeding it if there is none.

    :param control_url: the emulator's control plane; when given, a new site gets the well-known ids.
    :raises RuntimeError: the VPC exists without its subnet or probe VM (reset the emulator)
    """
    site = DEMO_SITES[side]
    region, vpc_name = site["region"], f"{name}-{side}-vpc"
    vpcs = [v for v in hook.describe_vpcs(vpc_names=[vpc_name], region=region) if v.vpc_name == vpc_name]
    if not vpcs:
        if control_url is not None:
            preset_well_known_ids(control_url, side)
        return seed_site(hook, side, name=name)
    vpc_id = vpcs[0].vpc_id
    subnet_name = f"{name}-{side}-subnet"
    subnets = [s for s in hook.describe_subnets(vpc_id=vpc_id, region=region) if s.subnet_name == subnet_name]
    probes = hook.find_instances_by_name(f"{name}-{side}-probe", vpc_id=vpc_id, region=region)
    if not subnets or not probes:
        raise RuntimeError(f"{vpc_name} ({vpc_id}) exists without its subnet or probe VM: reset the emulator")
    return {
        "region": region,
        "vpc_id": vpc_id,
        "vpc_cidr": site["cidr"],
        "subnet_ids": [subnets[0].subnet_id],
        "instance_id": probes[0].instance_id,
    }


def demo_conf(seeded: dict[str, dict[str, Any]], template: Path = DEMO_CONF_PATH, **overrides: Any) -> dict[str, Any]:
    """The demo conf file with the seeded ids filled in; probes are the seeded VMs when there are any."""
    conf = json.loads(template.read_text(encoding="utf-8"))
    for side, site in seeded.items():
        conf[side].update(site_conf(site))
    conf.update(overrides)
    return conf


def site_conf(seeded: dict[str, Any]) -> dict[str, Any]:
    """The conf fields of a site :func:`seed_site` made: its VPC, and its VM as probe (else a probe the build
    creates in its subnet)."""
    probe = {"instance_id": seeded["instance_id"]} if "instance_id" in seeded else {}
    return {
        "region": seeded["region"],
        "vpc_id": seeded["vpc_id"],
        "vpc_cidr": seeded["vpc_cidr"],
        "subnet_ids": seeded["subnet_ids"],
        "probe": probe or {"create_in_subnet": seeded["subnet_ids"][0]},
    }


def main(argv: list[str] | None = None) -> None:
    """Seed (or find) the two demo sites in an emulator and write their interconnect conf."""
    from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

    parser = argparse.ArgumentParser(prog="python -m include.jdcloud_vpn.demo", description=main.__doc__)
    parser.add_argument("--endpoint", required=True, help="the emulator, host:port")
    parser.add_argument("--conf-out", type=Path, required=True, help="where to write the conf (JSON)")
    parser.add_argument("--report-dir", default="reports/demo", help="report_dir of the conf")
    args = parser.parse_args(argv)
    hook = JDCloudHook.from_credentials(DEMO_ACCESS_KEY, DEMO_SECRET_KEY, endpoint=args.endpoint, scheme="http")
    control_url = f"http://{args.endpoint}/emulator-api"
    seeded = {side: find_or_seed_site(hook, side, control_url=control_url) for side in ("home", "peer")}
    for side, site in seeded.items():
        print(f"{side}: {site['region']} {site['vpc_id']} {site['vpc_cidr']} probe {site['instance_id']}")
    args.conf_out.parent.mkdir(parents=True, exist_ok=True)
    args.conf_out.write_text(json.dumps(demo_conf(seeded, report_dir=args.report_dir), indent=2) + "\n")
    print(f"conf written to {args.conf_out}: trigger jdcloud_vpn_interconnect with it")


if __name__ == "__main__":
    main()
