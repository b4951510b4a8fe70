"""Administration of DP datasets (admins only): register (upload or server path), read and
change their metadata, delete them, and the grants that give analysts a budget on them.

The handlers call the dpquery domain the AdminService servicer calls (``registration``,
``datasets``, ``grants``): the same metadata validation, path confinement and budget rules.
"""

from __future__ import annotations

import yaml
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from veil_service.dpquery import datasets, grants, registration
from veil_service.errors import InvalidArgumentError, VeilServiceError
from veil_service.storage.db_calls import db_call
from veil_service.web.errors import http_status
from veil_service.web.forms import form_float
from veil_service.web.page import Page, guarded
from veil_service.web.uploads import ENCODINGS, arrow_chunks, check_encoding


def _render_datasets(page: Page, *, error: str = "", status: int = 200, form: str = "") -> Response:
    """The datasets page; after an error, the submitted form (``"upload"`` or ``"path"``) shows
    again what was typed (a metadata YAML pasted by hand is long to type twice)."""
    with page.ctx.app.db.connect() as conn:
        found = datasets.list_datasets(conn)
    return page.render(
        "admin_datasets.html",
        status=status,
        section="admin",
        tab="datasets",
        datasets=found,
        error=error,
        roots=page.ctx.app.settings.dataset_roots,
        encodings=ENCODINGS,
        form=form,
        values={
            "name": page.text("name"),
            "path": page.text("path"),
            "metadata": str(page.form.get("metadata") or ""),
            "encoding": page.text("encoding"),
        }
        if form
        else {},
    )


@guarded("AdminService/ListAllDatasets")
def datasets_page(page: Page) -> Response:
    """Every dataset, with the forms to register one."""
    return _render_datasets(page)


async def _metadata_text(page: Page) -> str:
    upload = page.form.get("metadata_file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError(
                "metadata: the file is not UTF-8 text.", field="metadata"
            ) from None
    text = str(page.form.get("metadata") or "")
    if not text.strip():
        raise InvalidArgumentError(
            "metadata: paste the metadata YAML or choose its file.", field="metadata"
        )
    return text


@guarded("AdminService/RegisterDataset")
async def register_upload_submit(page: Page) -> Response:
    """Register a dataset from an uploaded CSV or Parquet file and its metadata."""
    try:
        upload = page.form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidArgumentError("file: choose a CSV or Parquet file.", field="file")
        await registration.register_from_upload(
            page.ctx.app.db,
            page.ctx.app.blobs,
            name=page.text("name"),
            metadata_text=await _metadata_text(page),
            chunks=arrow_chunks(upload, "file", check_encoding(page.text("encoding"))),
            actor_id=page.user_id,
            peer=page.peer,
        )
    except VeilServiceError as exc:
        return await db_call(
            _render_datasets, page, error=page.t.error(exc), status=http_status(exc), form="upload"
        )
    return page.redirect("/admin/datasets")


@guarded("AdminService/RegisterDatasetFromPath")
async def register_path_submit(page: Page) -> Response:
    """Register a dataset from a file under one of the server's dataset roots."""
    try:
        path = registration.confine_path(page.text("path"), page.ctx.app.settings.dataset_roots)
        await db_call(
            registration.register_from_path,
            page.ctx.app.db,
            page.ctx.app.blobs,
            name=page.text("name"),
            path=str(path),
            metadata_text=await _metadata_text(page),
            actor_id=page.user_id,
            peer=page.peer,
        )
    except VeilServiceError as exc:
        return await db_call(
            _render_datasets, page, error=page.t.error(exc), status=http_status(exc), form="path"
        )
    return page.redirect("/admin/datasets")


def _render_dataset(
    page: Page, name: str, *, text: str | None = None, error: str = "", status: int = 200
) -> Response:
    with page.ctx.app.db.connect() as conn:
        dataset = datasets.get_dataset(conn, name)
    if text is None:
        text = yaml.safe_dump(dataset.metadata_dict, sort_keys=False, allow_unicode=True)
    return page.render(
        "admin_dataset.html",
        status=status,
        section="admin",
        tab="datasets",
        dataset=dataset,
        metadata_text=text,
        error=error,
        notice=page.request.query_params.get("notice", ""),
    )


