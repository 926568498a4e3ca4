"""Pydantic models of JD Cloud API resources (responses) and of the request specs the hook sends.

Attributes are snake_case; the wire names are the camelCase JD Cloud SDK model fields, used as aliases.
Unknown response fields are ignored, so a richer real API does not break parsing. Pre-shared keys are
:class:`~pydantic.SecretStr` and never show in ``repr``, ``str`` or JSON dumps.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


def _str_or_none(value: Any) -> Any:
    return None if value is None else str(value)


T = TypeVar("T")

# The API returns null or omits lists freely; callers should not have to write ``or []``.
LooseList = Annotated[list[T], BeforeValidator(_none_as_empty)]
# Documented as strings, but accept numbers too (e.g. exitCode 0).
LooseStr = Annotated[str | None, BeforeValidator(_str_or_none)]

INVOCATION_FINAL_STATUSES = frozenset({"finish", "failed", "partial_failed", "stopped"})


class JDCloudModel(BaseModel):
    """Base of every JD Cloud model: camelCase aliases, snake_case attributes, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# --- vpc service ---


class Subnet(JDCloudModel):
    """A VPC subnet."""

    subnet_id: str
    subnet_name: str | None = None
    vpc_id: str | None = None
    address_prefix: str | None = None
    available_ip_count: int | None = None
    route_table_id: str | None = None
    az: str | None = None
    subnet_type: str | None = None
    description: str | None = None
    created_time: str | None = None


class Vpc(JDCloudModel):
    """A virtual private cloud."""

    vpc_id: str
    vpc_name: str | None = None
    address_prefix: str | None = None
    description: str | None = None
    acl_ids: LooseList[str] = []
    route_table_ids: LooseList[str] = []
    subnets: LooseList[Subnet] = []
    created_time: str | None = None


class RouteTableRule(JDCloudModel):
    """One rule of a VPC route table; ``origin`` is ``static`` or ``propagated``."""

    rule_id: str | None = None
    priority: int | None = None
    next_hop_type: str | None = None
    next_hop_id: str | None = None
    address_prefix_type: str | None = None
    address_prefix: str | None = None
    origin: str | None = None
    description: str | None = None


# --- vm service ---


class Instance(JDCloudModel):
    """A virtual machine; ``status`` is e.g. ``pending``, ``running``, ``stopped`` or ``error``."""

    instance_id: str
    instance_name: str | None = None
    hostname: str | None = None
    instance_type: str | None = None
    status: str | None = None
    private_ip_address: str | None = None
    elastic_ip_address: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    image_id: str | None = None
    az: str | None = None
    launch_time: str | None = None
    description: str | None = None


class Image(JDCloudModel):
    """A VM image; ``status`` is e.g. ``pending``, ``ready`` or ``error``."""

    image_id: str
    name: str | None = None
    platform: str | None = None
    os_version: str | None = None
    os_type: str | None = None
    status: str | None = None


# --- bgw service ---


class Bgw(JDCloudModel):
    """A border gateway. It has no status field; its BGP ASN is fixed at 65000."""

    bgw_id: str
    bgw_name: str | None = None
    description: str | None = None
    vif_ids: LooseList[str] = []
    vpc_attachment_ids: LooseList[str] = []
    vpn_connection_ids: LooseList[str] = []
    az_type: str | None = None
    az: str | None = None
    created_time: str | None = None


class PropagateCidrInfo(JDCloudModel):
    """A subnet CIDR that a VPC attachment propagates to its border gateway."""

    subnet_cidr: str | None = None
    subnet_id: str | None = None


class VpcAttachment(JDCloudModel):
    """The attachment of a VPC to a border gateway; ``propagate_type`` is ``all``, ``partial`` or ``none``."""

    vpc_attachment_id: str
    vpc_attachment_name: str | None = None
    bgw_id: str | None = None
    vpc_id: str | None = None
    propagate_type: str | None = None
    status: str | None = None
    propagate_cidr_infos: LooseList[PropagateCidrInfo] = []
    created_time: str | None = None


