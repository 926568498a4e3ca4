"""vm service: instance lifecycle (pending -> running -> deleting -> gone), IPs, idempotency, preconditions."""

from __future__ import annotations

import ipaddress

import pytest
from jdcloud_sdk.services.common.models.Filter import Filter

from tests.emulator.scenario import Site, build_vpc, expect_error, instance_status
from tests.sdk_client import ApiError

REGION = "cn-north-1"


@pytest.fixture
def site(api) -> Site:
    site = Site(REGION, "10.40.0.0/16")
    build_vpc(api, site)
    return site


def _spec(site: Site, name: str = "vm-1", **overrides) -> dict:
    spec = {
        "name": name,
        "az": f"{site.region}a",
        "instanceType": "g.n2.medium",
        "imageId": "img-emulator",
        "primaryNetworkInterface": {"networkInterface": {"subnetId": site.subnet_id}},
    }
    return spec | overrides


def _create(api, site: Site, **params) -> list[str]:
    return api.call("CreateInstances", site.region, instanceSpec=_spec(site), **params)["instanceIds"]


def _status_api(api, instance_id: str) -> str:
    statuses = api.call("DescribeInstanceStatus", REGION, filters=[Filter("instanceId", [instance_id])])
    return statuses["instanceStatuses"][0]["status"]


def test_instance_is_pending_then_running(api, site, latencies):
    latencies(vm_boot=150)  # 150 s x 0.002 = 0.3 s: long enough to see pending
    [instance_id] = _create(api, site)
    instance = api.call("DescribeInstance", REGION, instanceId=instance_id)["instance"]
    assert instance["status"] == "pending"
    assert _status_api(api, instance_id) == "pending"
    assert (instance["instanceName"], instance["vpcId"], instance["subnetId"]) == ("vm-1", site.vpc_id, site.subnet_id)
    assert (instance["az"], instance["instanceType"], instance["imageId"]) == (
        "cn-north-1a",
        "g.n2.medium",
        "img-emulator",
    )
    api.wait_for(lambda: instance_status(api, REGION, instance_id) == "running")
    assert _status_api(api, instance_id) == "running"
    running = api.call("DescribeInstances", REGION, filters=[Filter("status", ["running"])])
    assert [i["instanceId"] for i in running["instances"]] == [instance_id]


def test_private_ips_are_distinct_and_inside_the_subnet(api, site):
    ids = _create(api, site, maxCount=3)
    assert len(set(ids)) == 3
    network = ipaddress.IPv4Network(site.cidr.replace("0.0/16", "1.0/24"))
    ips = [api.call("DescribeInstance", REGION, instanceId=i)["instance"]["privateIpAddress"] for i in ids]
    assert len(set(ips)) == 3
    for ip in ips:
        assert ipaddress.IPv4Address(ip) in set(network.hosts()), ip
    by_ip = api.call("DescribeInstances", REGION, filters=[Filter("privateIpAddress", [ips[1]])])["instances"]
    assert [i["instanceId"] for i in by_ip] == [ids[1]]
    nic = by_ip[0]["primaryNetworkInterface"]["networkInterface"]
    assert nic["primaryIp"]["privateIpAddress"] == ips[1]


def test_client_token_makes_create_idempotent(api, site):
    first = _create(api, site, clientToken="token-1", maxCount=2)
    again = _create(api, site, clientToken="token-1", maxCount=2)
    other = _create(api, site, clientToken="token-2")
    assert first == again
    assert len(first) == 2 and other[0] not in first
    assert api.call("DescribeInstances", REGION)["totalCount"] == 3


def test_pending_instance_cannot_be_deleted(api, site, latencies):
    latencies(vm_boot=150)
    [instance_id] = _create(api, site)
    expect_error(
        api,
        "DeleteInstance",
        REGION,
        400,
        "FAILED_PRECONDITION",
        f"instance {instance_id} is pending; it can be deleted only when running, stopped or error",
        instanceId=instance_id,
    )
    api.wait_for(lambda: instance_status(api, REGION, instance_id) == "running")
    assert api.call("DeleteInstance", REGION, instanceId=instance_id) == {}


