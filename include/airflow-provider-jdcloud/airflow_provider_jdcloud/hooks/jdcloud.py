"""The hook of the ``jdcloud`` connection type: every JD Cloud service this provider calls, in one object.

The transport (settings, SDK clients, retries, redaction, pagination, rate limit) is in
:mod:`airflow_provider_jdcloud.hooks.base`; the wrappers of each service are in ``hooks/vpc.py``,
``hooks/vm.py``, ``hooks/bgw.py`` and ``hooks/assistant.py``.
"""

from __future__ import annotations

from airflow_provider_jdcloud.hooks.assistant import JDCloudAssistantHook
from airflow_provider_jdcloud.hooks.bgw import JDCloudBgwHook
from airflow_provider_jdcloud.hooks.vm import JDCloudVmHook
from airflow_provider_jdcloud.hooks.vpc import JDCloudVpcHook


class JDCloudHook(JDCloudVpcHook, JDCloudVmHook, JDCloudBgwHook, JDCloudAssistantHook):
    """Call the vpc, vm, bgw and cloud-assistant APIs with the credentials of an Airflow connection.

    The service hooks share one base, so this hook has one set of settings, clients and rate limiters;
    see :class:`~airflow_provider_jdcloud.hooks.base.JDCloudBaseHook` for the connection and arguments.
    """
