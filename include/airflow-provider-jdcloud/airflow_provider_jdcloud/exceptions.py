"""Typed JD Cloud API errors, one class per documented error ``status``.

JD Cloud error envelopes carry ``error.code`` (the HTTP status as an int), ``error.status`` (a string
class such as ``INVALID_ARGUMENT``) and a free-text ``error.message``. :func:`error_from_response`
maps them to the classes below; ``retryable`` tells the hook's retry policy whether to try again, and
``ambiguous`` whether the request may have been applied although it failed (then a create is not resent:
the caller looks the resource up by its natural key instead).
"""

from __future__ import annotations


class JDCloudError(Exception):
    """Base class of every error raised by the JD Cloud hook.

    :param operation: the API operation name, e.g. ``CreateVpnTunnel``
    """

    retryable: bool = False
    ambiguous: bool = False  # the request may have been applied although it failed

    def __init__(self, operation: str, message: str) -> None:
        super().__init__(message)
        self.operation = operation


class JDCloudApiError(JDCloudError):
    """An error envelope returned by the JD Cloud API.

    :param operation: the API operation name
    :param http_code: ``error.code``, the HTTP status
    :param status: ``error.status``, e.g. ``NOT_FOUND``
    :param message: ``error.message`` as sent by the server
    :param request_id: the response ``requestId``, for JD Cloud support
    """

    default_http_code: int = 0
    statuses: tuple[str, ...] = ()

    def __init__(
        self, operation: str, http_code: int, status: str, message: str, request_id: str | None = None
    ) -> None:
        super().__init__(
            operation, f"{operation} failed with {status} ({http_code}): {message} [requestId={request_id}]"
        )
        self.http_code = http_code
        self.status = status
        self.message = message
        self.request_id = request_id


class InvalidArgument(JDCloudApiError):
    """400 ``INVALID_ARGUMENT``: a request parameter is wrong."""

    default_http_code = 400
    statuses = ("INVALID_ARGUMENT",)


class FailedPrecondition(JDCloudApiError):
    """400 ``FAILED_PRECONDITION``: the resource is not in a state that allows the operation."""

    default_http_code = 400
    statuses = ("FAILED_PRECONDITION",)


class OutOfRange(JDCloudApiError):
    """400 ``OUT_OF_RANGE``: a parameter is outside its allowed range."""

    default_http_code = 400
    statuses = ("OUT_OF_RANGE",)


class Unauthenticated(JDCloudApiError):
    """401 ``UNAUTHENTICATED`` or ``ACCESS_ERROR``: bad or missing signature or access key."""

    default_http_code = 401
    statuses = ("UNAUTHENTICATED", "ACCESS_ERROR")


class Forbidden(JDCloudApiError):
    """403 ``HTTP_FORBIDDEN``: the credentials lack permission."""

    default_http_code = 403
    statuses = ("HTTP_FORBIDDEN", "FORBIDDEN", "PERMISSION_DENIED")


class NotFound(JDCloudApiError):
    """404 ``NOT_FOUND``: the resource does not exist."""

    default_http_code = 404
    statuses = ("NOT_FOUND",)


class Aborted(JDCloudApiError):
    """409 ``ABORTED``: the operation was aborted, typically by a concurrent change."""

    default_http_code = 409
    statuses = ("ABORTED",)


class AlreadyExists(JDCloudApiError):
    """409 ``ALREADY_EXISTS``: an equivalent resource already exists."""

    default_http_code = 409
    statuses = ("ALREADY_EXISTS",)


class QuotaExceeded(JDCloudApiError):
    """429 ``QUOTA_EXCEEDED``: a resource quota is used up; retrying does not help."""

    default_http_code = 429
    statuses = ("QUOTA_EXCEEDED",)


class RateLimited(JDCloudApiError):
    """429 ``RATE_LIMIT``: too many calls per minute; retry after a backoff."""

    default_http_code = 429
    statuses = ("RATE_LIMIT",)
    retryable = True


class Cancelled(JDCloudApiError):
    """499 ``CANCELLED``: the request was cancelled."""

    default_http_code = 499
    statuses = ("CANCELLED",)


class ServerError(JDCloudApiError):
    """5xx (``INTERNAL``, ``UNKNOWN``, ``UNAVAILABLE``, ...): a server-side failure; retry after a backoff.

    Ambiguous: a backend may have committed the change before failing, or a gateway may have answered 502/504
    for a request its backend went on to apply.
    """

    default_http_code = 500
    statuses = ("UNKNOWN", "INTERNAL", "NOT_IMPLEMENTED", "SOURCE_UNAVAILABLE", "UNAVAILABLE")
    retryable = True
    ambiguous = True


class JDCloudTransportError(JDCloudError):
    """The API could not be reached or answered with something that is not a JD Cloud envelope.

    Covers connection errors, timeouts and non-JSON bodies; retried like a server error. It is
    ``ambiguous`` (the request may have been applied: a read timeout, a gateway's non-JSON answer) unless
    the connection was never made.

    :param ambiguous: whether the server may have applied the request
    """

    retryable = True

    def __init__(self, operation: str, message: str, *, ambiguous: bool = True) -> None:
        super().__init__(operation, message)
        self.ambiguous = ambiguous


_BY_STATUS: dict[str, type[JDCloudApiError]] = {
    status: cls
    for cls in (
        InvalidArgument,
        FailedPrecondition,
        OutOfRange,
        Unauthenticated,
        Forbidden,
        NotFound,
        Aborted,
        AlreadyExists,
        QuotaExceeded,
        RateLimited,
        Cancelled,
        ServerError,
    )
    for status in cls.statuses
}

# Used only when the status string is missing or unknown. 409 and 429 are ambiguous; the class chosen
# is the more general (409) or the retryable (429) one.
_BY_CODE: dict[int, type[JDCloudApiError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Aborted,
    429: RateLimited,
    499: Cancelled,
}


def error_from_response(
    operation: str, code: int | str | None, status: str | None, message: str | None, request_id: str | None
) -> JDCloudApiError:
    """Build the typed error for a JD Cloud error envelope, chosen by ``status`` first, then by ``code``.

    :param operation: the API operation name
    :param code: ``error.code``, the HTTP status
    :param status: ``error.status``
    :param message: ``error.message``
    :param request_id: the response ``requestId``
    """
    http_code = _as_int(code)
    status = (status or "").upper()
    cls = _BY_STATUS.get(status) or _BY_CODE.get(http_code)
    if cls is None:
        cls = ServerError if http_code >= 500 else JDCloudApiError
    return cls(operation, http_code or cls.default_http_code, status or "UNKNOWN", message or "", request_id)


def _as_int(code: int | str | None) -> int:
    try:
        return int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