def test_deleted_instance_is_deleting_then_gone(api, site, latencies):
    [instance_id] = _create(api, site)
    api.wait_for(lambda: instance_status(api, REGION, instance_id) == "running")
    latencies(vm_delete=100)  # 0.2 s
    api.call("DeleteInstance", REGION, instanceId=instance_id)
    assert instance_status(api, REGION, instance_id) == "deleting"
    expect_error(api, "DeleteInstance", REGION, 400, "FAILED_PRECONDITION", "is deleting", instanceId=instance_id)
    message = f"subnet {site.subnet_id} still has instances ({instance_id} being deleted)"
    expect_error(api, "DeleteSubnet", REGION, 400, "FAILED_PRECONDITION", message, subnetId=site.subnet_id)

    def gone():
        try:
            instance_status(api, REGION, instance_id)
        except ApiError as error:
            return (error.code, error.status) == (404, "NOT_FOUND")
        return False

    api.wait_for(gone)
    assert api.call("DescribeInstances", REGION)["instances"] == []
    assert api.call("DeleteSubnet", REGION, subnetId=site.subnet_id) == {}


@pytest.mark.parametrize(
    ("overrides", "params", "code", "status", "message"),
    [
        ({"name": "x"}, {}, 400, "INVALID_ARGUMENT", "instanceSpec.name must be 2-128 characters"),
        ({"az": "cn-east-2a"}, {}, 400, "INVALID_ARGUMENT", "instanceSpec.az cn-east-2a is not an availability zone"),
        (
            {"primaryNetworkInterface": {"networkInterface": {"subnetId": "subnet-nope"}}},
            {},
            404,
            "NOT_FOUND",
            "subnet subnet-nope not found",
        ),
        ({"imageId": None}, {}, 400, "INVALID_ARGUMENT", "imageId is required"),
        ({}, {"maxCount": 101}, 400, "OUT_OF_RANGE", "maxCount must be in [1, 100]"),
        ({}, {"clientToken": "t" * 65}, 400, "INVALID_ARGUMENT", "clientToken must be a string of at most 64"),
    ],
)
def test_bad_instance_specs_are_refused(api, site, overrides, params, code, status, message):
    spec = _spec(site, **overrides)
    expect_error(api, "CreateInstances", REGION, code, status, message, instanceSpec=spec, **params)
    assert api.call("DescribeInstances", REGION)["totalCount"] == 0


def test_unknown_instance_is_404(api):
    expect_error(api, "DescribeInstance", REGION, 404, "NOT_FOUND", "instance i-nope not found", instanceId="i-nope")
    expect_error(api, "DeleteInstance", REGION, 404, "NOT_FOUND", "instance i-nope not found", instanceId="i-nope")


def test_name_and_private_ip_filters_are_fuzzy_as_jd_documents(api, site):
    """DescribeInstances ``name`` and ``privateIpAddress`` are 模糊匹配 (substring); ``vpcId`` is exact."""
    ids = {
        name: api.call("CreateInstances", REGION, instanceSpec=_spec(site, name))["instanceIds"][0]
        for name in ("ic-prod-home-vm", "ic-prod-home-vm-old", "other")
    }

    def found(name: str, values: list[str]) -> set[str]:
        result = api.call("DescribeInstances", REGION, filters=[Filter(name, values)])
        return {i["instanceId"] for i in result["instances"]}

    assert found("name", ["ic-prod-home-vm"]) == {ids["ic-prod-home-vm"], ids["ic-prod-home-vm-old"]}
    assert found("name", ["home-vm-o"]) == {ids["ic-prod-home-vm-old"]}
    ip = api.call("DescribeInstance", REGION, instanceId=ids["other"])["instance"]["privateIpAddress"]
    assert ids["other"] in found("privateIpAddress", [ip.rsplit(".", 1)[0] + "."])
    assert found("vpcId", [site.vpc_id[:-1]]) == set()


def test_describe_image_finds_the_official_images_in_every_region(api):
    for region in ("cn-north-1", "cn-east-2"):
        image = api.call("DescribeImage", region, imageId="img-emulator-centos7")["image"]
        assert (image["imageId"], image["status"], image["osType"]) == ("img-emulator-centos7", "ready", "linux")


def test_an_unknown_image_is_not_found_and_launches_nothing(api, site):
    expect_error(api, "DescribeImage", REGION, 404, "NOT_FOUND", "image img-nosuch not found", imageId="img-nosuch")
    spec = _spec(site, imageId="img-nosuch")
    expect_error(api, "CreateInstances", REGION, 404, "NOT_FOUND", "image img-nosuch not found", instanceSpec=spec)
    assert api.call("DescribeInstances", REGION)["instances"] == []
