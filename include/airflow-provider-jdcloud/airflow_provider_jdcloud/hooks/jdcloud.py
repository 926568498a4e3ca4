"""Hook for the JD Cloud OpenAPI: border gateway (bgw) and IPsec VPN, VPC, VM and cloud assistant.

Every request takes its method and path from :data:`airflow_provider_jdcloud.api_paths.OPERATIONS`
and is signed and sent by the service client of ``jdcloud_sdk``. The hook adds what the SDK lacks:
typed errors (the SDK never raises on 4xx/5xx), bounded retries of throttling and server errors, a
client-side rate limit, pagination, and a quiet SDK logger (the SDK logs request bodies, which hold
pre-shared keys).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import requests
import tenacity
from airflow.sdk import BaseHook
from jdcloud_sdk.core.config import Config
from jdcloud_sdk.core.credential import Credential
from jdcloud_sdk.core.jdcloudclient import JDCloudClient
from jdcloud_sdk.core.jdcloudrequest import JDCloudRequest
from jdcloud_sdk.core.logger import ERROR, Logger
from jdcloud_sdk.services.assistant.client.AssistantClient import AssistantClient
from jdcloud_sdk.services.bgw.client.BgwClient import BgwClient
from jdcloud_sdk.services.vm.client.VmClient import VmClient
from jdcloud_sdk.services.vpc.client.VpcClient import VpcClient

from airflow_provider_jdcloud.api_paths import OPERATIONS, ApiOperation
from airflow_provider_jdcloud.exceptions import (
    JDCloudError,
    JDCloudTransportError,
    NotFound,
    error_from_response,
)
from airflow_provider_jdcloud.models import (
    Bgw,
    BgwRoute,
    CustomerGateway,
    Instance,
    Invocation,
    JDCloudModel,
    RouteTable,
    RouteTableRule,
    RouteTableRuleSpec,
    Subnet,
    Vpc,
    VpcAttachment,
    VpnConnection,
    VpnTunnel,
    VpnTunnelModifySpec,
    VpnTunnelSpec,
)
from airflow_provider_jdcloud.ratelimit import SlidingWindowRateLimiter, shared_rate_limiter

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # a script without Airflow's task SDK has no log masking to feed

    def mask_secret(secret: Any, name: str | None = None) -> None:
        """Do nothing: there is no Airflow secrets masker."""


DEFAULT_REGION = "cn-north-1"
CLIENT_CLASSES: dict[str, type[JDCloudClient]] = {
    "assistant": AssistantClient,
    "bgw": BgwClient,
    "vm": VmClient,
    "vpc": VpcClient,
}
# Request fields whose values are secrets: masked in Airflow logs and cut out of server error messages.
SECRET_FIELDS = frozenset({"psk", "password"})

M = TypeVar("M", bound=JDCloudModel)
Filters = Mapping[str, str | Sequence[str] | None]

_sdk_log = logging.getLogger("airflow_provider_jdcloud.sdk")


class QuietSdkLogger(Logger):
    """SDK logger that drops all but errors, and reports those with their details redacted.

    At INFO the SDK logs URLs, request bodies (with PSKs and VM passwords), signed headers and response
    bodies; at ERROR it logs a full traceback. The hook raises its own typed errors, so only the
    exception class name is kept, as a warning: the hook may yet retry and succeed.
    """

    def __init__(self) -> None:
        super().__init__(ERROR)

    def log(self, level: int, message: object) -> None:
        """Forward ERROR and FATAL messages as the exception class name only; drop the rest."""
        if level <= ERROR:
            _sdk_log.warning("jdcloud_sdk reported an error: %s (details redacted)", _exception_name(message))


def _exception_name(message: object) -> str:
    """Return the exception class from the last line of a traceback, or ``unknown``."""
    lines = str(message).strip().splitlines()
    name = lines[-1].split(":", 1)[0].strip() if lines else ""
    return name if re.fullmatch(r"[\w.]+", name) else "unknown"


@dataclass(frozen=True)
class JDCloudSettings:
    """Credentials and client settings of one hook; ``secret_key`` is kept out of ``repr``."""

    access_key: str
    secret_key: str = field(repr=False)
    region: str = DEFAULT_REGION
    endpoint: str | None = None
    scheme: str = "https"
    timeout: int = 10
    max_calls_per_minute: int = 900

    def __post_init__(self) -> None:
        if self.scheme not in ("https", "http"):
            raise ValueError(f"Invalid scheme: {self.scheme!r}; expected 'https' or 'http'")
        if self.endpoint and "://" in self.endpoint:
            raise ValueError(f"Invalid endpoint: {self.endpoint!r}; give host[:port][/prefix] without scheme")


class _ApiRequest(JDCloudRequest):
    """An SDK request for one operation of :data:`OPERATIONS`; the parameters are a plain dict."""

    def __init__(self, api: ApiOperation, parameters: dict[str, Any]) -> None:
        super().__init__(api.path, api.method, None, "v1")
        self.parameters = parameters


class JDCloudHook(BaseHook):
    """Call the JD Cloud OpenAPI with the credentials of an Airflow connection.

    The connection's login is the Access Key ID and its password the Secret Access Key. Its extra
    may set ``region``, ``endpoint`` (host[:port][/prefix], e.g. ``127.0.0.1:8000`` for the local
    emulator), ``scheme``, ``timeout`` and ``max_calls_per_minute``.

    :param jdcloud_conn_id: the Airflow connection id
    :param region: default region of calls, overriding the connection's ``region``
    :param max_attempts: attempts per call, counting the first, for retryable errors
    :param retry_base_wait: backoff scale in seconds; retry n waits a random time up to base * 2**n
    :param retry_max_wait: cap of one backoff in seconds
    """

    conn_name_attr = "jdcloud_conn_id"
    default_conn_name = "jdcloud_default"
    conn_type = "jdcloud"
    hook_name = "JD Cloud"

    def __init__(
        self,
        jdcloud_conn_id: str = default_conn_name,
        *,
        region: str | None = None,
        max_attempts: int = 5,
        retry_base_wait: float = 1.0,
        retry_max_wait: float = 20.0,
    ) -> None:
        super().__init__()
        self.jdcloud_conn_id = jdcloud_conn_id
        self.region_override = region
        self.max_attempts = max_attempts
        self.retry_base_wait = retry_base_wait
        self.retry_max_wait = retry_max_wait
        self._settings: JDCloudSettings | None = None
        self._clients: dict[str, JDCloudClient] = {}

    @classmethod
    def from_credentials(
        cls,
        access_key: str,
        secret_key: str,
        *,
        endpoint: str | None = None,
        scheme: str = "https",
        region: str = DEFAULT_REGION,
        timeout: int = 10,
        max_calls_per_minute: int = 900,
        max_attempts: int = 5,
        retry_base_wait: float = 1.0,
        retry_max_wait: float = 20.0,
    ) -> JDCloudHook:
        """Build a hook from explicit credentials, without an Airflow connection (scripts, tests).

        :param endpoint: host[:port][/prefix] used for every service; ``None`` uses
            ``<service>.jdcloud-api.com``
        """
        hook = cls(max_attempts=max_attempts, retry_base_wait=retry_base_wait, retry_max_wait=retry_max_wait)
        hook._settings = JDCloudSettings(
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            endpoint=endpoint,
            scheme=scheme,
            timeout=timeout,
            max_calls_per_minute=max_calls_per_minute,
        )
        return hook

    @classmethod
    async def from_connection_async(
        cls, jdcloud_conn_id: str = default_conn_name, *, region: str | None = None
    ) -> JDCloudHook:
        """Build a hook in async code (triggers), reading the connection without blocking the event loop."""
        hook = cls(jdcloud_conn_id, region=region)
        hook._settings = hook._settings_from_connection(await cls.aget_connection(jdcloud_conn_id))
        return hook

    @property
    def settings(self) -> JDCloudSettings:
        """The credentials and client settings, read from the connection on first use."""
        if self._settings is None:
            self._settings = self._settings_from_connection(self.get_connection(self.jdcloud_conn_id))
        return self._settings

    @property
    def region(self) -> str:
        """The default region of calls."""
        return self.region_override or self.settings.region

    @staticmethod
    def _settings_from_connection(conn: Any) -> JDCloudSettings:
        if not conn.login or not conn.password:
            raise ValueError(f"Connection {conn.conn_id!r} needs login (Access Key ID) and password (Secret Key)")
        mask_secret(conn.password)
        extra = conn.extra_dejson

        def option(name: str, default: Any) -> Any:
            # Forms of older Airflow versions stored custom fields as extra__<conn_type>__<name>.
            return extra.get(name) or extra.get(f"extra__jdcloud__{name}") or default

        return JDCloudSettings(
            access_key=conn.login,
            secret_key=conn.password,
            region=option("region", DEFAULT_REGION),
            endpoint=option("endpoint", None),
            scheme=option("scheme", "https"),
            timeout=int(option("timeout", 10)),
            max_calls_per_minute=int(option("max_calls_per_minute", 900)),
        )

    def get_client(self, service: str) -> JDCloudClient:
        """Return the SDK client of ``service`` (``bgw``, ``vpc``, ``vm`` or ``assistant``)."""
        if service not in self._clients:
            settings = self.settings
            endpoint = settings.endpoint or f"{service}.jdcloud-api.com"
            config = Config(endpoint=endpoint, scheme=settings.scheme, timeout=settings.timeout)
            credential = Credential(settings.access_key, settings.secret_key)
            self._clients[service] = CLIENT_CLASSES[service](credential, config, QuietSdkLogger())
        return self._clients[service]

    def get_rate_limiter(self, service: str) -> SlidingWindowRateLimiter:
        """Return the per-process limiter shared by hooks with the same account, endpoint and service."""
        settings = self.settings
        key = (settings.access_key, settings.endpoint, service)
        return shared_rate_limiter(key, settings.max_calls_per_minute, 60.0)

    def test_connection(self) -> tuple[bool, str]:
        """Check the credentials by listing VPCs in the default region."""
        try:
            self.call("DescribeVpcs", {"pageNumber": 1, "pageSize": 10})
        except (JDCloudError, ValueError) as err:
            return False, str(err)
        return True, f"Listed VPCs in {self.region}"

    # --- generic calls ---

    def call(
        self, operation: str, params: Mapping[str, Any] | None = None, *, region: str | None = None
    ) -> dict[str, Any]:
        """Call one API operation and return its ``result`` (``{}`` when empty).

        Throttling, server and transport errors are retried with exponential backoff and jitter, up to
        ``max_attempts`` attempts; every other error is raised at once.

        :param operation: a key of :data:`OPERATIONS`, e.g. ``DescribeVpnTunnel``
        :param params: request parameters in the API's camelCase; ``None`` values are left out
        :param region: region of this call; defaults to the hook's region
        :raises JDCloudApiError: a subclass named after the error ``status``, e.g. ``NotFound``
        :raises JDCloudTransportError: the API was unreachable or did not answer with a JD Cloud envelope
        """
        api = _lookup(operation)
        parameters = {key: value for key, value in (params or {}).items() if value is not None}
        parameters["regionId"] = region or self.region
        _check_path_params(api, parameters)
        for secret in _secret_values(parameters):
            mask_secret(secret)
        return self._retrying(resend_safe=api.resend_safe)(self._send, api, parameters)

    def list_all(
        self,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
        filters: Filters | None = None,
        region: str | None = None,
        page_size: int = 100,
    ) -> list[dict[str, Any]]:
        """Call a paginated list operation page by page and return all items of ``result_key``.

        :param operation: a list operation, e.g. ``DescribeVpnTunnels``
        :param result_key: the list in the result, e.g. ``vpnTunnels``
        :param params: other request parameters
        :param filters: filter name to one value or a list of values; ``None`` values are left out
        :param region: region of this call; defaults to the hook's region
        :param page_size: items per page, 10 to 100
        """
        query = {**(params or {}), "pageSize": page_size, "filters": _filters(filters or {}) or None}
        items: list[dict[str, Any]] = []
        page_number = 1
        while True:
            result = self.call(operation, {**query, "pageNumber": page_number}, region=region)
            page = result.get(result_key) or []
            items.extend(page)
            # A page past the end returns the last page again, so stop on a short page as well.
            if len(page) < page_size or len(items) >= int(result.get("totalCount") or 0):
                return items
            page_number += 1

    def _send(self, api: ApiOperation, parameters: dict[str, Any]) -> dict[str, Any]:
        self.get_rate_limiter(api.service).acquire()
        try:
            response = self.get_client(api.service).send(_ApiRequest(api, parameters))
        except requests.RequestException as err:
            # Refused or failed connections never reached the API; anything else may have been applied.
            not_sent = isinstance(err, requests.ConnectTimeout) or (
                isinstance(err, requests.ConnectionError) and "NewConnectionError" in repr(err)
            )
            message = f"{api.name} failed: {str(err)[:300]}"
            raise JDCloudTransportError(api.name, message, ambiguous=not not_sent) from err
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise JDCloudTransportError(api.name, f"{api.name} failed: the response is not JSON") from err
        if response.error is not None:
            error = response.error
            message = _redact(error.message or "", parameters)
            raise error_from_response(api.name, error.code, error.status, message, response.request_id)
        if not response.request_id:
            raise JDCloudTransportError(api.name, f"{api.name} failed: the response has no requestId")
        return response.result or {}

    def _retrying(self, *, resend_safe: bool) -> tenacity.Retrying:
        def should_retry(err: BaseException) -> bool:
            if not isinstance(err, JDCloudError) or not err.retryable:
                return False
            # Resending a create (or an invocation) whose first try may have been applied could duplicate it.
            return resend_safe or not (isinstance(err, JDCloudTransportError) and err.ambiguous)

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(should_retry),
            # Full jitter: retry n waits a random time up to min(retry_max_wait, retry_base_wait * 2**n).
            wait=tenacity.wait_random_exponential(multiplier=self.retry_base_wait, max=self.retry_max_wait),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _log_retry(self, retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        self.log.warning(
            "Retrying %s after %s (attempt %d of %d)",
            getattr(error, "operation", "?"),
            getattr(error, "status", "TRANSPORT_ERROR"),
            retry_state.attempt_number,
            self.max_attempts,
        )

    def _describe(self, operation: str, params: Mapping[str, Any], key: str, model: type[M], region: str | None) -> M:
        return model.model_validate(self.call(operation, params, region=region)[key])

    def _list(
        self, operation: str, key: str, model: type[M], filters: Filters, region: str | None, **params: Any
    ) -> list[M]:
        items = self.list_all(operation, key, params=params, filters=filters, region=region)
        return [model.model_validate(item) for item in items]

    # --- vpc ---

    def describe_vpc(self, vpc_id: str, *, region: str | None = None) -> Vpc:
        """Describe one VPC."""
        return self._describe("DescribeVpc", {"vpcId": vpc_id}, "vpc", Vpc, region)

    def describe_vpcs(
        self,
        *,
        vpc_ids: Sequence[str] | None = None,
        vpc_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Vpc]:
        """List VPCs, optionally filtered by ids or names."""
        return self._list("DescribeVpcs", "vpcs", Vpc, {"vpcIds": vpc_ids, "vpcNames": vpc_names}, region)

    def describe_subnets(
        self,
        *,
        vpc_id: str | None = None,
        subnet_ids: Sequence[str] | None = None,
        subnet_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Subnet]:
        """List subnets, optionally filtered by VPC, ids or names."""
        filters = {"vpcId": vpc_id, "subnetIds": subnet_ids, "subnetNames": subnet_names}
        return self._list("DescribeSubnets", "subnets", Subnet, filters, region)

    def describe_route_tables(self, vpc_id: str, *, region: str | None = None) -> list[RouteTable]:
        """List the route tables of a VPC, with their rules and propagations."""
        return self._list("DescribeRouteTables", "routeTables", RouteTable, {"vpcId": vpc_id}, region)

    def describe_route_table(self, route_table_id: str, *, region: str | None = None) -> RouteTable:
        """Describe one route table."""
        params = {"routeTableId": route_table_id}
        return self._describe("DescribeRouteTable", params, "routeTable", RouteTable, region)

    def describe_route_table_rules(
        self,
        route_table_id: str,
        *,
        origins: Sequence[str] | None = None,
        next_hop_types: Sequence[str] | None = None,
        address_prefix: str | None = None,
        next_hop_id: str | None = None,
        rule_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[RouteTableRule]:
        """List the rules of a route table, e.g. ``origins=["propagated"]`` and the remote CIDR."""
        filters = {
            "ruleIds": rule_ids,
            "origins": origins,
            "nextHopTypes": next_hop_types,
            "addressPrefix": address_prefix,
            "nextHopId": next_hop_id,
        }
        return self._list(
            "DescribeRouteTableRules",
            "routeTableRules",
            RouteTableRule,
            filters,
            region,
            routeTableId=route_table_id,
        )

    def add_route_table_rules(
        self, route_table_id: str, rules: Sequence[RouteTableRuleSpec], *, region: str | None = None
    ) -> None:
        """Add static rules to a route table, e.g. the remote CIDR with next hop type ``bgw``."""
        specs = [rule.to_request() for rule in rules]
        self.call(
            "AddRouteTableRules",
            {"routeTableId": route_table_id, "routeTableRuleSpecs": specs},
            region=region,
        )

    def remove_route_table_rules(
        self, route_table_id: str, rule_ids: Sequence[str], *, region: str | None = None
    ) -> None:
        """Remove rules from a route table by rule id."""
        params = {"routeTableId": route_table_id, "ruleIds": list(rule_ids)}
        self.call("RemoveRouteTableRules", params, region=region)

    # --- vm ---

    def describe_instance(self, instance_id: str, *, region: str | None = None) -> Instance:
        """Describe one VM instance."""
        return self._describe("DescribeInstance", {"instanceId": instance_id}, "instance", Instance, region)

    def describe_instances(
        self,
        *,
        instance_ids: Sequence[str] | None = None,
        vpc_id: str | None = None,
        subnet_id: str | None = None,
        name: str | None = None,
        status: str | None = None,
        private_ip_address: str | None = None,
        region: str | None = None,
    ) -> list[Instance]:
        """List VM instances, optionally filtered."""
        filters = {
            "instanceId": instance_ids,
            "vpcId": vpc_id,
            "subnetId": subnet_id,
            "name": name,
            "status": status,
            "privateIpAddress": private_ip_address,
        }
        return self._list("DescribeInstances", "instances", Instance, filters, region)

    def create_instances(
        self,
        instance_spec: Mapping[str, Any],
        *,
        max_count: int = 1,
        client_token: str | None = None,
        region: str | None = None,
    ) -> list[str]:
        """Create VM instances from a camelCase ``instanceSpec`` and return their ids.

        :param instance_spec: at least ``name``, ``az``, ``instanceType``, ``imageId`` and
            ``primaryNetworkInterface: {networkInterface: {subnetId}}``
        :param client_token: idempotency token, at most 64 characters
        """
        params = {"instanceSpec": dict(instance_spec), "maxCount": max_count, "clientToken": client_token}
        return list(self.call("CreateInstances", params, region=region).get("instanceIds") or [])

    def delete_instance(self, instance_id: str, *, region: str | None = None) -> None:
        """Delete a VM instance; it must be ``running``, ``stopped`` or ``error``."""
        self.call("DeleteInstance", {"instanceId": instance_id}, region=region)

    # --- bgw: border gateways ---

    def create_bgw(
        self,
        bgw_name: str,
        *,
        description: str | None = None,
        az_type: str | None = None,
        az: str | None = None,
        region: str | None = None,
    ) -> str:
        """Create a border gateway and return its id."""
        params = {"bgwName": bgw_name, "description": description, "azType": az_type, "az": az}
        return self.call("CreateBgw", params, region=region)["bgwId"]

    def describe_bgw(self, bgw_id: str, *, region: str | None = None) -> Bgw:
        """Describe one border gateway."""
        return self._describe("DescribeBgw", {"bgwId": bgw_id}, "bgw", Bgw, region)

    def describe_bgws(
        self,
        *,
        bgw_ids: Sequence[str] | None = None,
        bgw_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Bgw]:
        """List border gateways, optionally filtered by ids or names."""
        return self._list("DescribeBgws", "bgws", Bgw, {"bgwIds": bgw_ids, "bgwNames": bgw_names}, region)

    def find_bgw_by_name(self, bgw_name: str, *, region: str | None = None) -> Bgw | None:
        """Return the border gateway with exactly this name, or ``None``."""
        return _only_named(self.describe_bgws(bgw_names=[bgw_name], region=region), "bgw_name", bgw_name)

    def modify_bgw(
        self,
        bgw_id: str,
        *,
        bgw_name: str | None = None,
        description: str | None = None,
        region: str | None = None,
    ) -> None:
        """Rename a border gateway or change its description."""
        self.call("ModifyBgw", {"bgwId": bgw_id, "bgwName": bgw_name, "description": description}, region=region)

    def delete_bgw(self, bgw_id: str, *, region: str | None = None) -> None:
        """Delete a border gateway; it must have no VPC attachments, VPN connections or VIFs."""
        self.call("DeleteBgw", {"bgwId": bgw_id}, region=region)

    # --- bgw: VPC attachments ---

    def create_vpc_attachment(
        self,
        vpc_attachment_name: str,
        *,
        bgw_id: str,
        vpc_id: str,
        propagate_type: Literal["all", "partial", "none"] = "all",
        subnet_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> str:
        """Attach a VPC to a border gateway and return the attachment id.

        :param propagate_type: which subnets become border gateway routes; ``partial`` uses ``subnet_ids``
        """
        params = {
            "vpcAttachmentName": vpc_attachment_name,
            "bgwId": bgw_id,
            "vpcId": vpc_id,
            "propagateType": propagate_type,
            "subnetIds": list(subnet_ids) if subnet_ids is not None else None,
        }
        return self.call("CreateVpcAttachment", params, region=region)["vpcAttachmentId"]

    def describe_vpc_attachment(self, vpc_attachment_id: str, *, region: str | None = None) -> VpcAttachment:
        """Describe one VPC attachment."""
        params = {"vpcAttachmentId": vpc_attachment_id}
        return self._describe("DescribeVpcAttachment", params, "vpcAttachment", VpcAttachment, region)

    def describe_vpc_attachments(
        self,
        *,
        bgw_id: str | None = None,
        vpc_id: str | None = None,
        vpc_attachment_ids: Sequence[str] | None = None,
        vpc_attachment_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[VpcAttachment]:
        """List VPC attachments, optionally filtered."""
        filters = {
            "vpcAttachmentIds": vpc_attachment_ids,
            "vpcAttachmentNames": vpc_attachment_names,
            "bgwId": bgw_id,
            "vpcId": vpc_id,
        }
        return self._list("DescribeVpcAttachments", "vpcAttachments", VpcAttachment, filters, region)

    def find_vpc_attachment_by_name(self, name: str, *, region: str | None = None) -> VpcAttachment | None:
        """Return the VPC attachment with exactly this name, or ``None``."""
        attachments = self.describe_vpc_attachments(vpc_attachment_names=[name], region=region)
        return _only_named(attachments, "vpc_attachment_name", name)

    def modify_vpc_attachment(
        self,
        vpc_attachment_id: str,
        *,
        vpc_attachment_name: str | None = None,
        propagation_attribute: Mapping[str, Any] | None = None,
        region: str | None = None,
    ) -> None:
        """Rename a VPC attachment or replace its propagation (``{vpcId, propagateType, subnetIds}``)."""
        params = {
            "vpcAttachmentId": vpc_attachment_id,
            "vpcAttachmentName": vpc_attachment_name,
            "propagationAttribute": dict(propagation_attribute) if propagation_attribute else None,
        }
        self.call("ModifyVpcAttachment", params, region=region)

    def delete_vpc_attachment(self, vpc_attachment_id: str, *, region: str | None = None) -> None:
        """Delete a VPC attachment, which also removes its propagated routes."""
        self.call("DeleteVpcAttachment", {"vpcAttachmentId": vpc_attachment_id}, region=region)

    # --- bgw: customer gateways ---

    def create_customer_gateway(
        self,
        customer_gateway_name: str,
        *,
        customer_ips: Sequence[str],
        bgp_asn: int,
        description: str | None = None,
        region: str | None = None,
    ) -> str:
        """Create a customer gateway (1, 2 or 4 public IPs; ASN 65001-65499) and return its id."""
        params = {
            "customerGatewayName": customer_gateway_name,
            "customerIps": list(customer_ips),
            "bgpAsn": bgp_asn,
            "description": description,
        }
        return self.call("CreateCustomerGateway", params, region=region)["customerGatewayId"]

    def describe_customer_gateway(self, customer_gateway_id: str, *, region: str | None = None) -> CustomerGateway:
        """Describe one customer gateway."""
        params = {"customerGatewayId": customer_gateway_id}
        return self._describe("DescribeCustomerGateway", params, "customerGateway", CustomerGateway, region)

    def describe_customer_gateways(
        self,
        *,
        customer_gateway_ids: Sequence[str] | None = None,
        customer_gateway_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[CustomerGateway]:
        """List customer gateways, optionally filtered by ids or names."""
        filters = {"customerGatewayIds": customer_gateway_ids, "customerGatewayNames": customer_gateway_names}
        return self._list("DescribeCustomerGateways", "customerGateways", CustomerGateway, filters, region)

    def find_customer_gateway_by_name(self, name: str, *, region: str | None = None) -> CustomerGateway | None:
        """Return the customer gateway with exactly this name, or ``None``."""
        gateways = self.describe_customer_gateways(customer_gateway_names=[name], region=region)
        return _only_named(gateways, "customer_gateway_name", name)

    def modify_customer_gateway(
        self,
        customer_gateway_id: str,
        *,
        customer_gateway_name: str | None = None,
        customer_ips: Sequence[str] | None = None,
        description: str | None = None,
        region: str | None = None,
    ) -> None:
        """Change a customer gateway; its IPs can change only while it has no VPN tunnel."""
        params = {
            "customerGatewayId": customer_gateway_id,
            "customerGatewayName": customer_gateway_name,
            "customerIps": list(customer_ips) if customer_ips is not None else None,
            "description": description,
        }
        self.call("ModifyCustomerGateway", params, region=region)

    def delete_customer_gateway(self, customer_gateway_id: str, *, region: str | None = None) -> None:
        """Delete a customer gateway; it must have no VPN connection."""
        self.call("DeleteCustomerGateway", {"customerGatewayId": customer_gateway_id}, region=region)

    # --- bgw: VPN connections ---

    def create_vpn_connection(
        self,
        vpn_connection_name: str,
        *,
        bgw_id: str,
        cgw_id: str,
        bgp_enabled: bool = False,
        local_asn: int | None = None,
        description: str | None = None,
        region: str | None = None,
    ) -> str:
        """Create a VPN connection, which allocates two cloud public IPs, and return its id.

        :param bgp_enabled: the API defaults to ``True``, but JD Cloud-to-JD Cloud VPNs support static
            routing only, so this hook defaults to ``False``
        """
        params = {
            "vpnConnectionName": vpn_connection_name,
            "bgwId": bgw_id,
            "cgwId": cgw_id,
            "bgpEnabled": bgp_enabled,
            "localAsn": local_asn,
            "description": description,
        }
        return self.call("CreateVpnConnection", params, region=region)["vpnConnectionId"]

    def describe_vpn_connection(self, vpn_connection_id: str, *, region: str | None = None) -> VpnConnection:
        """Describe one VPN connection."""
        params = {"vpnConnectionId": vpn_connection_id}
        return self._describe("DescribeVpnConnection", params, "vpnConnection", VpnConnection, region)

    def describe_vpn_connections(
        self,
        *,
        bgw_id: str | None = None,
        cgw_id: str | None = None,
        vpn_connection_ids: Sequence[str] | None = None,
        vpn_connection_names: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[VpnConnection]:
        """List VPN connections, optionally filtered."""
        filters = {
            "vpnConnectionIds": vpn_connection_ids,
            "vpnConnectionNames": vpn_connection_names,
            "bgwId": bgw_id,
            "cgwId": cgw_id,
        }
        return self._list("DescribeVpnConnections", "vpnConnections", VpnConnection, filters, region)

    def find_vpn_connection_by_name(self, name: str, *, region: str | None = None) -> VpnConnection | None:
        """Return the VPN connection with exactly this name, or ``None``."""
        connections = self.describe_vpn_connections(vpn_connection_names=[name], region=region)
        return _only_named(connections, "vpn_connection_name", name)

    def modify_vpn_connection(
        self,
        vpn_connection_id: str,
        *,
        vpn_connection_name: str | None = None,
        description: str | None = None,
        bgp_enabled: bool | None = None,
        traffic_selectors: Sequence[Mapping[str, Any]] | None = None,
        region: str | None = None,
    ) -> None:
        """Change a VPN connection; ``traffic_selectors`` items are ``{localSubnet, remoteSubnets}``."""
        params = {
            "vpnConnectionId": vpn_connection_id,
            "vpnConnectionName": vpn_connection_name,
            "description": description,
            "bgpEnabled": bgp_enabled,
            "trafficSelectors": [dict(item) for item in traffic_selectors] if traffic_selectors else None,
        }
        self.call("ModifyVpnConnection", params, region=region)

    def delete_vpn_connection(self, vpn_connection_id: str, *, region: str | None = None) -> None:
        """Delete a VPN connection; it must have no tunnels."""
        self.call("DeleteVpnConnection", {"vpnConnectionId": vpn_connection_id}, region=region)

    # --- bgw: VPN tunnels ---

    def create_vpn_tunnel(self, spec: VpnTunnelSpec, *, region: str | None = None) -> str:
        """Create an IPsec tunnel and return its id; negotiation starts on its own."""
        return self.call("CreateVpnTunnel", spec.to_request(), region=region)["vpnTunnelId"]

    def describe_vpn_tunnel(self, vpn_tunnel_id: str, *, region: str | None = None) -> VpnTunnel:
        """Describe one VPN tunnel; its ``psk`` is a :class:`~pydantic.SecretStr`."""
        return self._describe("DescribeVpnTunnel", {"vpnTunnelId": vpn_tunnel_id}, "vpnTunnel", VpnTunnel, region)

    def describe_vpn_tunnels(
        self,
        *,
        vpn_connection_id: str | None = None,
        vpn_tunnel_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[VpnTunnel]:
        """List VPN tunnels, optionally filtered by connection or ids."""
        filters = {"vpnTunnelIds": vpn_tunnel_ids, "vpnConnectionId": vpn_connection_id}
        return self._list("DescribeVpnTunnels", "vpnTunnels", VpnTunnel, filters, region)

    def modify_vpn_tunnel(self, vpn_tunnel_id: str, spec: VpnTunnelModifySpec, *, region: str | None = None) -> None:
        """Change the PSK or IKE/IPsec options of a tunnel; set it ``DOWN`` first."""
        self.call("ModifyVpnTunnel", {**spec.to_request(), "vpnTunnelId": vpn_tunnel_id}, region=region)

    def modify_vpn_tunnel_admin_status(
        self, vpn_tunnel_id: str, admin_status: Literal["UP", "DOWN"], *, region: str | None = None
    ) -> None:
        """Set a tunnel's admin status: ``DOWN`` before changes or deletion, ``UP`` to renegotiate."""
        if admin_status not in ("UP", "DOWN"):
            raise ValueError(f"Invalid admin_status: {admin_status!r}; expected 'UP' or 'DOWN'")
        params = {"vpnTunnelId": vpn_tunnel_id, "adminStatus": admin_status}
        self.call("ModifyAdminStatus", params, region=region)

    def delete_vpn_tunnel(self, vpn_tunnel_id: str, *, region: str | None = None) -> None:
        """Delete a VPN tunnel; its admin status must be ``DOWN``."""
        self.call("DeleteVpnTunnel", {"vpnTunnelId": vpn_tunnel_id}, region=region)

    # --- bgw: routes ---

    def create_bgw_route(
        self,
        bgw_id: str,
        *,
        destination: str,
        next_hop_id: str,
        next_hop_type: str = "vpn_connection",
        description: str | None = None,
        region: str | None = None,
    ) -> str:
        """Add a static border gateway route, by default to a VPN connection, and return its id.

        :param next_hop_type: ``vpn_connection``, ``vpc_attachment``, ``private_vif``, ... (snake_case)
        """
        params = {
            "bgwId": bgw_id,
            "bgwRouteDestination": destination,
            "bgwNexthopType": next_hop_type,
            "bgwRouteNexthop": next_hop_id,
            "description": description,
        }
        return self.call("CreateBgwRoute", params, region=region)["bgwRouteId"]

    def describe_bgw_routes(
        self,
        bgw_id: str,
        *,
        origin: str | None = None,
        destination: str | None = None,
        next_hop_type: str | None = None,
        bgw_route_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[BgwRoute]:
        """List the routes of a border gateway; ``next_hop_type`` is camelCase, e.g. ``vpnConnection``."""
        filters = {
            "bgwRouteIds": bgw_route_ids,
            "origin": origin,
            "bgwRouteDestination": destination,
            "bgwRouteNextHopType": next_hop_type,
        }
        return self._list("DescribeBgwRoutes", "bgwRoutes", BgwRoute, filters, region, bgwId=bgw_id)

    def delete_bgw_route(self, bgw_id: str, bgw_route_id: str, *, region: str | None = None) -> None:
        """Delete a static border gateway route."""
        self.call("DeleteBgwRoute", {"bgwId": bgw_id, "bgwRouteId": bgw_route_id}, region=region)

    # --- cloud assistant ---

    def create_command(
        self,
        command_name: str,
        script: str,
        *,
        command_type: Literal["shell", "powershell"] = "shell",
        timeout: int = 60,
        region: str | None = None,
    ) -> str:
        """Create a cloud-assistant command from a script and return its id.

        :param timeout: seconds the command may run, 10 to 86400
        """
        params = {
            "commandName": command_name,
            "commandContent": base64.b64encode(script.encode("utf-8")).decode("ascii"),
            "commandType": command_type,
            "timeout": timeout,
        }
        return self.call("CreateCommand", params, region=region)["commandId"]

    def describe_commands(self, *, command_names: Sequence[str] | None = None, region: str | None = None) -> list[dict]:
        """List cloud-assistant commands (``commandId``, ``commandName``, base64 ``commandContent`` ...)."""
        params: dict[str, Any] = {"commandNames": list(command_names)} if command_names else {}
        return self.list_all("DescribeCommands", "commands", params, region=region)

    def ensure_command(self, command_name: str, script: str, *, timeout: int = 60, region: str | None = None) -> str:
        """Return the id of the command named ``command_name`` running ``script``, creating it if needed.

        A command of that name with another script is replaced, so names stay unique.
        """
        content = base64.b64encode(script.encode("utf-8")).decode("ascii")
        for command in self.describe_commands(command_names=[command_name], region=region):
            if command.get("commandName") != command_name:
                continue
            if command.get("commandContent") == content:
                return command["commandId"]
            self.delete_commands([command["commandId"]], region=region)
        return self.create_command(command_name, script, timeout=timeout, region=region)

    def invoke_command(self, command_id: str, instance_ids: Sequence[str], *, region: str | None = None) -> str:
        """Run a command now on up to 50 instances and return the invocation id."""
        params = {"commandId": command_id, "instances": list(instance_ids)}
        return self.call("InvokeCommand", params, region=region)["invokeId"]

    def describe_invocation(self, invoke_id: str, *, region: str | None = None) -> Invocation:
        """Describe one command invocation with its per-instance status, exit code and output."""
        result = self.call("DescribeInvocations", {"invokeIds": [invoke_id]}, region=region)
        invocations = result.get("invocations") or []
        if not invocations:
            raise NotFound("DescribeInvocations", 404, "NOT_FOUND", f"Invocation {invoke_id} not found")
        return Invocation.model_validate(invocations[0])

    def delete_commands(self, command_ids: Sequence[str], *, region: str | None = None) -> None:
        """Delete cloud-assistant commands."""
        self.call("DeleteCommands", {"commandIds": list(command_ids)}, region=region)


def _lookup(operation: str) -> ApiOperation:
    try:
        return OPERATIONS[operation]
    except KeyError:
        raise ValueError(f"Unknown JD Cloud operation: {operation!r}") from None


def _check_path_params(api: ApiOperation, parameters: Mapping[str, Any]) -> None:
    """Fail before sending when a ``{name}`` of the path is missing; the SDK would put ``''`` there."""
    for name in re.findall(r"{(\w+)}", api.path):
        if not parameters.get(name):
            raise ValueError(f"{api.name} needs the path parameter {name!r}")


def _filters(filters: Filters) -> list[dict[str, Any]]:
    """Convert ``{name: value or values}`` to the API's ``[{"name": ..., "values": [...]}]``."""
    return [
        {"name": name, "values": [values] if isinstance(values, str) else list(values)}
        for name, values in filters.items()
        if values is not None
    ]


def _secret_values(value: Any) -> list[str]:
    """Return the values of :data:`SECRET_FIELDS` anywhere in a request's parameters."""
    if isinstance(value, Mapping):
        found = [item for key, item in value.items() if key in SECRET_FIELDS and isinstance(item, str) and item]
        return found + [secret for item in value.values() for secret in _secret_values(item)]
    if isinstance(value, list):
        return [secret for item in value for secret in _secret_values(item)]
    return []


def _redact(message: str, parameters: Mapping[str, Any]) -> str:
    """Cut secrets of the request out of a server message, in case the server echoes them."""
    for secret in _secret_values(parameters):
        message = message.replace(secret, "***")
    return message


def _only_named(items: list[M], attribute: str, name: str) -> M | None:
    """Return the single item whose ``attribute`` equals ``name``; the API's name filter may be fuzzy."""
    matches = [item for item in items if getattr(item, attribute) == name]
    if len(matches) > 1:
        raise ValueError(f"{len(matches)} {type(matches[0]).__name__} resources are named {name!r}")
    return matches[0] if matches else None
