"""The response layer (moto's ``responses.py``): read and check the request fields, call a backend, shape ``result``.

One class per service; its action methods are the operations in snake_case. ``params`` merges the path
parameters with the query string (GET/DELETE) or the JSON body (POST/PATCH), nulls dropped. Format rules
(required fields, types, enums, ranges, CIDR syntax) are checked here; existence, quotas and every rule
that needs stored state are the backends'.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from pydantic.alias_generators import to_snake

from include.jdcloud_emulator.cloud import EmulatedCloud
from include.jdcloud_emulator.exceptions import InvalidArgument, OutOfRange
from include.jdcloud_emulator.models.bgw import Propagation, TunnelAddresses
from include.jdcloud_emulator.models.state import BgwRoute, Command, CustomerGateway, RouteTableRule
from include.jdcloud_emulator.models.vpc import RuleSpec
from include.jdcloud_emulator.settings import PRIVATE_RANGES, EmulatorSettings

Handler = Callable[[EmulatedCloud, str, dict], dict]
T = TypeVar("T")

NAME_RE = re.compile(r"^[\u4e00-\u9fa5A-Za-z0-9_-]{1,32}$")
PSK_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
TUNNEL_IP_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("169.254.0.0/20", "10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12")
)
RULE_NEXT_HOP_TYPES = (
    "instance",
    "internet",
    "vpc_peering",
    "bgw",
    "natgw",
    "elastic_network_interface",
    "havip",
    "l2gw",
)
# bgw route next-hop types: the spec's snake_case spelling -> the resource's camelCase spelling.
ROUTE_NEXT_HOP_TYPES = {
    "hosted_private_vif": "hostedPrivateVif",
    "private_vif": "privateVif",
    "vpc_attachment": "vpcAttachment",
    "vpn_connection": "vpnConnection",
    "vpc": "vpc",
}
EMULATED_ROUTE_NEXT_HOP_TYPES = ("vpn_connection", "vpc_attachment")
TUNNEL_ENUMS: dict[str, tuple[Any, ...]] = {
    "ikeVersion": ("v1", "v2"),
    "ikeMode": ("main", "aggressive"),
    "ikeKeyExchange": ("modp1024", "modp1536", "modp2048", "ecp256", "ecp384"),
    "ikeCipher": ("aes128", "aes192", "aes256", "3des"),
    "ikeAuth": ("sha1", "sha256", "sha384"),
    "ikeDpdSec": (0, 10),
    "ipsecCipher": ("aes128", "aes192", "aes256"),
    "ipsecAuth": ("sha1", "sha256", "sha384"),
    "ipsecKeyExchange": ("null", "modp1024", "modp1536", "modp2048", "ecp256", "ecp384"),
}
TUNNEL_RANGES: dict[str, tuple[int, int]] = {
    "ikeSaLifeSec": (60, 86400),
    "ipsecSaLifeSec": (60, 86400),
    "ipsecSaLifepkt": (0, 100_000_000),
    "ipsecSaLifebyte": (0, 107_374_182_400),
    "bandwidthMbps": (1, 1500),
}
TUNNEL_ENDPOINTS = ("cloudPublicIp", "customerIp", "vpnConnectionId")
CGW_IP_COUNTS = (1, 2, 4)
MAX_COMMAND_BYTES = 36 * 1024
MAX_INVOKED_INSTANCES = 50


# ---------------------------------------------------------------- format checks of one field


def require(params: dict, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "" or value == []:
        raise InvalidArgument(f"{name} is required")
    return value


def check_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InvalidArgument(f"{field} must be 1-32 characters of Chinese, letters, digits, '_' or '-'")
    return value


def check_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 256:
        raise InvalidArgument("description must be a string of at most 256 characters")
    return value


def check_enum(field: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join("null" if a is None else str(a) for a in allowed)
        raise InvalidArgument(f"{field} must be one of: {shown}")
    return value


def check_int_range(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field} must be an integer")
    if not low <= value <= high:
        raise OutOfRange(f"{field} must be in [{low}, {high}]")
    return value


def check_cidr(field: str, value: Any) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{field} must be an IPv4 CIDR such as 10.0.0.0/16") from None


def check_public_ipv4(field: str, value: Any, settings: EmulatorSettings) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{field} must be an IPv4 address") from None
    if not settings.accepts_public_ip(address):
        raise InvalidArgument(f"{field} {value} is not a publicly routable IPv4 address")
    return str(address)


def check_psk(value: Any) -> str:
    """JD's PSK rule: digits, letters, '_' and '-', at most 20 characters, not starting with 0x or 0s."""
    if not isinstance(value, str) or not PSK_RE.match(value):
        raise InvalidArgument("psk must be 1-20 characters of letters, digits, '_' or '-'")
    if value[:2].lower() in ("0x", "0s"):
        raise InvalidArgument("psk must not start with 0x or 0s")
    return value


