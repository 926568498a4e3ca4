"""The project's Airflow config section ``[jdcloud_vpn]``: read from airflow.cfg or from the environment
(``AIRFLOW__JDCLOUD_VPN__<OPTION>``), never from the metadata DB, so reading it costs a DAG parse nothing."""

from __future__ import annotations

from airflow.sdk import conf as airflow_conf

CONFIG_SECTION = "jdcloud_vpn"


def option(key: str, fallback: str) -> str:
    """``[jdcloud_vpn] <key>``, or ``fallback`` when unset."""
    return airflow_conf.get(CONFIG_SECTION, key, fallback=fallback)


def seconds_option(key: str, fallback: float) -> float:
    """A positive number of seconds from ``[jdcloud_vpn] <key>``; a bad value fails naming the option."""
    raw = option(key, str(fallback))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"[{CONFIG_SECTION}] {key} must be a positive number of seconds, got {raw!r}")
    return value
