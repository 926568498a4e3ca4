"""Every stored resource type and the one container that persists them."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from include.jdcloud_emulator.models.core import Resource


class Vpc(Resource, id_field="vpc_id", id_prefix="vpc"):
    vpc_id: str
    vpc_name: str
    address_prefix: str | None = None
    description: str = ""
    created_time: str


class Subnet(Resource, id_field="subnet_id", id_prefix="subnet"):
    subnet_id: str
    subnet_name: str
    vpc_id: str
    address_prefix: str
    route_table_id: str
    description: str = ""
    created_time: str


class RouteTableRule(Resource):
    rule_id: str
    priority: int = 100
    next_hop_type: str
    next_hop_id: str
    address_prefix_type: str = "CIDR"
    address_prefix: str
    origin: str = "static"
    description: str = ""


class RouteTable(Resource, id_field="route_table_id", id_prefix="rtb"):
    route_table_id: str
    route_table_name: str
    route_table_type: str = "custom"
    associate_type: str = "subnet"
    description: str = ""
    vpc_id: str
    rules: list[RouteTableRule] = Field(default_factory=list)
    created_time: str


class Instance(Resource, id_field="instance_id", id_prefix="i"):
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id", "client_token", "ready_at", "deleting_at"})
    instance_id: str
    instance_name: str
    hostname: str
    instance_type: str
    image_id: str
    az: str
    vpc_id: str
    subnet_id: str
    private_ip_address: str
    launch_time: str
    client_token: str | None = None
    ready_at: float
    deleting_at: float | None = None


class Command(Resource, id_field="command_id", id_prefix="cmd"):
    command_id: str
    command_name: str
    command_content: str
    command_type: str = "shell"
    command_description: str = ""
    timeout: int = 60
    username: str = "root"
    workdir: str = "/root"
    create_time: str


class InvocationResult(BaseModel):
    """What one instance's run of a command produced; revealed once the run ends."""

    instance_id: str
    instance_name: str
    agent_online: bool
    exit_code: int
    output: str
    start_at: float
    end_at: float | None  # None while a real ping still runs


class Invocation(Resource, id_field="invoke_id", id_prefix="invoke"):
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id", "results", "created_at"})
    invoke_id: str
    command_id: str
    command_name: str
    command_type: str
    command_content: str
    instances: list[str]
    timeout: int
    username: str
    workdir: str
    created_at: float
    results: list[InvocationResult] = Field(default_factory=list)


class Bgw(Resource, id_field="bgw_id", id_prefix="bgw"):
    bgw_id: str
    bgw_name: str
    description: str = ""
    az_type: str = "standard"
    az: str = ""
    created_time: str


class VpcAttachment(Resource, id_field="vpc_attachment_id", id_prefix="vpca"):
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id", "active_at", "subnet_ids", "deleting_at"})
    vpc_attachment_id: str
    vpc_attachment_name: str
    bgw_id: str
    vpc_id: str
    propagate_type: str
    subnet_ids: list[str] = Field(default_factory=list)
    description: str = ""
    created_time: str
    active_at: float
    deleting_at: float | None = None  # set by the delete; the attachment is gone attachment_delete later


class CustomerGateway(Resource, id_field="customer_gateway_id", id_prefix="cgw"):
    customer_gateway_id: str
    customer_gateway_name: str
    customer_ips: list[str]
    bgp_asn: int
    description: str = ""
    created_time: str
    updated_time: str


class VpnConnection(Resource, id_field="vpn_connection_id", id_prefix="vpnc"):
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id", "provisioned_at", "deleting_at"})
    vpn_connection_id: str
    vpn_connection_name: str
    description: str = ""
    bgw_id: str
    cgw_id: str
    bgp_enabled: bool = True
    local_asn: int = 65000
    cloud_public_ip: list[str]
    providers: list[str] = Field(default_factory=lambda: ["bgp", "bgp"])
    traffic_selectors: list[dict[str, Any]] = Field(default_factory=list)
    az_type: str = "standard"
    az: str = ""
    created_time: str
    updated_time: str
    provisioned_at: float = 0.0  # when its cloud public IPs are allocated (shown)
    deleting_at: float | None = None  # set by the delete; the connection is gone vpn_connection_delete later


IKE_IPSEC_FIELDS = (
    "ike_version",
    "ike_mode",
    "ike_key_exchange",
    "ike_cipher",
    "ike_auth",
    "ike_dpd_sec",
    "ike_sa_life_sec",
    "ipsec_cipher",
    "ipsec_auth",
    "ipsec_key_exchange",
    "ipsec_sa_life_sec",
    "ipsec_sa_lifepkt",
    "ipsec_sa_lifebyte",
)


class VpnTunnel(Resource, id_field="vpn_tunnel_id", id_prefix="vpntnl"):
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id", "match_since", "admin_down_at"})
    vpn_tunnel_id: str
    vpn_connection_id: str
    cloud_public_ip: str
    customer_ip: str
    psk: str
    local_id: str
    remote_id: str
    local_ip: str
    remote_ip: str
    tunnel_ip: str | None = None
    local_tunnel_ip: str | None = None
    remote_tunnel_ip: str | None = None
    ike_version: str = "v2"
    ike_mode: str = "main"
    ike_key_exchange: str = "ecp256"
    ike_cipher: str = "aes128"
    ike_auth: str = "sha256"
    ike_dpd_sec: int = 10
    ike_sa_life_sec: int = 14400
    ipsec_cipher: str = "aes128"
    ipsec_auth: str = "sha256"
    ipsec_key_exchange: str | None = None
    ipsec_sa_life_sec: int = 3600
    ipsec_sa_lifepkt: int = 0
    ipsec_sa_lifebyte: int = 0
    bandwidth_mbps: int | None = None
    admin_status: str = "UP"
    created_time: str
    updated_time: str
    match_since: float | None = None
    admin_down_at: float | None = None  # when adminStatus last went UP -> DOWN; deletable tunnel_admin_down later


class BgwRoute(Resource, id_field="bgw_route_id", id_prefix="bgwr"):
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id", "created_at"})
    bgw_route_id: str
    bgw_id: str
    bgw_route_destination: str
    bgw_route_nexthop: str
    bgw_route_next_hop_type: str
    origin: str = "static"
    bgw_route_priority: int = 100
    description: str = ""
    created_at: float


class EmulatorState(BaseModel):
    """All resources of all regions, keyed by id; persisted whole as JSON."""

    vpcs: dict[str, Vpc] = Field(default_factory=dict)
    subnets: dict[str, Subnet] = Field(default_factory=dict)
    route_tables: dict[str, RouteTable] = Field(default_factory=dict)
    instances: dict[str, Instance] = Field(default_factory=dict)
    commands: dict[str, Command] = Field(default_factory=dict)
    invocations: dict[str, Invocation] = Field(default_factory=dict)
    bgws: dict[str, Bgw] = Field(default_factory=dict)
    vpc_attachments: dict[str, VpcAttachment] = Field(default_factory=dict)
    customer_gateways: dict[str, CustomerGateway] = Field(default_factory=dict)
    vpn_connections: dict[str, VpnConnection] = Field(default_factory=dict)
    vpn_tunnels: dict[str, VpnTunnel] = Field(default_factory=dict)
    bgw_routes: dict[str, BgwRoute] = Field(default_factory=dict)
    allocated_public_ips: list[str] = Field(default_factory=list)

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, dict):
                ids.update(value)
        return ids
