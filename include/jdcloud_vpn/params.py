"""Airflow trigger-form ``Param``s of an interconnect DAG, derived from :class:`InterconnectConf`.

The pydantic model is the single source of truth: every top-level field becomes one ``Param`` whose JSON
schema, description and default come from ``InterconnectConf.model_json_schema()``. Nested objects
(``home``, ``peer``, ``tunnel``, ...) are ``type: object`` Params edited as JSON in the form; the enums,
ranges and patterns of their fields are in their schema, so Airflow rejects a bad conf with HTTP 400
before any task runs. Cross-field rules only run in :func:`conf_from_params` (pydantic).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk import Param

from include.jdcloud_vpn.conf import InterconnectConf, validate_conf

#: Form section of each field; fields not listed are shown at the top.
SECTIONS: dict[str, str] = {
    "home": "Home site",
    "peer": "Peer site",
    "tunnel": "Tunnel",
    "tunnel2": "Tunnel",
    "psk_secret": "Tunnel",
    "bgp_enabled": "Tunnel",
    "customer_gateway_placeholder_ips": "Tunnel",
    "customer_gateway_bgp_asn": "Tunnel",
    "timeouts": "Waits",
    "ping": "Waits",
}

_NOTSET = object()


def _field_schema(field: str, full_schema: dict[str, Any]) -> dict[str, Any]:
    """Return the self-contained JSON schema of top-level ``field`` (``$ref`` inlined, ``$defs`` kept)."""
    defs = full_schema["$defs"]
    schema = copy.deepcopy(full_schema["properties"][field])
    nullable = False
    if "anyOf" in schema:  # Optional[Model]: [{"$ref": ...}, {"type": "null"}]
        branches = [branch for branch in schema.pop("anyOf") if branch != {"type": "null"}]
        nullable = len(branches) == 1
        schema.update(branches[0])
    if "$ref" in schema:
        target = copy.deepcopy(defs[schema.pop("$ref").rsplit("/", 1)[-1]])
        target.pop("description", None)  # the model docstring; the field description is the help text
        target.pop("title", None)
        schema = {**target, **schema}
    if nullable or schema.get("default", _NOTSET) is None:
        schema["type"] = ["null", schema["type"]]
    if "$ref" in str(schema):
        schema["$defs"] = copy.deepcopy(defs)
    return schema


def interconnect_params(defaults: Mapping[str, Any] | None = None) -> dict[str, Param]:
    """Return the DAG ``params`` of an interconnect DAG, one ``Param`` per :class:`InterconnectConf` field.

    :param defaults: optional complete conf (e.g. ``interconnect.example.json``) used as the form's
        defaults after validation; without it the defaults are the model's and ``name``, ``home`` and
        ``peer`` have none, so the trigger form requires them.
    :raises ConfError: if ``defaults`` is not a valid conf.
    """
    seed = validate_conf(dict(defaults)).model_dump(mode="json") if defaults is not None else None
    full_schema = InterconnectConf.model_json_schema()
    params: dict[str, Param] = {}
    for field in InterconnectConf.model_fields:
        schema = _field_schema(field, full_schema)
        default = schema.pop("default", _NOTSET)
        if seed is not None:
            default = seed[field]
        description = schema.pop("description")
        if field in SECTIONS:
            schema["section"] = SECTIONS[field]
        if default is _NOTSET:
            params[field] = Param(description=description, **schema)
        else:
            params[field] = Param(default, description=description, **schema)
    return params


def conf_from_params(params: Mapping[str, Any], ignore: Iterable[str] = ()) -> InterconnectConf:
    """Validate resolved DAG params (``context["params"]``) into an :class:`InterconnectConf`.

    :param params: the params mapping; ``Param`` values are resolved first.
    :param ignore: keys of DAG params that are not part of the conf (other DAG options) and are dropped.
        Any other unknown key is an error, which catches typos in the trigger conf.
    :raises ConfError: listing every problem.
    """
    skip = set(ignore)
    raw: dict[str, Any] = {}
    for key in params:
        if key in skip:
            continue
        value = params[key]
        raw[key] = copy.deepcopy(value.resolve() if isinstance(value, Param) else value)
    return validate_conf(raw)
