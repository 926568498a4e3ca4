"""vpc service: VPCs, subnets, route tables and their rules (static and propagated from border gateways)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass

from include.jdcloud_emulator.exceptions import AlreadyExists, FailedPrecondition, InvalidArgument, not_found
from include.jdcloud_emulator.models.core import RegionalBackend, apply_filters, derived_id
from include.jdcloud_emulator.models.state import RouteTable, RouteTableRule, Subnet, Vpc

PROPAGATED_RULE_PRIORITY = 150


@dataclass(frozen=True)
class RuleSpec:
    """One static rule to add to a route table, as checked by the response layer."""

    next_hop_type: str
    next_hop_id: str
    address_prefix: str
    priority: int
    description: str


class VpcBackend(RegionalBackend):
    """VPCs, subnets and route tables of every region."""

    # ------------------------------------------------------------------ VPC

    def create_vpc(self, region: str, *, name: str, address_prefix: str | None, description: str) -> Vpc:
        """Create a VPC and its default route table."""
        vpc = self._new(
            self.state.vpcs, Vpc, region, vpc_name=name, address_prefix=address_prefix, description=description
        )
        self._new(
            self.state.route_tables,
            RouteTable,
            region,
            route_table_name="default",
            route_table_type="default",
            vpc_id=vpc.vpc_id,
            created_time=vpc.created_time,
        )
        return vpc

    def get_vpc(self, region: str, vpc_id: str) -> Vpc:
        return self.get_in_region(self.state.vpcs, "vpc", region, vpc_id)

    def vpc_json(self, vpc: Vpc) -> dict:
        data = vpc.to_json()
        data["subnets"] = [self.subnet_json(s) for s in self._subnets_of(vpc.vpc_id)]
        data["routeTableIds"] = [t.route_table_id for t in self._tables_of(vpc.vpc_id)]
        data["aclIds"] = []
        return data

    def describe_vpcs(self, region: str, filters: dict[str, list[str]]) -> list[Vpc]:
        getters = {"vpcIds": "vpc_id", "vpcNames": "vpc_name"}
        return apply_filters(self.in_region(self.state.vpcs, region), filters, getters)

    def delete_vpc(self, region: str, vpc_id: str) -> None:
        self.get_vpc(region, vpc_id)
        if self._subnets_of(vpc_id):
            raise FailedPrecondition(f"vpc {vpc_id} still has subnets")
        attachments = [a for a in self.state.vpc_attachments.values() if a.vpc_id == vpc_id]
        if attachments:  # one being deleted still counts until it is gone
            deleting = [a.vpc_attachment_id for a in attachments if a.deleting_at is not None]
            suffix = f" ({', '.join(deleting)} being deleted)" if deleting else ""
            raise FailedPrecondition(f"vpc {vpc_id} is attached to a border gateway{suffix}")
        if any(t.route_table_type != "default" for t in self._tables_of(vpc_id)):
            raise FailedPrecondition(f"vpc {vpc_id} still has custom route tables")
        for table in self._tables_of(vpc_id):
            del self.state.route_tables[table.route_table_id]
        del self.state.vpcs[vpc_id]

    # ------------------------------------------------------------------ subnets

    def create_subnet(
        self,
        region: str,
        *,
        vpc_id: str,
        name: str,
        address_prefix: ipaddress.IPv4Network,
        route_table_id: str | None,
        description: str,
    ) -> Subnet:
        """Check the CIDR against the VPC and its other subnets; no route table means the VPC's default one."""
        vpc = self.get_vpc(region, vpc_id)
        if vpc.address_prefix and not address_prefix.subnet_of(ipaddress.IPv4Network(vpc.address_prefix)):
            raise InvalidArgument(f"addressPrefix {address_prefix} is not inside the vpc CIDR {vpc.address_prefix}")
        if not 16 <= address_prefix.prefixlen <= 28:
            raise InvalidArgument("addressPrefix mask must be 16-28")
        for other in self._subnets_of(vpc_id):
            if address_prefix.overlaps(ipaddress.IPv4Network(other.address_prefix)):
                raise InvalidArgument(f"addressPrefix {address_prefix} overlaps subnet {other.subnet_id}")
        table = self.get_route_table(region, route_table_id or self.default_table(vpc_id).route_table_id)
        if table.vpc_id != vpc_id:
            raise InvalidArgument(f"route table {table.route_table_id} belongs to another vpc")
        return self._new(
            self.state.subnets,
            Subnet,
            region,
            subnet_name=name,
            vpc_id=vpc_id,
            address_prefix=str(address_prefix),
            route_table_id=table.route_table_id,
            description=description,
        )

    def get_subnet(self, region: str, subnet_id: str) -> Subnet:
        return self.get_in_region(self.state.subnets, "subnet", region, subnet_id)

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

    def describe_subnets(self, region: str, filters: dict[str, list[str]]) -> list[Subnet]:
        getters = {
            "subnetIds": "subnet_id",
            "subnetNames": "subnet_name",
            "vpcId": "vpc_id",
            "routeTableId": "route_table_id",
        }
        return apply_filters(self.in_region(self.state.subnets, region), filters, getters)

    def delete_subnet(self, region: str, subnet_id: str) -> None:
        self.get_subnet(region, subnet_id)
        instances = [i for i in self.state.instances.values() if i.subnet_id == subnet_id]
        if instances:  # one being deleted still counts until it is gone
            deleting = [i.instance_id for i in instances if i.deleting_at is not None]
            suffix = f" ({', '.join(deleting)} being deleted)" if deleting else ""
            raise FailedPrecondition(f"subnet {subnet_id} still has instances{suffix}")
        del self.state.subnets[subnet_id]

    def _subnets_of(self, vpc_id: str) -> list[Subnet]:
        return [s for s in self.state.subnets.values() if s.vpc_id == vpc_id]

    # ------------------------------------------------------------------ route tables

    def create_route_table(self, region: str, *, vpc_id: str, name: str, description: str) -> RouteTable:
        self.get_vpc(region, vpc_id)
        return self._new(
            self.state.route_tables, RouteTable, region, route_table_name=name, description=description, vpc_id=vpc_id
        )

    def get_route_table(self, region: str, table_id: str) -> RouteTable:
        return self.get_in_region(self.state.route_tables, "routeTable", region, table_id)

    def default_table(self, vpc_id: str) -> RouteTable:
        return next(t for t in self._tables_of(vpc_id) if t.route_table_type == "default")

    def route_table_json(self, table: RouteTable) -> dict:
        data = table.to_json()
        del data["rules"]
        data["routeTableRules"] = [r.to_json() for r in self.effective_rules(table, self.cloud.now())]
        data["routePropagations"] = self.route_propagations(table)
        data["subnetIds"] = [
            s.subnet_id for s in self.state.subnets.values() if s.route_table_id == table.route_table_id
        ]
        return data

    def describe_route_tables(self, region: str, filters: dict[str, list[str]]) -> list[RouteTable]:
        getters = {
            "routeTableIds": "route_table_id",
            "routeTableNames": "route_table_name",
            "vpcId": "vpc_id",
            "associateType": "associate_type",
        }
        return apply_filters(self.in_region(self.state.route_tables, region), filters, getters)

    def describe_route_table_rules(
        self, region: str, table_id: str, filters: dict[str, list[str]]
    ) -> list[RouteTableRule]:
        table = self.get_route_table(region, table_id)
        getters = {
            "ruleIds": "rule_id",
            "origins": "origin",
            "nextHopTypes": "next_hop_type",
            "addressPrefix": "address_prefix",
            "nextHopId": "next_hop_id",
            "description": "description",
        }
        return apply_filters(self.effective_rules(table, self.cloud.now()), filters, getters)

    def add_route_table_rules(self, region: str, table_id: str, specs: list[RuleSpec]) -> None:
        """Add static rules; a ``bgw`` next hop must exist, and (prefix, priority) must be new to the table."""
        table = self.get_route_table(region, table_id)
        for spec in specs:
            if spec.next_hop_type == "bgw":
                self.cloud.bgw.get_bgw(region, spec.next_hop_id)
        taken = {(r.address_prefix, r.priority) for r in table.rules}
        for spec in specs:
            if (spec.address_prefix, spec.priority) in taken:
                raise AlreadyExists(
                    f"route table {table_id} already has a rule for {spec.address_prefix} with priority {spec.priority}"
                )
            taken.add((spec.address_prefix, spec.priority))
        table.rules.extend(
            RouteTableRule(region_id=region, rule_id=self.cloud.new_id("rtr"), **asdict(spec)) for spec in specs
        )

    def remove_route_table_rules(self, region: str, table_id: str, rule_ids: list[str]) -> None:
        table = self.get_route_table(region, table_id)
        static_ids = {r.rule_id for r in table.rules}
        for rule_id in rule_ids:
            if rule_id not in static_ids:
                raise not_found("routeTableRule", rule_id)
        table.rules = [r for r in table.rules if r.rule_id not in set(rule_ids)]

    def associate_route_table(self, region: str, table_id: str, subnet_ids: list[str]) -> None:
        table = self.get_route_table(region, table_id)
        subnets = [self.get_subnet(region, s) for s in subnet_ids]
        for subnet in subnets:
            if subnet.vpc_id != table.vpc_id:
                raise InvalidArgument(f"subnet {subnet.subnet_id} is in another vpc than route table {table_id}")
        for subnet in subnets:
            subnet.route_table_id = table_id

    def modify_route_table(self, region: str, table_id: str, *, name: str | None, description: str | None) -> None:
        self._update(self.get_route_table(region, table_id), route_table_name=name, description=description)

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
            for a in self.cloud.bgw.attachments_of_vpc(table.vpc_id)
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
        delay = self.cloud.latency("route_propagation")
        for attachment in self.cloud.bgw.attachments_of_vpc(table.vpc_id):
            for route in self.cloud.bgw.static_routes(attachment.bgw_id):
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
