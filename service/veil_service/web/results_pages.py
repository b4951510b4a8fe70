"""Downloads and figures of a run: avatars (CSV or Arrow), reports, the run's YAML, figures.

Files stream from the blob store in 1 MiB pieces (memory stays flat whatever their size); the
avatars are turned into CSV batch by batch. Figures are the engine's self-contained HTML, the
same bytes ``Runner.render_plot`` shows, served as sandboxed documents (see ``security``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

from starlette.responses import Response, StreamingResponse

from veil_service.errors import NotFoundError
from veil_service.runs.results import ResultRecord
from veil_service.web import security
from veil_service.web.page import Page, guarded
from veil_service.web.runs_pages import figure_title

CHUNK_BYTES = 1 << 20
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _attachment(filename: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "download"
    return f'attachment; filename="{safe}"'


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Pull a blocking iterator from a worker thread, one chunk at a time."""
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes | bytearray | memoryview)
        yield bytes(chunk)


def _csv_chunks(page: Page, result: ResultRecord) -> Iterator[bytes]:
    # pyarrow.csv is imported here, not at start: the server never loads it otherwise
    # (tests/unit/test_server_imports.py).
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.ipc as ipc

    path = page.ctx.app.blobs.path(result.relative_path)
    with pa.OSFile(str(path), "rb") as source:
        reader = ipc.open_stream(source)
        header = True
        for batch in reader:
            sink = io.BytesIO()
            pacsv.write_csv(
                pa.Table.from_batches([batch], reader.schema),
                sink,
                pacsv.WriteOptions(include_header=header),
            )
            header = False
            yield sink.getvalue()
        if header:  # no batch at all: still give the header line
            sink = io.BytesIO()
            pacsv.write_csv(reader.schema.empty_table(), sink)
            yield sink.getvalue()


@guarded("RunsService/DownloadResult")
def download_result(page: Page) -> Response:
    """A result file as an attachment; an Arrow table as CSV with ``?format=csv``.

    The session is checked again while the file is sent (``auth.recheck``, as the gRPC
    DownloadResult): once it has ended the connection is cut, so the browser sees a failed
    download rather than a file that looks whole.
    """
    result = page.ctx.runs.get_result(page.user_id, page.request.path_params["result_id"])
    if page.request.query_params.get("format") == "csv" and result.media_type == ARROW_STREAM:
        name = result.filename.rsplit(".", 1)[0] + ".csv"
        body = page.rechecked(_in_thread(_csv_chunks(page, result)))
        return StreamingResponse(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": _attachment(name)},
        )
    return StreamingResponse(
        page.rechecked(_in_thread(page.ctx.runs.result_chunks(result, CHUNK_BYTES))),
        media_type=result.media_type,
        headers={
            "content-disposition": _attachment(result.filename),
            "content-length": str(result.size_bytes),
        },
    )


def _figure(page: Page) -> ResultRecord:
    result = page.ctx.runs.get_result(page.user_id, page.request.path_params["result_id"])
    if result.kind != "figures" or result.run_id != page.request.path_params["run_id"]:
        raise NotFoundError("no such figure in this run.", field="result_id")
    return result


@guarded("RunsService/DownloadResult")
def figure_page(page: Page) -> Response:
    """A figure inside the app's page (title, back link), its document in a sandboxed frame.

    A distribution is titled by its column, as the run page's link to it (the engine's title,
    in the report's language, less the table's name): a page per column, each with its own
    title for the browser's tabs and history and for screen readers.
    """
    figure = _figure(page)
    run = page.ctx.runs.get_run(page.user_id, figure.run_id)
    title = ""
    if figure.subkind.startswith("distribution"):
        title = figure_title(page, figure).removeprefix(f"{figure.table_name} · ")
    return page.render("figure.html", section="runs", run=run, figure=figure, title=title)


@guarded("RunsService/DownloadResult")
def figure_document(page: Page) -> Response:
    """The figure's own HTML, with a policy that sandboxes it (no cookie, no network)."""
    figure = _figure(page)
    body = b"".join(page.ctx.runs.result_chunks(figure, CHUNK_BYTES))
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": security.FIGURE_POLICY},
    )


@guarded("RunsService/ExportYaml")
def download_yaml(page: Page) -> Response:
    """The run's configuration as avatar_yaml, which ``Runner.from_yaml`` loads unchanged."""
    run_id = page.request.path_params["run_id"]
    run = page.ctx.runs.get_run(page.user_id, run_id)
    text = page.ctx.runs.export_yaml(page.user_id, run_id)
    return Response(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={"content-disposition": _attachment(f"{run.record.display_name}.yaml")},
    )
