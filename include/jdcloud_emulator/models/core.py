"""Shared pieces of the backends: resource base class, ids, clock, derived ids, filters, the regional base."""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from include.jdcloud_emulator.exceptions import InvalidArgument, not_found

if TYPE_CHECKING:
    from include.jdcloud_emulator.cloud import EmulatedCloud
    from include.jdcloud_emulator.models.state import EmulatorState


class Clock:
    """Wall-clock seconds; resources store absolute times so state survives a restart."""

    def now(self) -> float:
        return time.time()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Resource(BaseModel):
    """A stored resource; ``to_json()`` renders the API's camelCase form without internal fields.

    A resource kept in a table of its own names its id field and id prefix in the class statement:
    ``class Vpc(Resource, id_field="vpc_id", id_prefix="vpc")``.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id"})
    id_field: ClassVar[str]
    id_prefix: ClassVar[str]

    region_id: str

    def __init_subclass__(cls, *, id_field: str = "", id_prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if id_field:
            cls.id_field, cls.id_prefix = id_field, id_prefix

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude=set(self.internal_fields))


class IdFactory:
    """Random, JD-looking resource ids (``bgw-3k9x0q2m1a``); seeded for reproducible runs.

    Ids given to :meth:`preset` come first, per prefix, so a demo network can have well-known ids.
    """

    _alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    ID_LENGTH = 10

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed or None)
        self._preset: dict[str, deque[str]] = {}

    def new(self, prefix: str) -> str:
        queued = self._preset.get(prefix)
        if queued:
            return queued.popleft()
        return prefix + "-" + "".join(self._rng.choice(self._alphabet) for _ in range(self.ID_LENGTH))

    def preset(self, resource_id: str) -> None:
        """Give ``resource_id`` (``<prefix>-<10 of a-z0-9>``) to the next resource created with its prefix."""
        prefix, _, _ = resource_id.partition("-")
        self._preset.setdefault(prefix, deque()).append(resource_id)

    def presets(self) -> list[str]:
        return [resource_id for queued in self._preset.values() for resource_id in queued]

    def clear_presets(self) -> None:
        self._preset.clear()

    def random(self) -> float:
        return self._rng.random()


def derived_id(prefix: str, *parts: str) -> str:
    """A stable id for a derived object (a propagated rule or route): the same inputs give the same id."""
    return prefix + "-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


T = TypeVar("T")
R = TypeVar("R", bound=Resource)
TIME_FIELDS = ("created_time", "updated_time", "create_time")  # ISO times a resource gets when it is created


@dataclass(frozen=True)
class Fuzzy:
    """A filter JD Cloud documents as a fuzzy match (模糊匹配): a wanted value matches any field containing it."""

    field: str


Getter = str | Fuzzy | Callable[[Any], Any]


def apply_filters(items: Iterable[T], filters: dict[str, list[str]], getters: dict[str, Getter]) -> list[T]:
    """Keep items matching every filter; a getter is a field name (exact match), a :class:`Fuzzy` field, or a
    function of the item.

    An unknown filter name is an error, like the real API.
    """
    for name in filters:
        if name not in getters:
            raise InvalidArgument(f"filter {name} is not supported; supported: {', '.join(sorted(getters))}")
    return [item for item in items if all(_matches(item, getters[name], wanted) for name, wanted in filters.items())]


def _matches(item: Any, getter: Getter, wanted: list[str]) -> bool:
    if isinstance(getter, Fuzzy):
        actual = str(getattr(item, getter.field) or "")
        return any(part in actual for part in wanted)
    actual = getattr(item, getter) if isinstance(getter, str) else getter(item)
    if isinstance(actual, (list, tuple, set)):
        return any(str(a) in wanted for a in actual)
    return str(actual) in wanted


class RegionalBackend:
    """Base of every service backend: the cloud's state, in-region listing and get-or-404 lookups."""

    def __init__(self, cloud: EmulatedCloud) -> None:
        self.cloud = cloud

    @property
    def state(self) -> EmulatorState:
        return self.cloud.state

    @staticmethod
    def in_region(table: dict[str, R], region: str) -> list[R]:
        return [r for r in table.values() if r.region_id == region]

    def _new(self, table: dict[str, R], model: type[R], region: str, **fields: Any) -> R:
        """Store and return a new ``model``: a fresh id, creation (and update) time now, then ``fields``."""
        now = self.cloud.now_iso()
        stamps = {f: now for f in TIME_FIELDS if f in model.model_fields}
        resource = model(region_id=region, **{model.id_field: self.cloud.new_id(model.id_prefix)}, **(stamps | fields))
        table[getattr(resource, model.id_field)] = resource
        return resource

    def _update(self, resource: Resource, **changes: Any) -> None:
        """Apply a modify request: set the fields given (not ``None``) and the update time, if it has one."""
        for name, value in changes.items():
            if value is not None:
                setattr(resource, name, value)
        if "updated_time" in type(resource).model_fields:
            resource.updated_time = self.cloud.now_iso()

    @staticmethod
    def get_in_region(table: dict[str, R], kind: str, region: str, resource_id: str) -> R:
        """The resource ``resource_id`` of ``region``; a resource of another region is 404 too."""
        resource = table.get(resource_id)
        if resource is None or resource.region_id != region:
            raise not_found(kind, resource_id)
        return resource
