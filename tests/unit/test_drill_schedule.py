"""The DR drill's schedule comes from Airflow config (or its environment variables), never from the DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.jdcloud_vpn import drill_tasks

DRILL_DAG_FILE = Path(__file__).parents[2] / "dags" / "jdcloud_vpn_dr_drill.py"


def test_default_schedule_is_saturday_0300_shanghai(monkeypatch):
    monkeypatch.delenv("AIRFLOW__JDCLOUD_VPN__DRILL_CRON", raising=False)
    monkeypatch.delenv("AIRFLOW__JDCLOUD_VPN__DRILL_TIMEZONE", raising=False)
    schedule = drill_tasks.drill_schedule()
    assert schedule.summary == "0 3 * * 6"
    assert schedule.serialize()["timezone"] == "Asia/Shanghai"


def test_the_drill_dag_takes_cron_and_timezone_from_the_environment_without_reading_variables(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Variable

    def no_variables(*args, **kwargs):
        raise AssertionError("the drill DAG read a Variable at parse time")

    monkeypatch.setattr(Variable, "get", no_variables)
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__DRILL_CRON", "15 4 * * 0")
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__DRILL_TIMEZONE", "Europe/Berlin")
    bag = DagBag(dag_folder=str(DRILL_DAG_FILE))
    assert bag.import_errors == {}
    timetable = bag.dags["jdcloud_vpn_dr_drill"].timetable
    assert timetable.summary == "15 4 * * 0"
    assert timetable.serialize()["timezone"] == "Europe/Berlin"


def test_a_bad_timezone_fails_the_parse_naming_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW__JDCLOUD_VPN__DRILL_TIMEZONE", "Mars/Olympus")
    with pytest.raises(Exception, match="Mars/Olympus"):
        drill_tasks.drill_schedule()
