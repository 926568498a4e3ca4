"""Provider metadata, loaded by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

REGIONS = ["cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1"]


def get_provider_info() -> dict[str, Any]:
    """Return the provider description: connection type, form fields, trigger modules and extra links."""
    return {
        "package-name": "airflow-provider-jdcloud",
        "name": "JD Cloud",
        "description": "JD Cloud border gateway, IPsec VPN, VPC, VM and cloud assistant for Apache Airflow.",
        "versions": ["0.1.0"],
        "integrations": [{"integration-name": "JD Cloud VPN", "tags": ["service"]}],
        "hooks": [
            {
                "integration-name": "JD Cloud VPN",
                "python-modules": [
                    "airflow_provider_jdcloud.hooks.base",
                    "airflow_provider_jdcloud.hooks.vpc",
                    "airflow_provider_jdcloud.hooks.vm",
                    "airflow_provider_jdcloud.hooks.bgw",
                    "airflow_provider_jdcloud.hooks.assistant",
                    "airflow_provider_jdcloud.hooks.jdcloud",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "JD Cloud VPN",
                "python-modules": ["airflow_provider_jdcloud.triggers.jdcloud"],
            }
        ],
        # Listed for `airflow providers links`; Airflow 3.3 shows a link on tasks whose operator class declares
        # it (include/jdcloud_vpn/taskflow.py: VpnTaskOperator).
        "extra-links": ["airflow_provider_jdcloud.links.console.JDCloudConsoleLink"],
        "config": {
            "jdcloud": {
                "description": "The JD Cloud API budget shared by every process of the deployment.",
                "options": {
                    "rate_limit_url": {
                        "description": (
                            "SQLAlchemy URL of the table that counts API calls for every task process and the "
                            "triggerer: an SQLite file on a local disk when they all run on one host, PostgreSQL "
                            "(e.g. the metadata database's server) when they run on several. Empty: "
                            "sqlite:///$AIRFLOW_HOME/jdcloud_api_calls.db."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "postgresql+psycopg2://airflow:airflow@postgres/airflow",
                        "default": "",
                        "sensitive": True,
                    },
                    "rate_limit_window_s": {
                        "description": (
                            "Seconds of the window the connection's max_calls_per_minute counts in: 60 at JD Cloud; "
                            "shorter only against an emulator started with the same shorter window."
                        ),
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "60",
                        "default": "60",
                    },
                },
            }
        },
        "connection-types": [
            {
                "connection-type": "jdcloud",
                "hook-class-name": "airflow_provider_jdcloud.hooks.jdcloud.JDCloudHook",
                "hook-name": "JD Cloud",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "port", "schema"],
                    "relabeling": {"login": "Access Key ID", "password": "Secret Access Key"},
                    "placeholders": {"login": "JDC_xxxxxxxx"},
                },
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "description": "Default JD Cloud region for API calls.",
                        "schema": {"type": "string", "enum": REGIONS, "default": "cn-north-1"},
                    },
                    "endpoint": {
                        "label": "API endpoint override",
                        "description": (
                            "API endpoint override, host[:port][/prefix], e.g. 127.0.0.1:8000 for the local emulator"
                        ),
                        "schema": {"type": ["string", "null"], "default": None},
                    },
                    "scheme": {
                        "label": "Scheme",
                        "description": "URL scheme used to reach the API endpoint.",
                        "schema": {"type": "string", "enum": ["https", "http"], "default": "https"},
                    },
                    "timeout": {
                        "label": "Timeout",
                        "description": "HTTP timeout per API request, in seconds.",
                        "schema": {"type": "integer", "default": 10, "minimum": 1},
                    },
                    "max_calls_per_minute": {
                        "label": "Max calls per minute",
                        "description": "Calls/minute per service for the whole deployment (JD Cloud allows 1000).",
                        "schema": {"type": "integer", "default": 900, "minimum": 1},
                    },
                },
            }
        ],
    }
