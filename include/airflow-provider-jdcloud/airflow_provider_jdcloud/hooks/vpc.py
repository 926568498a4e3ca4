"""Hook for the JD Cloud vpc service: VPCs, subnets and route table rules."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_jdcloud.hooks.base import JDCloudBaseHook, Resource
from airflow_provider_jdcloud.models import RouteTableRule, RouteTableRuleSpec, Subnet, Vpc

VPC = Resource("Vpc", Vpc)
SUBNET = Resource("Subnet", Subnet)
ROUTE_TABLE_RULE = Resource("RouteTableRule", RouteTableRule)


class JDCloudVpcHook(JDCloudBaseHook):
    """Read VPCs and subnets, and read and add route table rules.

    :param jdcloud_conn_id: the Airflow connection id; other arguments as for :class:`JDCloudBaseHook`
    """

    def describe_vpc(self, vpc_id: str, *, region: str | None = None) -> Vpc:
        """Describe one VPC."""
        return self._describe(VPC, vpc_id, region)

    def describe_vpcs(
        self,
        *,
        vpc_ids: Sequence[str] | None = None,
        vpc_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Vpc]:
        """List VPCs, optionally filtered by ids or names."""
        return self._list(VPC, {"vpcIds": vpc_ids, "vpcNames": vpc_names}, region)

    def describe_subnets(
        self,
        *,
        vpc_id: str | None = None,
        subnet_ids: Sequence[str] | None = None,
        subnet_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Subnet]:
        """List subnets, optionally filtered by VPC, ids or names."""
        return self._list(SUBNET, {"vpcId": vpc_id, "subnetIds": subnet_ids, "subnetNames": subnet_names}, region)

    def describe_route_table_rules(
        self,
        route_table_id: str,
        *,
        origins: Sequence[str] | None = None,
        next_hop_types: Sequence[str] | None = None,
        address_prefix: str | None = None,
        next_hop_id: str | None = None,
        rule_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[RouteTableRule]:
        """List the rules of a route table, e.g. ``origins=["propagated"]`` and the remote CIDR."""
        filters = {
            "ruleIds": rule_ids,
            "origins": origins,
            "nextHopTypes": next_hop_types,
            "addressPrefix": address_prefix,
            "nextHopId": next_hop_id,
        }
        return self._list(ROUTE_TABLE_RULE, filters, region, routeTableId=route_table_id)

    def add_route_table_rules(
        self, route_table_id: str, rules: Sequence[RouteTableRuleSpec], *, region: str | None = None
    ) -> None:
        """Add static rules to a route table, e.g. the remote CIDR with next hop type ``bgw``."""
        specs = [rule.to_request() for rule in rules]
        self.call("AddRouteTableRules", {"routeTableId": route_table_id, "routeTableRuleSpecs": specs}, region=region)
