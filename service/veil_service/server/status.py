"""The one place domain errors become gRPC statuses (with google.rpc details)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from veil_service.errors import ResourceExhaustedError, VeilServiceError

DOMAIN = "veil.privacy"


def to_grpc_status(error: VeilServiceError) -> grpc.Status:
    """Build the status for a domain error: code, message and rich details.

    Details always hold an ErrorInfo (reason from the documented list); argument errors add a
    BadRequest naming the field; budget and throttling errors add QuotaFailure / RetryInfo.
    """
    code = getattr(code_pb2, error.code_name, code_pb2.INTERNAL)
    details = []
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN)
    if error.field:
        info.metadata["field"] = error.field
    details.append(info)
    if error.field and error.code_name == "INVALID_ARGUMENT":
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=error.field, description=error.message
                    )
                ]
            )
        )
    if isinstance(error, ResourceExhaustedError):
        details.append(
            error_details_pb2.QuotaFailure(
                violations=[
                    error_details_pb2.QuotaFailure.Violation(
                        subject=error.field or error.reason, description=error.message
                    )
                ]
            )
        )
        if error.retry_after_seconds is not None:
            seconds = max(0.0, error.retry_after_seconds)
            details.append(
                error_details_pb2.RetryInfo(
                    retry_delay=duration_pb2.Duration(
                        seconds=int(seconds), nanos=int((seconds % 1) * 1e9)
                    )
                )
            )
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=packed))
