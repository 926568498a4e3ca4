"""Configuration model of one JD Cloud cross-region IPsec VPN interconnect.

One :class:`InterconnectConf` describes two VPCs (``home`` and ``peer``) in two regions joined by a border
gateway, a customer gateway and a VPN connection with two tunnels on each side, plus static routes and a
ping test both ways (``tutorial-cross-region-vpn.md``).

The pre-shared key is never part of the conf: ``psk_secret`` names the Airflow Variable or Connection that
holds it, so ``model_dump(mode="json")`` is safe to push to XCom. Use :func:`validate_conf` on untrusted
input: it raises :class:`ConfError` listing every problem as ``<dotted.field.path>: <rule>``.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from airflow_provider_jdcloud.models import Auth, IkeCipher, IkeMode, IkeVersion, IpsecCipher, KeyExchange

Region = Literal["cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1"]
Side = Literal["home", "peer"]

REGIONS: tuple[str, ...] = get_args(Region)
SIDES: tuple[Side, Side] = ("home", "peer")

NAME_PATTERN = r"^[a-z][a-z0-9-]{2,19}$"
NOT_IN_FORM = "x-not-in-form"  # a JSON-schema mark: the trigger form has no field for it
PSK_MIN_LENGTH = 8
PSK_MAX_LENGTH = 20
PSK_ALPHABET = string.ascii_letters + string.digits + "_-"
#: Keys that look like a pre-shared key, compared lower-case without ``_`` and ``-``.
_PSK_KEYS = frozenset({"psk", "presharedkey", "sharedkey", "sharedsecret"})
_PSK_FORBIDDEN_PREFIXES = ("0x", "0s")

VpcId = Annotated[str, Field(pattern=r"^vpc-[a-z0-9]+$")]
SubnetId = Annotated[str, Field(pattern=r"^subnet-[a-z0-9]+$")]
InstanceId = Annotated[str, Field(pattern=r"^i-[a-z0-9]+$")]
SecretRefName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,250}$")]


def rule_error(message: str, subfield: str | None = None) -> PydanticCustomError:
    """Build a validation error whose message is ``message``.

    :param message: the rule that was broken; never include a secret in it.
    :param subfield: dotted path below the validated object that the rule is about, appended to the
        error location by :func:`validate_conf` (model and field validators can only report their own
        location).
    """
    context: dict[str, Any] = {"rule": message}
    if subfield:
        context["subfield"] = subfield
    return PydanticCustomError("interconnect_rule", "{rule}", context)


def _check_global(ip: IPv4Address) -> IPv4Address:
    if not ip.is_global:
        raise rule_error(
            "must be a globally routable public IPv4 address (ipaddress is_global): customer gateway "
            "IPs must be publicly routable (tutorial step 3e)"
        )
    return ip


GlobalIPv4 = Annotated[IPv4Address, AfterValidator(_check_global)]


class FrozenModel(BaseModel):
    """Base of every conf model: unknown keys rejected, immutable, inputs never echoed in errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


# --- probe VM ---------------------------------------------------------------------------------------


class ExistingProbe(FrozenModel):
    """Use an existing VM of the site's VPC as ping probe (it needs the cloud assistant agent)."""

    model_config = ConfigDict(title="Existing VM")

    instance_id: InstanceId = Field(title="Existing VM id", description="Id of an existing VM in the site's VPC.")


class CreateProbe(FrozenModel):
    """Create a VM as ping probe (and delete it at teardown)."""

    model_config = ConfigDict(title="New VM (created for the run)")

    create_in_subnet: SubnetId = Field(
        title="Subnet of the new VM", description="Subnet for the new VM; one of the site's subnet_ids."
    )
    instance_type: str = Field(
        title="Instance type of the new VM",
        default="g.n2.medium",
        pattern=r"^[a-z][a-z0-9]*(\.[a-z0-9]+)+$",
        description="VM instance type.",
    )
    image_id: str = Field(
        title="Image of the new VM",
        default="img-emulator-centos7",
        pattern=r"^img-[a-z0-9-]+$",
        description=(
            "Image of the VM. The default only exists in the emulator: on the real cloud set the id of an "
            "image with the cloud assistant agent (e.g. an official CentOS image of the region)."
        ),
    )
    az: str | None = Field(
        title="Availability zone of the new VM",
        default=None,
        pattern=r"^cn-[a-z]+-\d[a-z]$",
        description="Availability zone, e.g. cn-north-1a; null lets the creating task choose.",
    )


