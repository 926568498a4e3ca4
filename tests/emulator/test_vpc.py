"""vpc service: VPCs, subnets, route tables and rules, delete preconditions."""

from __future__ import annotations

import pytest
from jdcloud_sdk.services.common.models.Filter import Filter

from tests.emulator.scenario import Site, build_vpc, expect_error, expect_rule_not_found, launch_vm, route_table_rules

REGION = "cn-north-1"


@pytest.fixture
def vpc_id(api) -> str:
    return api.call("CreateVpc", REGION, vpcName="net", addressPrefix="10.0.0.0/16")["vpcId"]


def _rules(api, table_id: str, *filters: Filter) -> list[dict]:
    return route_table_rules(api, REGION, table_id, *filters)


def test_create_vpc_makes_a_default_route_table(api, vpc_id):
    vpc = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]
    assert (vpc["vpcName"], vpc["addressPrefix"], vpc["subnets"]) == ("net", "10.0.0.0/16", [])
    tables = api.call("DescribeRouteTables", REGION, filters=[Filter("vpcId", [vpc_id])])["routeTables"]
    assert len(tables) == 1
    table = tables[0]
    assert vpc["routeTableIds"] == [table["routeTableId"]]
    assert (table["routeTableType"], table["vpcId"], table["routePropagations"]) == ("default", vpc_id, [])
    assert [(r["nextHopType"], r["addressPrefix"], r["origin"]) for r in table["routeTableRules"]] == [
        ("local", "10.0.0.0/16", "static")
    ]


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("8.8.0.0/16", "addressPrefix must be inside 10.0.0.0/8"),
        ("10.0.0.0/12", "with a mask of 16-28"),
        ("10.0.0.0/29", "with a mask of 16-28"),
        ("10.0.0.1/16", "must be an IPv4 CIDR"),
    ],
)
def test_vpc_cidr_rules(api, prefix, message):
    expect_error(api, "CreateVpc", REGION, 400, "INVALID_ARGUMENT", message, vpcName="bad", addressPrefix=prefix)


def test_subnet_gets_the_default_route_table_and_ips(api, vpc_id):
    subnet_id = api.call("CreateSubnet", REGION, vpcId=vpc_id, subnetName="s", addressPrefix="10.0.1.0/24")["subnetId"]
    subnet = api.call("DescribeSubnet", REGION, subnetId=subnet_id)["subnet"]
    default_table = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]["routeTableIds"][0]
    assert subnet["routeTableId"] == default_table
    assert (subnet["startIp"], subnet["endIp"], subnet["availableIpCount"]) == ("10.0.1.0", "10.0.1.255", 251)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("10.1.0.0/24", "is not inside the vpc CIDR 10.0.0.0/16"),
        ("10.0.0.0/8", "is not inside the vpc CIDR 10.0.0.0/16"),
        ("10.0.1.128/25", "overlaps subnet"),
        ("10.0.0.0/16", "overlaps subnet"),
        ("10.0.1.0/29", "mask must be 16-28"),
    ],
)
def test_subnet_outside_or_overlapping_is_400(api, vpc_id, prefix, message):
    api.call("CreateSubnet", REGION, vpcId=vpc_id, subnetName="first", addressPrefix="10.0.1.0/24")
    expect_error(
        api,
        "CreateSubnet",
        REGION,
        400,
        "INVALID_ARGUMENT",
        message,
        vpcId=vpc_id,
        subnetName="s2",
        addressPrefix=prefix,
    )


def test_route_table_rules_add_filter_and_remove(api, vpc_id):
    bgw_id = api.call("CreateBgw", REGION, bgwName="gw")["bgwId"]
    table_id = api.call("CreateRouteTable", REGION, vpcId=vpc_id, routeTableName="custom")["routeTableId"]
    specs = [
        {"nextHopType": "bgw", "nextHopId": bgw_id, "addressPrefix": "10.20.0.0/16", "description": "peer"},
        {"nextHopType": "internet", "nextHopId": "internet", "addressPrefix": "0.0.0.0/0", "priority": 200},
    ]
    assert api.call("AddRouteTableRules", REGION, routeTableId=table_id, routeTableRuleSpecs=specs) == {}
    rules = _rules(api, table_id)
    assert [(r["addressPrefix"], r["nextHopType"], r["priority"], r["origin"]) for r in rules] == [
        ("10.0.0.0/16", "local", 100, "static"),
        ("10.20.0.0/16", "bgw", 100, "static"),
        ("0.0.0.0/0", "internet", 200, "static"),
    ]
    assert [r["nextHopId"] for r in _rules(api, table_id, Filter("nextHopTypes", ["bgw"]))] == [bgw_id]
    assert [r["addressPrefix"] for r in _rules(api, table_id, Filter("addressPrefix", ["0.0.0.0/0"]))] == ["0.0.0.0/0"]
    assert len(_rules(api, table_id, Filter("origins", ["static"]))) == 3
    assert _rules(api, table_id, Filter("origins", ["propagated"])) == []
    assert len(_rules(api, table_id, Filter("nextHopTypes", ["bgw", "internet"]))) == 2

    bgw_rule = _rules(api, table_id, Filter("nextHopTypes", ["bgw"]))[0]["ruleId"]
    assert api.call("RemoveRouteTableRules", REGION, routeTableId=table_id, ruleIds=[bgw_rule]) == {}
    assert [r["nextHopType"] for r in _rules(api, table_id)] == ["local", "internet"]
    expect_rule_not_found(api, REGION, table_id, bgw_rule)


