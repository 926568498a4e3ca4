"""Bad input table: every malformed conf, triggered as a real DAG run, is rejected naming the field and the
rule, before any mutating call.

Each case gives the interconnect DAG a complete conf (every field, seeded ids) with one thing wrong and runs
``dag.test(run_conf=...)`` against the emulator. Three layers reject, in the DAG's order:

* **the trigger** (``params``): the DAG's Params carry the conf model's JSON schema (types, enums, ranges,
  patterns, required keys), so Airflow refuses the conf with ``ParamValidationError`` before creating a
  run, as the REST API answers 400; the error names the param, the JSON path inside it and the rule;
* **validate_conf**, the first task (the pydantic model: cross-field rules, unknown keys, PSK rules), with
  one ``<field>: <rule>`` line per problem and no API call at all;
* **check_sites_exist** (describe calls only) and **ensure_pre_shared_key** (the key in its Variable).

The failed task's exception is read from Airflow's ``on_task_instance_failed`` listener hook (the task runs
in this process under ``dag.test()``). Evidence of "no mutating call" comes from the emulator's request log
(``GET /emulator-api/requests``) over the run's time window: no operation but ``Describe*``, and, for the
checks that call the API, at least one describe call, so the log did see the run.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from include.jdcloud_vpn.conf import validate_conf
from tests import summary
from tests.dags.conftest import seeded_conf

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("quick_dag_test_loop")]

INTERCONNECT = "jdcloud_vpn_interconnect"
TRIGGER = "params"  # the layer name of a conf Airflow refuses before creating a run
# The rejecting tasks that call the API (describe calls only); the trigger and validate_conf call none.
CHECKS_CALLING_THE_API = frozenset({"check_sites_exist", "ensure_pre_shared_key"})
# What the build creates or changes (tutorial steps 1-13 and the routing step).
BUILD_OPERATIONS = frozenset(
    {
        "CreateBgw",
        "CreateVpcAttachment",
        "CreateCustomerGateway",
        "ModifyCustomerGateway",
        "CreateVpnConnection",
        "CreateVpnTunnel",
        "CreateBgwRoute",
    }
)


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def change(conf: dict) -> None:
        *parents, leaf = path.split(".")
        node = conf
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    return change


def _drop(path: str) -> Callable[[dict], None]:
    def change(conf: dict) -> None:
        *parents, leaf = path.split(".")
        node = conf
        for key in parents:
            node = node[key]
        del node[leaf]

    return change


def _subnet_of_other_side(conf: dict) -> None:
    conf["home"]["subnet_ids"] = [conf["peer"]["subnet_ids"][0]]
    conf["home"]["probe"] = {"create_in_subnet": conf["peer"]["subnet_ids"][0]}


def _probe_of_other_side(conf: dict) -> None:
    conf["home"]["probe"] = dict(conf["peer"]["probe"])


BAD_INPUTS: list[tuple[str, Callable[[dict], None], str, str]] = [
    ("overlapping CIDRs", _set("peer.vpc_cidr", "10.10.128.0/17"), "peer.vpc_cidr", "overlap"),
    ("same region", _set("peer.region", "cn-north-1"), "peer.region", "same region"),
    ("BGP on", _set("bgp_enabled", True), "bgp_enabled", "static routes"),
    ("bad region", _set("home.region", "us-east-1"), "home.region", "cn-north-1"),
    ("bad CIDR", _set("home.vpc_cidr", "10.10.0.0/33"), "home.vpc_cidr", "CIDR"),
    ("CIDR with host bits", _set("home.vpc_cidr", "10.10.0.1/16"), "home.vpc_cidr", "host bits"),
    ("PSK in conf", _set("psk", "Secret_Key_123"), "psk", "must never be in the conf"),
    ("two PSK references", _set("psk_secret", {"variable": "a_var", "connection": "a_conn"}), "psk_secret", "one"),
    ("unknown key", _set("tunel", {"ike_version": "v2"}), "tunel", "Extra inputs"),
    ("wrong type", _set("ping.count", "four"), "ping.count", "integer"),
    ("IKE lifetime too short", _set("tunnel.ike_sa_life_sec", 30), "tunnel.ike_sa_life_sec", "60"),
    ("IPsec lifetime too long", _set("tunnel.ipsec_sa_life_sec", 100000), "tunnel.ipsec_sa_life_sec", "86400"),
    ("unknown cipher", _set("tunnel.ike_cipher", "des"), "tunnel.ike_cipher", "aes128"),
    ("unknown DH group", _set("tunnel.ike_key_exchange", "modp768"), "tunnel.ike_key_exchange", "ecp256"),
    ("missing VPC", _drop("home.vpc_id"), "home.vpc_id", "required"),
    ("malformed VPC id", _set("home.vpc_id", "VPC_1"), "home.vpc_id", "pattern"),
    ("bad interconnect name", _set("name", "Prod_VPN"), "name", "^[a-z][a-z0-9-]{2,19}$"),
    ("probe both ways", _set("home.probe", {"instance_id": "i-abc", "create_in_subnet": "subnet-x"}), "home.probe", ""),
    (
        "private placeholder IP",
        _set("customer_gateway_placeholder_ips", ["10.0.0.1", "1.0.0.2"]),
        "customer_gateway_placeholder_ips.0",
        "public",
    ),
    ("CGW ASN out of range", _set("customer_gateway_bgp_asn", 64000), "customer_gateway_bgp_asn", "65001"),
    (
        "poll interval above timeout",
        _set("timeouts.tunnels_up", {"timeout_s": 5, "poll_interval_s": 10}),
        "timeouts.tunnels_up.poll_interval_s",
        "smaller than timeout_s",
    ),
    ("loss threshold above 100", _set("ping.max_loss_pct", 150), "ping.max_loss_pct", "100"),
    # Describe-only checks against the cloud (check_sites_exist):
    ("VPC not in the region", _set("home.vpc_id", "vpc-doesnotexist"), "home.vpc_id", "does not exist in cn-north-1"),
    ("CIDR differs from the VPC's", _set("home.vpc_cidr", "10.11.0.0/16"), "home.vpc_cidr", "is not the CIDR"),
    ("subnet not in the VPC", _subnet_of_other_side, "home.subnet_ids.0", "is not a subnet of"),
    (
        "probe VM not in the region",
        _set("home.probe", {"instance_id": "i-doesnotexist"}),
        "home.probe.instance_id",
        "does not exist",
    ),
    ("probe VM of the other side", _probe_of_other_side, "home.probe.instance_id", "does not exist in"),
]


def _failure_listener() -> Any:
    """An Airflow task-instance listener keeping each failed task's id and exception, in order."""
    from airflow.listeners import hookimpl

    class FailureListener:
        def __init__(self) -> None:
            self.failed: list[tuple[str, BaseException]] = []

        @hookimpl
        def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
            self.failed.append((task_instance.task_id, error))

    return FailureListener()


