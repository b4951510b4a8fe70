"""Conversions between dpquery.proto / admin.proto messages and the dpquery domain (the edge).

proto3 cannot tell an unset number from zero, so a few zero values mean "the default", as in
Lomas: ``test_size`` 0 means 0.2, ``nb_samples`` 0 means 200, an empty ``imputer_strategy`` means
``drop`` and an empty ``pipeline_type`` means ``legacy``. A smartnoise-synth δ is read from
``explicit_delta`` (unset: the synthesizer's default, 0: zero); older clients send ``delta``,
where 0 still means the default.
"""

from __future__ import annotations

import json
from typing import Any

from veil.v1 import admin_pb2, common_pb2, dpquery_pb2

from veil_service.api.convert import timestamp
from veil_service.dpquery.archive import QueryRecord
from veil_service.dpquery.budget import PrivacyCost
from veil_service.dpquery.datasets import DatasetRecord
from veil_service.dpquery.grants import Grant
from veil_service.dpquery.progress import QueryProgress
from veil_service.dpquery.specs import ModelBlob, QueryAnswer, QuerySpec
from veil_service.engine_contract.dp_requests import (
    DiffPrivLibRequest,
    DPRequest,
    OpenDPRequest,
    Scalar,
    SmartnoiseSqlRequest,
    SmartnoiseSynthRequest,
)
from veil_service.engine_contract.dp_tasks import DEFAULT_NB_ROWS
from veil_service.errors import InvalidArgumentError

DEFAULT_TEST_SIZE = 0.2
DEFAULT_NB_SAMPLES = 200


def spec_from_proto(message: Any) -> QuerySpec:
    """A QuerySpec message as a domain spec.

    Raises:
        InvalidArgumentError: no dataset, no library, an unknown mode or malformed JSON fields.
    """
    if not message.dataset:
        raise InvalidArgumentError(
            "spec.dataset is empty; name the dataset to query.", field="spec.dataset"
        )
    if message.mode not in (
        dpquery_pb2.QUERY_MODE_UNSPECIFIED,
        dpquery_pb2.QUERY_MODE_PRIVATE,
        dpquery_pb2.QUERY_MODE_DUMMY,
    ):
        raise InvalidArgumentError(
            "spec.mode must be QUERY_MODE_PRIVATE or QUERY_MODE_DUMMY.", field="spec.mode"
        )
    library = message.WhichOneof("library")
    if library is None:
        raise InvalidArgumentError(
            f"spec has no query: set one of {', '.join(_REQUESTS)}.",
            field="spec.library",
        )
    request = _REQUESTS[library](getattr(message, library))
    return QuerySpec(
        dataset=message.dataset,
        library=library,
        request=request,
        dummy=message.mode == dpquery_pb2.QUERY_MODE_DUMMY,
        dummy_nb_rows=message.dummy_nb_rows or DEFAULT_NB_ROWS,
        dummy_seed=message.dummy_seed,
    )


def _sql(q: Any) -> DPRequest:
    return SmartnoiseSqlRequest(
        query=q.query_str,
        epsilon=q.epsilon,
        delta=q.delta,
        mechanisms=dict(q.mechanisms),
        postprocess=q.postprocess if q.HasField("postprocess") else True,
    )


def _opendp(q: Any) -> DPRequest:
    return OpenDPRequest(
        pipeline_json=q.opendp_json,
        fixed_delta=q.fixed_delta if q.HasField("fixed_delta") else None,
        pipeline_type=q.pipeline_type or "legacy",
    )


def _diffprivlib(q: Any) -> DPRequest:
    return DiffPrivLibRequest(
        pipeline_json=q.pipeline_json,
        feature_columns=tuple(q.feature_columns),
        target_columns=tuple(q.target_columns) or None,
        test_size=q.test_size or DEFAULT_TEST_SIZE,
        test_train_split_seed=q.test_train_split_seed,
        imputer_strategy=q.imputer_strategy or "drop",
        allow_pickle=q.allow_pickle,
        score_epsilon=q.score_epsilon if q.HasField("score_epsilon") else None,
    )


def _synth(q: Any) -> DPRequest:
    delta = q.explicit_delta if q.HasField("explicit_delta") else (q.delta or None)
    return SmartnoiseSynthRequest(
        synth_name=q.synth_name,
        epsilon=q.epsilon,
        delta=delta,
        select_cols=tuple(q.select_cols),
        synth_params=_json_object(q.synth_params_json, "smartnoise_synth.synth_params_json") or {},
        nullable=q.nullable,
        constraints=_json_object(q.constraints_json, "smartnoise_synth.constraints_json"),
        return_model=q.return_model,
        condition=q.condition,
        nb_samples=q.nb_samples or DEFAULT_NB_SAMPLES,
        allow_pickle=q.return_model,
    )


# The QuerySpec oneof's field names are the library names (dp_requests.LibraryName).
_REQUESTS = {
    SmartnoiseSqlRequest.LIBRARY: _sql,
    OpenDPRequest.LIBRARY: _opendp,
    DiffPrivLibRequest.LIBRARY: _diffprivlib,
    SmartnoiseSynthRequest.LIBRARY: _synth,
}