@pytest.mark.parametrize(
    ("spec", "code", "status", "message"),
    [
        (
            {"nextHopType": "teleport", "nextHopId": "x", "addressPrefix": "1.0.0.0/8"},
            400,
            "INVALID_ARGUMENT",
            "nextHopType must be one of",
        ),
        (
            {"nextHopType": "bgw", "nextHopId": "bgw-missing", "addressPrefix": "1.0.0.0/8"},
            404,
            "NOT_FOUND",
            "bgw bgw-missing not found",
        ),
        (
            {"nextHopType": "internet", "nextHopId": "internet", "addressPrefix": "1.0.0.1/8"},
            400,
            "INVALID_ARGUMENT",
            "addressPrefix must be an IPv4 CIDR",
        ),
        (
            {"nextHopType": "internet", "nextHopId": "internet", "addressPrefix": "1.0.0.0/8", "priority": 256},
            400,
            "OUT_OF_RANGE",
            "priority must be in [1, 255]",
        ),
        ({"nextHopType": "internet", "addressPrefix": "1.0.0.0/8"}, 400, "INVALID_ARGUMENT", "nextHopId is required"),
    ],
)
def test_bad_route_table_rules_are_refused(api, vpc_id, spec, code, status, message):
    table_id = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]["routeTableIds"][0]
    expect_error(
        api, "AddRouteTableRules", REGION, code, status, message, routeTableId=table_id, routeTableRuleSpecs=[spec]
    )


def test_duplicate_rule_is_409(api, vpc_id):
    table_id = api.call("DescribeVpc", REGION, vpcId=vpc_id)["vpc"]["routeTableIds"][0]
    spec = {"nextHopType": "internet", "nextHopId": "internet", "addressPrefix": "0.0.0.0/0"}
    api.call("AddRouteTableRules", REGION, routeTableId=table_id, routeTableRuleSpecs=[spec])
    expect_error(
        api,
        "AddRouteTableRules",
        REGION,
        409,
        "ALREADY_EXISTS",
        "already has a rule for 0.0.0.0/0",
        routeTableId=table_id,
        routeTableRuleSpecs=[spec],
    )


def test_vpc_with_subnets_cannot_be_deleted(api):
    site = Site(REGION, "10.30.0.0/16")
    build_vpc(api, site)
    expect_error(api, "DeleteVpc", REGION, 400, "FAILED_PRECONDITION", "still has subnets", vpcId=site.vpc_id)
    api.call("DeleteSubnet", REGION, subnetId=site.subnet_id)
    assert api.call("DeleteVpc", REGION, vpcId=site.vpc_id) == {}
    expect_error(api, "DescribeVpc", REGION, 404, "NOT_FOUND", f"vpc {site.vpc_id} not found", vpcId=site.vpc_id)
    assert api.call("DescribeRouteTables", REGION)["routeTables"] == []


def test_subnet_with_instances_cannot_be_deleted(api):
    site = Site(REGION, "10.30.0.0/16")
    build_vpc(api, site)
    launch_vm(api, site)
    expect_error(
        api, "DeleteSubnet", REGION, 400, "FAILED_PRECONDITION", "still has instances", subnetId=site.subnet_id
    )


def test_default_route_table_and_associated_tables_cannot_be_deleted(api):
    site = Site(REGION, "10.30.0.0/16")
    build_vpc(api, site)
    expect_error(
        api,
        "DeleteRouteTable",
        REGION,
        400,
        "FAILED_PRECONDITION",
        "default route table",
        routeTableId=site.route_table_id,
    )
    custom = api.call("CreateRouteTable", REGION, vpcId=site.vpc_id, routeTableName="custom")["routeTableId"]
    api.call("AssociateRouteTable", REGION, routeTableId=custom, subnetIds=[site.subnet_id])
    assert api.call("DescribeSubnet", REGION, subnetId=site.subnet_id)["subnet"]["routeTableId"] == custom
    expect_error(
        api, "DeleteRouteTable", REGION, 400, "FAILED_PRECONDITION", "associated with subnets", routeTableId=custom
    )
    expect_error(api, "DeleteVpc", REGION, 400, "FAILED_PRECONDITION", "still has subnets", vpcId=site.vpc_id)
