"""Tests of the interconnect configuration model (``include.jdcloud_vpn.conf``)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from include.jdcloud_vpn.conf import (
    PSK_ALPHABET,
    ConfError,
    InterconnectConf,
    PskSecret,
    TunnelParams,
    generate_psk,
    validate_conf,
    validate_psk,
)
from tests.jd_defaults import RECOMMENDED_TUNNEL

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "include" / "interconnect.example.json"
SECRET = "Sup3rSecretKey_1"


@pytest.fixture
def raw() -> dict[str, Any]:
    """Return a fresh copy of the example conf."""
    return json.loads(EXAMPLE_PATH.read_text())


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    data[last] = value


def _problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfError) as exc_info:
        validate_conf(raw)
    return exc_info.value.problems


def test_example_is_valid(raw):
    conf = validate_conf(raw)

    assert conf.name == "bj-sh"
    assert conf.home.region == "cn-north-1"
    assert conf.peer.region == "cn-east-2"
    assert str(conf.home.vpc_cidr) == "10.10.0.0/16"
    assert str(conf.peer.vpc_cidr) == "10.20.0.0/16"
    assert conf.home.probe.create_in_subnet == "subnet-homeexample1"


def test_minimal_conf_gets_every_default(raw):
    minimal = {key: raw[key] for key in ("name", "home", "peer")}

    assert validate_conf(minimal) == validate_conf(raw)


# Each row breaks exactly one rule: (id, dotted path to set, value, expected problem path, rule fragment).
BAD_INPUTS = [
    (
        "overlapping-cidrs",
        "peer.vpc_cidr",
        "10.10.128.0/17",
        "peer.vpc_cidr",
        "overlaps home.vpc_cidr 10.10.0.0/16",
    ),
    ("same-region", "peer.region", "cn-north-1", "peer.region", "use VPC peering or a single border gateway"),
    ("bgp-on", "bgp_enabled", True, "bgp_enabled", "EBGP cannot run between two JD Cloud gateways"),
    ("psk-in-tunnel", "tunnel.psk", SECRET, "tunnel.psk", "store it in the Airflow Variable"),
    ("pre-shared-key-top", "pre_shared_key", SECRET, "pre_shared_key", "password of an Airflow Connection"),
    ("psk-in-site", "home.PSK", SECRET, "home.PSK", "must never be in the conf"),
    ("name-uppercase", "name", "Prod", "name", "lowercase letters, digits and '-', starting with a letter"),
    ("name-digit-first", "name", "1prod", "name", "starting with a letter"),
    ("name-too-long", "name", "a" * 21, "name", "3-20 characters"),
    ("name-too-short", "name", "ab", "name", "3-20 characters"),
    ("bad-region", "home.region", "us-east-1", "home.region", "'cn-north-1', 'cn-east-1', 'cn-east-2' or"),
    (
        "bad-ike-cipher",
        "tunnel.ike_cipher",
        "des",
        "tunnel.ike_cipher",
        "'aes128', 'aes192', 'aes256' or '3des'",
    ),
    ("bad-dpd", "tunnel.ike_dpd_sec", 5, "tunnel.ike_dpd_sec", "0 or 10"),
    (
        "ipsec-life-high",
        "tunnel.ipsec_sa_life_sec",
        86401,
        "tunnel.ipsec_sa_life_sec",
        "less than or equal to 86400",
    ),
    ("ike-life-low", "tunnel.ike_sa_life_sec", 59, "tunnel.ike_sa_life_sec", "greater than or equal to 60"),
    (
        "probe-both",
        "home.probe",
        {"instance_id": "i-abc", "create_in_subnet": "subnet-homeexample1"},
        "home.probe",
        "not both",
    ),
    ("probe-neither", "home.probe", {"instance_type": "g.n2.medium"}, "home.probe", "give instance_id"),
    ("probe-not-object", "home.probe", "i-abc", "home.probe", "must be an object"),
    (
        "probe-subnet-not-listed",
        "peer.probe.create_in_subnet",
        "subnet-elsewhere",
        "peer.probe.create_in_subnet",
        "not one of subnet_ids",
    ),
    ("probe-az-other-region", "peer.probe.az", "cn-north-1a", "peer.probe.az", "not an availability zone"),
    ("probe-bad-instance", "home.probe", {"instance_id": "vm-1"}, "home.probe.instance_id", "match pattern"),
    (
        "placeholder-private",
        "customer_gateway_placeholder_ips",
        ["10.0.0.1", "1.0.0.2"],
        "customer_gateway_placeholder_ips.0",
        "globally routable",
    ),
    (
        "placeholder-documentation",
        "customer_gateway_placeholder_ips",
        ["1.0.0.1", "203.0.113.7"],
        "customer_gateway_placeholder_ips.1",
        "globally routable",
    ),
    (
        "placeholder-count",
        "customer_gateway_placeholder_ips",
        ["1.0.0.1"],
        "customer_gateway_placeholder_ips",
        "exactly 2",
    ),
    (
        "placeholder-duplicate",
        "customer_gateway_placeholder_ips",
        ["1.0.0.1", "1.0.0.1"],
        "customer_gateway_placeholder_ips",
        "two different addresses",
    ),
    (
        "poll-equals-timeout",
        "timeouts.ping",
        {"timeout_s": 5, "poll_interval_s": 5},
        "timeouts.ping.poll_interval_s",
        "smaller than timeout_s (5)",
    ),
    (
        "timeout-zero",
        "timeouts.tunnels_up",
        {"timeout_s": 0, "poll_interval_s": 1},
        "timeouts.tunnels_up.timeout_s",
        "greater than 0",
    ),
    ("cidr-host-bits", "home.vpc_cidr", "10.10.0.1/16", "home.vpc_cidr", "host bits clear"),
    ("cidr-ipv6", "home.vpc_cidr", "fd00::/48", "home.vpc_cidr", "IPv4 network"),
    ("vpc-id-pattern", "home.vpc_id", "VPC-1", "home.vpc_id", "match pattern '^vpc-[a-z0-9]+$'"),
    ("subnets-empty", "home.subnet_ids", [], "home.subnet_ids", "at least 1 item"),
    (
        "subnets-duplicate",
        "home.subnet_ids",
        ["subnet-homeexample1", "subnet-homeexample1"],
        "home.subnet_ids",
        "must be unique, repeated: subnet-homeexample1",
    ),
    (
        "subnet-pattern",
        "home.subnet_ids",
        ["subnet-homeexample1", "sn-2"],
        "home.subnet_ids.1",
        "match pattern",
    ),
    ("propagate-none", "home.propagate", "none", "home.propagate", "'all' or 'partial'"),
    (
        "asn-low",
        "customer_gateway_bgp_asn",
        65000,
        "customer_gateway_bgp_asn",
        "greater than or equal to 65001",
    ),
    (
        "asn-high",
        "customer_gateway_bgp_asn",
        65500,
        "customer_gateway_bgp_asn",
        "less than or equal to 65499",
    ),
    (
        "psk-secret-both",
        "psk_secret",
        {"variable": "a", "connection": "b"},
        "psk_secret",
        "exactly one of variable",
    ),
    ("psk-secret-neither", "psk_secret", {}, "psk_secret", "exactly one of variable"),
    ("ping-count-zero", "ping.count", 0, "ping.count", "greater than or equal to 1"),
    ("ping-loss-high", "ping.max_loss_pct", 101, "ping.max_loss_pct", "less than or equal to 100"),
    ("typo-key", "tunel", {}, "tunel", "Extra inputs are not permitted"),
    ("typo-nested-key", "home.vpcid", "vpc-x", "home.vpcid", "Extra inputs are not permitted"),
    ("report-dir-empty", "report_dir", "", "report_dir", "at least 1 character"),
]


@pytest.mark.parametrize(
    ("path", "value", "problem_path", "rule"),
    [row[1:] for row in BAD_INPUTS],
    ids=[row[0] for row in BAD_INPUTS],
)
def test_bad_input_names_field_and_rule(raw, path, value, problem_path, rule):
    _set(raw, path, value)

    problems = _problems(raw)

    assert len(problems) == 1, problems
    found_path, _, message = problems[0].partition(": ")
    assert found_path == problem_path
    assert rule in message


def test_overlap_message_gives_both_cidrs(raw):
    raw["peer"]["vpc_cidr"] = "10.0.0.0/8"

    (problem,) = _problems(raw)

    assert "10.0.0.0/8" in problem
    assert "10.10.0.0/16" in problem
    assert "tutorial Precondition" in problem


def test_every_problem_is_listed_one_per_line(raw):
    raw["name"] = "Bad"
    raw["home"]["region"] = "mars-1"
    raw["tunnel"]["ike_sa_life_sec"] = 1
    raw["bgp_enabled"] = True
    raw["timeouts"]["ping"] = {"timeout_s": 1, "poll_interval_s": 2}

    with pytest.raises(ConfError) as exc_info:
        validate_conf(raw)

    lines = str(exc_info.value).splitlines()
    assert lines == exc_info.value.problems
    assert [line.split(": ", 1)[0] for line in lines] == [
        "name",
        "home.region",
        "tunnel.ike_sa_life_sec",
        "bgp_enabled",
        "timeouts.ping.poll_interval_s",
    ]


def test_non_object_conf_is_rejected():
    with pytest.raises(ConfError, match=r"^conf: Input should be a valid dictionary"):
        validate_conf(["not", "a", "dict"])


def test_conf_error_is_a_value_error_without_chained_input(raw):
    raw["tunnel"]["psk"] = SECRET

    with pytest.raises(ValueError, match="must never be in the conf") as exc_info:
        validate_conf(raw)

    assert isinstance(exc_info.value, ConfError)
    assert exc_info.value.__suppress_context__
    assert exc_info.value.__cause__ is None


@pytest.mark.parametrize("path", ["tunnel.psk", "psk", "pre_shared_key", "ping.pre-shared-key", "home.probe.psk"])
def test_psk_in_conf_is_never_echoed(raw, path):
    _set(raw, path, SECRET)

    with pytest.raises(ConfError) as conf_error:
        validate_conf(raw)
    with pytest.raises(ValidationError) as pydantic_error:
        InterconnectConf.model_validate(raw)

    assert SECRET not in str(conf_error.value)
    assert SECRET not in str(pydantic_error.value)
    assert SECRET not in repr(pydantic_error.value.errors(include_input=False))


def test_tunnel_defaults_are_jd_recommended_set():
    # jdcloud-api.md section 5 (SDK VpnTunnelSpec defaults).
    assert TunnelParams().to_api() == RECOMMENDED_TUNNEL


def test_other_defaults(raw):
    conf = validate_conf({key: raw[key] for key in ("name", "home", "peer")})

    assert conf.bgp_enabled is False
    assert [str(ip) for ip in conf.customer_gateway_placeholder_ips] == ["1.0.0.1", "1.0.0.2"]
    assert all(ip.is_global for ip in conf.customer_gateway_placeholder_ips)
    assert conf.customer_gateway_bgp_asn == 65001
    assert conf.home.propagate == "partial"
    assert conf.home.probe.instance_type == "g.n2.medium"
    assert conf.home.probe.image_id == "img-emulator-centos7"
    assert conf.home.probe.az is None
    waits = conf.timeouts
    assert (waits.tunnels_up.timeout_s, waits.tunnels_up.poll_interval_s) == (600, 15)
    assert (waits.routes_propagated.timeout_s, waits.routes_propagated.poll_interval_s) == (300, 10)
    assert (waits.probe_vm_running.timeout_s, waits.probe_vm_running.poll_interval_s) == (600, 15)
    assert (waits.ping.timeout_s, waits.ping.poll_interval_s) == (120, 5)
    assert (conf.ping.count, conf.ping.max_loss_pct) == (4, 0)
    assert conf.report_dir == "reports"


def test_tunnel2_reuses_tunnel1_when_absent(raw):
    raw["tunnel"]["ike_cipher"] = "aes256"

    conf = validate_conf(raw)

    assert conf.tunnel2 is None
    assert conf.tunnel_params(1).ike_cipher == "aes256"
    assert conf.tunnel_params(2) == conf.tunnel_params(1)


def test_tunnel2_override(raw):
    raw["tunnel2"] = {"ike_cipher": "aes256", "ipsec_key_exchange": "modp2048"}

    conf = validate_conf(raw)

    assert conf.tunnel_params(1) == TunnelParams()
    assert conf.tunnel_params(2).ike_cipher == "aes256"
    assert conf.tunnel_params(2).to_api()["ipsecKeyExchange"] == "modp2048"
    assert conf.tunnel_params(2).ike_auth == "sha256"


@pytest.mark.parametrize("index", [0, 3])
def test_tunnel_params_index_out_of_range(raw, index):
    with pytest.raises(ValueError, match=f"Invalid tunnel index: {index}"):
        validate_conf(raw).tunnel_params(index)


def test_null_string_means_no_pfs():
    assert TunnelParams(ipsec_key_exchange="null").ipsec_key_exchange is None


def test_existing_probe(raw):
    raw["peer"]["probe"] = {"instance_id": "i-abc123"}

    conf = validate_conf(raw)

    assert conf.peer.probe.instance_id == "i-abc123"
    assert conf.site("peer") is conf.peer
    with pytest.raises(ValueError, match="Invalid side"):
        conf.site("east")


def test_psk_secret_defaults_to_variable_named_after_interconnect(raw):
    del raw["psk_secret"]
    assert validate_conf(raw).psk_secret == PskSecret(variable="jdcloud_vpn_psk_secret_bj-sh")

    raw["psk_secret"] = None
    assert validate_conf(raw).psk_secret == PskSecret(variable="jdcloud_vpn_psk_secret_bj-sh")


def test_psk_secret_connection(raw):
    raw["psk_secret"] = {"connection": "jdcloud_vpn_psk"}

    assert validate_conf(raw).psk_secret == PskSecret(connection="jdcloud_vpn_psk")


def test_dump_is_json_safe_and_round_trips(raw):
    conf = validate_conf(raw)

    dumped = conf.model_dump(mode="json")

    text = json.dumps(dumped)
    assert "psk" not in text.replace("psk_secret", "").replace("jdcloud_vpn_psk_secret_", "")
    assert InterconnectConf.model_validate(json.loads(text)) == conf
    assert validate_conf(dumped) == conf


def test_conf_is_frozen(raw):
    conf = validate_conf(raw)

    with pytest.raises(ValidationError):
        conf.name = "other"
    with pytest.raises(ValidationError):
        conf.home.region = "cn-south-1"
    hash(conf)


def test_raw_input_is_not_mutated(raw):
    original = copy.deepcopy(raw)

    validate_conf(raw)

    assert raw == original


# --- PSK ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("psk", ["abcdefgh", "A1_-b2C3", "x" * 20, "0abcdefgh", "s0xabcdef", "-leading-dash"])
def test_validate_psk_accepts(psk):
    assert validate_psk(psk) == psk


@pytest.mark.parametrize(
    ("psk", "rule"),
    [
        ("short7c", "8-20 characters"),
        ("a" * 21, "8-20 characters"),
        ("", "8-20 characters"),
        ("has space1", "digits, letters, '_' and '-'"),
        ("dot.inside", "digits, letters, '_' and '-'"),
        ("ümlautkey1", "digits, letters, '_' and '-'"),
        ("0xdeadbeef", "must not start with '0x' or '0s'"),
        ("0sAbCdEfGh", "must not start with '0x' or '0s'"),
        ("0XDEADBEEF", "must not start with '0x' or '0s'"),
        ("0Sabcdefgh", "must not start with '0x' or '0s'"),
    ],
)
def test_validate_psk_rejects_without_echo(psk, rule):
    with pytest.raises(ValueError, match=re.escape(rule)) as exc_info:
        validate_psk(psk)

    message = str(exc_info.value)
    assert rule in message
    if psk:
        assert psk not in message


def test_validate_psk_rejects_non_string():
    with pytest.raises(TypeError, match="must be a string"):
        validate_psk(12345678)  # type: ignore[arg-type]


def test_generate_psk_always_valid():
    keys = [generate_psk() for _ in range(200)]

    for key in keys:
        assert validate_psk(key) == key
        assert len(key) == 20
        assert set(key) <= set(PSK_ALPHABET)
    assert len(set(keys)) == 200


def test_drift_is_repaired_unless_the_conf_says_report(raw):
    assert validate_conf(raw).on_drift == "repair"
    assert validate_conf({**raw, "on_drift": "report"}).on_drift == "report"
    assert _problems({**raw, "on_drift": "fix"}) == ["on_drift: Input should be 'repair' or 'report'"]