@guarded("AdminService/ListAllDatasets")
def dataset_page(page: Page) -> Response:
    """One dataset: its stored columns and its metadata, as YAML to edit."""
    return _render_dataset(page, page.request.path_params["name"])


@guarded("AdminService/UpdateDatasetMetadata")
async def metadata_submit(page: Page) -> Response:
    """Replace a dataset's metadata (validated as at registration, same columns and types)."""
    name = page.request.path_params["name"]
    text = str(page.form.get("metadata") or "")
    try:
        text = await _metadata_text(page)
        await db_call(
            registration.update_metadata,
            page.ctx.app.db,
            name=name,
            metadata_text=text,
            actor_id=page.user_id,
            peer=page.peer,
        )
    except VeilServiceError as exc:
        if exc.code_name == "NOT_FOUND":
            raise
        return await db_call(
            _render_dataset, page, name, text=text, error=page.t.error(exc), status=http_status(exc)
        )
    return page.redirect(f"/admin/datasets/{name}?notice=saved")


@guarded("AdminService/DeleteDataset")
def delete_submit(page: Page) -> Response:
    """Delete a dataset, its grants and its stored table."""
    with page.ctx.app.blobs.releasing() as released, page.ctx.app.db.begin() as conn:
        datasets.delete_dataset(
            conn,
            released,
            page.request.path_params["name"],
            actor_id=page.user_id,
            peer=page.peer,
        )
    return page.redirect("/admin/datasets")


def _render_grants(
    page: Page, *, error: str = "", status: int = 200, typed: bool = False
) -> Response:
    """The grants page; with ``typed`` (a refused grant), its form shows again what was typed."""
    params = page.request.query_params
    filters = {"user": params.get("user", "").strip(), "dataset": params.get("dataset", "").strip()}
    values = {"user": filters["user"], "dataset": filters["dataset"], "epsilon": "", "delta": "0"}
    if typed:
        values = {k: page.text(k) for k in values}
    with page.ctx.app.db.connect() as conn:
        found = grants.list_grants(conn, user=filters["user"], dataset=filters["dataset"])
        names = [d.name for d in datasets.list_datasets(conn)]
    return page.render(
        "admin_grants.html",
        status=status,
        section="admin",
        tab="grants",
        grants=found,
        filters=filters,
        values=values,
        dataset_names=names,
        error=error,
    )


@guarded("AdminService/ListGrants")
def grants_page(page: Page) -> Response:
    """Grants (who may query what, with which budget), filtered by user or dataset."""
    return _render_grants(page)


@guarded("AdminService/GrantAccess")
def grant_submit(page: Page) -> Response:
    """Give a user access to a dataset with a budget, or change their budget."""
    try:
        with page.ctx.app.db.begin() as conn:
            grants.grant_access(
                conn,
                user=page.text("user"),
                dataset=page.text("dataset"),
                epsilon=form_float(page.text("epsilon"), "epsilon"),
                delta=form_float(page.text("delta") or "0", "delta"),
                actor_id=page.user_id,
                peer=page.peer,
            )
    except VeilServiceError as exc:
        return _render_grants(page, error=page.t.error(exc), status=http_status(exc), typed=True)
    return page.redirect("/admin/grants")


def routes() -> list[BaseRoute]:
    """The dataset administration pages."""
    get, post = ["GET"], ["POST"]
    return [
        Route("/admin/datasets", datasets_page, methods=get),
        Route("/admin/datasets", register_upload_submit, methods=post),
        Route("/admin/datasets/path", register_path_submit, methods=post),
        Route("/admin/datasets/{name}", dataset_page, methods=get),
        Route("/admin/datasets/{name}/metadata", metadata_submit, methods=post),
        Route("/admin/datasets/{name}/delete", delete_submit, methods=post),
        Route("/admin/grants", grants_page, methods=get),
        Route("/admin/grants", grant_submit, methods=post),
    ]
