"""Deterministic JD Cloud resource names of one interconnect.

One scheme, ``ic-<name>-<side>-<kind>``, for every named resource, where ``<side>`` (``home`` or ``peer``)
is the side whose region holds the resource:

========================  =====================  ==================================================
resource                  name                   note
========================  =====================  ==================================================
border gateway            ``ic-<name>-<side>-bgw``
VPC attachment            ``ic-<name>-<side>-att``
customer gateway          ``ic-<name>-<side>-cgw``  stands for the *other* side's VPN connection
VPN connection            ``ic-<name>-<side>-vpn``
probe VM                  ``ic-<name>-<side>-vm``   only when the conf asks to create it
ping command (assistant)  ``ic-<name>-h2p-ping``    runs on the home VM, pings peer (``p2h``: reverse)
========================  =====================  ==================================================

A pair of a topology (``conf.member_of`` set) shares its sites' border gateways and VPC attachments, which the
topology names per site: ``tp-<topology>-<site>-bgw`` and ``tp-<topology>-<site>-att`` (``tp-``, so that no
site key can give the name of an interconnect's own gateway); its other resources are named as above.

Tunnels and routes have no name in the API; they are found through their VPN connection and border
gateway. With the longest interconnect name (20 characters) every name is at most 32 characters of
``[A-Za-z0-9_-]``, inside JD Cloud's name rule (Chinese, digits, letters, ``_`` and ``-``, 32 max).
"""

from __future__ import annotations

import re
from typing import Literal, Protocol, get_args

from include.jdcloud_vpn.conf import SIDES, InterconnectConf, Region, Side, TopologyMember

Direction = Literal["home_to_peer", "peer_to_home"]
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)

PREFIX = "ic"
SITE_PREFIX = "tp"
SiteGatewayKind = Literal["bgw", "att"]


class Named(Protocol):
    """Anything naming an interconnect: the full conf, or just its name and regions (teardown)."""

    name: str
    member_of: TopologyMember | None


JD_NAME_MAX_LENGTH = 32
_JD_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DIRECTION_TAGS: dict[str, str] = {"home_to_peer": "h2p", "peer_to_home": "p2h"}


def is_jd_name(value: str) -> bool:
    """Return whether ``value`` satisfies JD Cloud's resource name rule (without Chinese characters)."""
    return bool(_JD_NAME_RE.fullmatch(value))


def _check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"Invalid side: {side!r}, expected one of {SIDES}")


def _name(conf: Named, side: str, kind: str) -> str:
    _check_side(side)
    return f"{PREFIX}-{conf.name}-{side}-{kind}"


def site_gateway_name(topology: str, site: str, kind: SiteGatewayKind) -> str:
    """Return the name of a topology site's border gateway (``bgw``) or VPC attachment (``att``)."""
    return f"{SITE_PREFIX}-{topology}-{site}-{kind}"


def _gateway_name(conf: Named, side: Side, kind: SiteGatewayKind) -> str:
    if conf.member_of is None:
        return _name(conf, side, kind)
    _check_side(side)
    return site_gateway_name(conf.member_of.topology, conf.member_of.site(side), kind)


def shares_gateways(conf: Named) -> bool:
    """Whether the border gateways and VPC attachments are a topology's, shared with its other pairs."""
    return conf.member_of is not None


def bgw_name(conf: Named, side: Side) -> str:
    """Return the name of the border gateway in ``side``'s region."""
    return _gateway_name(conf, side, "bgw")


def vpc_attachment_name(conf: Named, side: Side) -> str:
    """Return the name of the VPC attachment of ``side``'s VPC to its border gateway."""
    return _gateway_name(conf, side, "att")


def customer_gateway_name(conf: Named, side: Side) -> str:
    """Return the name of the customer gateway in ``side``'s region (it represents the other side)."""
    return _name(conf, side, "cgw")


def vpn_connection_name(conf: Named, side: Side) -> str:
    """Return the name of the VPN connection in ``side``'s region."""
    return _name(conf, side, "vpn")


def probe_vm_name(conf: Named, side: Side) -> str:
    """Return the name of the probe VM created in ``side``'s VPC."""
    return _name(conf, side, "vm")


def command_name(conf: Named, direction: Direction) -> str:
    """Return the name of the cloud-assistant ping command for ``direction`` (source side to target)."""
    if direction not in _DIRECTION_TAGS:
        raise ValueError(f"Invalid direction: {direction!r}, expected one of {DIRECTIONS}")
    return f"{PREFIX}-{conf.name}-{_DIRECTION_TAGS[direction]}-ping"


def direction_sides(direction: Direction) -> tuple[Side, Side]:
    """Return ``(source, target)`` sides of a ping ``direction``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"Invalid direction: {direction!r}, expected one of {DIRECTIONS}")
    source, _, target = direction.partition("_to_")
    return source, target  # type: ignore[return-value]


def direction_from(side: Side) -> Direction:
    """Return the ping direction whose source is ``side``."""
    _check_side(side)
    return next(d for d in DIRECTIONS if direction_sides(d)[0] == side)


def other_side(side: Side) -> Side:
    """Return the opposite side."""
    _check_side(side)
    return "peer" if side == "home" else "home"


def side_regions(conf: InterconnectConf) -> dict[Side, Region]:
    """Return ``{"home": <home region>, "peer": <peer region>}``."""
    return {"home": conf.home.region, "peer": conf.peer.region}


def resource_description(conf: Named, side: Side) -> str:
    """Return the description set on every resource of ``side`` (routes included, which have no name)."""
    _check_side(side)
    return f"Managed by Airflow jdcloud_vpn, interconnect {conf.name}, {side} side"


def resource_names(conf: Named) -> frozenset[str]:
    """Return every name this interconnect may give a resource, both sides and both ping commands."""
    per_side = (bgw_name, vpc_attachment_name, customer_gateway_name, vpn_connection_name, probe_vm_name)
    names = {make(conf, side) for make in per_side for side in SIDES}
    names.update(command_name(conf, direction) for direction in DIRECTIONS)
    return frozenset(names)


def owned_by(name: str, conf: Named) -> bool:
    """Return whether resource ``name`` belongs to this interconnect.

    Exact match against :func:`resource_names`, never a prefix match, so interconnect ``prod`` does not
    claim ``ic-prod2-home-bgw``.
    """
    return name in resource_names(conf)
