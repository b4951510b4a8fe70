"""DP pages for analysts: their datasets with metadata, a dummy preview, the budget left on each,
and the archive of their previous queries. Queries themselves are sent from the Python client.

Every handler calls the DP catalog (``dpquery.catalog``), which answers NOT_FOUND for a dataset
the caller holds no grant on: an analyst sees only their datasets and budgets.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from veil_service.dpquery import catalog
from veil_service.dpquery.archive import QueryRecord
from veil_service.dpquery.queries import make_dummy_table
from veil_service.storage.db_calls import db_call
from veil_service.web.forms import form_int
from veil_service.web.page import Page, guarded

PREVIEW_ROWS = 10
PREVIEW_SEED = 0
QUERIES_PAGE_SIZE = 20


@guarded("DPQueryService/ListDatasets")
def datasets_page(page: Page) -> Response:
    """The caller's datasets, each with its budget (initial, spent, remaining ε and δ)."""
    held = catalog.my_datasets(page.ctx.app.db, page.user_id)
    return page.render("dp_datasets.html", section="dp", held=held)


def _preview(table_path: str) -> tuple[list[str], list[list[Any]]]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.OSFile(table_path, "rb") as source:
        table = ipc.open_stream(source).read_all().slice(0, PREVIEW_ROWS)
    rows = [list(row.values()) for row in table.to_pylist()]
    return table.column_names, rows


ANSWER_ROWS = 10
"""Rows of an archived answer's table shown on the page (the client gets all of it)."""


@dataclass(frozen=True)
class AnswerView:
    """A released answer as the archive page shows it.

    Attributes:
        header: Column names of the answer's table (empty without a table).
        rows: Its first rows.
        total_rows: How many rows the table has.
        values: Released scalars (OpenDP).
        score: A diffprivlib score, or None.
        model: The fitted model's class and size, or "".
    """

    header: list[str]
    rows: list[list[Any]]
    total_rows: int
    values: tuple[Any, ...]
    score: float | None
    model: str


def answer_view(record: QueryRecord) -> AnswerView | None:
    """What the analyst was answered, from the archive (None when it was not kept)."""
    answer = record.answer
    if answer is None:
        return None
    header: list[str] = []
    rows: list[list[Any]] = []
    total = 0
    if answer.table_ipc:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        table = ipc.open_stream(pa.BufferReader(answer.table_ipc)).read_all()
        header, total = table.column_names, table.num_rows
        rows = [list(row.values()) for row in table.slice(0, ANSWER_ROWS).to_pylist()]
    model = ""
    if answer.model is not None:
        model = f"{answer.model.class_name} ({len(answer.model.data):,} bytes)"
    return AnswerView(header, rows, total, answer.values, answer.score, model)


@guarded("DPQueryService/GetDatasetMetadata")
async def dataset_page(page: Page) -> Response:
    """One dataset: metadata, budget, a dummy preview (no privacy spent), previous queries."""
    name = page.request.path_params["dataset"]
    db = page.ctx.app.db
    metadata = await db_call(catalog.metadata_of, db, page.user_id, name)
    grant = await db_call(catalog.budget_of, db, page.user_id, name)
    number = max(1, form_int(page.request.query_params.get("page", ""), "page", default=1))
    queries = await db_call(
        catalog.previous_queries,
        db,
        page.user_id,
        name,
        limit=QUERIES_PAGE_SIZE + 1,
        offset=(number - 1) * QUERIES_PAGE_SIZE,
    )
    shown = queries[:QUERIES_PAGE_SIZE]
    answers = await asyncio.to_thread(lambda: [answer_view(query) for query in shown])
    dummy = await make_dummy_table(page.ctx.app, page.user_id, name, PREVIEW_ROWS, PREVIEW_SEED)
    try:
        header, rows = await asyncio.to_thread(_preview, str(dummy.path))
    finally:
        dummy.close()
    columns = metadata.get("columns", {})
    table_facts = {k: v for k, v in metadata.items() if k != "columns"}
    return page.render(
        "dp_dataset.html",
        section="dp",
        name=name,
        grant=grant,
        columns=columns,
        table_facts=table_facts,
        header=header,
        rows=rows,
        queries=list(zip(shown, answers, strict=True)),
        number=number,
        has_next=len(queries) > QUERIES_PAGE_SIZE,
        pretty=_pretty_request,
    )


def _pretty_request(text: str) -> str:
    """A query's request for reading (JSON, indented; pipelines can be long)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)[:4000]
    except ValueError:
        return text[:4000]


def routes() -> list[BaseRoute]:
    """The DP pages."""
    return [
        Route("/dp", datasets_page, methods=["GET"]),
        Route("/dp/{dataset}", dataset_page, methods=["GET"]),
    ]
