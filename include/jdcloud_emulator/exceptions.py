"""Typed API errors, one class per documented JD Cloud status; rendered in one place (``app.py``)."""

from __future__ import annotations


class JdcloudApiError(Exception):
    """An error the emulator returns in the ``{requestId, error: {code, status, message}}`` envelope."""

    http_code: int = 500
    status: str = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict:
        return {"code": self.http_code, "status": self.status, "message": self.message}


class InvalidArgument(JdcloudApiError):
    http_code = 400
    status = "INVALID_ARGUMENT"


class FailedPrecondition(JdcloudApiError):
    http_code = 400
    status = "FAILED_PRECONDITION"


class OutOfRange(JdcloudApiError):
    http_code = 400
    status = "OUT_OF_RANGE"


class AccessError(JdcloudApiError):
    """Authentication failure; the real gateway says ``ACCESS_ERROR`` rather than ``UNAUTHENTICATED``."""

    http_code = 401
    status = "ACCESS_ERROR"


class NotFound(JdcloudApiError):
    http_code = 404
    status = "NOT_FOUND"


class AlreadyExists(JdcloudApiError):
    http_code = 409
    status = "ALREADY_EXISTS"


class QuotaExceeded(JdcloudApiError):
    http_code = 429
    status = "QUOTA_EXCEEDED"


class RateLimited(JdcloudApiError):
    http_code = 429
    status = "RATE_LIMIT"


class InternalError(JdcloudApiError):
    http_code = 500
    status = "INTERNAL"


class SourceUnavailable(JdcloudApiError):
    http_code = 502
    status = "SOURCE_UNAVAILABLE"


class Unavailable(JdcloudApiError):
    http_code = 503
    status = "UNAVAILABLE"


def not_found(kind: str, resource_id: str) -> NotFound:
    return NotFound(f"{kind} {resource_id} not found")