def decode_command(content: Any) -> str:
    if not isinstance(content, str):
        raise InvalidArgument("commandContent must be a base64 string")
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("commandContent must be base64-encoded UTF-8") from None


# ---------------------------------------------------------------- filters and paging


def parse_filters(raw: Any) -> dict[str, list[str]]:
    """Turn the SDK's ``filters.N.name/values.M`` list into ``{name: [values]}``."""
    result: dict[str, list[str]] = {}
    for item in raw or []:
        if not isinstance(item, dict) or "name" not in item:
            raise InvalidArgument("filters must be a list of {name, values}")
        operator = item.get("operator") or "eq"
        if operator not in ("eq", "in"):
            raise InvalidArgument(f"filter operator {operator} is not supported for {item['name']}")
        result.setdefault(str(item["name"]), []).extend(_strings(item.get("values") or []))
    return result


def _strings(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def paginate(items: list[T], params: dict) -> tuple[list[T], int]:
    """Apply ``pageNumber``/``pageSize`` (default 20, range [10, 100]); past the end gives the last page."""
    page_number = _int_param(params, "pageNumber", 1)
    page_size = _int_param(params, "pageSize", 20)
    if page_number < 1:
        raise OutOfRange("pageNumber must be >= 1")
    if not 10 <= page_size <= 100:
        raise OutOfRange("pageSize must be in [10, 100]")
    total = len(items)
    page_number = min(page_number, max(1, -(-total // page_size)))
    start = (page_number - 1) * page_size
    return items[start : start + page_size], total


def _int_param(params: dict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must be an integer") from None


# ---------------------------------------------------------------- the base of every service's responses


class BaseResponse:
    """One request to one service: the cloud, the region and the request's fields."""

    service: ClassVar[str]

    def __init__(self, cloud: EmulatedCloud, region: str, params: dict[str, Any]) -> None:
        self.cloud = cloud
        self.region = region
        self.params = params

    @classmethod
    def dispatch(cls, operation: str) -> Handler:
        """The handler of ``operation`` (``CreateVpc`` -> ``create_vpc``); an unknown one fails at import."""
        action = getattr(cls, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        return lambda cloud, region, params: action(cls(cloud, region, params))

    def _get(self, name: str) -> Any:
        return self.params.get(name)

    def _required(self, name: str) -> Any:
        return require(self.params, name)

    def _name(self, field: str) -> str:
        return check_name(field, self._required(field))

    def _name_change(self, field: str) -> str | None:
        """A new name in a modify request; ``None`` when it is not given."""
        value = self._get(field)
        return None if value is None else check_name(field, value)

    def _description(self) -> str:
        return check_description(self._get("description"))

    def _description_change(self) -> str | None:
        value = self._get("description")
        return None if value is None else check_description(value)

    def _int(self, field: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self._get(field)
        return default if value is None else check_int_range(field, value, low, high)

    def _bool(self, field: str, default: bool | None = None) -> bool | None:
        value = self._get(field)
        if value is not None and not isinstance(value, bool):
            raise InvalidArgument(f"{field} must be a boolean")
        return default if value is None else value

    def _list(self, field: str) -> list:
        value = self._get(field)
        if not isinstance(value, list) or not value:
            raise InvalidArgument(f"{field} is required")
        return value

    def _filters(self) -> dict[str, list[str]]:
        return parse_filters(self._get("filters"))

    def _field_filters(self, *names: str) -> dict[str, list[str]]:
        """Filters given as top-level list fields (the assistant service's style) rather than ``filters``."""
        return {name: _strings(self._get(name)) for name in names if self._get(name)}

    def _page(self, key: str, items: list[T], render: Callable[[T], dict]) -> dict:
        page, total = paginate(items, self.params)
        return {key: [render(item) for item in page], "totalCount": total}


# ---------------------------------------------------------------- vpc


class VpcResponse(BaseResponse):
    service = "vpc"

    def create_vpc(self) -> dict:
        vpc = self.cloud.vpc.create_vpc(
            self.region, name=self._name("vpcName"), address_prefix=self._vpc_cidr(), description=self._description()
        )
        return {"vpcId": vpc.vpc_id}

    def _vpc_cidr(self) -> str | None:
        prefix = self._get("addressPrefix")
        if prefix is None:
            return None
        network = check_cidr("addressPrefix", prefix)
        if not any(network.subnet_of(r) for r in PRIVATE_RANGES) or not 16 <= network.prefixlen <= 28:
            raise InvalidArgument(
                "addressPrefix must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a mask of 16-28"
            )
        return str(network)

    def describe_vpcs(self) -> dict:
        vpc = self.cloud.vpc
        return self._page("vpcs", vpc.describe_vpcs(self.region, self._filters()), vpc.vpc_json)

    def describe_vpc(self) -> dict:
        return {"vpc": self.cloud.vpc.vpc_json(self.cloud.vpc.get_vpc(self.region, self.params["vpcId"]))}

    def delete_vpc(self) -> dict:
        self.cloud.vpc.delete_vpc(self.region, self.params["vpcId"])
        return {}

    def create_subnet(self) -> dict:
        subnet = self.cloud.vpc.create_subnet(
            self.region,
            vpc_id=self._required("vpcId"),
            name=self._name("subnetName"),
            address_prefix=check_cidr("addressPrefix", self._required("addressPrefix")),
            route_table_id=self._get("routeTableId"),
            description=self._description(),
        )
        return {"subnetId": subnet.subnet_id}

    def describe_subnets(self) -> dict:
        vpc = self.cloud.vpc
        return self._page("subnets", vpc.describe_subnets(self.region, self._filters()), vpc.subnet_json)

    def describe_subnet(self) -> dict:
        return {"subnet": self.cloud.vpc.subnet_json(self.cloud.vpc.get_subnet(self.region, self.params["subnetId"]))}

    def delete_subnet(self) -> dict:
        self.cloud.vpc.delete_subnet(self.region, self.params["subnetId"])
        return {}

    def create_route_table(self) -> dict:
        table = self.cloud.vpc.create_route_table(
            self.region,
            vpc_id=self._required("vpcId"),
            name=self._name("routeTableName"),
            description=self._description(),
        )
        return {"routeTableId": table.route_table_id}

    def describe_route_tables(self) -> dict:
        vpc = self.cloud.vpc
        return self._page("routeTables", vpc.describe_route_tables(self.region, self._filters()), vpc.route_table_json)

    def describe_route_table(self) -> dict:
        table = self.cloud.vpc.get_route_table(self.region, self.params["routeTableId"])
        return {"routeTable": self.cloud.vpc.route_table_json(table)}

    def modify_route_table(self) -> dict:
        self.cloud.vpc.modify_route_table(
            self.region,
            self.params["routeTableId"],
            name=self._name_change("routeTableName"),
            description=self._description_change(),
        )
        return {}

    def delete_route_table(self) -> dict:
        self.cloud.vpc.delete_route_table(self.region, self.params["routeTableId"])
        return {}

    def describe_route_table_rules(self) -> dict:
        rules = self.cloud.vpc.describe_route_table_rules(self.region, self.params["routeTableId"], self._filters())
        return self._page("routeTableRules", rules, RouteTableRule.to_json)

    def add_route_table_rules(self) -> dict:
        specs = self._get("routeTableRuleSpecs")
        if not isinstance(specs, list) or not specs:
            raise InvalidArgument("routeTableRuleSpecs is required")
        self.cloud.vpc.add_route_table_rules(self.region, self.params["routeTableId"], [_rule_spec(s) for s in specs])
        return {}

    def remove_route_table_rules(self) -> dict:
        self.cloud.vpc.remove_route_table_rules(self.region, self.params["routeTableId"], self._list("ruleIds"))
        return {}

    def associate_route_table(self) -> dict:
        self.cloud.vpc.associate_route_table(self.region, self.params["routeTableId"], self._list("subnetIds"))
        return {}


def _rule_spec(spec: Any) -> RuleSpec:
    if not isinstance(spec, dict):
        raise InvalidArgument("routeTableRuleSpecs items must be objects")
    next_hop_type = check_enum("nextHopType", require(spec, "nextHopType"), RULE_NEXT_HOP_TYPES)
    next_hop_id = require(spec, "nextHopId")
    priority = spec.get("priority")
    return RuleSpec(
        next_hop_type=next_hop_type,
        next_hop_id=next_hop_id,
        priority=100 if priority is None else check_int_range("priority", priority, 1, 255),
        address_prefix=str(check_cidr("addressPrefix", require(spec, "addressPrefix"))),
        description=check_description(spec.get("description")),
    )


# ---------------------------------------------------------------- vm


class VmResponse(BaseResponse):
    service = "vm"

    def create_instances(self) -> dict:
        spec = self._required("instanceSpec")
        if not isinstance(spec, dict):
            raise InvalidArgument("instanceSpec must be an object")
        token = self._get("clientToken")
        if token is not None and (not isinstance(token, str) or len(token) > 64):
            raise InvalidArgument("clientToken must be a string of at most 64 characters")
        count = self._int("maxCount", 1, 100, default=1)
        name = require(spec, "name")
        if not isinstance(name, str) or not 2 <= len(name) <= 128:
            raise InvalidArgument("instanceSpec.name must be 2-128 characters")
        az = require(spec, "az")
        if not isinstance(az, str) or not az.startswith(self.region):
            raise InvalidArgument(f"instanceSpec.az {az} is not an availability zone of {self.region}")
        interface = ((spec.get("primaryNetworkInterface") or {}).get("networkInterface")) or {}
        instances = self.cloud.vm.create_instances(
            self.region,
            name=name,
            az=az,
            subnet_id=require(interface, "subnetId"),
            instance_type=require(spec, "instanceType"),
            image_id=require(spec, "imageId"),
            count=count,
            client_token=token,
        )
        return {"instanceIds": [i.instance_id for i in instances]}

    def describe_instances(self) -> dict:
        vm = self.cloud.vm
        return self._page("instances", vm.describe_instances(self.region, self._filters()), vm.instance_json)

    def describe_instance(self) -> dict:
        return {
            "instance": self.cloud.vm.instance_json(self.cloud.vm.get_instance(self.region, self.params["instanceId"]))
        }

    def describe_instance_status(self) -> dict:
        vm = self.cloud.vm
        instances = vm.describe_instance_status(self.region, self._filters())
        return self._page("instanceStatuses", instances, vm.instance_status_json)

    def delete_instance(self) -> dict:
        self.cloud.vm.delete_instance(self.region, self.params["instanceId"])
        return {}

    def describe_image(self) -> dict:
        return {"image": self.cloud.vm.get_image(self.region, self.params["imageId"])}


# ---------------------------------------------------------------- assistant


class AssistantResponse(BaseResponse):
    service = "assistant"

    def create_command(self) -> dict:
        name = self._required("commandName")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise InvalidArgument("commandName must be 1-128 characters")
        content = self._required("commandContent")
        if len(decode_command(content).encode()) > MAX_COMMAND_BYTES:
            raise InvalidArgument("commandContent must be under 36KB")
        command = self.cloud.assistant.create_command(
            self.region,
            name=name,
            content=content,
            command_type=check_enum("commandType", self._get("commandType") or "shell", ("shell", "powershell")),
            description=self._get("commandDescription") or "",
            timeout=self._int("timeout", 10, 86400, default=60),
            username=self._get("username") or "root",
            workdir=self._get("workdir") or "/root",
        )
        return {"commandId": command.command_id}

    def invoke_command(self) -> dict:
        command_id = self._required("commandId")
        instance_ids = self._required("instances")
        if not isinstance(instance_ids, list) or len(instance_ids) > MAX_INVOKED_INSTANCES:
            raise InvalidArgument(f"instances must be a list of at most {MAX_INVOKED_INSTANCES} instance ids")
        invocation = self.cloud.assistant.invoke_command(
            self.region,
            command_id=command_id,
            instance_ids=instance_ids,
            timeout=self._int("timeout", 10, 86400),
            username=self._get("username") or None,
            workdir=self._get("workdir") or None,
        )
        return {"invokeId": invocation.invoke_id}

    def describe_invocations(self) -> dict:
        assistant = self.cloud.assistant
        filters = self._field_filters("invokeIds", "commandIds", "commandNames")
        invocations = assistant.describe_invocations(self.region, filters, status=self._get("status") or None)
        return self._page("invocations", invocations, assistant.invocation_json)

    def describe_commands(self) -> dict:
        commands = self.cloud.assistant.describe_commands(
            self.region, self._field_filters("commandIds", "commandNames")
        )
        return self._page("commands", commands, Command.to_json)

    def delete_commands(self) -> dict:
        command_ids = self._list("commandIds")
        self.cloud.assistant.delete_commands(self.region, command_ids)
        return {"commandId": command_ids}


# ---------------------------------------------------------------- bgw


class BgwResponse(BaseResponse):
    service = "bgw"

    def describe_connections(self) -> dict:
        """Direct Connect lines: none exist in the emulator, but the filters and paging are still checked."""
        self._filters()
        paginate([], self.params)
        return {"connections": [], "totalCount": 0}

    def create_bgw(self) -> dict:
        name = self._name("bgwName")
        az_type = check_enum("azType", self._get("azType") or "standard", ("standard", "edge"))
        az = self._get("az") or ""
        if az_type == "edge" and not az:
            raise InvalidArgument("az is required when azType is edge")
        bgw = self.cloud.bgw.create_bgw(
            self.region,
            name=name,
            az_type=az_type,
            az=az if az_type == "edge" else "",
            description=self._description(),
        )
        return {"bgwId": bgw.bgw_id}

    def describe_bgws(self) -> dict:
        bgw = self.cloud.bgw
        return self._page("bgws", bgw.describe_bgws(self.region, self._filters()), bgw.bgw_json)

    def describe_bgw(self) -> dict:
        return {"bgw": self.cloud.bgw.bgw_json(self.cloud.bgw.get_bgw(self.region, self.params["bgwId"]))}

    def modify_bgw(self) -> dict:
        self.cloud.bgw.modify_bgw(
            self.region,
            self.params["bgwId"],
            name=self._name_change("bgwName"),
            description=self._description_change(),
        )
        return {}

    def delete_bgw(self) -> dict:
        self.cloud.bgw.delete_bgw(self.region, self.params["bgwId"])
        return {}

    # ------------------------------------------------------------------ VPC attachments

    def create_vpc_attachment(self) -> dict:
        attachment = self.cloud.bgw.create_vpc_attachment(
            self.region,
            name=self._name("vpcAttachmentName"),
            bgw_id=self._required("bgwId"),
            propagation=_propagation(self.params, self._required("vpcId")),
            description=self._description(),
        )
        return {"vpcAttachmentId": attachment.vpc_attachment_id}

    def describe_vpc_attachments(self) -> dict:
        bgw = self.cloud.bgw
        attachments = bgw.describe_vpc_attachments(self.region, self._filters())
        return self._page("vpcAttachments", attachments, bgw.vpc_attachment_json)

    def describe_vpc_attachment(self) -> dict:
        attachment = self.cloud.bgw.get_vpc_attachment(self.region, self.params["vpcAttachmentId"])
        return {"vpcAttachment": self.cloud.bgw.vpc_attachment_json(attachment)}

    def modify_vpc_attachment(self) -> dict:
        attribute = self._get("propagationAttribute")
        if attribute is not None and not isinstance(attribute, dict):
            raise InvalidArgument("propagationAttribute.vpcId must be the attachment's vpcId")
        self.cloud.bgw.modify_vpc_attachment(
            self.region,
            self.params["vpcAttachmentId"],
            name=self._name_change("vpcAttachmentName"),
            description=self._description_change(),
            propagation=None if attribute is None else _propagation(attribute, attribute.get("vpcId")),
        )
        return {}

    def delete_vpc_attachment(self) -> dict:
        self.cloud.bgw.delete_vpc_attachment(self.region, self.params["vpcAttachmentId"])
        return {}

    # ------------------------------------------------------------------ customer gateways

    def create_customer_gateway(self) -> dict:
        cgw = self.cloud.bgw.create_customer_gateway(
            self.region,
            name=self._name("customerGatewayName"),
            customer_ips=_customer_ips(self._required("customerIps"), self.cloud.settings),
            bgp_asn=check_int_range("bgpAsn", self._required("bgpAsn"), 65001, 65499),
            description=self._description(),
        )
        return {"customerGatewayId": cgw.customer_gateway_id}

    def describe_customer_gateways(self) -> dict:
        cgws = self.cloud.bgw.describe_customer_gateways(self.region, self._filters())
        return self._page("customerGateways", cgws, CustomerGateway.to_json)

    def describe_customer_gateway(self) -> dict:
        cgw = self.cloud.bgw.get_customer_gateway(self.region, self.params["customerGatewayId"])
        return {"customerGateway": cgw.to_json()}

    def modify_customer_gateway(self) -> dict:
        customer_ips = self._get("customerIps")
        self.cloud.bgw.modify_customer_gateway(
            self.region,
            self.params["customerGatewayId"],
            name=self._name_change("customerGatewayName"),
            description=self._description_change(),
            customer_ips=None if customer_ips is None else _customer_ips(customer_ips, self.cloud.settings),
            bgp_asn=self._get("bgpAsn"),
        )
        return {}

    def delete_customer_gateway(self) -> dict:
        self.cloud.bgw.delete_customer_gateway(self.region, self.params["customerGatewayId"])
        return {}

    # ------------------------------------------------------------------ VPN connections

    def create_vpn_connection(self) -> dict:
        connection = self.cloud.bgw.create_vpn_connection(
            self.region,
            name=self._name("vpnConnectionName"),
            bgw_id=self._required("bgwId"),
            cgw_id=self._required("cgwId"),
            bgp_enabled=self._bool("bgpEnabled", default=True),
            local_asn=self._int("localAsn", 64512, 65534, default=65000),
            description=self._description(),
        )
        return {"vpnConnectionId": connection.vpn_connection_id}

    def describe_vpn_connections(self) -> dict:
        bgw = self.cloud.bgw
        connections = bgw.describe_vpn_connections(self.region, self._filters())
        return self._page("vpnConnections", connections, bgw.vpn_connection_json)

    def describe_vpn_connection(self) -> dict:
        connection = self.cloud.bgw.get_vpn_connection(self.region, self.params["vpnConnectionId"])
        return {"vpnConnection": self.cloud.bgw.vpn_connection_json(connection)}

    def modify_vpn_connection(self) -> dict:
        selectors = self._get("trafficSelectors")
        self.cloud.bgw.modify_vpn_connection(
            self.region,
            self.params["vpnConnectionId"],
            name=self._name_change("vpnConnectionName"),
            description=self._description_change(),
            bgp_enabled=self._bool("bgpEnabled"),
            traffic_selectors=None if selectors is None else _traffic_selectors(selectors),
        )
        return {}

    def delete_vpn_connection(self) -> dict:
        self.cloud.bgw.delete_vpn_connection(self.region, self.params["vpnConnectionId"])
        return {}

    # ------------------------------------------------------------------ VPN tunnels

    def create_vpn_tunnel(self) -> dict:
        tunnel = self.cloud.bgw.create_vpn_tunnel(
            self.region,
            vpn_connection_id=self._required("vpnConnectionId"),
            cloud_public_ip=self._required("cloudPublicIp"),
            customer_ip=self._required("customerIp"),
            settings=self._tunnel_settings(creating=True),
            addresses=self._tunnel_addresses(),
        )
        return {"vpnTunnelId": tunnel.vpn_tunnel_id}

    def _tunnel_settings(self, *, creating: bool) -> dict[str, Any]:
        """The given IKE/IPsec fields and PSK, as ``VpnTunnel`` field names; a new tunnel must have a PSK."""
        settings: dict[str, Any] = {}
        for field, allowed in TUNNEL_ENUMS.items():
            if self._get(field) is not None:
                value = check_enum(field, self._get(field), allowed)
                settings[to_snake(field)] = None if value == "null" else value  # "null": no PFS
        for field, (low, high) in TUNNEL_RANGES.items():
            if self._get(field) is not None:
                settings[to_snake(field)] = check_int_range(field, self._get(field), low, high)
        if self._get("psk") is not None or creating:
            settings["psk"] = check_psk(self._get("psk"))
        return settings

    def _tunnel_addresses(self) -> TunnelAddresses | None:
        """``tunnelIp`` (a /30) and ``localTunnelIp`` (default: its first usable address) when given."""
        if self._get("tunnelIp") is None:
            if self._get("localTunnelIp") is not None:
                raise InvalidArgument("localTunnelIp requires tunnelIp")
            return None
        network = check_cidr("tunnelIp", self._get("tunnelIp"))
        if network.prefixlen != 30 or not any(network.subnet_of(r) for r in TUNNEL_IP_RANGES):
            raise InvalidArgument(
                "tunnelIp must be a /30 inside 169.254.0.0/20, 10.0.0.0/8, 192.168.0.0/16 or 172.16.0.0/12"
            )
        hosts = [str(h) for h in network.hosts()]
        local = self._get("localTunnelIp") or hosts[0]
        if local not in hosts:
            raise InvalidArgument("localTunnelIp must be a usable address of tunnelIp (not the first or last)")
        return TunnelAddresses(network, local, hosts[1] if local == hosts[0] else hosts[0])

    def describe_vpn_tunnels(self) -> dict:
        bgw = self.cloud.bgw
        return self._page("vpnTunnels", bgw.describe_vpn_tunnels(self.region, self._filters()), bgw.vpn_tunnel_json)

    def describe_vpn_tunnel(self) -> dict:
        tunnel = self.cloud.bgw.get_vpn_tunnel(self.region, self.params["vpnTunnelId"])
        return {"vpnTunnel": self.cloud.bgw.vpn_tunnel_json(tunnel)}

    def modify_vpn_tunnel(self) -> dict:
        self.cloud.bgw.modify_vpn_tunnel(
            self.region,
            self.params["vpnTunnelId"],
            settings=self._tunnel_settings(creating=False),
            addresses=self._tunnel_addresses(),
            endpoints={f: self._get(f) for f in TUNNEL_ENDPOINTS if self._get(f) is not None},
        )
        return {}

    def modify_admin_status(self) -> dict:
        admin_status = check_enum("adminStatus", self._required("adminStatus"), ("UP", "DOWN"))
        self.cloud.bgw.modify_admin_status(self.region, self.params["vpnTunnelId"], admin_status)
        return {}

    def delete_vpn_tunnel(self) -> dict:
        self.cloud.bgw.delete_vpn_tunnel(self.region, self.params["vpnTunnelId"])
        return {}

    # ------------------------------------------------------------------ routes

    def create_bgw_route(self) -> dict:
        destination = check_cidr("bgwRouteDestination", self._required("bgwRouteDestination"))
        next_hop_type, next_hop = self._next_hop()
        route = self.cloud.bgw.create_bgw_route(
            self.region,
            self.params["bgwId"],
            destination=str(destination),
            next_hop_type=next_hop_type,
            next_hop=next_hop,
            description=self._description(),
        )
        return {"bgwRouteId": route.bgw_route_id}

    def _next_hop(self) -> tuple[str, str]:
        """(the resource spelling of ``bgwNexthopType``, ``bgwRouteNexthop``)."""
        spec_type = check_enum("bgwNexthopType", self._get("bgwNexthopType") or "vpn_connection", ROUTE_NEXT_HOP_TYPES)
        next_hop = self._required("bgwRouteNexthop")
        if spec_type not in EMULATED_ROUTE_NEXT_HOP_TYPES:
            raise InvalidArgument(f"bgwNexthopType {spec_type} is not supported by the emulator")
        return ROUTE_NEXT_HOP_TYPES[spec_type], next_hop

    def describe_bgw_routes(self) -> dict:
        routes = self.cloud.bgw.describe_bgw_routes(self.region, self.params["bgwId"], self._filters())
        return self._page("bgwRoutes", routes, BgwRoute.to_json)

    def modify_bgw_route(self) -> dict:
        destination = self._get("bgwRouteDestination")
        self.cloud.bgw.modify_bgw_route(
            self.region,
            self.params["bgwId"],
            self.params["bgwRouteId"],
            description=self._description_change(),
            destination=None if destination is None else str(check_cidr("bgwRouteDestination", destination)),
            next_hop=None if self._get("bgwRouteNexthop") is None else self._next_hop(),
        )
        return {}

    def delete_bgw_route(self) -> dict:
        self.cloud.bgw.delete_bgw_route(self.region, self.params["bgwId"], self.params["bgwRouteId"])
        return {}


def _propagation(params: dict, vpc_id: str | None) -> Propagation:
    propagate_type = check_enum("propagateType", require(params, "propagateType"), ("all", "partial", "none"))
    if propagate_type != "partial":
        return Propagation(vpc_id, propagate_type, [])
    subnet_ids = params.get("subnetIds") or []
    if not isinstance(subnet_ids, list) or not subnet_ids:
        raise InvalidArgument("subnetIds is required when propagateType is partial")
    if len(set(subnet_ids)) != len(subnet_ids):
        raise InvalidArgument("subnetIds must not repeat a subnet")
    return Propagation(vpc_id, propagate_type, list(subnet_ids))


def _customer_ips(value: Any, settings: EmulatorSettings) -> list[str]:
    if not isinstance(value, list) or len(value) not in CGW_IP_COUNTS:
        raise InvalidArgument("customerIps must hold 1, 2 or 4 IPv4 addresses")
    ips = [check_public_ipv4("customerIps", ip, settings) for ip in value]
    if len(set(ips)) != len(ips):
        raise InvalidArgument("customerIps must not repeat an address")
    return ips


def _traffic_selectors(value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise InvalidArgument("trafficSelectors must be a list")
    for item in value:
        check_cidr("trafficSelectors.localSubnet", require(item, "localSubnet"))
        for remote in item.get("remoteSubnets") or []:
            check_cidr("trafficSelectors.remoteSubnets", remote)
    return value


RESPONSES: dict[str, type[BaseResponse]] = {
    cls.service: cls for cls in (VpcResponse, VmResponse, AssistantResponse, BgwResponse)
}
