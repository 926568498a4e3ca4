"""Tests of the trigger form (``include.jdcloud_vpn.params``): flat Params generated from the conf model, the
mapping between the form's flat values and the nested conf, and the two shapes of trigger conf."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, Param
from airflow.sdk.exceptions import ParamValidationError

from include.jdcloud_vpn.conf import ConfError, InterconnectConf, TunnelParams, validate_conf
from include.jdcloud_vpn.demo import form_defaults
from include.jdcloud_vpn.params import (
    FORM_FIELDS,
    NESTED_KEYS,
    conf_from_form,
    conf_from_trigger,
    form_values,
    interconnect_params,
    nested_conf,
)

INCLUDE = Path(__file__).resolve().parents[2] / "include"


@pytest.fixture
def example() -> dict[str, Any]:
    return json.loads((INCLUDE / "interconnect.example.json").read_text())


def _problems(error: pytest.ExceptionInfo[ConfError]) -> list[str]:
    return error.value.problems


# --- the form ------------------------------------------------------------------------------------------


def test_every_param_is_a_scalar_or_a_list_never_a_json_editor():
    params = interconnect_params(form_defaults())

    for key, param in params.items():
        types = param.schema["type"] if isinstance(param.schema["type"], list) else [param.schema["type"]]
        assert "object" not in types, key
    assert set(NESTED_KEYS) == {"home", "peer", "tunnel", "tunnel2", "psk_secret", "timeouts", "ping"}
    assert not NESTED_KEYS & set(params)


def test_every_leaf_of_the_model_is_reachable_from_the_form(example):
    # The example has every field; with a created probe, a second tunnel and a PSK connection, every form
    # field but the other probe kind's has a value.
    example["tunnel2"] = TunnelParams(ike_version="v1").model_dump(mode="json")
    example["psk_secret"] = {"connection": "vpn_psk"}
    values = form_values(validate_conf(example).model_dump(mode="json"))
    unused = {field.key for field in FORM_FIELDS} - set(values)
    assert unused == {"home_probe_instance_id", "peer_probe_instance_id"}


def test_defaults_resolve_against_their_own_schema_and_make_the_demo_conf():
    params = interconnect_params(form_defaults())

    resolved = {key: param.resolve() for key, param in params.items()}

    conf = conf_from_form(resolved)
    demo = form_defaults()
    assert conf == validate_conf(demo)
    assert conf.psk_secret.variable == "jdcloud_vpn_psk_secret_demo"


def test_without_defaults_the_sites_are_required():
    params = interconnect_params()

    assert not params["name"].has_value and not params["home_vpc_id"].has_value
    assert not params["home_probe"].has_value
    assert params["home_probe_instance_type"].value == "g.n2.medium"
    assert params["tunnel_ike_version"].value == "v2"
    assert params["timeouts_tunnels_up_timeout_s"].value == 600


def test_invalid_defaults_are_refused(example):
    example["peer"]["region"] = example["home"]["region"]

    with pytest.raises(ConfError, match=r"^peer\.region: same region"):
        interconnect_params(example)


def test_param_schemas_refuse_bad_values_at_the_trigger():
    params = interconnect_params(form_defaults())

    for key, bad in [
        ("home_region", "us-east-1"),
        ("home_vpc_id", "VPC_1"),
        ("home_subnet_ids", ["subnet-OK"]),
        ("tunnel_ike_cipher", "des"),
        ("tunnel_ike_sa_life_sec", 30),
        ("home_probe", "both"),
        ("ping_count", "four"),
    ]:
        with pytest.raises(ParamValidationError):
            params[key].resolve(bad)
    assert params["tunnel2_ike_version"].resolve(None) is None
    assert params["home_probe_az"].resolve("cn-north-1a") == "cn-north-1a"


def test_dag_accepts_the_params():
    dag = DAG("interconnect_params_test", schedule=None, params=interconnect_params(form_defaults()))

    assert conf_from_form(dag.params.validate()) == validate_conf(form_defaults())


# --- the mapping, both ways -------------------------------------------------------------------------------


def _variants(example: dict[str, Any]) -> list[dict[str, Any]]:
    existing = copy.deepcopy(example)
    existing["home"]["probe"] = {"instance_id": "i-homeprobe1"}
    second = copy.deepcopy(example)
    second["tunnel2"] = {"ike_version": "v1", "ipsec_key_exchange": "modp2048"}
    second["psk_secret"] = {"connection": "vpn_psk"}
    second["tunnel"] = {**example["tunnel"], "ipsec_key_exchange": "ecp384"}
    return [example, existing, second, form_defaults()]


def test_nested_to_flat_to_nested_keeps_the_conf(example):
    for conf in _variants(example):
        model = validate_conf(conf)

        flat = form_values(model.model_dump(mode="json"))

        assert validate_conf(nested_conf(flat)) == model
        assert conf_from_form(flat) == model


def test_flat_to_model_to_flat_keeps_the_values(example):
    for conf in _variants(example):
        flat = form_values(validate_conf(conf).model_dump(mode="json"))

        assert form_values(conf_from_form(flat).model_dump(mode="json")) == flat


def test_empty_optional_fields_are_left_out_of_the_nested_conf(example):
    flat = form_values(validate_conf(example).model_dump(mode="json"))

    nested = nested_conf({**flat, "tunnel2_ike_version": None, "psk_secret_variable": None})

    assert "tunnel2" not in nested and "psk_secret" not in nested
    assert "az" not in nested["home"]["probe"] and nested["tunnel"]["ipsec_key_exchange"] is None


def test_a_flat_form_conf_becomes_the_nested_model():
    flat = {
        "name": "bj-sh",
        "home_region": "cn-north-1",
        "home_vpc_id": "vpc-home00001",
        "home_vpc_cidr": "10.10.0.0/16",
        "home_subnet_ids": ["subnet-home00001", "subnet-home00002"],
        "home_probe": "create",
        "home_probe_create_in_subnet": "subnet-home00002",
        "home_probe_image_id": "img-centos-7",
        "home_probe_az": None,
        "home_probe_instance_id": "i-ignored",  # a field of the kind not picked
        "peer_region": "cn-east-2",
        "peer_vpc_id": "vpc-peer00001",
        "peer_vpc_cidr": "10.20.0.0/16",
        "peer_subnet_ids": ["subnet-peer00001"],
        "peer_probe": "existing",
        "peer_probe_instance_id": "i-peer00001",
        "tunnel_ike_cipher": "aes256",
        "tunnel2_ike_version": None,
        "psk_secret_variable": None,
        "psk_secret_connection": None,
        "timeouts_tunnels_up_timeout_s": 900,
        "timeouts_tunnels_up_poll_interval_s": 20,
        "ping_count": 10,
    }

    conf = conf_from_form(flat)

    assert conf.home.probe.create_in_subnet == "subnet-home00002" and conf.home.probe.image_id == "img-centos-7"
    assert conf.home.probe.instance_type == "g.n2.medium"  # not given: the model's default
    assert conf.peer.probe.instance_id == "i-peer00001"
    assert conf.home.subnet_ids == ("subnet-home00001", "subnet-home00002")
    assert conf.tunnel.ike_cipher == "aes256" and conf.tunnel.ike_version == "v2"
    assert conf.tunnel2 is None
    assert conf.psk_secret.variable == "jdcloud_vpn_psk_secret_bj-sh"
    assert conf.timeouts.tunnels_up.timeout_s == 900 and conf.timeouts.tunnels_up.poll_interval_s == 20
    assert conf.timeouts.routes_propagated.timeout_s == 300  # not given: the model's default
    assert conf.ping.count == 10


def test_one_field_of_an_optional_group_makes_the_group(example):
    flat = form_values(validate_conf(example).model_dump(mode="json"))

    changes = {"tunnel2_ike_version": "v1", "psk_secret_variable": None, "psk_secret_connection": "vpn_psk"}
    conf = conf_from_form({**flat, **changes})

    assert conf.tunnel2 == TunnelParams(ike_version="v1")
    assert conf.psk_secret.connection == "vpn_psk" and conf.psk_secret.variable is None


# --- problems name the form's fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"peer_region": "cn-north-1"}, "peer_region (Peer site / Region): same region as home.region"),
        ({"home_vpc_cidr": "10.10.0.1/16"}, "home_vpc_cidr (Home site / VPC CIDR): must be an IPv4 network"),
        ({"home_probe": "create"}, "home_probe (Home site / Probe VM): give instance_id (use an existing VM)"),
        (
            {"home_probe": "create", "home_probe_create_in_subnet": "subnet-other0001"},
            "home_probe_create_in_subnet (Home site / Subnet of the new VM): subnet-other0001 is not one of",
        ),
        (
            {"psk_secret_variable": "a_var", "psk_secret_connection": "a_conn"},
            "psk_secret_variable/psk_secret_connection (Pre-shared key): give exactly one",
        ),
        (
            {"timeouts_ping_poll_interval_s": 500},
            "timeouts_ping_poll_interval_s (Waits / Ping command / Longest poll interval (s)): must be smaller",
        ),
        (
            {"customer_gateway_placeholder_ips": ["10.0.0.1", "1.0.0.2"]},
            "customer_gateway_placeholder_ips.0 (Customer gateways / Customer gateway placeholder IPs): must be",
        ),
        ({"bgp_enabled": True}, "bgp_enabled (BGP): bgp_enabled must be false"),
        ({"tunel_ike_cipher": "aes256"}, "tunel_ike_cipher: Extra inputs are not permitted"),
    ],
)
def test_problems_name_the_field_as_the_form_shows_it(change, expected):
    resolved = {key: param.resolve() for key, param in interconnect_params(form_defaults()).items()}

    with pytest.raises(ConfError) as error:
        conf_from_form({**resolved, **change})

    assert any(line.startswith(expected) for line in _problems(error)), _problems(error)


def test_other_dag_options_are_ignored_only_when_listed():
    resolved = {key: param.resolve() for key, param in interconnect_params(form_defaults()).items()}

    assert conf_from_form({**resolved, "require_approval": True}, ignore=["require_approval"]).name == "demo"
    with pytest.raises(ConfError, match=r"^require_approval: Extra inputs"):
        conf_from_form({**resolved, "require_approval": True})


def test_param_objects_are_resolved():
    params: dict[str, Param] = interconnect_params(form_defaults())

    assert conf_from_form(params) == validate_conf(form_defaults())


# --- the two shapes of trigger conf ----------------------------------------------------------------------


@pytest.fixture
def form() -> dict[str, Any]:
    """The run's params when nothing overrides the form: its defaults."""
    return {key: param.resolve() for key, param in interconnect_params(form_defaults()).items()}