@dataclass(frozen=True)
class Outcome:
    """How a triggered conf ended: the rejecting layer, its ``<field>: <rule>`` lines, the API calls served."""

    layer: str
    problems: list[str]
    message: str
    run_state: str | None
    runs_created: int
    served: list[str]

    @property
    def mutating(self) -> list[str]:
        return [op for op in self.served if not op.startswith("Describe")]


def _param_problem(message: str) -> str:
    """Airflow's ``Invalid input for param <p>: <rule> ... On instance[<path>]`` as ``<p>.<path>: <rule> (<kw>)``."""
    match = re.match(r"Invalid input for param (\w+): (.*)", message)
    assert match, message
    top, rule = match.groups()
    keyword = re.search(r"^Failed validating '(\w+)'", message, re.M)
    instance = re.search(r"^On instance((?:\[[^\]]+\])*):", message, re.M)
    path = [a or b for a, b in re.findall(r"\[(?:'([^']*)'|(\d+))\]", instance.group(1) if instance else "")]
    required = re.match(r"'(\w+)' is a required property", rule)
    if required:
        path.append(required.group(1))
    return f"{'.'.join([top, *path])}: {rule} ({keyword.group(1) if keyword else 'schema'})"


def _problems(message: str) -> list[str]:
    """The ``<field>: <rule>`` lines of a task's error (a form field is followed by its label in brackets)."""
    return [line.strip() for line in message.splitlines() if re.match(r"^[\w./]+(?: \(.*\))?: ", line.strip())]


