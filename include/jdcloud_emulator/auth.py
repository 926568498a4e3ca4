"""Verify the JDCLOUD3-HMAC-SHA256 signature the Python SDK puts on every request (jdcloud-api.md 2.3)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from include.jdcloud_emulator.exceptions import AccessError

ALGORITHM = "JDCLOUD3-HMAC-SHA256"
_AUTH_RE = re.compile(
    r"^JDCLOUD3-HMAC-SHA256 Credential=(?P<ak>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/jdcloud3_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Caller:
    access_key: str
    region: str
    service: str


def canonical_uri(path: str) -> str:
    collapsed = re.sub("/+", "/", unquote_plus(path))
    if not collapsed:
        return "/"
    encoded = quote(collapsed, "/~")
    return encoded if encoded.startswith("/") else "/" + encoded


def canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&"):
        if item:
            pairs.append([quote(unquote_plus(part), "~") for part in item.split("=", 1)])
    return "&".join("=".join(p) for p in sorted(pairs) if p[0] != "")


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = ("JDCLOUD3" + secret_key).encode()
    for part in (date, region, service, "jdcloud3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(
    secret_key: str,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
    jdcloud_date: str,
    region: str,
    service: str,
) -> str:
    """Recompute the signature exactly as ``jdcloud_sdk.core.signer.Signer.signV3`` does."""
    header_lines = "\n".join(f"{name}:{headers.get(name, '').strip()}" for name in signed_headers) + "\n"
    canonical_request = "\n".join(
        [
            method,
            canonical_uri(path),
            canonical_query(query),
            header_lines,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{jdcloud_date[:8]}/{region}/{service}/jdcloud3_request"
    string_to_sign = "\n".join([ALGORITHM, jdcloud_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = signing_key(secret_key, jdcloud_date[:8], region, service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    credentials: Mapping[str, str],
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Caller:
    """Return the caller when the request is signed with a known key pair; raise ``AccessError`` otherwise.

    ``headers`` must have lower-case names.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise AccessError("lack of header authorization[gw]")
    match = _AUTH_RE.match(authorization.strip())
    jdcloud_date = headers.get("x-jdcloud-date", "")
    if match is None or not re.fullmatch(r"\d{8}T\d{6}Z", jdcloud_date) or jdcloud_date[:8] != match["date"]:
        raise AccessError("authorization header is malformed[gw]")
    secret = credentials.get(match["ak"])
    if secret is None:
        raise AccessError("access key does not exist[gw]")
    expected = signature(
        secret,
        method=method,
        path=path,
        query=query,
        headers=headers,
        signed_headers=match["signed"].split(";"),
        body=body,
        jdcloud_date=jdcloud_date,
        region=match["region"],
        service=match["service"],
    )
    if not hmac.compare_digest(expected, match["signature"]):
        raise AccessError("sign result is not same [gw]")
    return Caller(access_key=match["ak"], region=match["region"], service=match["service"])