class CustomerGateway(JDCloudModel):
    """The remote side's gateway: its public IPs and BGP ASN."""

    customer_gateway_id: str
    customer_gateway_name: str | None = None
    customer_ips: LooseList[str] = []
    bgp_asn: int | None = None
    description: str | None = None
    created_time: str | None = None
    updated_time: str | None = None


class VpnConnection(JDCloudModel):
    """A VPN connection between a border gateway and a customer gateway.

    ``cloud_public_ip`` holds the two cloud-side public IPs (singular name, list value, as in the API); it
    may be empty while the connection is being created. ``status`` is not in JD's model; the emulator sends
    ``creating``, ``active`` or ``deleting`` (``None``: not sent): wait on the IPs, not on it.
    """

    vpn_connection_id: str
    vpn_connection_name: str | None = None
    bgw_id: str | None = None
    cgw_id: str | None = None
    bgp_enabled: bool | None = None
    local_asn: int | None = None
    cloud_public_ip: LooseList[str] = []
    providers: LooseList[str] = []
    ha_status: str | None = None
    status: str | None = None
    description: str | None = None
    traffic_selectors: LooseList[dict[str, Any]] = []
    charge: dict[str, Any] | None = None
    az_type: str | None = None
    az: str | None = None
    created_time: str | None = None
    updated_time: str | None = None


class VpnTunnel(JDCloudModel):
    """An IPsec tunnel of a VPN connection; ``admin_status`` and ``op_status`` are ``UP`` or ``DOWN``."""

    vpn_tunnel_id: str
    vpn_connection_id: str | None = None
    cloud_public_ip: str | None = None
    customer_ip: str | None = None
    psk: SecretStr | None = None
    local_id: str | None = None
    remote_id: str | None = None
    local_ip: str | None = None
    local_tunnel_ip: str | None = None
    remote_ip: str | None = None
    remote_tunnel_ip: str | None = None
    tunnel_ip: str | None = None
    ike_version: str | None = None
    ike_mode: str | None = None
    ike_key_exchange: str | None = None
    ike_cipher: str | None = None
    ike_auth: str | None = None
    ike_dpd_sec: int | None = None
    ike_sa_life_sec: int | None = None
    ipsec_cipher: str | None = None
    ipsec_auth: str | None = None
    ipsec_key_exchange: str | None = None
    ipsec_sa_life_sec: int | None = None
    ipsec_sa_lifepkt: int | None = None
    ipsec_sa_lifebyte: int | None = None
    admin_status: str | None = None
    op_status: str | None = None
    bandwidth_mbps: int | None = None
    created_time: str | None = None
    updated_time: str | None = None


class BgwRoute(JDCloudModel):
    """A border gateway route; ``origin`` is ``static`` or ``propagated``.

    Note the response field ``bgwRouteNextHopType`` (camelCase values such as ``vpnConnection``) differs
    from the request field ``bgwNexthopType`` (snake_case values such as ``vpn_connection``).
    """

    bgw_route_id: str
    bgw_id: str | None = None
    bgw_route_destination: str | None = None
    bgw_route_nexthop: str | None = None
    bgw_route_next_hop_type: str | None = None
    origin: str | None = None
    bgw_route_priority: int | None = None
    description: str | None = None


# --- assistant service ---


