"""Which interconnect a DR drill run is about: the trigger conf (form, nested, or under ``interconnect``), else
the stored conf of scheduled runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from include.jdcloud_vpn.conf import validate_conf
from include.jdcloud_vpn.drill_tasks import drill_interconnect, drill_params

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "include" / "interconnect.example.json").read_text())


@pytest.fixture
def form() -> dict[str, Any]:
    """A run's params when nothing overrides the form."""
    return {key: param.resolve() for key, param in drill_params().items()}


def _never() -> str:
    raise AssertionError("the stored conf must not be read")


def test_a_scheduled_run_drills_the_stored_conf_in_either_shape(form):
    assert drill_interconnect({}, form, lambda: json.dumps(EXAMPLE)) == validate_conf(EXAMPLE)
    flat = json.dumps({"name": "stored"})  # flat: over the form's defaults
    assert drill_interconnect({"require_approval": True}, form, lambda: flat).name == "stored"
    with pytest.raises(AirflowFailException, match="no interconnect to drill"):
        drill_interconnect({}, form, lambda: None)


def test_a_triggered_run_drills_its_own_conf(form):
    run_conf = {**form, "name": "fromform"}  # what the UI posts: every field of the form
    assert drill_interconnect(run_conf, form, _never).name == "fromform"
    assert drill_interconnect({"interconnect": EXAMPLE}, form, _never) == validate_conf(EXAMPLE)
    assert drill_interconnect({**EXAMPLE, "require_approval": True}, form, _never) == validate_conf(EXAMPLE)


def test_a_bad_drill_conf_names_every_problem(form):
    bad = {**EXAMPLE, "peer": {**EXAMPLE["peer"], "region": "cn-north-1"}}
    with pytest.raises(AirflowFailException, match=r"invalid interconnect conf:\npeer\.region: same region"):
        drill_interconnect({"interconnect": bad}, form, _never)
    with pytest.raises(AirflowFailException, match=r"conf: Input should be a valid dictionary"):
        drill_interconnect({"interconnect": ["not", "a", "conf"]}, form, _never)
