"""The guard's order (include/jdcloud_vpn/guard.py): who waits for whom, from the runs' ranks and lock keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from include.jdcloud_vpn.conf import TeardownTarget
from include.jdcloud_vpn.guard import UNKNOWN, VPN_DAGS, Holder, blockers

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def run(run_id: str, started_s: float, *keys: str, dag_id: str = "jdcloud_vpn_interconnect") -> Holder:
    return Holder(dag_id, run_id, T0 + timedelta(seconds=started_s), frozenset(keys))


def test_a_run_waits_only_for_earlier_runs_holding_one_of_its_keys():
    own = run("own", 10, "interconnect:a")
    earlier_same = run("earlier-same", 5, "interconnect:a", dag_id="jdcloud_vpn_dr_drill")
    earlier_other = run("earlier-other", 1, "interconnect:b")
    later_same = run("later-same", 20, "interconnect:a")
    assert blockers(own, [later_same, earlier_other, earlier_same]) == [earlier_same]
    assert blockers(earlier_same, [own, later_same]) == []  # the earliest never waits: no deadlock


def test_an_earlier_run_whose_conf_is_not_validated_yet_blocks_every_run():
    own = run("own", 10, "interconnect:a")
    assert blockers(own, [run("unvalidated", 9, UNKNOWN)]) == [run("unvalidated", 9, UNKNOWN)]
    assert blockers(own, [run("unvalidated-later", 11, UNKNOWN)]) == []


def test_runs_started_at_the_same_instant_are_ordered_by_dag_and_run_id():
    first, second = run("a", 0, "interconnect:x"), run("b", 0, "interconnect:x")
    assert blockers(second, [first]) == [first] and blockers(first, [second]) == []


def test_a_teardown_and_a_build_of_the_same_interconnect_hold_the_same_key():
    teardown = VPN_DAGS["jdcloud_vpn_teardown"]
    request = {"target": {"name": "demo", "home_region": "cn-north-1", "peer_region": "cn-east-2"}}
    assert teardown.lock_keys(request) == TeardownTarget.model_validate(request["target"]).lock_keys()
    assert teardown.lock_keys(request) == frozenset({"interconnect:demo"})


def test_what_a_waiting_run_is_told_names_the_run_and_what_it_holds():
    text = run("manual__x", 0, "interconnect:demo", dag_id="jdcloud_vpn_teardown").describe()
    assert text == "jdcloud_vpn_teardown run manual__x (started 2026-12-01T03:00:00+00:00, holds interconnect:demo)"
    assert "not validated yet" in run("r", 0, UNKNOWN).describe()
