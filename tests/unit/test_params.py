"""Tests of the trigger-form Params (``include.jdcloud_vpn.params``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from include.jdcloud_vpn.conf import (
    ConfError,
    InterconnectConf,
    PingConf,
    TunnelParams,
    WaitConf,
    validate_conf,
)
from include.jdcloud_vpn.params import SECTIONS, conf_from_params, interconnect_params

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "include" / "interconnect.example.json"


@pytest.fixture
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE_PATH.read_text())


def test_one_param_per_model_field_in_order():
    assert list(interconnect_params()) == list(InterconnectConf.model_fields)


def test_defaults_come_from_the_model():
    params = interconnect_params()

    assert params["tunnel"].value == TunnelParams().model_dump(mode="json")
    assert params["timeouts"].value == WaitConf().model_dump(mode="json")
    assert params["ping"].value == PingConf().model_dump(mode="json")
    assert params["customer_gateway_placeholder_ips"].value == ["1.0.0.1", "1.0.0.2"]
    assert params["customer_gateway_bgp_asn"].value == 65001
    assert params["bgp_enabled"].value is False
    assert params["report_dir"].value == "reports"
    assert params["tunnel2"].value is None
    assert params["psk_secret"].value is None
    for required in ("name", "home", "peer"):
        assert not params[required].has_value, required


def test_schemas_sections_and_descriptions():
    params = interconnect_params()

    assert params["home"].schema["type"] == "object"
    assert params["home"].schema["properties"]["region"]["enum"] == [
        "cn-north-1",
        "cn-east-1",
        "cn-east-2",
        "cn-south-1",
    ]
    assert params["tunnel"].schema["properties"]["ike_cipher"]["enum"] == [
        "aes128",
        "aes192",
        "aes256",
        "3des",
    ]
    assert params["tunnel2"].schema["type"] == ["null", "object"]
    assert params["psk_secret"].schema["type"] == ["null", "object"]
    assert params["name"].schema["pattern"] == "^[a-z][a-z0-9-]{2,19}$"
    for field, param in params.items():
        assert param.description, field
        assert param.schema.get("section") == SECTIONS.get(field), field
    assert {"Home site", "Peer site", "Tunnel", "Waits"} <= set(SECTIONS.values())


def test_schemas_are_self_contained_without_defs():
    # Airflow re-checks a Param's schema on every resolve: a copy of every model's $defs in each Param
    # tripled that cost. Nested models are inlined instead, with the field's own description winning.
    params = interconnect_params()

    for field, param in params.items():
        text = json.dumps(param.schema)
        assert "$ref" not in text and "$defs" not in text, field
    probe = params["home"].schema["properties"]["probe"]
    assert [branch["title"] for branch in probe["oneOf"]] == ["ExistingProbe", "CreateProbe"]
    assert params["timeouts"].schema["properties"]["tunnels_up"]["properties"]["timeout_s"]["exclusiveMinimum"] == 0


@pytest.mark.parametrize("seeded", [False, True])
def test_defaults_validate_against_their_own_schema(example, seeded):
    params = interconnect_params(example if seeded else None)

    for field, param in params.items():
        if seeded or field not in ("name", "home", "peer"):
            param.resolve()
        json.dumps(param.dump())


def test_seeded_defaults_round_trip_to_example(example):
    params = interconnect_params(example)

    resolved = {key: param.resolve() for key, param in params.items()}

    assert conf_from_params(resolved) == validate_conf(example)


def test_model_defaults_plus_trigger_conf_round_trip(example):
    # What Airflow does: params = Param defaults overlaid with the trigger conf.
    params = ParamsDict(interconnect_params())
    for key in ("name", "home", "peer"):
        params[key] = example[key]

    assert conf_from_params(params) == validate_conf(example)


def test_param_schema_rejects_bad_values(example):
    params = interconnect_params(example)

    with pytest.raises(ParamValidationError):
        params["tunnel"].resolve({**example["tunnel"], "ike_cipher": "des"})
    with pytest.raises(ParamValidationError):
        params["home"].resolve({**example["home"], "region": "us-east-1"})
    with pytest.raises(ParamValidationError):
        params["home"].resolve({**example["home"], "probe": {"instance_id": "i-1", "create_in_subnet": "subnet-1"}})
    # bgp_enabled=True passes the form on purpose: the model rejects it with the reason (see test_conf).
    assert params["bgp_enabled"].resolve(True) is True
    with pytest.raises(ParamValidationError):
        params["customer_gateway_placeholder_ips"].resolve(["1.0.0.1"])
    params["home"].resolve({**example["home"], "probe": {"instance_id": "i-1"}})


def test_conf_from_params_ignores_listed_keys_only(example):
    params = {**example, "teardown_after_test": True}

    assert conf_from_params(params, ignore=["teardown_after_test"]) == validate_conf(example)
    with pytest.raises(ConfError, match=r"^teardown_after_test: Extra inputs are not permitted"):
        conf_from_params(params)


def test_conf_from_params_resolves_param_objects(example):
    params = {key: Param(value) for key, value in example.items()}

    assert conf_from_params(params) == validate_conf(example)


def test_conf_from_params_runs_cross_field_rules(example):
    example["peer"]["region"] = example["home"]["region"]

    with pytest.raises(ConfError, match=r"^peer\.region: same region as home\.region"):
        conf_from_params(example)


def test_dag_accepts_the_params(example):
    dag = DAG("interconnect_params_test", schedule=None, params=interconnect_params(example))

    assert conf_from_params(dag.params.validate()) == validate_conf(example)


def test_on_drift_is_a_drop_down_defaulting_to_repair(example):
    param = interconnect_params()["on_drift"]

    assert param.value == "repair"
    assert param.schema["enum"] == ["repair", "report"]
    assert param.resolve("report") == "report"
    with pytest.raises(ParamValidationError):
        param.resolve("fix")
    assert conf_from_params({**example, "on_drift": "report"}).on_drift == "report"
