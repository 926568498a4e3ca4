"""A thin test client: the real ``jdcloud_sdk`` service clients, requests built from the operation table.

Deliberately independent of the provider hook, so the emulator's conformance suite does not depend on
the code it is used to test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jdcloud_sdk.core.config import Config
from jdcloud_sdk.core.credential import Credential
from jdcloud_sdk.core.jdcloudrequest import JDCloudRequest
from jdcloud_sdk.services.assistant.client.AssistantClient import AssistantClient
from jdcloud_sdk.services.bgw.client.BgwClient import BgwClient
from jdcloud_sdk.services.vm.client.VmClient import VmClient
from jdcloud_sdk.services.vpc.client.VpcClient import VpcClient

from airflow_provider_jdcloud.api_paths import OPERATIONS
from airflow_provider_jdcloud.hooks.base import QuietSdkLogger

CLIENTS = {"vpc": VpcClient, "vm": VmClient, "bgw": BgwClient, "assistant": AssistantClient}


class ApiError(Exception):
    def __init__(self, operation: str, code: int, status: str, message: str) -> None:
        super().__init__(f"{operation}: {code} {status}: {message}")
        self.code, self.status, self.message = code, status, message


class _Request(JDCloudRequest):
    def __init__(self, path: str, method: str, parameters: dict) -> None:
        super().__init__(path, method, None, "v1")
        self.parameters = parameters


class SdkClient:
    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        config = Config(endpoint=endpoint, scheme="http", timeout=10)
        credential = Credential(access_key, secret_key)
        self.clients = {name: cls(credential, config, QuietSdkLogger()) for name, cls in CLIENTS.items()}

    def send(self, operation: str, region: str, **params: Any):
        """Send one operation and return the SDK's raw ``JDCloudResponse``."""
        op = OPERATIONS[operation]
        return self.clients[op.service].send(_Request(op.path, op.method, {"regionId": region, **params}))

    def call(self, operation: str, region: str, **params: Any) -> dict:
        """Send one operation; return ``result`` (``{}`` when empty) or raise ``ApiError``."""
        response = self.send(operation, region, **params)
        if response.error is not None:
            e = response.error
            raise ApiError(operation, e.code, e.status, e.message)
        return response.result or {}

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
        """Poll ``predicate`` until it returns something truthy; fail with what it last returned."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
            time.sleep(interval)
