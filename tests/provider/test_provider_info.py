"""The provider registers the ``jdcloud`` connection type through its entry point."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
from airflow.sdk._shared.module_loading import import_string

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook


def _provider_info() -> dict:
    (entry_point,) = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_jdcloud.")
    ]
    return entry_point.load()()


def test_entry_point_declares_the_jdcloud_connection_type() -> None:
    info = _provider_info()

    (connection,) = info["connection-types"]
    assert info["package-name"] == "airflow-provider-jdcloud"
    assert connection["connection-type"] == "jdcloud"
    assert connection["hook-name"] == "JD Cloud"
    assert import_string(connection["hook-class-name"]) is JDCloudHook
    assert connection["ui-field-behaviour"]["hidden-fields"] == ["host", "port", "schema"]
    assert connection["ui-field-behaviour"]["relabeling"] == {
        "login": "Access Key ID",
        "password": "Secret Access Key",
    }
    assert set(connection["conn-fields"]) == {
        "region",
        "endpoint",
        "scheme",
        "timeout",
        "max_calls_per_minute",
    }
    assert info["triggers"][0]["python-modules"] == ["airflow_provider_jdcloud.triggers.jdcloud"]


def test_entry_point_declares_the_console_link() -> None:
    from airflow_provider_jdcloud.links.console import JDCloudConsoleLink

    (link_path,) = _provider_info()["extra-links"]

    assert import_string(link_path) is JDCloudConsoleLink
    assert JDCloudConsoleLink().name == "JD Cloud console"


def test_provider_info_matches_airflow_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())

    jsonschema.validate(_provider_info(), schema)


def test_hook_class_attributes_match_the_connection_type() -> None:
    assert (JDCloudHook.conn_name_attr, JDCloudHook.default_conn_name, JDCloudHook.conn_type) == (
        "jdcloud_conn_id",
        "jdcloud_default",
        "jdcloud",
    )
    assert JDCloudHook.hook_name == "JD Cloud"
