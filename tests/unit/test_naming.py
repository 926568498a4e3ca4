"""Tests of the resource naming scheme (``include.jdcloud_vpn.naming``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import InterconnectConf, validate_conf

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "include" / "interconnect.example.json"
PER_SIDE = (
    naming.bgw_name,
    naming.vpc_attachment_name,
    naming.customer_gateway_name,
    naming.vpn_connection_name,
    naming.probe_vm_name,
)


def _conf(name: str = "bj-sh", **changes: Any) -> InterconnectConf:
    raw = json.loads(EXAMPLE_PATH.read_text())
    raw.update(name=name, psk_secret=None, **changes)
    return validate_conf(raw)


def test_names_of_example():
    conf = _conf()

    assert naming.bgw_name(conf, "home") == "ic-bj-sh-home-bgw"
    assert naming.vpc_attachment_name(conf, "peer") == "ic-bj-sh-peer-att"
    assert naming.customer_gateway_name(conf, "home") == "ic-bj-sh-home-cgw"
    assert naming.vpn_connection_name(conf, "peer") == "ic-bj-sh-peer-vpn"
    assert naming.probe_vm_name(conf, "home") == "ic-bj-sh-home-vm"
    assert naming.command_name(conf, "home_to_peer") == "ic-bj-sh-h2p-ping"
    assert naming.command_name(conf, "peer_to_home") == "ic-bj-sh-p2h-ping"


def test_longest_name_fits_jd_rule():
    conf = _conf("a" + "-9" * 9 + "z")
    assert len(conf.name) == 20

    names = naming.resource_names(conf)

    assert max(len(name) for name in names) == naming.JD_NAME_MAX_LENGTH
    for name in names:
        assert naming.is_jd_name(name), name


def test_names_are_unique_and_deterministic():
    names = naming.resource_names(_conf())

    assert len(names) == len(PER_SIDE) * 2 + 2
    assert names == naming.resource_names(_conf())


def test_interconnects_do_not_share_names():
    assert naming.resource_names(_conf("prod")).isdisjoint(naming.resource_names(_conf("prod2")))


def test_owned_by_is_exact():
    prod, prod2 = _conf("prod"), _conf("prod2")

    for name in naming.resource_names(prod):
        assert naming.owned_by(name, prod)
        assert not naming.owned_by(name, prod2)
    assert not naming.owned_by("ic-prod2-home-bgw", prod)
    assert not naming.owned_by("ic-prod-home-bgw-old", prod)
    assert not naming.owned_by("ic-prod-home", prod)
    assert not naming.owned_by("", prod)


@pytest.mark.parametrize("make", PER_SIDE)
def test_invalid_side_is_rejected(make):
    with pytest.raises(ValueError, match="Invalid side: 'east'"):
        make(_conf(), "east")


def test_invalid_direction_is_rejected():
    with pytest.raises(ValueError, match="Invalid direction"):
        naming.command_name(_conf(), "home")
    with pytest.raises(ValueError, match="Invalid direction"):
        naming.direction_sides("both")


def test_side_helpers():
    conf = _conf()

    assert naming.side_regions(conf) == {"home": "cn-north-1", "peer": "cn-east-2"}
    assert naming.direction_sides("home_to_peer") == ("home", "peer")
    assert naming.direction_sides("peer_to_home") == ("peer", "home")
    assert naming.other_side("home") == "peer"
    assert naming.other_side("peer") == "home"


def test_resource_description():
    conf = _conf()

    description = naming.resource_description(conf, "peer")

    assert "bj-sh" in description
    assert "peer" in description
    assert len(description) <= 256