def test_a_nested_conf_is_validated_alone_as_before(form, example):
    assert conf_from_trigger(example, {**form, **example}) == validate_conf(example)
    # The form's defaults (name "demo", its timeouts) never fill in a nested conf.
    minimal = {key: example[key] for key in ("home", "peer")}
    with pytest.raises(ConfError) as error:
        conf_from_trigger(minimal, {**form, **minimal})
    assert _problems(error) == ["name: Field required"]


def test_nested_problems_keep_the_nested_names(form, example):
    example["peer"]["region"] = example["home"]["region"]

    with pytest.raises(ConfError, match=r"^peer\.region: same region"):
        conf_from_trigger(example, {**form, **example})


def test_a_flat_conf_lays_over_the_form(form):
    conf = {"name": "prod", "tunnel_ike_version": "v1"}

    model = conf_from_trigger(conf, {**form, **conf})

    assert (model.name, model.tunnel.ike_version, model.home.vpc_id) == ("prod", "v1", "vpc-demohome01")
    assert model.psk_secret.variable == "jdcloud_vpn_psk_secret_prod"
    assert conf_from_trigger({}, form) == validate_conf(form_defaults())


def test_mixed_shapes_are_refused(form, example):
    conf = {**example, "home_region": "cn-east-1"}

    with pytest.raises(ConfError, match=r"^conf: mixes the nested shape \(home, peer, .*\) with fields of the form "):
        conf_from_trigger(conf, {**form, **conf})


def test_model_fields_are_in_the_form_in_order():
    top_level = list(dict.fromkeys(field.path[0] for field in FORM_FIELDS))

    # member_of is set by a topology run on its pairs, never typed in a form.
    assert top_level == [name for name in InterconnectConf.model_fields if name != "member_of"]