def _trigger(dagbag: Any, control: httpx.Client, conf: dict) -> Outcome:
    """``dag.test(run_conf=conf)``; return which layer rejected it, with what, and the calls the emulator served."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.sdk.listener import get_listener_manager

    listener, manager = _failure_listener(), get_listener_manager()
    manager.add_listener(listener)
    runs_before = len(DagRun.find(dag_id=INTERCONNECT))
    started = time.time()
    try:
        dag_run = dagbag.dags[INTERCONNECT].test(run_conf=conf)
    except ParamValidationError as error:
        layer, message, run_state = TRIGGER, str(error), None
        problems = [_param_problem(message)]
    else:
        assert listener.failed, f"the run ended {dag_run.state} without a failed task"
        layer, exception = listener.failed[0]
        message, run_state = str(exception), str(dag_run.state)
        problems = _problems(message)
    finally:
        manager.pm.unregister(listener)
    ended = time.time()
    runs_created = len(DagRun.find(dag_id=INTERCONNECT)) - runs_before
    log = control.get("/requests", params={"since": started}).json()["requests"]
    served = [r["operation"] for r in log if r["time"] <= ended]
    return Outcome(
        layer=layer, problems=problems, message=message, run_state=run_state, runs_created=runs_created, served=served
    )


def _complete(conf: dict) -> dict:
    """Every field of the conf explicitly (``dag.test()`` would take a missing one from the last run's conf)."""
    return validate_conf(conf).model_dump(mode="json")


@pytest.fixture
def good_conf(dagbag: Any, hook: Any, emulator_control: httpx.Client, tmp_path: Any) -> dict:
    return _complete(seeded_conf(hook, tmp_path, name="badin"))


@pytest.mark.parametrize(("case", "change", "field", "rule"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_rejected_naming_field_and_rule(
    dagbag: Any,
    emulator_control: httpx.Client,
    good_conf: dict,
    pytestconfig: pytest.Config,
    case: str,
    change: Callable[[dict], None],
    field: str,
    rule: str,
) -> None:
    bad = copy.deepcopy(good_conf)
    change(bad)
    outcome = _trigger(dagbag, emulator_control, bad)

    if outcome.layer == TRIGGER:  # refused as the REST API refuses it (400): no run at all
        assert (outcome.run_state, outcome.runs_created) == (None, 0), outcome
    else:
        assert (outcome.run_state, outcome.runs_created) == ("failed", 1), f"{case} was accepted: {outcome}"
    named = [line for line in outcome.problems if line.startswith(f"{field}:")]
    assert named, f"{case}: no problem naming {field} ({outcome.layer}): {outcome.message[:2000]}"
    assert any(rule.lower() in line.lower() for line in named), named
    assert outcome.mutating == [], outcome.mutating
    if outcome.layer in CHECKS_CALLING_THE_API:
        assert outcome.served, "the run's describe calls are missing from the request log"
    else:
        assert outcome.layer in (TRIGGER, "validate_conf"), outcome.layer
        assert outcome.served == [], f"API calls before the conf was accepted: {outcome.served}"
    line = f"{case:<30} {outcome.layer:<17} {len(outcome.mutating)} mutating calls: {named[0][:100]}"
    summary.add(pytestconfig, summary.BAD_INPUT, line)


# The same conf in the trigger form's flat shape: (case, form field, bad value, field as named, rule).
FLAT_BAD_INPUTS: list[tuple[str, str, Any, str, str]] = [
    ("form: bad region", "home_region", "us-east-1", "home_region", "cn-north-1"),
    ("form: malformed subnet id", "home_subnet_ids", ["subnet_1"], "home_subnet_ids.0", "does not match"),
    ("form: same region", "peer_region", "cn-north-1", "peer_region (Peer site / Region)", "same region"),
    ("form: probe kind fields", "home_probe", "create", "home_probe (Home site / Probe VM)", "create_in_subnet"),
]


@pytest.mark.parametrize(
    ("case", "key", "value", "field", "rule"), FLAT_BAD_INPUTS, ids=[case[0] for case in FLAT_BAD_INPUTS]
)
def test_bad_form_input_is_rejected_naming_the_form_field(
    dagbag: Any,
    emulator_control: httpx.Client,
    good_conf: dict,
    pytestconfig: pytest.Config,
    case: str,
    key: str,
    value: Any,
    field: str,
    rule: str,
) -> None:
    from include.jdcloud_vpn.params import form_values

    flat = {**form_values(good_conf), key: value}
    outcome = _trigger(dagbag, emulator_control, flat)

    assert outcome.layer in (TRIGGER, "validate_conf"), outcome
    named = [line for line in outcome.problems if line.startswith(f"{field}:")]
    assert named and any(rule.lower() in line.lower() for line in named), outcome.problems
    assert outcome.served == [], f"API calls before the conf was accepted: {outcome.served}"
    line = f"{case:<30} {outcome.layer:<17} {len(outcome.mutating)} mutating calls: {named[0][:100]}"
    summary.add(pytestconfig, summary.BAD_INPUT, line)


def test_a_psk_breaking_jd_rules_is_rejected_before_the_build(
    dagbag: Any, emulator_control: httpx.Client, good_conf: dict, pytestconfig: pytest.Config
) -> None:
    from airflow.models.variable import Variable

    Variable.set("jdcloud_vpn_psk_secret_badin", "0xDEADBEEF-key")
    outcome = _trigger(dagbag, emulator_control, good_conf)
    assert (outcome.layer, outcome.run_state) == ("ensure_pre_shared_key", "failed")
    assert "the pre-shared key in variable jdcloud_vpn_psk_secret_badin is not usable" in outcome.message
    assert "0x" in outcome.message and "DEADBEEF" not in outcome.message
    assert outcome.served, "the run's describe calls are missing from the request log"
    assert [op for op in outcome.mutating if op in BUILD_OPERATIONS] == [], outcome.mutating
    summary.add(
        pytestconfig,
        summary.BAD_INPUT,
        f"{'PSK breaking JD rules':<30} {outcome.layer:<17} {len(outcome.mutating)} mutating calls "
        f"({', '.join(sorted(set(outcome.mutating))) or 'none'}): the pre-shared key in variable "
        "jdcloud_vpn_psk_secret_badin is not usable (key not shown)",
    )


def test_a_psk_breaking_jd_rules_makes_no_mutating_call(
    dagbag: Any, hook: Any, emulator_control: httpx.Client, tmp_path: Any
) -> None:
    from airflow.models.variable import Variable

    conf = _complete(seeded_conf(hook, tmp_path, name="badin", ephemeral_probes=True))
    Variable.set("jdcloud_vpn_psk_secret_badin", "0xDEADBEEF-key")
    outcome = _trigger(dagbag, emulator_control, conf)
    assert outcome.layer == "ensure_pre_shared_key"
    assert outcome.mutating == []


def test_the_table_has_at_least_twenty_cases() -> None:
    assert len(BAD_INPUTS) >= 20


@pytest.fixture(autouse=True)
def _no_leftover_psk() -> Iterator[None]:
    yield
    from airflow.models.variable import Variable

    Variable.delete("jdcloud_vpn_psk_secret_badin")