def _probe_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "existing" if "instance_id" in value else "create"
    if isinstance(value, ExistingProbe):
        return "existing"
    if isinstance(value, CreateProbe):
        return "create"
    return None


#: The two kinds of probe VM, by the tag of the ``probe`` union (pydantic puts the tag in error locations,
#: :func:`validate_conf` drops it).
PROBE_KINDS: dict[str, type[FrozenModel]] = {"existing": ExistingProbe, "create": CreateProbe}

ProbeConf = Annotated[
    Annotated[ExistingProbe, Tag("existing")] | Annotated[CreateProbe, Tag("create")],
    Discriminator(_probe_tag),
]


# --- one side ---------------------------------------------------------------------------------------


class SiteConf(FrozenModel):
    """One end of the interconnect: a VPC in a region and the VM used to ping the other end."""

    region: Region = Field(title="Region", description="JD Cloud region of the VPC.")
    vpc_id: VpcId = Field(title="VPC id", description="VPC to interconnect.")
    vpc_cidr: IPv4Network = Field(
        title="VPC CIDR",
        description="CIDR of the VPC (network address, host bits clear), e.g. 10.10.0.0/16.",
    )
    subnet_ids: tuple[SubnetId, ...] = Field(
        title="Subnet ids",
        min_length=1,
        description=(
            "Subnets propagated to the border gateway by the VPC attachment (propagateType=partial); "
            "the probe VM subnet must be one of them."
        ),
    )
    propagate: Literal["all", "partial"] = Field(
        title="Subnets shared with the border gateway",
        default="partial",
        description="VPC attachment propagateType: partial = only subnet_ids, all = every subnet of the VPC.",
    )
    probe: ProbeConf = Field(
        title="Probe VM",
        description=(
            "The VM this side pings from: an existing VM of the VPC (it needs the cloud assistant agent), or a VM "
            "created in one of subnet_ids for the run and deleted after it. JSON: "
            '{"instance_id": "i-..."} or {"create_in_subnet": "subnet-..."}.'
        ),
    )

    @field_validator("vpc_cidr", mode="before")
    @classmethod
    def _check_cidr(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return IPv4Network(value, strict=True)
            except ValueError as err:
                raise rule_error(
                    f"must be an IPv4 network in CIDR form with host bits clear, e.g. 10.10.0.0/16 ({err})"
                ) from None
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _check_unique_subnets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        duplicates = sorted({subnet for subnet in value if value.count(subnet) > 1})
        if duplicates:
            raise rule_error(f"must be unique, repeated: {', '.join(duplicates)}")
        return value

    @field_validator("probe", mode="before")
    @classmethod
    def _check_probe_kind(cls, value: Any) -> Any:
        if isinstance(value, ExistingProbe | CreateProbe):
            return value
        if not isinstance(value, dict):
            raise rule_error('must be an object: {"instance_id": ...} or {"create_in_subnet": ...}')
        has_existing, has_create = "instance_id" in value, "create_in_subnet" in value
        if has_existing and has_create:
            raise rule_error("give either instance_id (use an existing VM) or create_in_subnet (create a VM), not both")
        if not has_existing and not has_create:
            raise rule_error("give instance_id (use an existing VM) or create_in_subnet (create a VM)")
        return value

    @field_validator("probe")
    @classmethod
    def _check_probe_placement(
        cls, value: ExistingProbe | CreateProbe, info: ValidationInfo
    ) -> ExistingProbe | CreateProbe:
        if not isinstance(value, CreateProbe):
            return value
        subnet_ids = info.data.get("subnet_ids")
        if subnet_ids is not None and value.create_in_subnet not in subnet_ids:
            raise rule_error(
                f"{value.create_in_subnet} is not one of subnet_ids ({', '.join(subnet_ids)}): "
                "the probe must sit in a subnet propagated to the border gateway",
                "create_in_subnet",
            )
        region = info.data.get("region")
        if value.az is not None and region is not None and not value.az.startswith(region):
            raise rule_error(f"{value.az} is not an availability zone of region {region}", "az")
        return value


# --- tunnels ----------------------------------------------------------------------------------------


class TunnelParams(FrozenModel):
    """IKE (phase 1) and IPsec (phase 2) parameters of a tunnel; defaults are JD Cloud's recommended set.

    Both sides use the same parameters, as mirror tunnels must match (jdcloud-api.md §5).
    """

    ike_version: IkeVersion = Field(title="IKE version", default="v2", description="IKE version.")
    ike_mode: IkeMode = Field(title="IKE mode", default="main", description="IKE v1 negotiation mode (ignored for v2).")
    ike_key_exchange: KeyExchange = Field(
        title="IKE DH group", default="ecp256", description="IKE DH group (ecp256 = group 19)."
    )
    ike_cipher: IkeCipher = Field(title="IKE encryption", default="aes128", description="IKE encryption algorithm.")
    ike_auth: Auth = Field(title="IKE authentication", default="sha256", description="IKE authentication algorithm.")
    ike_dpd_sec: Literal[0, 10] = Field(
        title="Dead peer detection (s)", default=10, description="Dead peer detection interval; 0 = off."
    )
    ike_sa_life_sec: int = Field(
        title="IKE SA lifetime (s)", default=14400, ge=60, le=86400, description="IKE SA lifetime in seconds."
    )
    ipsec_cipher: IpsecCipher = Field(
        title="IPsec encryption", default="aes128", description="IPsec (ESP) encryption algorithm."
    )
    ipsec_auth: Auth = Field(
        title="IPsec authentication", default="sha256", description="IPsec (ESP) authentication algorithm."
    )
    ipsec_key_exchange: KeyExchange | None = Field(
        title="IPsec PFS DH group", default=None, description="IPsec PFS DH group; null = no PFS."
    )
    ipsec_sa_life_sec: int = Field(
        title="IPsec SA lifetime (s)", default=3600, ge=60, le=86400, description="IPsec SA lifetime in seconds."
    )

    @field_validator("ipsec_key_exchange", mode="before")
    @classmethod
    def _null_string_is_none(cls, value: Any) -> Any:
        # JD's API documentation spells "no PFS" as the string "null".
        return None if value == "null" else value

    def to_api(self) -> dict[str, Any]:
        """Return the camelCase IKE/IPsec fields of a ``VpnTunnelSpec``.

        ``ipsecKeyExchange`` is ``None`` (JSON null) when PFS is off.
        """
        return {
            "ikeVersion": self.ike_version,
            "ikeMode": self.ike_mode,
            "ikeKeyExchange": self.ike_key_exchange,
            "ikeCipher": self.ike_cipher,
            "ikeAuth": self.ike_auth,
            "ikeDpdSec": self.ike_dpd_sec,
            "ikeSaLifeSec": self.ike_sa_life_sec,
            "ipsecCipher": self.ipsec_cipher,
            "ipsecAuth": self.ipsec_auth,
            "ipsecKeyExchange": self.ipsec_key_exchange,
            "ipsecSaLifeSec": self.ipsec_sa_life_sec,
        }


# --- pre-shared key ---------------------------------------------------------------------------------


class PskSecret(FrozenModel):
    """Where the pre-shared key is stored: an Airflow Variable or the password of an Airflow Connection."""

    variable: SecretRefName | None = Field(
        title="PSK in Variable", default=None, description="Airflow Variable key holding the PSK."
    )
    connection: SecretRefName | None = Field(
        title="PSK in Connection (password)",
        default=None,
        description="Airflow Connection id whose password is the PSK.",
    )

    @model_validator(mode="after")
    def _check_exactly_one(self) -> PskSecret:
        if (self.variable is None) == (self.connection is None):
            raise rule_error("give exactly one of variable or connection")
        return self


def default_psk_variable(name: str) -> str:
    """Return the default Airflow Variable key of the PSK of interconnect ``name``.

    The key contains ``secret``, one of Airflow's default sensitive words, so the UI and the REST API show the
    value as ``***`` without any deployment setting.
    """
    return f"jdcloud_vpn_psk_secret_{name}"


def legacy_psk_variable(name: str) -> str:
    """Return the default Variable key of releases before ``jdcloud_vpn_psk_secret_<name>`` (shown in clear)."""
    return f"jdcloud_vpn_psk_{name}"


def validate_psk(value: str) -> str:
    """Check a pre-shared key against JD Cloud's rules and return it.

    Rules: 8-20 characters (JD allows up to 20; 8 is our minimum for strength), only digits, letters,
    ``_`` and ``-``, not starting with ``0x`` or ``0s`` (checked case-insensitively: strongSwan reads
    those prefixes as hex or base64).

    :raises ValueError: naming the broken rule; the message never contains the key.
    :raises TypeError: if ``value`` is not a string.
    """
    if not isinstance(value, str):
        raise TypeError("PSK must be a string")
    if not PSK_MIN_LENGTH <= len(value) <= PSK_MAX_LENGTH:
        raise ValueError(f"PSK must be {PSK_MIN_LENGTH}-{PSK_MAX_LENGTH} characters long")
    if any(char not in PSK_ALPHABET for char in value):
        raise ValueError("PSK may only contain digits, letters, '_' and '-'")
    if value[:2].lower() in _PSK_FORBIDDEN_PREFIXES:
        raise ValueError("PSK must not start with '0x' or '0s'")
    return value


def generate_psk() -> str:
    """Return a random 20-character PSK that passes :func:`validate_psk`."""
    while True:
        psk = "".join(secrets.choice(PSK_ALPHABET) for _ in range(PSK_MAX_LENGTH))
        if psk[:2].lower() not in _PSK_FORBIDDEN_PREFIXES:
            return psk


def _find_psk_keys(data: Any, path: str = "") -> list[str]:
    """Return the dotted paths of every key in ``data`` that looks like a pre-shared key."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            key_path = f"{path}.{key}" if path else str(key)
            if str(key).lower().replace("_", "").replace("-", "") in _PSK_KEYS:
                found.append(key_path)
            found.extend(_find_psk_keys(value, key_path))
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            found.extend(_find_psk_keys(item, f"{path}.{index}"))
    return found


# --- waits and ping ---------------------------------------------------------------------------------


class WaitSpec(FrozenModel):
    """Bounds of one polling wait."""

    timeout_s: float = Field(title="Timeout (s)", gt=0, description="Give up after this many seconds.")
    poll_interval_s: float = Field(
        title="Longest poll interval (s)",
        gt=0,
        description=(
            "Longest pause between two polls, smaller than timeout_s; polls start a second apart and back off "
            "to it, so a wait ends within max(1 s, 10 %) of the change."
        ),
    )

    @model_validator(mode="after")
    def _check_poll_below_timeout(self) -> WaitSpec:
        if self.poll_interval_s >= self.timeout_s:
            raise rule_error(f"must be smaller than timeout_s ({self.timeout_s:g})", "poll_interval_s")
        return self


class WaitConf(FrozenModel):
    """Bounds of every wait; a wait left out keeps its default."""

    attachment_active: WaitSpec = Field(
        title="VPC attachment active",
        default=WaitSpec(timeout_s=300, poll_interval_s=5),
        description="Each VPC attachment active.",
    )
    cloud_ips_allocated: WaitSpec = Field(
        title="Cloud IPs allocated",
        default=WaitSpec(timeout_s=300, poll_interval_s=5),
        description="Each VPN connection shows its two cloud public IPs.",
    )
    tunnels_up: WaitSpec = Field(
        title="Tunnels up",
        default=WaitSpec(timeout_s=600, poll_interval_s=15),
        description="All four tunnels opStatus UP.",
    )
    routes_propagated: WaitSpec = Field(
        title="Routes propagated",
        default=WaitSpec(timeout_s=300, poll_interval_s=10),
        description="Static routes visible in the VPC route tables.",
    )
    probe_vm_running: WaitSpec = Field(
        title="Probe VMs running", default=WaitSpec(timeout_s=600, poll_interval_s=15), description="Probe VMs running."
    )
    ping: WaitSpec = Field(
        title="Ping command",
        default=WaitSpec(timeout_s=120, poll_interval_s=5),
        description="One ping command invocation.",
    )


class PingConf(FrozenModel):
    """Ping test between the two probe VMs."""

    count: int = Field(
        title="Echo requests per direction", default=4, ge=1, le=100, description="Echo requests per direction."
    )
    max_loss_pct: float = Field(
        title="Highest loss that passes (%)", default=0, ge=0, le=100, description="Highest packet loss that passes."
    )


# --- the interconnect -------------------------------------------------------------------------------


SiteKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,5}$")]
TopologyName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,7}$")]


class TopologyMember(FrozenModel):
    """Set by a topology run on each interconnect it builds (include/jdcloud_vpn/topology.py): the pair's two
    sites keep the border gateway and VPC attachment the topology made for each site, shared by its pairs.

    ``parent_dag_id`` / ``parent_run_id``: the topology run that started this one; it holds the interconnect
    while this run works on it (the guard lets a run pass its own parent).
    """

    topology: TopologyName
    home_site: SiteKey
    peer_site: SiteKey
    parent_dag_id: str | None = None
    parent_run_id: str | None = None

    def site(self, side: Side) -> str:
        """The site key of ``side``."""
        return self.home_site if side == "home" else self.peer_site


class InterconnectConf(FrozenModel):
    """A cross-region IPsec VPN interconnect between two JD Cloud VPCs."""

    name: str = Field(
        title="Interconnect name",
        json_schema_extra={"pattern": NAME_PATTERN, "minLength": 3, "maxLength": 20},
        description=(
            "Interconnect name, prefix of every resource name: 3-20 lowercase letters, digits and '-', "
            "starting with a letter."
        ),
    )
    home: SiteConf = Field(
        title="Home site", description="Home site (its VPN connection is created second, tutorial step 10)."
    )
    peer: SiteConf = Field(
        title="Peer site", description="Peer site, in another region (VPN connection first, step 8)."
    )
    tunnel: TunnelParams = Field(
        title="Tunnel 1 (IKE/IPsec)",
        default=TunnelParams(),
        description="IKE/IPsec parameters of tunnel 1 (and 2 unless tunnel2 is set).",
    )
    tunnel2: TunnelParams | None = Field(
        title="Tunnel 2 (only when it differs from tunnel 1)",
        default=None,
        description=(
            "IKE/IPsec parameters of tunnel 2; null (every field empty) reuses tunnel 1's (step 12f). A field not "
            "given takes JD Cloud's recommended value, not tunnel 1's."
        ),
    )
    psk_secret: PskSecret = Field(
        title="Pre-shared key",
        default=None,
        validate_default=True,
        description=(
            "Where the PSK is stored: an Airflow Variable or an Airflow Connection (its password), exactly one; "
            'JSON: {"variable": key} or {"connection": conn_id}. Null (both empty) = Variable '
            "jdcloud_vpn_psk_secret_<name>. Never put the PSK itself in the conf."
        ),
    )
    bgp_enabled: bool = Field(
        title="BGP",
        default=False,
        # The only valid value, so the trigger form hides the field (a JSON-schema const) instead of a switch.
        json_schema_extra={"const": False},
        description="Always false: JD-to-JD VPN is static-route only.",
    )
    customer_gateway_placeholder_ips: tuple[GlobalIPv4, ...] = Field(
        title="Customer gateway placeholder IPs",
        default=(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.2")),
        # Length checked in _check_placeholder_ips, so a bad item does not also report a wrong length.
        json_schema_extra={"minItems": 2, "maxItems": 2},
        description=(
            "Two public IPv4 addresses the customer gateways carry until the other side's VPN connection "
            "exists (tutorial step 3e); no traffic is ever sent to them."
        ),
    )
    customer_gateway_bgp_asn: int = Field(
        title="Customer gateway BGP ASN",
        default=65001,
        ge=65001,
        le=65499,
        description="BGP ASN of the customer gateways; required by the API even for static routing.",
    )
    on_drift: Literal["repair", "report"] = Field(
        title="On drift",
        default="repair",
        description=(
            "What a rerun does with an adopted resource whose settings differ from this conf: repair = modify "
            "it back (tunnel PSK and IKE/IPsec, VPC attachment propagation, VPN connection BGP, static route next "
            "hop); report = only list the difference in the run report. A setting JD Cloud cannot modify fails "
            "the step in repair mode."
        ),
    )
    timeouts: WaitConf = Field(
        title="Waits", default=WaitConf(), description="Timeout and longest poll interval of each wait."
    )
    ping: PingConf = Field(title="Ping test", default=PingConf(), description="Ping test settings.")
    report_dir: str = Field(
        title="Report directory", default="reports", min_length=1, description="Directory of the test reports."
    )
    member_of: TopologyMember | None = Field(
        default=None,
        json_schema_extra={NOT_IN_FORM: True},
        description="Set by a topology run on each of its pairs: the sites' border gateways are the topology's.",
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_psk_in_conf(cls, data: Any) -> Any:
        paths = _find_psk_keys(data)
        if paths:
            also = f" (also found at {', '.join(paths[1:])})" if len(paths) > 1 else ""
            raise rule_error(
                f"a pre-shared key must never be in the conf{also}: store it in the Airflow Variable "
                "jdcloud_vpn_psk_secret_<name> or in the password of an Airflow Connection and point psk_secret "
                'at it ({"variable": ...} or {"connection": ...})',
                paths[0],
            )
        return data

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not re.fullmatch(NAME_PATTERN, value):
            raise rule_error(
                f"must be 3-20 characters: lowercase letters, digits and '-', starting with a letter ({NAME_PATTERN})"
            )
        return value

    @field_validator("peer")
    @classmethod
    def _check_sites(cls, peer: SiteConf, info: ValidationInfo) -> SiteConf:
        home: SiteConf | None = info.data.get("home")
        if home is None:
            return peer
        if peer.region == home.region:
            raise rule_error(
                f"same region as home.region ({home.region}): a cross-region VPN needs two regions; "
                "in one region use VPC peering or a single border gateway instead (tutorial introduction)",
                "region",
            )
        if peer.vpc_cidr.overlaps(home.vpc_cidr):
            raise rule_error(
                f"{peer.vpc_cidr} overlaps home.vpc_cidr {home.vpc_cidr}: the two VPC CIDRs must not "
                "overlap (tutorial Precondition)",
                "vpc_cidr",
            )
        return peer

    @field_validator("psk_secret", mode="before")
    @classmethod
    def _default_psk_secret(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return {"variable": default_psk_variable(info.data.get("name", "invalid-name"))}
        return value

    @field_validator("bgp_enabled")
    @classmethod
    def _check_bgp_disabled(cls, value: bool) -> bool:
        if value:
            raise rule_error(
                "bgp_enabled must be false: JD Cloud border gateways all use ASN 65000 and tunnel inner IPs "
                "cannot be set, so EBGP cannot run between two JD Cloud gateways (tutorial Notes); "
                "use static routes"
            )
        return value

    @field_validator("customer_gateway_placeholder_ips")
    @classmethod
    def _check_placeholder_ips(cls, value: tuple[IPv4Address, ...]) -> tuple[IPv4Address, ...]:
        if len(value) != 2:
            raise rule_error(f"must hold exactly 2 addresses, one per tunnel (got {len(value)})")
        if value[0] == value[1]:
            raise rule_error("must be two different addresses (the API rejects duplicate customerIps)")
        return value

    def lock_keys(self) -> frozenset[str]:
        """What a run on this interconnect holds against other runs (include/jdcloud_vpn/guard.py)."""
        return interconnect_lock_keys(self.name)

    def site(self, side: Side) -> SiteConf:
        """Return the :class:`SiteConf` of ``side`` (``home`` or ``peer``)."""
        if side == "home":
            return self.home
        if side == "peer":
            return self.peer
        raise ValueError(f"Invalid side: {side!r}, expected one of {SIDES}")

    def tunnel_params(self, index: int) -> TunnelParams:
        """Return the parameters of tunnel ``index`` (1 or 2); tunnel 2 reuses tunnel 1's unless
        ``tunnel2`` is set (tutorial step 12f)."""
        if index == 1:
            return self.tunnel
        if index == 2:
            return self.tunnel2 if self.tunnel2 is not None else self.tunnel
        raise ValueError(f"Invalid tunnel index: {index}, expected 1 or 2")


class TeardownTarget(FrozenModel):
    """Which interconnect to remove: its name and the two regions (all a teardown needs)."""

    name: str = Field(pattern=NAME_PATTERN, description="Interconnect name, as in the build's conf.")
    home_region: Region = Field(description="Home region.")
    peer_region: Region = Field(description="Peer region.")
    member_of: TopologyMember | None = Field(
        default=None, description="A topology's pair: its sites' border gateways and VPC attachments stay."
    )

    @model_validator(mode="after")
    def _distinct_regions(self) -> TeardownTarget:
        if self.home_region == self.peer_region:
            raise ValueError("home_region and peer_region must differ")
        return self

    @classmethod
    def from_conf(cls, conf: InterconnectConf) -> TeardownTarget:
        return cls(name=conf.name, home_region=conf.home.region, peer_region=conf.peer.region, member_of=conf.member_of)

    def region(self, side: Side) -> Region:
        return self.home_region if side == "home" else self.peer_region

    def lock_keys(self) -> frozenset[str]:
        """What a teardown of this interconnect holds against other runs (include/jdcloud_vpn/guard.py)."""
        return interconnect_lock_keys(self.name)


def interconnect_lock_keys(name: str) -> frozenset[str]:
    """The lock keys of the interconnect ``name``: every resource this project makes for it carries the name."""
    return frozenset({f"interconnect:{name}"})


# --- entry point ------------------------------------------------------------------------------------


class ConfError(ValueError):
    """Invalid interconnect conf; ``problems`` holds one ``<dotted.field.path>: <rule>`` per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _problem(error: dict[str, Any], field_name: Callable[[tuple[str, ...]], str]) -> str:
    """Render one pydantic error as ``<field>: <rule>`` without its input value."""
    loc = error["loc"]
    parts = [str(part) for i, part in enumerate(loc) if not (i > 0 and loc[i - 1] == "probe" and part in PROBE_KINDS)]
    subfield = (error.get("ctx") or {}).get("subfield")
    if subfield:
        parts.extend(subfield.split("."))
    message = error["msg"].removeprefix("Value error, ")
    return f"{field_name(tuple(parts)) if parts else 'conf'}: {message}"


def dotted_path(path: tuple[str, ...]) -> str:
    """A field's path in the nested conf, e.g. ``home.subnet_ids.0``."""
    return ".".join(path)


def validate_conf(raw: Any, field_name: Callable[[tuple[str, ...]], str] = dotted_path) -> InterconnectConf:
    """Validate a raw conf (a JSON object) and return the model.

    :param field_name: how a problem names the field, from its path in the nested conf (the trigger form
        names its own fields).
    :raises ConfError: listing every problem as ``<field>: <rule>``, one per line.
    """
    try:
        return InterconnectConf.model_validate(raw)
    except ValidationError as err:
        # "from None": the chained ValidationError would carry the raw input into tracebacks.
        raise ConfError(problems_of(err, field_name)) from None


def problems_of(err: ValidationError, field_name: Callable[[tuple[str, ...]], str] = dotted_path) -> list[str]:
    """Each error of ``err`` as ``<field>: <rule>``, without the input (it may hold secrets)."""
    return [_problem(e, field_name) for e in err.errors(include_url=False, include_input=False)]
