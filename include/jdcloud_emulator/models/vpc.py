"""vpc service: VPCs, subnets, route tables and their rules (static and propagated from border gateways)."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import TYPE_CHECKING, Any

from include.jdcloud_emulator.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    not_found,
)
from include.jdcloud_emulator.models.core import (
    apply_filters,
    check_cidr,
    check_description,
    check_enum,
    check_int_range,
    check_name,
    require,
)
from include.jdcloud_emulator.models.state import RouteTable, RouteTableRule, Subnet, Vpc

if TYPE_CHECKING:
    from include.jdcloud_emulator.models import Emulator

NEXT_HOP_TYPES = (
    "instance",
    "internet",
    "vpc_peering",
    "bgw",
    "natgw",
    "elastic_network_interface",
    "havip",
    "l2gw",
)
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
PROPAGATED_RULE_PRIORITY = 150


def derived_id(prefix: str, *parts: str) -> str:
    """A stable id for a derived object (a propagated rule): the same inputs give the same id."""
    return prefix + "-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


class VpcBackend:
    """VPCs, subnets and route tables of every region."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def state(self):
        return self.emu.state

    # ------------------------------------------------------------------ VPC

    def create_vpc(self, region: str, params: dict) -> dict:
        name = check_name("vpcName", require(params, "vpcName"))
        prefix = params.get("addressPrefix")
        if prefix is not None:
            network = check_cidr("addressPrefix", prefix)
            if not any(network.subnet_of(r) for r in PRIVATE_RANGES) or not 16 <= network.prefixlen <= 28:
                raise InvalidArgument(
                    "addressPrefix must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a mask of 16-28"
                )
            prefix = str(network)
        vpc = Vpc(
            region_id=region,
            vpc_id=self.emu.new_id("vpc"),
            vpc_name=name,
            address_prefix=prefix,
            description=check_description(params.get("description")),
            created_time=self.emu.now_iso(),
        )
        self.state.vpcs[vpc.vpc_id] = vpc
        table = RouteTable(
            region_id=region,
            route_table_id=self.emu.new_id("rtb"),
            route_table_name="default",
            route_table_type="default",
            vpc_id=vpc.vpc_id,
            created_time=vpc.created_time,
        )
        self.state.route_tables[table.route_table_id] = table
        return {"vpcId": vpc.vpc_id}

    def get_vpc(self, region: str, vpc_id: str) -> Vpc:
        vpc = self.state.vpcs.get(vpc_id)
        if vpc is None or vpc.region_id != region:
            raise not_found("vpc", vpc_id)
        return vpc

    def vpc_json(self, vpc: Vpc) -> dict:
        data = vpc.to_json()
        data["subnets"] = [self.subnet_json(s) for s in self._subnets_of(vpc.vpc_id)]
        data["routeTableIds"] = [t.route_table_id for t in self._tables_of(vpc.vpc_id)]
        data["aclIds"] = []
        return data

    def describe_vpcs(self, region: str, filters: dict) -> list[dict]:
        vpcs = [v for v in self.state.vpcs.values() if v.region_id == region]
        getters = {"vpcIds": lambda v: v.vpc_id, "vpcNames": lambda v: v.vpc_name}
        return [self.vpc_json(v) for v in apply_filters(vpcs, filters, getters)]

    def delete_vpc(self, region: str, vpc_id: str) -> None:
        vpc = self.get_vpc(region, vpc_id)
        if self._subnets_of(vpc_id):
            raise FailedPrecondition(f"vpc {vpc_id} still has subnets")
        if any(a.vpc_id == vpc_id for a in self.state.vpc_attachments.values()):
            raise FailedPrecondition(f"vpc {vpc_id} is attached to a border gateway")
        if any(t.route_table_type != "default" for t in self._tables_of(vpc_id)):
            raise FailedPrecondition(f"vpc {vpc_id} still has custom route tables")
        for table in self._tables_of(vpc_id):
            del self.state.route_tables[table.route_table_id]
        del self.state.vpcs[vpc.vpc_id]

    # ------------------------------------------------------------------ subnets

    def create_subnet(self, region: str, params: dict) -> dict:
        vpc = self.get_vpc(region, require(params, "vpcId"))
        name = check_name("subnetName", require(params, "subnetName"))
        network = check_cidr("addressPrefix", require(params, "addressPrefix"))
        if vpc.address_prefix and not network.subnet_of(ipaddress.IPv4Network(vpc.address_prefix)):
            raise InvalidArgument(f"addressPrefix {network} is not inside the vpc CIDR {vpc.address_prefix}")
        if not 16 <= network.prefixlen <= 28:
            raise InvalidArgument("addressPrefix mask must be 16-28")
        for other in self._subnets_of(vpc.vpc_id):
            if network.overlaps(ipaddress.IPv4Network(other.address_prefix)):
                raise InvalidArgument(f"addressPrefix {network} overlaps subnet {other.subnet_id}")
        table_id = params.get("routeTableId") or self.default_table(vpc.vpc_id).route_table_id
        table = self.get_route_table(region, table_id)
        if table.vpc_id != vpc.vpc_id:
            raise InvalidArgument(f"route table {table_id} belongs to another vpc")
        subnet = Subnet(
            region_id=region,
            subnet_id=self.emu.new_id("subnet"),
            subnet_name=name,
            vpc_id=vpc.vpc_id,
            address_prefix=str(network),
            route_table_id=table_id,
            description=check_description(params.get("description")),
            created_time=self.emu.now_iso(),
        )
        self.state.subnets[subnet.subnet_id] = subnet
        return {"subnetId": subnet.subnet_id}

    def get_subnet(self, region: str, subnet_id: str) -> Subnet:
        subnet = self.state.subnets.get(subnet_id)
        if subnet is None or subnet.region_id != region:
            raise not_found("subnet", subnet_id)
        return subnet

    def subnet_json(self, subnet: Subnet) -> dict:
        network = ipaddress.IPv4Network(subnet.address_prefix)
        used = sum(1 for i in self.state.instances.values() if i.subnet_id == subnet.subnet_id)
        data = subnet.to_json()
        data.update(
            availableIpCount=network.num_addresses - 5 - used,
            ipMaskLen=network.prefixlen,
            startIp=str(network[0]),
            endIp=str(network[-1]),
            subnetType="standard",
            az="",
        )
        return data

    def describe_subnets(self, region: str, filters: dict) -> list[dict]:
        subnets = [s for s in self.state.subnets.values() if s.region_id == region]
        getters = {
            "subnetIds": lambda s: s.subnet_id,
            "subnetNames": lambda s: s.subnet_name,
            "vpcId": lambda s: s.vpc_id,
            "routeTableId": lambda s: s.route_table_id,
        }
        return [self.subnet_json(s) for s in apply_filters(subnets, filters, getters)]

    def delete_subnet(self, region: str, subnet_id: str) -> None:
        subnet = self.get_subnet(region, subnet_id)
        if any(i.subnet_id == subnet_id for i in self.state.instances.values()):
            raise FailedPrecondition(f"subnet {subnet_id} still has instances")
        del self.state.subnets[subnet.subnet_id]

    def _subnets_of(self, vpc_id: str) -> list[Subnet]:
        return [s for s in self.state.subnets.values() if s.vpc_id == vpc_id]

    # ------------------------------------------------------------------ route tables

    def create_route_table(self, region: str, params: dict) -> dict:
        vpc = self.get_vpc(region, require(params, "vpcId"))
        table = RouteTable(
            region_id=region,
            route_table_id=self.emu.new_id("rtb"),
            route_table_name=check_name("routeTableName", require(params, "routeTableName")),
            description=check_description(params.get("description")),
            vpc_id=vpc.vpc_id,
            created_time=self.emu.now_iso(),
        )
        self.state.route_tables[table.route_table_id] = table
        return {"routeTableId": table.route_table_id}

    def get_route_table(self, region: str, table_id: str) -> RouteTable:
        table = self.state.route_tables.get(table_id)
        if table is None or table.region_id != region:
            raise not_found("routeTable", table_id)
        return table

    def default_table(self, vpc_id: str) -> RouteTable:
        return next(t for t in self._tables_of(vpc_id) if t.route_table_type == "default")

    def route_table_json(self, table: RouteTable) -> dict:
        now = self.emu.now()
        data = table.to_json()
        del data["rules"]
        data["routeTableRules"] = [r.to_json() for r in self.effective_rules(table, now)]
        data["routePropagations"] = self.route_propagations(table)
        data["subnetIds"] = [
            s.subnet_id for s in self.state.subnets.values() if s.route_table_id == table.route_table_id
        ]
        return data

    def describe_route_tables(self, region: str, filters: dict) -> list[dict]:
        tables = [t for t in self.state.route_tables.values() if t.region_id == region]
        getters = {
            "routeTableIds": lambda t: t.route_table_id,
            "routeTableNames": lambda t: t.route_table_name,
            "vpcId": lambda t: t.vpc_id,
            "associateType": lambda t: t.associate_type,
        }
        return [self.route_table_json(t) for t in apply_filters(tables, filters, getters)]

    def describe_route_table_rules(self, region: str, table_id: str, filters: dict) -> list[dict]:
        table = self.get_route_table(region, table_id)
        getters = {
            "ruleIds": lambda r: r.rule_id,
            "origins": lambda r: r.origin,
            "nextHopTypes": lambda r: r.next_hop_type,
            "addressPrefix": lambda r: r.address_prefix,
            "nextHopId": lambda r: r.next_hop_id,
            "description": lambda r: r.description,
        }
        rules = self.effective_rules(table, self.emu.now())
        return [r.to_json() for r in apply_filters(rules, filters, getters)]

    def add_route_table_rules(self, region: str, table_id: str, specs: Any) -> None:
        table = self.get_route_table(region, table_id)
        if not isinstance(specs, list) or not specs:
            raise InvalidArgument("routeTableRuleSpecs is required")
        new_rules = [self._parse_rule(region, table, spec) for spec in specs]
        taken = {(r.address_prefix, r.priority) for r in table.rules}
        for rule in new_rules:
            if (rule.address_prefix, rule.priority) in taken:
                raise AlreadyExists(
                    f"route table {table_id} already has a rule for {rule.address_prefix} with priority {rule.priority}"
                )
            taken.add((rule.address_prefix, rule.priority))
        table.rules.extend(new_rules)

    def _parse_rule(self, region: str, table: RouteTable, spec: Any) -> RouteTableRule:
        if not isinstance(spec, dict):
            raise InvalidArgument("routeTableRuleSpecs items must be objects")
        next_hop_type = check_enum("nextHopType", require(spec, "nextHopType"), NEXT_HOP_TYPES)
        next_hop_id = require(spec, "nextHopId")
        if next_hop_type == "bgw":
            self.emu.bgw.get_bgw(region, next_hop_id)
        priority = spec.get("priority")
        return RouteTableRule(
            region_id=region,
            rule_id=self.emu.new_id("rtr"),
            priority=100 if priority is None else check_int_range("priority", priority, 1, 255),
            next_hop_type=next_hop_type,
            next_hop_id=next_hop_id,
            address_prefix=str(check_cidr("addressPrefix", require(spec, "addressPrefix"))),
            description=check_description(spec.get("description")),
        )

    def remove_route_table_rules(self, region: str, table_id: str, rule_ids: Any) -> None:
        table = self.get_route_table(region, table_id)
        if not isinstance(rule_ids, list) or not rule_ids:
            raise InvalidArgument("ruleIds is required")
        static_ids = {r.rule_id for r in table.rules}
        for rule_id in rule_ids:
            if rule_id not in static_ids:
                raise not_found("routeTableRule", rule_id)
        table.rules = [r for r in table.rules if r.rule_id not in set(rule_ids)]

    def associate_route_table(self, region: str, table_id: str, subnet_ids: Any) -> None:
        table = self.get_route_table(region, table_id)
        if not isinstance(subnet_ids, list) or not subnet_ids:
            raise InvalidArgument("subnetIds is required")
        subnets = [self.get_subnet(region, s) for s in subnet_ids]
        for subnet in subnets:
            if subnet.vpc_id != table.vpc_id:
                raise InvalidArgument(f"subnet {subnet.subnet_id} is in another vpc than route table {table_id}")
        for subnet in subnets:
            subnet.route_table_id = table_id

    def modify_route_table(self, region: str, table_id: str, params: dict) -> None:
        table = self.get_route_table(region, table_id)
        if params.get("routeTableName") is not None:
            table.route_table_name = check_name("routeTableName", params["routeTableName"])
        if params.get("description") is not None:
            table.description = check_description(params["description"])

    def delete_route_table(self, region: str, table_id: str) -> None:
        table = self.get_route_table(region, table_id)
        if table.route_table_type == "default":
            raise FailedPrecondition(f"route table {table_id} is the vpc's default route table")
        if any(s.route_table_id == table_id for s in self.state.subnets.values()):
            raise FailedPrecondition(f"route table {table_id} is associated with subnets")
        del self.state.route_tables[table_id]

    def _tables_of(self, vpc_id: str) -> list[RouteTable]:
        return [t for t in self.state.route_tables.values() if t.vpc_id == vpc_id]

    # ------------------------------------------------------------------ propagation from border gateways

    def route_propagations(self, table: RouteTable) -> list[dict]:
        """One propagation per border gateway the table's VPC is attached to (set up by the attachment)."""
        return [
            {
                "propagationId": derived_id("rtp", table.route_table_id, a.bgw_id),
                "priority": PROPAGATED_RULE_PRIORITY,
                "bgwId": a.bgw_id,
                "propagationCidrType": "CIDR",
                "propagationCidrs": "0.0.0.0/0",
            }
            for a in self.emu.bgw.attachments_of_vpc(table.vpc_id)
        ]

    def effective_rules(self, table: RouteTable, now: float) -> list[RouteTableRule]:
        """The local rule, the static rules, and the BGW routes propagated into the table by ``now``."""
        vpc = self.state.vpcs[table.vpc_id]
        rules: list[RouteTableRule] = []
        if vpc.address_prefix:
            rules.append(
                RouteTableRule(
                    region_id=table.region_id,
                    rule_id=derived_id("rtr", table.route_table_id, "local"),
                    next_hop_type="local",
                    next_hop_id="local",
                    address_prefix=vpc.address_prefix,
                )
            )
        rules.extend(table.rules)
        delay = self.emu.latency("route_propagation")
        for attachment in self.emu.bgw.attachments_of_vpc(table.vpc_id):
            for route in self.emu.bgw.static_routes(attachment.bgw_id):
                if route.bgw_route_next_hop_type != "vpnConnection":
                    continue
                if max(route.created_at, attachment.active_at) + delay > now:
                    continue
                rules.append(
                    RouteTableRule(
                        region_id=table.region_id,
                        rule_id=derived_id("rtr", table.route_table_id, route.bgw_route_id),
                        priority=PROPAGATED_RULE_PRIORITY,
                        next_hop_type="bgw",
                        next_hop_id=attachment.bgw_id,
                        address_prefix=route.bgw_route_destination,
                        origin="propagated",
                    )
                )
        return rules
