"""Shared pieces of the emulator's resource models: base class, ids, clock, names, filters, paging."""

from __future__ import annotations

import ipaddress
import random
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from include.jdcloud_emulator.exceptions import InvalidArgument, OutOfRange

NAME_RE = re.compile(r"^[\u4e00-\u9fa5A-Za-z0-9_-]{1,32}$")


class Clock:
    """Wall-clock seconds; resources store absolute times so state survives a restart."""

    def now(self) -> float:
        return time.time()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Resource(BaseModel):
    """A stored resource; ``to_json()`` renders the API's camelCase form without internal fields."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    internal_fields: ClassVar[frozenset[str]] = frozenset({"region_id"})

    region_id: str

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude=set(self.internal_fields))


class IdFactory:
    """Random, JD-looking resource ids (``bgw-3k9x0q2m1a``); seeded for reproducible runs."""

    _alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed or None)

    def new(self, prefix: str) -> str:
        return prefix + "-" + "".join(self._rng.choice(self._alphabet) for _ in range(10))

    def random(self) -> float:
        return self._rng.random()


# ---------------------------------------------------------------- validation helpers


def require(params: dict, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "" or value == []:
        raise InvalidArgument(f"{name} is required")
    return value


def check_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InvalidArgument(f"{field} must be 1-32 characters of Chinese, letters, digits, '_' or '-'")
    return value


def check_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 256:
        raise InvalidArgument("description must be a string of at most 256 characters")
    return value


def check_enum(field: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join("null" if a is None else str(a) for a in allowed)
        raise InvalidArgument(f"{field} must be one of: {shown}")
    return value


def check_int_range(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field} must be an integer")
    if not low <= value <= high:
        raise OutOfRange(f"{field} must be in [{low}, {high}]")
    return value


def check_cidr(field: str, value: Any) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{field} must be an IPv4 CIDR such as 10.0.0.0/16") from None


def check_public_ipv4(field: str, value: Any) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{field} must be an IPv4 address") from None
    if not address.is_global:
        raise InvalidArgument(f"{field} {value} is not a publicly routable IPv4 address")
    return str(address)


# ---------------------------------------------------------------- filters and paging

T = TypeVar("T")


def parse_filters(raw: Any) -> dict[str, list[str]]:
    """Turn the SDK's ``filters.N.name/values.M`` list into ``{name: [values]}``."""
    result: dict[str, list[str]] = {}
    for item in raw or []:
        if not isinstance(item, dict) or "name" not in item:
            raise InvalidArgument("filters must be a list of {name, values}")
        operator = item.get("operator") or "eq"
        if operator not in ("eq", "in"):
            raise InvalidArgument(f"filter operator {operator} is not supported for {item['name']}")
        values = item.get("values") or []
        if not isinstance(values, list):
            values = [values]
        result.setdefault(str(item["name"]), []).extend(str(v) for v in values)
    return result


def apply_filters(items: Iterable[T], filters: dict[str, list[str]], getters: dict[str, Callable[[T], Any]]) -> list[T]:
    """Keep items matching every filter; an unknown filter name is an error, like the real API."""
    for name in filters:
        if name not in getters:
            raise InvalidArgument(f"filter {name} is not supported; supported: {', '.join(sorted(getters))}")
    selected = []
    for item in items:
        if all(_matches(getters[name](item), wanted) for name, wanted in filters.items()):
            selected.append(item)
    return selected


def _matches(actual: Any, wanted: list[str]) -> bool:
    if isinstance(actual, (list, tuple, set)):
        return any(str(a) in wanted for a in actual)
    return str(actual) in wanted


def paginate(items: list[T], params: dict) -> tuple[list[T], int]:
    """Apply ``pageNumber``/``pageSize`` (default 20, range [10, 100]); past the end gives the last page."""
    page_number = _int_param(params, "pageNumber", 1)
    page_size = _int_param(params, "pageSize", 20)
    if page_number < 1:
        raise OutOfRange("pageNumber must be >= 1")
    if not 10 <= page_size <= 100:
        raise OutOfRange("pageSize must be in [10, 100]")
    total = len(items)
    last_page = max(1, -(-total // page_size))
    page_number = min(page_number, last_page)
    start = (page_number - 1) * page_size
    return items[start : start + page_size], total


def _int_param(params: dict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must be an integer") from None
