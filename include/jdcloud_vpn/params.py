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


def _inline_refs(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Return ``node`` with every ``$ref`` replaced by a copy of its definition (the conf models nest, never recurse).

    A Param schema without ``$defs`` is a fraction of the size, and Airflow re-checks each Param's schema
    against the JSON-schema metaschema every time it resolves the Param (every task start and serialization).
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise ValueError(f"recursive conf model {' -> '.join((*seen, name))}: cannot inline it into a Param")
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}  # the field's own keys win
        return _inline_refs(merged, defs, (*seen, name))
    return {key: _inline_refs(value, defs, seen) for key, value in node.items()}


def _field_schema(field: str, full_schema: dict[str, Any]) -> dict[str, Any]:
    """Return the self-contained JSON schema of top-level ``field``: every ``$ref`` inlined, no ``$defs``."""
    schema = copy.deepcopy(full_schema["properties"][field])
    nullable = False
    if "anyOf" in schema:  # Optional[Model]: [{"$ref": ...}, {"type": "null"}]
        branches = [branch for branch in schema.pop("anyOf") if branch != {"type": "null"}]
        nullable = len(branches) == 1
        schema.update(branches[0])
    if "$ref" in schema:  # the top-level model's docstring and title give way to the field's description
        name = schema.pop("$ref").rsplit("/", 1)[-1]
        target = {k: v for k, v in full_schema["$defs"][name].items() if k not in ("description", "title")}
        schema = {**target, **schema}
    schema = _inline_refs(schema, full_schema.get("$defs", {}))
    if nullable or schema.get("default", _NOTSET) is None:
        schema["type"] = ["null", schema["type"]]
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
