"""Tests of the PSK store (``include.jdcloud_vpn.psk``): a key Airflow masks, the legacy key moved to it.

Variables live in a dict standing in for Airflow's store; whether Airflow masks a key is Airflow's own rule
(``should_hide_value_for_key``), configured as a deployment would configure it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from include.jdcloud_vpn import psk as psk_module
from include.jdcloud_vpn.conf import InterconnectConf, validate_conf, validate_psk
from include.jdcloud_vpn.psk import PskError, resolve_psk, variable_is_masked

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "include" / "interconnect.example.json"
OLD_PSK = "Legacy_key-0123456789"[:20]


class FakeVariables:
    """The three Variable calls psk.py makes, on a dict."""

    def __init__(self) -> None:
        self.store: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.store.get(key, default)

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self.store[key] = value

    def delete(self, key: str) -> None:
        self.store.pop(key, None)


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> FakeVariables:
    fake = FakeVariables()
    monkeypatch.setattr(psk_module, "Variable", fake)
    return fake


@pytest.fixture
def masker() -> Iterator[Any]:
    """Airflow's (SDK) secrets masker, its sensitive-name settings restored after the test."""
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    saved = (list(masker.sensitive_variables_fields), masker.hide_sensitive_var_conn_fields)
    yield masker
    masker.sensitive_variables_fields, masker.hide_sensitive_var_conn_fields = saved


def _conf(name: str = "bj-sh", psk_secret: dict | None = None) -> InterconnectConf:
    raw = json.loads(EXAMPLE_PATH.read_text())
    raw.update(name=name, psk_secret=psk_secret)
    return validate_conf(raw)


def test_the_default_key_is_masked_by_a_default_airflow_and_the_legacy_key_is_not() -> None:
    assert variable_is_masked("jdcloud_vpn_psk_secret_bj-sh")
    assert not variable_is_masked("jdcloud_vpn_psk_bj-sh")


def test_first_build_generates_the_key_under_the_masked_default(variables: FakeVariables) -> None:
    value = resolve_psk(_conf(), create_if_missing=True)
    assert variables.store == {"jdcloud_vpn_psk_secret_bj-sh": value}
    assert validate_psk(value) == value
    assert resolve_psk(_conf(), create_if_missing=False) == value


def test_a_legacy_key_is_moved_to_the_masked_default(
    variables: FakeVariables, caplog: pytest.LogCaptureFixture
) -> None:
    variables.store["jdcloud_vpn_psk_bj-sh"] = OLD_PSK
    with caplog.at_level(logging.WARNING, logger=psk_module.__name__):
        assert resolve_psk(_conf(), create_if_missing=False) == OLD_PSK
    assert variables.store == {"jdcloud_vpn_psk_secret_bj-sh": OLD_PSK}, "the key must be moved, not copied"
    assert "Moved the pre-shared key from variable jdcloud_vpn_psk_bj-sh" in caplog.text
    assert OLD_PSK not in caplog.text
    assert resolve_psk(_conf(), create_if_missing=True) == OLD_PSK, "the build must keep the tunnels' key"


def test_a_legacy_key_is_not_moved_for_an_explicit_variable(variables: FakeVariables) -> None:
    variables.store["jdcloud_vpn_psk_bj-sh"] = OLD_PSK
    conf = _conf(psk_secret={"variable": "vpn_secret_bj"})
    with pytest.raises(PskError, match="variable vpn_secret_bj holding the pre-shared key does not exist"):
        resolve_psk(conf, create_if_missing=False)
    assert variables.store == {"jdcloud_vpn_psk_bj-sh": OLD_PSK}


def test_no_new_key_is_stored_where_airflow_shows_it(variables: FakeVariables) -> None:
    conf = _conf(psk_secret={"variable": "jdcloud_vpn_psk_bj-sh"})
    with pytest.raises(PskError) as error:
        resolve_psk(conf, create_if_missing=True)
    message = str(error.value)
    assert message.startswith("not storing a new pre-shared key in variable jdcloud_vpn_psk_bj-sh")
    assert "jdcloud_vpn_psk_secret_bj-sh" in message and "sensitive_var_conn_names" in message
    assert variables.store == {}


def test_an_existing_key_where_airflow_shows_it_is_used_with_a_warning(
    variables: FakeVariables, caplog: pytest.LogCaptureFixture
) -> None:
    variables.store["my_vpn_key"] = OLD_PSK
    with caplog.at_level(logging.WARNING, logger=psk_module.__name__):
        assert resolve_psk(_conf(psk_secret={"variable": "my_vpn_key"}), create_if_missing=True) == OLD_PSK
    assert "Variable my_vpn_key holding the pre-shared key is shown in clear" in caplog.text
    assert OLD_PSK not in caplog.text


def test_sensitive_var_conn_names_makes_a_key_safe_to_store(variables: FakeVariables, masker: Any) -> None:
    masker.sensitive_variables_fields = [*masker.sensitive_variables_fields, "psk"]
    value = resolve_psk(_conf(psk_secret={"variable": "jdcloud_vpn_psk_bj-sh"}), create_if_missing=True)
    assert variables.store == {"jdcloud_vpn_psk_bj-sh": value}


def test_with_masking_off_no_key_is_stored(variables: FakeVariables, masker: Any) -> None:
    masker.hide_sensitive_var_conn_fields = False
    with pytest.raises(PskError, match="Airflow would show its value in clear"):
        resolve_psk(_conf(), create_if_missing=True)
    assert variables.store == {}
