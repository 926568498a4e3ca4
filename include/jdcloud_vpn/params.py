"""The trigger form of the interconnect DAGs: flat ``Param``s generated from :class:`InterconnectConf`.

The pydantic model is the single source of truth. Its JSON schema is walked once into :data:`FORM_FIELDS`,
one scalar (or list) field per leaf of the nested conf, keyed by the leaf's path joined with ``_``
(``home.vpc_id`` is ``home_vpc_id``): regions and IKE/IPsec choices are drop-downs (their ``enum``), every
field has the model's title and description, and a nested group (``home``, ``tunnel``, ``timeouts``...)
becomes a form section titled like the group. Three shapes of the model need a rule:

* the probe union (``home.probe``): a drop-down ``home_probe`` picks the kind (``existing`` or
  ``create``); only the fields of the picked kind are used;
* an optional group (``tunnel2``, ``psk_secret``, default ``null``): its fields may stay empty; an empty field
  keeps the model's default, and a group whose fields are all empty is ``null``;
* a field with a JSON-schema ``const`` (``bgp_enabled``: only ``false`` is valid) gets no Param, so the form
  shows no pointless switch; a conf may still give it, and the model rejects any other value with its reason;
  a field marked ``NOT_IN_FORM`` (``member_of``, set by a topology run) gets none either.

:func:`form_values` (nested conf -> flat values) and :func:`nested_conf` (flat values -> nested conf) are the
one mapping, both ways, over :data:`FORM_FIELDS`. Validation stays pydantic's: :func:`conf_from_form` validates
the nested conf and names each problem's field as the form shows it (``home_vpc_id (Home site / VPC id)``).

Two shapes of trigger conf coexist (:func:`conf_from_trigger`): a conf with a nested group key (``home``,
``peer``, ``tunnel``...) is the nested shape of ``InterconnectConf`` and is validated alone, as before the
form existed (the form's defaults do not apply); any other conf is the form's flat shape, laid over the
form's defaults. Airflow checks the flat fields against their schema when a run is triggered (HTTP 400);
keys of the nested shape are not Params, so the first task checks them (no API call before it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from airflow.sdk import Param

from include.jdcloud_vpn.conf import NOT_IN_FORM, PROBE_KINDS, ConfError, InterconnectConf, validate_conf

#: Section of the top-level fields that are not groups; the others are at the top of the form. A group's
#: section is its own title.
SECTIONS: dict[str, str] = {
    "customer_gateway_placeholder_ips": "Customer gateways",
    "customer_gateway_bgp_asn": "Customer gateways",
}
TITLE_SEPARATOR = " / "
_NOTSET: Any = object()


@dataclass(frozen=True)
class FormField:
    """One field of the trigger form and where it sits in the nested conf."""

    key: str  # the Param name: the path joined with "_"
    path: tuple[str, ...]  # in the nested conf; a choice's path is its union's
    title: str
    description: str
    section: str | None
    schema: dict[str, Any]  # JSON schema of the Param, without title, description and default
    default: Any = _NOTSET
    optional: bool = False  # empty (None) means "not set": in an optional group, or of one kind of a union
    choice: bool = False  # picks the kind of the union at ``path``
    kind: str | None = None  # the union kind this field belongs to

    @property
    def label(self) -> str:
        """How the form shows the field: its section and title."""
        return f"{self.section}{TITLE_SEPARATOR}{self.title}" if self.section else self.title

    def param(self, default: Any = _NOTSET) -> Param:
        """The ``Param`` of this field, with ``default`` (else the field's own) as value."""
        value = self.default if default is _NOTSET else default
        extra = {"section": self.section} if self.section else {}
        if value is _NOTSET:
            return Param(title=self.title, description=self.description, **self.schema, **extra)
        return Param(copy.deepcopy(value), title=self.title, description=self.description, **self.schema, **extra)


# --- the schema walk --------------------------------------------------------------------------------


def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """Return ``node`` with every ``$ref`` replaced by its definition (the field's own keys win)."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _inline_refs({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    return {key: _inline_refs(value, defs) for key, value in node.items()}


def _non_null(node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Unwrap ``Optional[...]`` (``anyOf: [X, {"type": "null"}]``): return X merged with the outer keys, and
    whether null is allowed."""
    if "anyOf" not in node:
        return node, False
    branches = [branch for branch in node["anyOf"] if branch != {"type": "null"}]
    if len(branches) != 1:
        raise ValueError(f"cannot put a union of {len(branches)} types in a form field: {node}")
    return {**branches[0], **{k: v for k, v in node.items() if k != "anyOf"}}, True


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` also accepting null (an empty form field)."""
    schema = dict(schema)
    kind = schema["type"]
    schema["type"] = kind if isinstance(kind, list) and "null" in kind else ["null", kind]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _kind_of_branch(branch: Mapping[str, Any]) -> str:
    titles = {model.model_config.get("title"): kind for kind, model in PROBE_KINDS.items()}
    return titles[branch["title"]]


def _walk(
    node: dict[str, Any],
    path: tuple[str, ...],
    *,
    section: str | None,
    titles: tuple[str, ...],
    defaults: Mapping[str, Any] | None,
    optional: bool,
    kind: str | None,
    when: str = "",
) -> Iterator[FormField]:
    """The form fields of the object schema ``node`` at ``path``; ``when`` says when a union kind's are used."""
    for name, raw in node["properties"].items():
        if raw.get(NOT_IN_FORM):
            continue
        field, nullable = _non_null(raw)
        here = (*path, name)
        default = field.get("default", _NOTSET)
        if default is _NOTSET and defaults is not None and name in defaults:
            default = defaults[name]
        title, description = field.get("title", name), field.get("description", "")
        if field.get("type") == "object" and "properties" in field:  # a nested model: its fields, one by one
            group_optional = nullable or default is None
            children = _walk(
                field,
                here,
                section=section or title,
                titles=titles if section is None else (*titles, title),
                defaults=default if isinstance(default, Mapping) else None,
                optional=optional or group_optional,
                kind=kind,
                when=when,
            )
            if group_optional and not optional:  # say once, on its first field, what an empty group means
                first = next(children)
                yield replace(first, description=f"{first.description} {title}: {description}")
            yield from children
            continue
        if "oneOf" in field:  # the probe union: a drop-down picks the kind, then that kind's fields
            kinds = {_kind_of_branch(branch): branch for branch in field["oneOf"]}
            choice_title = TITLE_SEPARATOR.join((*titles, title))
            yield FormField(
                key="_".join(here),
                path=here,
                title=choice_title,
                description=description,
                section=section,
                schema={
                    "type": "string",
                    "enum": list(kinds),
                    "values_display": {k: branch["title"] for k, branch in kinds.items()},
                },
                choice=True,
            )
            for branch_kind, branch in kinds.items():
                yield from _walk(
                    branch,
                    here,
                    section=section,
                    titles=titles,
                    defaults=None,
                    optional=optional,
                    kind=branch_kind,
                    when=f" Only used when {choice_title} is '{branch['title']}'.",
                )
            continue
        schema = {k: v for k, v in field.items() if k not in ("title", "description", "default")}
        description += when
        if optional:  # a field of an optional group starts empty: the group is null until one is set
            default = None
        if optional or nullable or kind is not None:
            schema = _nullable(schema)
            if default is _NOTSET:
                default = None
        yield FormField(
            key="_".join(here),
            path=here,
            title=TITLE_SEPARATOR.join((*titles, title)),
            description=description,
            section=section if path else SECTIONS.get(name),
            schema=schema,
            default=default,
            optional=optional or kind is not None,
            kind=kind,
        )


def _form_fields() -> tuple[FormField, ...]:
    full = InterconnectConf.model_json_schema()
    root = _inline_refs({k: v for k, v in full.items() if k != "$defs"}, full.get("$defs", {}))
    fields = tuple(_walk(root, (), section=None, titles=(), defaults=None, optional=False, kind=None))
    keys = [field.key for field in fields]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"two conf fields share a form key: {duplicates}")
    return fields


#: Every field of the trigger form, in the model's order.
FORM_FIELDS: tuple[FormField, ...] = _form_fields()
_BY_KEY: dict[str, FormField] = {field.key: field for field in FORM_FIELDS}
_BY_PATH: dict[tuple[str, ...], FormField] = {field.path: field for field in FORM_FIELDS}
#: Top-level keys of the nested shape that the form spreads over several fields (``home``, ``tunnel``...).
NESTED_KEYS: frozenset[str] = frozenset(f.path[0] for f in FORM_FIELDS if len(f.path) > 1)


# --- the mapping, both ways ---------------------------------------------------------------------------


def _get(conf: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = conf
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _NOTSET
        node = node[part]
    return node


def _set(conf: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = conf
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _probe_kind(probe: Any) -> str | None:
    """The kind of a nested ``probe`` value, as the model's discriminator reads it."""
    if not isinstance(probe, Mapping):
        return None
    return "existing" if "instance_id" in probe else "create"


def form_values(conf: Mapping[str, Any]) -> dict[str, Any]:
    """Map a nested conf (the model's JSON shape) to the form's flat values; absent fields stay absent."""
    values: dict[str, Any] = {}
    for field in FORM_FIELDS:
        if field.choice:
            kind = _probe_kind(_get(conf, field.path))
            if kind is not None:
                values[field.key] = kind
            continue
        if field.kind is not None and _probe_kind(_get(conf, field.path[:-1])) != field.kind:
            continue
        value = _get(conf, field.path)
        if value is not _NOTSET:
            values[field.key] = copy.deepcopy(value)
    return values


def nested_conf(values: Mapping[str, Any]) -> dict[str, Any]:
    """Map the form's flat values to a nested conf (unvalidated); a missing or empty optional field is left out.

    :raises ConfError: a key that is no field of the form.
    """
    unknown = sorted(key for key in values if key not in _BY_KEY)
    if unknown:
        raise ConfError([f"{key}: Extra inputs are not permitted (not a field of the form)" for key in unknown])
    conf: dict[str, Any] = {}
    kinds = {field.path: values.get(field.key) for field in FORM_FIELDS if field.choice and field.key in values}
    for path, kind in kinds.items():
        _set(conf, path, {} if kind in PROBE_KINDS else kind)
    for field in FORM_FIELDS:
        if field.choice or field.key not in values:
            continue
        value = values[field.key]
        if field.kind is not None and kinds.get(field.path[:-1]) != field.kind:
            continue  # a field of the kind not picked
        if field.optional and value is None:
            continue
        _set(conf, field.path, copy.deepcopy(value))
    return conf


def form_field_name(path: tuple[str, ...]) -> str:
    """Name a field of the nested conf as the form shows it: ``home_vpc_id (Home site / VPC id)``."""
    for end in range(len(path), 0, -1):
        field = _BY_PATH.get(path[:end])
        if field is not None:
            rest = "".join(f".{part}" for part in path[end:])
            return f"{field.key}{rest} ({field.label})"
    below = [field for field in FORM_FIELDS if field.path[: len(path)] == path]
    if below:  # a whole group, e.g. psk_secret: exactly one of its fields
        return f"{'/'.join(field.key for field in below)} ({below[0].section})"
    return ".".join(path)


# --- Params and validation ----------------------------------------------------------------------------


def interconnect_params(defaults: Mapping[str, Any] | None = None) -> dict[str, Param]:
    """Return the DAG ``params`` of the trigger form: one ``Param`` per :data:`FORM_FIELDS` entry but constants.

    :param defaults: a nested conf (complete, or completed by the model's defaults) whose values pre-fill the
        form, e.g. the demo network; without it a field without a model default is required.
    :raises ConfError: if ``defaults`` is not a valid conf.
    """
    filled: dict[str, Any] = {}
    if defaults is not None:
        validate_conf(dict(defaults))
        filled = form_values(defaults)
    return {
        field.key: field.param(filled.get(field.key, _NOTSET)) for field in FORM_FIELDS if "const" not in field.schema
    }


def _resolved(value: Any) -> Any:
    return copy.deepcopy(value.resolve() if isinstance(value, Param) else value)


def conf_from_form(values: Mapping[str, Any], ignore: Iterable[str] = ()) -> InterconnectConf:
    """Validate the form's flat values (e.g. resolved DAG params) into an :class:`InterconnectConf`.

    :param ignore: keys that are other DAG options, not conf fields.
    :raises ConfError: one ``<form key> (<section> / <title>): <rule>`` per problem.
    """
    skip = set(ignore)
    flat = {key: _resolved(value) for key, value in values.items() if key not in skip}
    return validate_conf(nested_conf(flat), field_name=form_field_name)


def conf_from_trigger(conf: Mapping[str, Any], form: Mapping[str, Any], ignore: Iterable[str] = ()) -> InterconnectConf:
    """Validate a trigger conf of either shape (see the module docstring).

    :param conf: what the run was triggered with (``dag_run.conf``).
    :param form: the form's values (the run's resolved params: defaults overlaid with ``conf``).
    :param ignore: keys that are other DAG options, not conf fields.
    :raises ConfError: listing every problem, named in the shape the conf used.
    """
    skip = set(ignore)
    nested = sorted(key for key in conf if key in NESTED_KEYS)
    if not nested:
        return conf_from_form({**form, **conf}, ignore=skip)
    flat = sorted(key for key in conf if key in _BY_KEY and len(_BY_KEY[key].path) > 1)
    if flat:
        raise ConfError(
            [
                f"conf: mixes the nested shape ({', '.join(nested)}) with fields of the form ({', '.join(flat)}); "
                "give either nested objects as in interconnect.example.json or the form's flat fields"
            ]
        )
    return validate_conf({key: _resolved(value) for key, value in conf.items() if key not in skip})