def decode_command_output(output: str | None) -> str:
    """Return cloud-assistant command output as text, decoding it if it is base64.

    Whether JD Cloud base64-encodes ``output`` is undocumented, so decode only when the text is strict
    base64 that round-trips and decodes to printable UTF-8; otherwise return it unchanged.

    :param output: the ``output`` field of an invocation instance
    """
    if not output:
        return ""
    compact = "".join(output.split())
    try:
        raw = base64.b64decode(compact, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return output
    if base64.b64encode(raw).decode("ascii") != compact or not _is_printable(text):
        return output
    return text


def _is_printable(text: str) -> bool:
    return all(char.isprintable() or char in "\n\r\t" for char in text)


class InvocationInstance(JDCloudModel):
    """The run of a command on one instance; ``exit_code`` is a string, as in the API."""

    instance_id: str | None = None
    instance_name: str | None = None
    status: str | None = None
    exit_code: LooseStr = None
    error_info: str | None = None
    output: str | None = None
    start_time: str | None = None
    end_time: str | None = None

    @property
    def output_text(self) -> str:
        """The command output as text, base64-decoded when it was encoded."""
        return decode_command_output(self.output)


class Invocation(JDCloudModel):
    """One invocation of a cloud-assistant command on one or more instances."""

    invoke_id: str | None = None
    command_id: str | None = None
    command_name: str | None = None
    status: str | None = None
    instances: LooseList[str] = []
    invocation_instances: LooseList[InvocationInstance] = []
    error_info: str | None = None
    timeout: LooseStr = None
    create_time: str | None = None
    exec_time: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the invocation reached a final status (``finish``, ``failed``, ...)."""
        return self.status in INVOCATION_FINAL_STATUSES


# --- request specs ---


class RequestSpec(JDCloudModel):
    """Base of request bodies: validation errors never echo the input, which may hold a secret."""

    model_config = ConfigDict(hide_input_in_errors=True)

    def to_request(self) -> dict[str, Any]:
        """Return the camelCase request body, unset fields omitted and secrets revealed."""
        body = self.model_dump(by_alias=True, exclude_none=True)
        return {key: _reveal(value) for key, value in body.items()}


def _reveal(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _check_psk(psk: SecretStr) -> SecretStr:
    # Documented rule: digits, letters, "_" and "-", at most 20 characters, no "0x"/"0s" prefix.
    value = psk.get_secret_value()
    if (
        not 1 <= len(value) <= 20
        or value.startswith(("0x", "0s"))
        or not all(char.isascii() and (char.isalnum() or char in "_-") for char in value)
    ):
        raise ValueError("psk must be 1-20 letters, digits, '_' or '-' and must not start with 0x or 0s")
    return psk


Psk = Annotated[SecretStr, AfterValidator(_check_psk)]


IkeVersion = Literal["v1", "v2"]
IkeMode = Literal["main", "aggressive"]
KeyExchange = Literal["modp1024", "modp1536", "modp2048", "ecp256", "ecp384"]
IkeCipher = Literal["aes128", "aes192", "aes256", "3des"]
IpsecCipher = Literal["aes128", "aes192", "aes256"]
Auth = Literal["sha1", "sha256", "sha384"]


class VpnTunnelOptions(RequestSpec):
    """IKE/IPsec options shared by tunnel create and modify; unset fields take the API defaults.

    API defaults: IKE v2, main mode, ecp256, aes128, sha256, DPD 10 s, SA 14400 s; IPsec aes128, sha256,
    no PFS, SA 3600 s.
    """

    tunnel_ip: str | None = None
    local_tunnel_ip: str | None = None
    ike_version: IkeVersion | None = None
    ike_mode: IkeMode | None = None
    ike_key_exchange: KeyExchange | None = None
    ike_cipher: IkeCipher | None = None
    ike_auth: Auth | None = None
    ike_dpd_sec: Literal[0, 10] | None = None
    ike_sa_life_sec: int | None = None
    ipsec_cipher: IpsecCipher | None = None
    ipsec_auth: Auth | None = None
    ipsec_key_exchange: Literal["null"] | KeyExchange | None = None
    ipsec_sa_life_sec: int | None = None
    ipsec_sa_lifepkt: int | None = None
    ipsec_sa_lifebyte: int | None = None
    bandwidth_mbps: int | None = None


class VpnTunnelSpec(VpnTunnelOptions):
    """Body of ``CreateVpnTunnel`` (the flattened ``VpnTunnelSpec``)."""

    vpn_connection_id: str
    cloud_public_ip: str
    customer_ip: str
    psk: Psk


class VpnTunnelModifySpec(VpnTunnelOptions):
    """Body of ``ModifyVpnTunnel``; the IPs and the connection of a tunnel cannot be changed."""

    psk: Psk | None = None


class RouteTableRuleSpec(RequestSpec):
    """One rule for ``AddRouteTableRules``, e.g. ``next_hop_type="bgw"`` and ``next_hop_id=<bgwId>``."""

    next_hop_type: str
    next_hop_id: str
    address_prefix: str
    address_prefix_type: str | None = None
    priority: int | None = None
    description: str | None = None
