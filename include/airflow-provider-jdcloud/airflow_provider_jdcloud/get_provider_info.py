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
                        "description": "Client-side rate limit per service; JD Cloud allows 1000 calls/min.",
                        "schema": {"type": "integer", "default": 900, "minimum": 1},
                    },
                },
            }
        ],
    }
