"""Bad input table: every malformed conf is rejected naming the field and the rule, before any mutating call.

The checks are the interconnect DAG's first tasks (validate_conf: the model, no API call;
check_sites_exist and ensure_pre_shared_key: describe calls and the key), run against the emulator.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests import summary
from tests.dags.conftest import seeded_conf


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
    ("bad interconnect name", _set("name", "Prod_VPN"), "name", "lowercase"),
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


FIRST_TASKS = ("validate_conf", "check_sites_exist", "ensure_pre_shared_key")
# Every later task is marked success without running: only the checks run, as the DAG orders them.
LATER_TASKS = "^(?!(" + "|".join(FIRST_TASKS) + ")$).*"


def _first_tasks(dagbag, conf: dict) -> tuple[bool, str]:
    """Run the DAG's checks (the tasks before anything is created); return (passed, what they said).

    ``validate_conf`` is a pure function of the conf (no API call): it runs directly. A conf it accepts
    goes through the DAG, where only the checks run (later tasks are marked success without running).
    """
    import contextlib
    import io

    from airflow.sdk.exceptions import AirflowFailException

    from include.jdcloud_vpn.tasks import validate_interconnect_conf

    try:
        validate_interconnect_conf.function(params=conf)
    except AirflowFailException as error:
        return False, str(error)
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        dag_run = dagbag.dags["jdcloud_vpn_interconnect"].test(run_conf=conf, mark_success_pattern=LATER_TASKS)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.task_id in FIRST_TASKS}
    return all(state == "success" for state in states.values()), output.getvalue()


def _problem_lines(output: str, field: str) -> list[str]:
    """The ``<field>: <rule>`` lines naming ``field``."""
    return [line.strip() for line in output.splitlines() if line.strip().startswith(f"{field}:")]


@pytest.mark.parametrize(("case", "change", "field", "rule"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_rejected_naming_field_and_rule(
    dagbag, hook, emulator_control, tmp_path, pytestconfig, case, change, field, rule
):
    conf = seeded_conf(hook, tmp_path, name="badin")
    bad = copy.deepcopy(conf)
    change(bad)
    since = time.time()
    passed, output = _first_tasks(dagbag, bad)
    assert not passed, f"{case} was accepted"
    problems = _problem_lines(output, field)
    assert problems, f"no problem line for {field} in:\n{output[-3000:]}"
    assert any(rule.lower() in line.lower() for line in problems), problems
    served = emulator_control.get("/requests", params={"since": since}).json()["requests"]
    mutating = [r["operation"] for r in served if not r["operation"].startswith("Describe")]
    assert mutating == [], mutating
    line = f"{case:<30} rejected, {len(mutating)} mutating calls: {problems[0][:110]}"
    summary.add(pytestconfig, summary.BAD_INPUT, line)


def test_a_psk_breaking_jd_rules_is_rejected_before_anything_is_created(
    dagbag, hook, emulator_control, tmp_path, pytestconfig
):
    from airflow.models.variable import Variable

    conf = seeded_conf(hook, tmp_path, name="badpsk")
    Variable.set("jdcloud_vpn_psk_badpsk", "0xDEADBEEF-key")
    since = time.time()
    passed, output = _first_tasks(dagbag, conf)
    assert not passed
    assert "the pre-shared key in variable jdcloud_vpn_psk_badpsk is not usable" in output and "0x" in output
    assert "DEADBEEF" not in output
    served = emulator_control.get("/requests", params={"since": since}).json()["requests"]
    mutating = [r["operation"] for r in served if not r["operation"].startswith("Describe")]
    assert mutating == []
    summary.add(
        pytestconfig,
        summary.BAD_INPUT,
        f"{'PSK breaking JD rules':<30} rejected, {len(mutating)} mutating calls: "
        "the pre-shared key in variable jdcloud_vpn_psk_badpsk is not usable (key not shown)",
    )


def test_the_table_has_at_least_twenty_cases():
    assert len(BAD_INPUTS) >= 20
