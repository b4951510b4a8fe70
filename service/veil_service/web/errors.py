"""The one place that turns a domain error into an HTTP status for a page.

The same error tree the gRPC interceptor maps to status codes (``server/status.py``); another
user's run answers 404 here exactly as it answers NOT_FOUND there.
"""

from __future__ import annotations

from veil_service.errors import VeilServiceError

HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "FAILED_PRECONDITION": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNAVAILABLE": 503,
    "UNIMPLEMENTED": 501,
}


def http_status(error: VeilServiceError) -> int:
    """The HTTP status of a domain error (500 for anything unexpected)."""
    return HTTP_STATUS.get(error.code_name, 500)
