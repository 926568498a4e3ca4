"""Base hook for the JD Cloud OpenAPI: connection settings, SDK clients and the transport of every call.

Every request takes its method and path from :data:`airflow_provider_jdcloud.api_paths.OPERATIONS`
and is signed and sent by the service client of ``jdcloud_sdk``. The hook adds what the SDK lacks:
typed errors (the SDK never raises on 4xx/5xx), bounded retries of throttling and server errors, a
rate limit shared by every process of the deployment, pagination, and a quiet SDK logger (the SDK logs
request bodies, which hold pre-shared keys). The service hooks (``vpc``, ``vm``, ``bgw``, ``assistant``)
add typed wrappers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

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
from airflow_provider_jdcloud.exceptions import JDCloudError, JDCloudTransportError, error_from_response
from airflow_provider_jdcloud.models import JDCloudModel
from airflow_provider_jdcloud.ratelimit import RateLimiter, deployment_limiter

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

_log = logging.getLogger(__name__)
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


@dataclass(frozen=True)
class Resource(Generic[M]):
    """A resource whose operations follow JD Cloud's regular naming, and the model its answers parse into.

    ``Resource("VpnConnection", VpnConnection)`` is created by ``CreateVpnConnection`` (which answers
    ``vpnConnectionId``), read by ``DescribeVpnConnection`` (``vpnConnection``) and
    ``DescribeVpnConnections`` (``vpnConnections``) and removed by ``DeleteVpnConnection``. Methods and
    paths of those operations live in :data:`OPERATIONS` only.
    """

    name: str
    model: type[M]

    @property
    def key(self) -> str:
        """The result key of one resource, e.g. ``vpnConnection``."""
        return self.name[0].lower() + self.name[1:]

    @property
    def id_key(self) -> str:
        """The id parameter, e.g. ``vpnConnectionId``."""
        return f"{self.key}Id"


class _ApiRequest(JDCloudRequest):
    """An SDK request for one operation of :data:`OPERATIONS`; the parameters are a plain dict."""

    def __init__(self, api: ApiOperation, parameters: dict[str, Any]) -> None:
        super().__init__(api.path, api.method, None, "v1")
        self.parameters = parameters


class JDCloudBaseHook(BaseHook):
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
        self._limiters: dict[str, RateLimiter] = {}

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
    ) -> Self:
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
    ) -> Self:
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

    def get_rate_limiter(self, service: str) -> RateLimiter:
        """Return the limiter of ``service``: one budget per account, endpoint and service for the deployment.

        Every process (tasks, the triggerer) counts its calls in the store at ``[jdcloud] rate_limit_url``.
        """
        if service not in self._limiters:
            settings = self.settings
            self._limiters[service] = deployment_limiter(
                settings.access_key, settings.endpoint, service, settings.max_calls_per_minute
            )
        return self._limiters[service]

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
        ``max_attempts`` attempts; every other error is raised at once. An operation that is not safe to
        resend (a create, an invocation) is retried only after an answer proving nothing was applied (429,
        a refused connection): after a 5xx or a timeout its error is raised, ``ambiguous``, for the caller
        to look the resource up by its natural key.

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
        try:
            with self.get_rate_limiter(api.service).call():
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
            return resend_safe or not err.ambiguous

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

    # --- the regular operations of a resource, for the service hooks ---

    def _create(self, resource: Resource[M], params: Mapping[str, Any], region: str | None) -> str:
        """Call ``Create<name>`` and return the new id."""
        return self.call(f"Create{resource.name}", params, region=region)[resource.id_key]

    def _describe(self, resource: Resource[M], resource_id: str, region: str | None) -> M:
        """Call ``Describe<name>`` for one id and parse the answer."""
        result = self.call(f"Describe{resource.name}", {resource.id_key: resource_id}, region=region)
        return resource.model.model_validate(result[resource.key])

    def _list(self, resource: Resource[M], filters: Filters, region: str | None, **params: Any) -> list[M]:
        """Call ``Describe<name>s`` page by page and parse every item."""
        items = self.list_all(f"Describe{resource.name}s", f"{resource.key}s", params, filters=filters, region=region)
        return [resource.model.model_validate(item) for item in items]

    def _delete(self, resource: Resource[M], resource_id: str, region: str | None) -> None:
        """Call ``Delete<name>`` for one id."""
        self.call(f"Delete{resource.name}", {resource.id_key: resource_id}, region=region)


def create_or_adopt(what: str, create: Callable[[], str], find: Callable[[], str | None]) -> str:
    """Call ``create`` and return the new id; after an ambiguous failure return the id ``find`` sees instead.

    The hook never resends a create after an answer that may hide an applied change (a 5xx, a timeout, a
    lost response), so this looks the resource up by its natural key: found, it is the one this call made.
    Not found, the error is raised; Airflow's retry of the task looks it up again before creating.
    """
    try:
        return create()
    except JDCloudError as error:
        if not error.ambiguous:
            raise
        found = find()
        if found is None:
            raise
        _log.warning("%s: the create failed ambiguously (%s) but was applied: adopting %s", what, error, found)
        return found


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
