"""Evidence sections printed at the end of a pytest session (issue 5: the numbers come from the suite).

A test adds lines to a named section with :func:`add`; ``tests/conftest.py`` prints every section that got
lines, after the fault matrix table, whatever subset of the suite ran.
"""

from __future__ import annotations

from typing import Any

import pytest

# The sections, one title each, whichever tests add to them.
BAD_INPUT = "bad input table (each line: a malformed conf, the layer that rejected it, the mutating calls its run made)"
RESILIENCE = "concurrency, restarts, credentials"
SECRET_SCAN = "secret scan (real task runner; hits of the PSK, AK and SK)"
DIAGNOSIS = "diagnosis reason codes (each line: the code, the hop it named, how the hop was broken)"
DRIFT = "out-of-band PSK change (each line: on_drift, the rerun, its tunnel wait)"

_SECTIONS = pytest.StashKey[dict[str, list[str]]]()


def add(config: pytest.Config, section: str, *lines: str) -> None:
    """Append ``lines`` to ``section`` (sections print in the order they were first used)."""
    config.stash.setdefault(_SECTIONS, {}).setdefault(section, []).extend(lines)


def export(config: pytest.Config) -> dict[str, list[str]]:
    """This process's sections, for a pytest-xdist worker to send back."""
    return config.stash.get(_SECTIONS, {})


def merge(config: pytest.Config, exported: dict[str, list[str]]) -> None:
    """Add the sections a pytest-xdist worker sent back."""
    for section, lines in exported.items():
        add(config, section, *lines)


def write(reporter: Any, config: pytest.Config) -> None:
    for section, lines in config.stash.get(_SECTIONS, {}).items():
        reporter.section(section)
        for line in lines:
            reporter.write_line(line)
