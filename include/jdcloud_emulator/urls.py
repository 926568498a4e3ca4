"""Routing: the operation table (``airflow_provider_jdcloud.api_paths``) matched against request paths.

The paths come from the one shared table; this module only binds each operation to its service's response class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_jdcloud.api_paths import OPERATIONS, ApiOperation
from include.jdcloud_emulator.responses import RESPONSES, Handler

SERVICES = tuple(sorted({op.service for op in OPERATIONS.values()}))


@dataclass(frozen=True)
class Route:
    operation: ApiOperation
    pattern: re.Pattern[str]
    handler: Handler

    @property
    def read_only(self) -> bool:
        return self.operation.name.startswith("Describe")


def _compile(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/:]+)", re.escape(path))
    return re.compile(f"^/v1{regex}$")


ROUTES: list[Route] = [
    Route(operation=op, pattern=_compile(op.path), handler=RESPONSES[op.service].dispatch(name))
    for name, op in OPERATIONS.items()
]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """Find the route for a request path (a leading ``/<service>`` prefix is allowed, as the SDK permits)."""
    for prefix in SERVICES:
        if path.startswith(f"/{prefix}/v1/"):
            path = path[len(prefix) + 1 :]
            break
    for route in ROUTES:
        if route.operation.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
    return None
