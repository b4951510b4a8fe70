"""Starting runs from the browser: upload a table, get advice, set parameters, launch; or
launch from an avatar_yaml file (the one the run page downloads, or Octopize's).

Every step is a call of the runs domain for the signed-in user: ``create_run``,
``upload_table`` (through ``uploads``), ``advise_parameters`` (rule-based on opening the
parameters, privacy-targeted on request: the same call as the AdviseParameters RPC with
``privacy_targets``), ``set_config``, ``import_yaml`` and ``start_jobs``; the domain validates
every parameter and target (``runs.config.validate``, ``engine_contract.privacy_targets``) and
plans the jobs, so the forms here only read values.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import Response

from veil_service.engine_contract.privacy_targets import PrivacyTargets
from veil_service.errors import InvalidArgumentError, Message, VeilServiceError
from veil_service.runs.config import (
    COLUMN_TYPES,
    DATA_RECIPIENTS,
    DATA_SUBJECTS,
    DATA_TYPES,
    IMPUTE_METHODS,
    LANGUAGES,
    SENSITIVITY_LEVELS,
    RunConfig,
)
from veil_service.runs.jobs import KINDS
from veil_service.runs.service import Advice
from veil_service.storage.db_calls import db_call
from veil_service.web.errors import http_status
from veil_service.web.forms import form_float, form_names, form_optional_int
from veil_service.web.page import Page, guarded
from veil_service.web.uploads import ENCODINGS, store_upload, table_name_of

JOB_CHOICES = tuple(kind for kind in KINDS if kind != "advice")
CHOICES = {
    "report_language": LANGUAGES,
    "imputation_method": IMPUTE_METHODS,
    "sensitivity_level": SENSITIVITY_LEVELS,
    "data_type": DATA_TYPES,
    "data_subject": DATA_SUBJECTS,
    "data_recipient": DATA_RECIPIENTS,
}


#: The privacy targets, in the order of the form; the risks are shown as percentages (as the run
#: page shows the measured risks) and sent as the fractions the domain takes.
TARGET_NAMES = tuple(f.name for f in fields(PrivacyTargets))
PERCENT_TARGETS = frozenset({"singling_out", "linkability", "inference", "unique_copies"})
#: The avatarization fields of the form besides the checkboxes, read as numbers.
KNOBS = ("max_weight", "local_noise")


def _target_defaults() -> dict[str, float]:
    """The targets as the form shows them (issue 21's defaults, risks in %)."""
    return {
        name: round(value * 100, 6) if name in PERCENT_TARGETS else value
        for name, value in PrivacyTargets().as_dict().items()
    }


def _uploads(page: Page, name: str) -> list[UploadFile]:
    return [f for f in page.form.getlist(name) if isinstance(f, UploadFile) and f.filename]


@guarded("RunsService/CreateRun")
def new_run_page(page: Page) -> Response:
    """The forms: a table to anonymize, or a YAML configuration with its tables."""
    return page.render("new_run.html", section="new", error="", values={}, encodings=ENCODINGS)


@guarded("RunsService/CreateRun")
async def new_run_submit(page: Page) -> Response:
    """Create a run, store its table, then go to its parameters (with advice)."""
    files = _uploads(page, "file")
    values = {
        "display_name": page.text("display_name"),
        "table_name": page.text("table_name"),
        "encoding": page.text("encoding"),
    }
    try:
        if not files:
            raise InvalidArgumentError(
                "file: choose a CSV or Parquet file.",
                field="file",
                code=Message.UPLOAD_NO_FILE,
                params={"field": "file"},
            )
        upload = files[0]
        table_name = values["table_name"] or table_name_of(upload.filename or "")
        config = RunConfig()
        config.table(table_name)
        run = await db_call(
            page.ctx.runs.create_run, page.user_id, values["display_name"] or table_name, config
        )
        try:
            await store_upload(
                page.ctx,
                page.user_id,
                run_id=run.record.id,
                table_name=table_name,
                upload=upload,
                encoding=values["encoding"],
            )
        except BaseException:
            # Nothing half-made stays.
            await db_call(page.ctx.runs.delete_run, page.user_id, run.record.id)
            raise
    except VeilServiceError as exc:
        return page.render(
            "new_run.html",
            status=http_status(exc),
            section="new",
            error=page.t.error(exc),
            values=values,
            encodings=ENCODINGS,
        )
    return page.redirect(f"/runs/{run.record.id}/setup")


def _field_values(
    configured: dict[str, Any], advised: Advice | None, *, prefer_advice: bool
) -> dict[str, Any]:
    """What the parameter fields of a table show: its parameters, else the advice's; after a
    privacy-targeted search, the advice's (the user asked for them)."""
    suggested = advised.parameters if advised else {}
    if prefer_advice:
        return {**configured, **suggested}
    return {**suggested, **configured}


def _render_setup(
    page: Page,
    run_id: str,
    *,
    advice: dict[str, Advice],
    error: str = "",
    status: int = 200,
    searched: str = "",
    target_values: dict[str, dict[str, Any]] | None = None,
) -> Response:
    run = page.ctx.runs.get_run(page.user_id, run_id)
    originals = [t for t in run.tables if t.role == "original"]
    values = {}
    for table in originals:
        configured = run.config.find(table.name)
        params = dict(configured.avatarization or {}) if configured else {}
        values[table.name] = _field_values(
            params, advice.get(table.name), prefer_advice=table.name == searched
        )
    return page.render(
        "setup.html",
        status=status,
        section="runs",
        run=run,
        config=run.config,
        originals=originals,
        advice=advice,
        values=values,
        searched=searched,
        target_names=TARGET_NAMES,
        percent_targets=PERCENT_TARGETS,
        target_values=target_values or {},
        target_defaults=_target_defaults(),
        choices=CHOICES,
        column_types=COLUMN_TYPES,
        job_choices=JOB_CHOICES,
        error=error,
    )


@guarded("RunsService/AdviseParameters")
async def setup_page(page: Page) -> Response:
    """Parameters of a run's tables, filled with the engine's advice where none are set yet."""
    run_id = page.request.path_params["run_id"]
    run = await db_call(page.ctx.runs.get_run, page.user_id, run_id)
    advice: dict[str, Advice] = {}
    for table in run.tables:
        configured = run.config.find(table.name)
        if table.role == "original" and (configured is None or configured.avatarization is None):
            try:
                advice[table.name] = await page.ctx.runs.advise_parameters(
                    page.user_id, run_id, table.name
                )
            except VeilServiceError as exc:
                advice[table.name] = Advice({}, [page.t.error(exc)], [])
    return await db_call(_render_setup, page, run_id, advice=advice)


def _table_parameters(page: Page, name: str) -> dict[str, Any]:
    prefix = f"{name}."
    avatarization: dict[str, Any] = {"k": form_optional_int(page.text(prefix + "k"), "k")}
    ncp = form_optional_int(page.text(prefix + "ncp"), "ncp")
    if ncp is not None:
        avatarization["ncp"] = ncp
    if page.text(prefix + "imputation_method"):
        avatarization["imputation_method"] = page.text(prefix + "imputation_method")
    if page.text(prefix + "use_categorical_reduction") == "on":
        avatarization["use_categorical_reduction"] = True
    for knob in KNOBS:
        if page.text(prefix + knob):
            avatarization[knob] = form_float(page.text(prefix + knob), knob)
    avatarization["redraw_unique_copies"] = page.text(prefix + "redraw_unique_copies") == "on"
    if page.text(prefix + "coupled_noise") == "on":
        avatarization["coupled_noise"] = True
    if page.text(prefix + "target_column"):
        avatarization["target_column"] = page.text(prefix + "target_column")
    if page.text(prefix + "exclude_variable_names"):
        avatarization["exclude_variable_names"] = form_names(
            page.text(prefix + "exclude_variable_names")
        )
        avatarization["exclude_variables_method"] = "row_order"
    return avatarization


def config_from_form(page: Page, config: RunConfig, table_names: list[str]) -> RunConfig:
    """The run's configuration with the form's values (the domain validates them)."""
    config.seed = form_optional_int(page.text("seed"), "seed")
    config.report_language = page.text("report_language") or config.report_language
    for key in ("sensitivity_level", "data_type", "data_subject", "data_recipient"):
        if page.text(key):
            setattr(config.pia, key, page.text(key))
    for name in table_names:
        table = config.table(name)
        table.avatarization = _table_parameters(page, name)
        if table.avatarization.get("k") is None:
            raise InvalidArgumentError(
                f"{name}: give k (the number of neighbours).",
                field="k",
                code=Message.FORM_NO_K,
                params={"table": name},
            )
        known = form_names(page.text(f"{name}.known_variables"))
        target = page.text(f"{name}.target")
        table.privacy_metrics = {
            k: v for k, v in table.privacy_metrics.items() if k not in ("known_variables", "target")
        }
        if known:
            table.privacy_metrics["known_variables"] = known
        if target:
            table.privacy_metrics["target"] = target
            table.signal_metrics["target"] = target
        else:
            table.signal_metrics.pop("target", None)
    return config


def _privacy_targets(page: Page, table: str) -> dict[str, float]:
    """The targets the form sets (empty fields take the defaults), as the domain takes them."""
    targets = {}
    for name in TARGET_NAMES:
        text = page.text(f"{table}.target.{name}")
        if text:
            value = form_float(text, f"privacy_targets.{name}")
            targets[name] = value / 100 if name in PERCENT_TARGETS else value
    return targets


@guarded("RunsService/AdviseParameters")
async def advise_submit(page: Page) -> Response:
    """Search, on a sample, the most useful parameters meeting the privacy targets the form
    sets, and show the parameters again filled with them, the curve and every trial."""
    run_id = page.request.path_params["run_id"]
    table = page.text("table")
    typed = {name: page.text(f"{table}.target.{name}") for name in TARGET_NAMES}
    typed["utility_target"] = page.text(f"{table}.utility_target")
    try:
        advice = await page.ctx.runs.advise_parameters(
            page.user_id,
            run_id,
            table,
            privacy_targets=_privacy_targets(page, table),
            target=typed["utility_target"] or None,
        )
    except VeilServiceError as exc:
        if exc.code_name == "NOT_FOUND":
            raise
        message = page.t.error(exc)
        name = (exc.field or "").removeprefix("privacy_targets.")
        if name in PERCENT_TARGETS:
            message += " " + page.t("targets.percent_hint")
        return await db_call(
            _render_setup,
            page,
            run_id,
            advice={},
            error=message,
            status=http_status(exc),
            target_values={table: typed},
        )
    return await db_call(
        _render_setup,
        page,
        run_id,
        advice={table: advice},
        searched=table,
        target_values={table: typed},
    )


@guarded("RunsService/SetConfig")
async def types_submit(page: Page) -> Response:
    """Declare one table's column types (avatar_yaml's ``type``), then show the parameters
    again with advice that counts them.

    A code read as a number (a sex 1/2, a stage 1-4, an ICD chapter) is avatarized, measured
    and drawn as a quantity unless it is declared ``category``; the YAML and the client could
    declare it, the browser could not. Types come before the parameters: the advice (k, ncp,
    the categorical reduction) and the privacy-targeted search read them, so a table without
    saved parameters is advised again with them; saved parameters (a YAML's, an earlier
    version's) are kept, never replaced silently.
    """
    run_id = page.request.path_params["run_id"]
    name = page.text("table")
    run = await db_call(page.ctx.runs.get_run, page.user_id, run_id)
    stored = next((t for t in run.tables if t.role == "original" and t.name == name), None)
    if stored is None:
        return await db_call(
            _render_setup,
            page,
            run_id,
            advice={},
            error=f"table: the run has no table {name!r}.",
            status=400,
        )
    config = run.config
    table = config.table(name)
    table.column_types = {
        column.name: page.text(f"{name}.type.{column.name}")
        for column in stored.columns
        if page.text(f"{name}.type.{column.name}")
    }
    try:
        await db_call(page.ctx.runs.set_config, page.user_id, run_id, config)
    except VeilServiceError as exc:
        if exc.code_name == "NOT_FOUND":
            raise
        return await db_call(
            _render_setup, page, run_id, advice={}, error=page.t.error(exc), status=http_status(exc)
        )
    return page.redirect(f"/runs/{run_id}/setup#types-{quote(name)}")


@guarded("RunsService/StartJobs")
async def start_submit(page: Page) -> Response:
    """Save the parameters and start the chosen jobs (a new version if the run already ran)."""
    run_id = page.request.path_params["run_id"]
    run = await db_call(page.ctx.runs.get_run, page.user_id, run_id)
    names = sorted({t.name for t in run.tables if t.role == "original"})
    kinds = [kind for kind in JOB_CHOICES if page.text(f"job.{kind}") == "on"]
    try:
        config = config_from_form(page, run.config, names)
        await db_call(page.ctx.runs.set_config, page.user_id, run_id, config)
        started = await page.ctx.runs.start_jobs(page.user_id, run_id, kinds, reuse_run=False)
    except VeilServiceError as exc:
        return await db_call(
            _render_setup, page, run_id, advice={}, error=page.t.error(exc), status=http_status(exc)
        )
    return page.redirect(f"/runs/{started.run.id}#jobs")


@guarded("RunsService/ImportYaml")
async def yaml_submit(page: Page) -> Response:
    """Create a run from an avatar_yaml file and its tables' files, and start every job."""
    yaml_files = _uploads(page, "yaml")
    data_files = _uploads(page, "data")
    values = {
        "yaml_display_name": page.text("yaml_display_name"),
        "yaml_encoding": page.text("yaml_encoding"),
    }
    run_id = ""
    try:
        if not yaml_files:
            raise InvalidArgumentError(
                "yaml: choose the YAML configuration file.", field="yaml", code=Message.YAML_NO_FILE
            )
        raw = await yaml_files[0].read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError(
                "yaml: the file is not UTF-8 text.", field="yaml", code=Message.YAML_NOT_UTF8
            ) from None
        name = values["yaml_display_name"] or table_name_of(yaml_files[0].filename or "run")
        run = await db_call(page.ctx.runs.create_run, page.user_id, name, RunConfig())
        run_id = run.record.id
        config, warnings = await page.ctx.runs.import_yaml(page.user_id, run_id, text)
        tables = [t.name for t in config.tables]
        by_name = {table_name_of(f.filename or ""): f for f in data_files}
        for table in tables:
            upload = by_name.get(table) or (
                data_files[0] if len(tables) == len(data_files) == 1 else None
            )
            if upload is None:
                raise InvalidArgumentError(
                    f"data: the YAML names table {table!r}; upload {table}.csv (or .parquet) "
                    "with it.",
                    field="data",
                    code=Message.YAML_TABLE_MISSING,
                    params={"table": table},
                )
            await store_upload(
                page.ctx,
                page.user_id,
                run_id=run_id,
                table_name=table,
                upload=upload,
                field="data",
                encoding=values["yaml_encoding"],
            )
        started = await page.ctx.runs.start_jobs(
            page.user_id, run_id, list(JOB_CHOICES), reuse_run=False
        )
    except VeilServiceError as exc:
        if run_id:
            await db_call(page.ctx.runs.delete_run, page.user_id, run_id)
        return page.render(
            "new_run.html",
            status=http_status(exc),
            section="new",
            error=page.t.error(exc),
            values=values,
            encodings=ENCODINGS,
        )
    message = " ".join(warnings)
    suffix = f"?message={quote(message[:500])}" if message else ""
    return page.redirect(f"/runs/{started.run.id}{suffix}#jobs")
