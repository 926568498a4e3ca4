"""Tests of the mapping from JD Cloud error envelopes to typed errors."""

from __future__ import annotations

import pytest

from airflow_provider_jdcloud.exceptions import (
    Aborted,
    AlreadyExists,
    Cancelled,
    FailedPrecondition,
    Forbidden,
    InvalidArgument,
    JDCloudApiError,
    JDCloudError,
    JDCloudTransportError,
    NotFound,
    OutOfRange,
    QuotaExceeded,
    RateLimited,
    ServerError,
    Unauthenticated,
    error_from_response,
)


@pytest.mark.parametrize(
    ("code", "status", "expected", "retryable"),
    [
        (400, "INVALID_ARGUMENT", InvalidArgument, False),
        (400, "FAILED_PRECONDITION", FailedPrecondition, False),
        (400, "OUT_OF_RANGE", OutOfRange, False),
        (401, "UNAUTHENTICATED", Unauthenticated, False),
        (401, "ACCESS_ERROR", Unauthenticated, False),
        (403, "HTTP_FORBIDDEN", Forbidden, False),
        (404, "NOT_FOUND", NotFound, False),
        (409, "ABORTED", Aborted, False),
        (409, "ALREADY_EXISTS", AlreadyExists, False),
        (429, "QUOTA_EXCEEDED", QuotaExceeded, False),
        (429, "RATE_LIMIT", RateLimited, True),
        (499, "CANCELLED", Cancelled, False),
        (500, "INTERNAL", ServerError, True),
        (500, "UNKNOWN", ServerError, True),
        (502, "SOURCE_UNAVAILABLE", ServerError, True),
        (503, "UNAVAILABLE", ServerError, True),
        # Status is matched case-insensitively and wins over the code.
        (400, "not_found", NotFound, False),
        # Unknown or missing status: fall back to the code.
        (404, None, NotFound, False),
        (409, "", Aborted, False),
        (429, "SOMETHING_NEW", RateLimited, True),
        (504, "GATEWAY_TIMEOUT", ServerError, True),
        ("503", None, ServerError, True),
        (418, "TEAPOT", JDCloudApiError, False),
    ],
)
def test_error_class_and_retryable(
    code: int | str, status: str | None, expected: type[JDCloudApiError], retryable: bool
) -> None:
    error = error_from_response("CreateBgw", code, status, "boom", "req-1")

    assert type(error) is expected
    assert error.retryable is retryable
    assert error.http_code == int(code)


def test_error_attributes_and_message() -> None:
    error = error_from_response("DeleteVpnTunnel", 400, "FAILED_PRECONDITION", "tunnel is UP", "req-42")

    assert (error.operation, error.http_code, error.status, error.message, error.request_id) == (
        "DeleteVpnTunnel",
        400,
        "FAILED_PRECONDITION",
        "tunnel is UP",
        "req-42",
    )
    assert str(error) == "DeleteVpnTunnel failed with FAILED_PRECONDITION (400): tunnel is UP [requestId=req-42]"
    assert isinstance(error, JDCloudError)


def test_missing_code_takes_the_class_default() -> None:
    error = error_from_response("DescribeBgws", None, "RATE_LIMIT", "slow down", None)

    assert isinstance(error, RateLimited)
    assert error.http_code == 429


def test_transport_error_is_retryable_and_shares_the_base() -> None:
    error = JDCloudTransportError("DescribeVpcs", "DescribeVpcs failed: connection refused")

    assert error.retryable is True
    assert error.operation == "DescribeVpcs"
    assert isinstance(error, JDCloudError)
    assert not isinstance(error, JDCloudApiError)
