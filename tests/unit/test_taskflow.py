"""Typed results between tasks: validated on the way in, plain JSON on the way out, never a secret."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel, SecretStr, ValidationError

from include.jdcloud_vpn import results
from include.jdcloud_vpn.results import BorderGateway, ProbeVm, Result
from include.jdcloud_vpn.taskflow import typed_task

BGW = {"side": "home", "region": "cn-north-1", "created": True, "bgw_id": "bgw-1", "name": "ic-demo-home-bgw"}


@typed_task()
def echo_gateway(bgw: BorderGateway, label: str) -> BorderGateway:
    assert isinstance(bgw, BorderGateway)
    return bgw.model_copy(update={"name": label})


@typed_task()
def first_probe(probes: list[ProbeVm], fallback: BorderGateway | None = None) -> ProbeVm:
    return probes[0]


def test_a_model_argument_arrives_validated_and_the_result_leaves_as_plain_json():
    out = echo_gateway.function(BGW, "renamed")
    assert out == {**BGW, "name": "renamed", "drift": []}
    assert json.loads(json.dumps(out)) == out


def test_a_missing_upstream_result_fails_at_once_naming_the_argument():
    with pytest.raises(AirflowFailException, match="bgw is missing"):
        echo_gateway.function(None, "x")


def test_a_result_with_a_renamed_or_missing_field_is_rejected():
    with pytest.raises(ValidationError, match="bgw_id"):
        echo_gateway.function({k: v for k, v in BGW.items() if k != "bgw_id"}, "x")
    with pytest.raises(ValidationError, match="extra"):
        echo_gateway.function({**BGW, "bgwId": "bgw-1"}, "x")


def test_lists_and_optional_models_are_validated_too():
    probe = {"side": "peer", "region": "cn-east-2", "created": False, "instance_id": "i-1", "private_ip": None}
    assert first_probe.function([{**probe, "ephemeral": False}]) == {**probe, "ephemeral": False, "drift": []}
    with pytest.raises(ValidationError):
        first_probe.function([probe])  # no "ephemeral"


def test_the_return_annotation_does_not_split_a_result_into_separate_xcoms():
    assert echo_gateway.multiple_outputs is False


def _result_models() -> list[type[BaseModel]]:
    found = [v for v in vars(results).values() if isinstance(v, type) and issubclass(v, Result) and v is not Result]
    assert len(found) >= 15, found
    return found


@pytest.mark.parametrize("model", _result_models(), ids=lambda m: m.__name__)
def test_no_result_model_has_a_secret_field(model):
    for name, field in model.model_fields.items():
        assert not any(word in name.lower() for word in ("psk", "secret", "password", "key")), (model, name)
        assert field.annotation is not SecretStr, (model, name)