def _json_object(text: str, field: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"{field} is not valid JSON ({exc.msg} at character {exc.pos}); send a JSON object.",
            field=field,
        ) from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{field} must be a JSON object.", field=field)
    return value


def cost(value: PrivacyCost) -> dpquery_pb2.PrivacyCost:
    """A PrivacyCost message."""
    return dpquery_pb2.PrivacyCost(epsilon=value.epsilon, delta=value.delta)


def _value(item: Scalar) -> dpquery_pb2.Value:
    if item is None:
        return dpquery_pb2.Value()
    if isinstance(item, bool):
        return dpquery_pb2.Value(integer=int(item))
    if isinstance(item, int):
        return dpquery_pb2.Value(integer=item)
    if isinstance(item, float):
        return dpquery_pb2.Value(number=item)
    return dpquery_pb2.Value(text=str(item))


def _result(
    table_ipc: bytes, values: tuple[Scalar, ...], model: ModelBlob | None, score: float | None
) -> dpquery_pb2.QueryResult:
    result = dpquery_pb2.QueryResult(arrow_ipc=table_ipc, values=[_value(v) for v in values])
    if model is not None:
        result.model.CopyFrom(
            dpquery_pb2.Model(format=model.format, data=model.data, class_name=model.class_name)
        )
    if score is not None:
        result.score = score
    return result


def query_response(answer: QueryAnswer) -> dpquery_pb2.QueryResponse:
    """A QueryResponse from a domain answer."""
    return dpquery_pb2.QueryResponse(
        result=_result(answer.table_ipc, answer.values, answer.model, answer.score),
        cost=cost(answer.cost),
        remaining=cost(answer.remaining),
        query_id=answer.query_id,
        charged=answer.charged,
        requested_by=answer.requested_by,
    )


def progress_response(value: QueryProgress) -> dpquery_pb2.QueryWithProgressResponse:
    """A progress message of QueryWithProgress's stream."""
    return dpquery_pb2.QueryWithProgressResponse(
        progress=dpquery_pb2.QueryProgress(
            fraction=value.fraction,
            phase=value.phase,
            elapsed_seconds=value.elapsed_s,
            time_limit_seconds=value.time_limit_s,
            private=value.private,
        )
    )


def dataset_summary(grant: Grant, record: DatasetRecord) -> dpquery_pb2.DatasetSummary:
    """A DatasetSummary (the public row count is the metadata's ``rows``)."""
    rows = int(record.metadata_dict.get("rows", 0))
    return dpquery_pb2.DatasetSummary(
        name=record.name,
        num_rows=rows,
        remaining=cost(PrivacyCost(grant.remaining_epsilon, grant.remaining_delta)),
    )


def budget_response(grant: Grant) -> dpquery_pb2.GetBudgetResponse:
    """GetBudgetResponse of a grant."""
    return dpquery_pb2.GetBudgetResponse(
        initial=cost(PrivacyCost(grant.initial_epsilon, grant.initial_delta)),
        spent=cost(PrivacyCost(grant.spent_epsilon, grant.spent_delta)),
        remaining=cost(PrivacyCost(grant.remaining_epsilon, grant.remaining_delta)),
    )


def query_record(record: QueryRecord) -> dpquery_pb2.QueryRecord:
    """A QueryRecord message."""
    message = dpquery_pb2.QueryRecord(
        id=record.id,
        dataset=record.dataset,
        library=record.library,
        request_json=record.request_json,
        cost=cost(record.cost),
        created_at=timestamp(record.created_at),
        result_summary=record.result_summary,
        user_name=record.user_name,
        result_archived=record.answer is not None,
    )
    if record.answer is not None:
        answer = record.answer
        message.result.CopyFrom(
            _result(answer.table_ipc, answer.values, answer.model, answer.score)
        )
    return message


def dataset(record: DatasetRecord) -> admin_pb2.Dataset:
    """An admin Dataset message."""
    return admin_pb2.Dataset(
        name=record.name,
        metadata_json=record.metadata_json,
        created_at=timestamp(record.created_at),
        table=common_pb2.TableInfo(
            name=record.name,
            num_rows=record.num_rows,
            num_columns=len(record.columns),
            size_bytes=record.size_bytes,
            sha256=record.sha256,
            columns=[
                common_pb2.ColumnInfo(name=c.name, arrow_type=c.arrow_type, nullable=c.nullable)
                for c in record.columns
            ],
            created_at=timestamp(record.created_at),
        ),
    )


def grant(value: Grant) -> admin_pb2.Grant:
    """An admin Grant message."""
    return admin_pb2.Grant(
        username=value.username,
        dataset=value.dataset_name,
        initial=cost(PrivacyCost(value.initial_epsilon, value.initial_delta)),
        spent=cost(PrivacyCost(value.spent_epsilon, value.spent_delta)),
        pending=value.pending,
    )
