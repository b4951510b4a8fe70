"""``Runner``: one avatarization run, with the Octopize client's methods.

The runner keeps the run's configuration locally, uploads tables as they are added (streamed),
pushes the configuration to the server (which validates it), starts jobs, waits for them with a
progress bar, and downloads results.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import warnings
import webbrowser
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from veil_client import avatar_features as features
from veil_client import column_types, links, parameters
from veil_client.api import run_config_proto
from veil_client.api.runs import LinkedKSearch, PrivacySearch, ResultInfo, RunsApi
from veil_client.column_types import infer_types
from veil_client.config import (
    AlignmentMethod,
    DataRecipient,
    DataSubject,
    DataType,
    LinkMethod,
    ProjectionType,
    ReportLanguage,
    ReportType,
    SensitivityLevel,
    UnalignmentStrategy,
)
from veil_client.constants import PlotKind, Results
from veil_client.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unimplemented,
    VeilError,
)
from veil_client.models import JobKind, JobResponse, JobStatus, PrivacyLoss, TablesLinksAdvice
from veil_client.progress import JobProgress, in_notebook
from veil_client.results import STORED_KINDS, ResultsOrganizer
from veil_client.run_config import RunnerConfig, TableState
from veil_client.summaries import summary_frame
from veil_client.tables import check_encoding, to_dataframe


class RunsApiHolder(Protocol):
    """What a Runner needs of its Manager: the runs API (so this module imports no manager)."""

    @property
    def runs_api(self) -> RunsApi:
        """The RunsService client of the Manager's transport."""


DEFAULT_JOBS = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics, JobKind.report]
_DATABASE_JOBS = frozenset(
    {JobKind.extract, JobKind.schema_discovery, JobKind.reference, JobKind.regenerate}
)
_RESULT_JOB = {
    Results.SHUFFLED: JobKind.standard,
    Results.UNSHUFFLED: JobKind.standard,
    Results.PROJECTIONS_ORIGINAL: JobKind.standard,
    Results.PROJECTIONS_AVATARS: JobKind.standard,
    Results.PRIVACY_METRICS: JobKind.privacy_metrics,
    Results.SIGNAL_METRICS: JobKind.signal_metrics,
    Results.REPORT: JobKind.report,
}
_PIA_REPORT_JOB = "report_pia"
"""Octopize's job (parameters) name of the PIA report, made by Veil's report job."""
_ON_REQUEST_ONLY = frozenset({"pseudonym_mappings", "lineage"})
"""SENSITIVE result kinds that get_all_results leaves on the server."""


class Runner:
    """One run: tables, parameters, jobs, results (see the Octopize ``Runner``)."""

    def __init__(
        self,
        manager: RunsApiHolder,
        display_name: str,
        *,
        seed: int | None = None,
        max_distribution_plots: int | None = None,
        compute_figures: bool | None = None,
        pia_data_recipient: DataRecipient = DataRecipient.UNKNOWN,
        pia_data_type: DataType = DataType.UNKNOWN,
        pia_data_subject: DataSubject = DataSubject.UNKNOWN,
        pia_sensitivity_level: SensitivityLevel = SensitivityLevel.UNDEFINED,
        report_language: ReportLanguage = ReportLanguage.EN,
        output_format: str | None = None,
    ) -> None:
        if output_format is not None and output_format not in ("csv", "parquet"):
            raise InvalidArgument(
                f"output_format must be 'csv' or 'parquet'; got {output_format!r}.",
                field="output_format",
            )
        self.manager = manager
        self.api: RunsApi = manager.runs_api
        self.display_name = display_name
        self._run_id: str | None = None
        self.set_name = None
        self.report_language = ReportLanguage(report_language)
        self.config = RunnerConfig(
            seed=seed,
            report_language=self.report_language.value,
            pia={
                "sensitivity_level": SensitivityLevel(pia_sensitivity_level).value,
                "data_type": DataType(pia_data_type).value,
                "data_subject": DataSubject(pia_data_subject).value,
                "data_recipient": DataRecipient(pia_data_recipient).value,
            },
            compute_figures=True if compute_figures is None else compute_figures,
            max_distribution_plots=max_distribution_plots,
        )
        self.jobs: dict[JobKind, str] = {}
        self.output_format = output_format
        self._cache: dict[str, Any] = {}
        self._privacy_searches: dict[str, PrivacySearch] = {}
        self._linked_k_searches: dict[str, LinkedKSearch] = {}
        self._warned: set[str] = set()
        self._deleted: dict[JobKind, str] = {}
        self._pushed: tuple[str, bytes] | None = None

    # -- server state -------------------------------------------------------------------------

    @property
    def set_name(self) -> str | None:
        """The id of the run this runner's jobs and results belong to (Octopize's
        ``set_name``), or of its first run until ``run()``; None before the server has one."""
        return self._set_name

    @set_name.setter
    def set_name(self, value: str | None) -> None:
        self._set_name = value
        self._run_id = value

    def _ensure_run(self) -> str:
        """The run holding the runner's current configuration and tables (created the first
        time), which is ``set_name``'s unless a change was made since the last run()."""
        if self._run_id is None:
            self.set_name = self.api.create_run(self.display_name).id
        assert self._run_id is not None
        return self._run_id

    def _writable_run(self) -> str:
        """The run to change: a copy without jobs (once, under the runner's name) when the
        current one has the runner's jobs.

        Jobs read their run's configuration and tables when they start, and metrics jobs start
        after the avatarization: a change made after run() must not reach them, nor rewrite
        the configuration the run's results were made with. Octopize keeps such changes local
        until the next run(), which makes a new resource set; here the copy is that set,
        made early so the server still checks each change when it is made. ``set_name``
        stays the jobs' run until the next run().
        """
        run_id = self._ensure_run()
        if self.jobs and run_id == self._set_name:
            run_id = self.api.copy_run(run_id, self.display_name).id
            self._run_id = run_id
        return run_id

    def _config_state(self) -> bytes | None:
        """The configuration as it would be sent (None if it cannot be: set_config says why)."""
        try:
            return run_config_proto.to_proto(self.config).SerializeToString(deterministic=True)
        except (TypeError, ValueError):
            return None

    def _mark_pushed(self) -> None:
        """The server's run holds this configuration (it was read from it or just imported)."""
        state = self._config_state()
        self._pushed = (self._run_id, state) if self._run_id and state else None

    def _push_config(self) -> None:
        """Send the configuration unless the run already holds it: a get_yaml() or a rerun
        without changes must not copy a run that has jobs into a version nobody changed."""
        state = self._config_state()
        if state is not None and self._run_id is not None and self._pushed == (self._run_id, state):
            return
        self.api.set_config(self._writable_run(), self.config)
        self._mark_pushed()

    def _require_table(self, table_name: str) -> TableState:
        if table_name not in self.config.tables:
            raise ValueError(
                f"unknown table {table_name!r}; added tables: "
                f"{sorted(self.config.tables)}. Call add_table first."
            )
        return self.config.tables[table_name]

    # -- data ---------------------------------------------------------------------------------

    def add_table(
        self,
        table_name: str,
        data: str | Path | pd.DataFrame,
        *,
        primary_key: str | None = None,
        foreign_keys: list[str] | None = None,
        time_series_time: str | None = None,
        types: dict[str, Any] | None = None,
        columns_to_drop: list[str] | None = None,
        individual_level: bool | None = None,
        avatar_data: str | Path | pd.DataFrame | None = None,
        encoding: str | None = None,
    ) -> None:
        """Upload a table (CSV or Parquet path, or a DataFrame; streamed) and declare it.

        Args:
            primary_key: The column identifying each row (a parent's key in links).
            foreign_keys: Columns holding a parent's key, one per parent (link them with
                ``add_link``). Keys are never avatarized as data: avatar tables get new keys.
            time_series_time: The time column of a time-series table (link it to its
                individual-level table with ``LinkMethod.TIME_SERIES``).
            individual_level: Each row is a distinct person; by default a table without a
                parent is, a child table is not.
            encoding: The text encoding of a CSV ``data`` or ``avatar_data`` file, as Python
                names it: ``"latin-1"`` or ``"cp1252"`` for a spreadsheet's Latin-1 or Windows
                export. pyarrow transcodes the file to UTF-8 block by block while it streams,
                so a file of any size is read without first re-saving it or loading it into
                pandas. None (the default) reads UTF-8 (with or without a BOM). Parquet files
                and DataFrames hold decoded text already and ignore it.

        Raises:
            InvalidArgument: a type that is not a column type (naming the column, the value
                and the allowed types), a type or a column to drop naming a column the table
                lacks, an unreadable source (a CSV not in ``encoding``, UTF-8 by default), an
                unknown ``encoding``, a key column (``primary_key``, ``foreign_keys``,
                ``time_series_time``) the uploaded table lacks, or the server refusing the
                declaration. Nothing stays uploaded and the runner is as it was: fix the call
                and retry.
        """
        keys = links.check_keys(primary_key, foreign_keys, time_series_time)
        if table_name in self.config.tables:
            raise ValueError(
                f"a table named {table_name!r} was already added; use another name "
                "or delete_table first."
            )
        # Everything the client can check is checked before the upload, and anything failing
        # after it is undone: a refused add_table leaves the runner as it was, so a retry works.
        drop = column_types.column_names("columns_to_drop", columns_to_drop)
        explicit = column_types.declared_types(types)
        check_encoding(encoding)
        declared, stored = self._upload(table_name, data, avatar_data, explicit, drop, encoding)
        try:
            links.check_key_columns(table_name, stored, primary_key, keys, time_series_time)
        except InvalidArgument:
            self._discard_upload(table_name, with_avatars=avatar_data is not None)
            raise
        self.config.tables[table_name] = TableState(
            table_name,
            declared,
            primary_key or "",
            has_avatar_data=avatar_data is not None,
            individual_level=individual_level,
            foreign_keys=keys,
            time_series_time=time_series_time or "",
        )
        try:
            self._push_config()
        except Exception:
            del self.config.tables[table_name]
            self._discard_upload(table_name, with_avatars=avatar_data is not None)
            raise

    def upload_file(
        self,
        table_name: str,
        data: str | Path | pd.DataFrame,
        avatar_data: str | Path | pd.DataFrame | None = None,
        *,
        types: dict[str, Any] | None = None,
        columns_to_drop: list[str] | None = None,
        encoding: str | None = None,
    ) -> tuple[str, str | None]:
        """Upload (or re-upload) a table's data and optional avatar data (streamed, without
        ``columns_to_drop``).

        Args:
            encoding: The text encoding of a CSV file (``"latin-1"``, ``"cp1252"``...), as in
                :meth:`add_table`; None reads UTF-8.

        Raises:
            InvalidArgument: a bad column type or column list, a type or a column to drop
                naming a column the table lacks, an unreadable source (a CSV not in
                ``encoding``), an unknown ``encoding`` (nothing is uploaded).
        """
        drop = column_types.column_names("columns_to_drop", columns_to_drop)
        explicit = column_types.declared_types(types)
        check_encoding(encoding)
        state = self.config.tables.get(table_name)
        declared, columns = self._upload(
            table_name,
            data,
            avatar_data,
            explicit,
            drop,
            encoding,
            previous=dict(state.types) if state is not None else None,
        )
        if state is not None:
            self._retype(state, declared, explicit, columns)
        return table_name, f"{table_name}_avatars" if avatar_data is not None else None

    def _retype(
        self,
        state: TableState,
        declared: dict[str, str],
        explicit: dict[str, str],
        columns: list[str],
    ) -> None:
        """The table's types after a re-upload: those it had for the columns it still has
        (declared in add_table or the YAML: a DataFrame's inference must not undo a category
        declared on its integer codes), the new data's inferred types for new columns, and this
        upload's explicit types over both. A type kept for a column the new data lacks failed
        the job ("types names column 'score', which the table does not have")."""
        previous = dict(state.types)
        present = set(columns)
        kept = {c: t for c, t in previous.items() if c in present}
        dropped = [c for c in previous if c not in present]
        if dropped:
            # Said, not silent: a YAML's misspelt column (varietyX for variety) would otherwise
            # leave the real column with an inferred type and nobody told.
            warnings.warn(
                f"table {state.name!r}: the uploaded data has no column(s) {dropped}; their "
                f"declared types were dropped (its columns: {', '.join(columns[:20])}).",
                UserWarning,
                stacklevel=3,
            )
        fresh = {c: t for c, t in declared.items() if c not in kept}
        state.types = {**kept, **fresh, **explicit}
        if state.types == previous:
            return
        try:
            self._push_config()
        except Exception:
            state.types = previous
            raise

    def _upload(
        self,
        table_name: str,
        data: str | Path | pd.DataFrame,
        avatar_data: str | Path | pd.DataFrame | None,
        explicit: dict[str, str],
        drop: list[str],
        encoding: str | None = None,
        *,
        previous: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], list[str]]:
        """Upload a table (and its avatar data), returning the types to declare (those
        inferred from a DataFrame, overridden by the ``explicit`` ones) and the columns the
        server stored.

        Args:
            previous: The types the table was declared with (a re-upload, a table declared by
                YAML): its ``category`` columns are read as text from a CSV, under
                ``explicit``.
        """
        run_id = self._writable_run()
        stored = self.api.upload_table(
            run_id,
            table_name,
            data,
            role="original",
            replace=True,
            types=explicit,
            columns_to_drop=drop,
            encoding=encoding,
            declared_types=previous,
        )
        if avatar_data is not None:
            try:
                self.api.upload_table(
                    run_id,
                    table_name,
                    avatar_data,
                    role="avatar",
                    replace=True,
                    types=explicit,
                    columns_to_drop=drop,
                    encoding=encoding,
                    declared_types=previous,
                )
            except Exception:
                self._discard_upload(table_name, with_avatars=False)
                raise
        inferred = (
            infer_types(data.drop(columns=[c for c in drop if c in data.columns]))
            if isinstance(data, pd.DataFrame)
            else {}
        )
        return {**inferred, **explicit}, [name for name, _ in stored.columns]

    def _discard_upload(self, table_name: str, *, with_avatars: bool) -> None:
        """Delete what a failed ``add_table`` uploaded. Best effort: the error that made it
        fail is the one the caller needs, and a leftover is replaced by the next upload."""
        for role in ("original", "avatar") if with_avatars else ("original",):
            with contextlib.suppress(VeilError):
                self.api.delete_table(self._ensure_run(), table_name, role)

    def add_link(
        self,
        parent_table_name: str,
        parent_field: str,
        child_table_name: str,
        child_field: str,
        method: LinkMethod | str = LinkMethod.LINEAR_SUM_ASSIGNMENT,
    ) -> None:
        """Link a child table to its parent: each child row belongs to the parent row whose
        primary key ``parent_field`` its foreign key ``child_field`` holds.

        ``method`` says how avatar children are given avatar parents: LINEAR_SUM_ASSIGNMENT
        (the default), MINIMUM_DISTANCE_ASSIGNMENT, SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT (keeps
        the original structure: a privacy breach the reports flag), or TIME_SERIES for a
        time-series child.

        Raises:
            InvalidArgument: avatar_yaml's rules, checked by the server (the parent field is
                not the parent's primary key, the child field not a foreign key, a cycle...).
        """
        link = links.new_link(
            self.config, parent_table_name, parent_field, child_table_name, child_field, method
        )
        self.config.links.append(link)
        try:
            self._push_config()
        except VeilError:
            self.config.links.remove(link)
            raise

    def delete_link(self, parent_table_name: str, child_table_name: str) -> None:
        """Remove the (first) link from a parent table to a child table."""
        removed = links.remove_link(self.config, parent_table_name, child_table_name)
        try:
            self._push_config()
        except VeilError:
            self.config.links.append(removed)
            raise

    def advise_links(self, *, apply: bool = True) -> TablesLinksAdvice:
        """Ask the server which tables link to which, from their declared keys and values.

        Args:
            apply: Add every proposed link (``add_link``).

        Returns:
            The proposed links with their confidence, and the foreign keys left unlinked with
            their candidate tables.

        Warns:
            UserWarning: for each proposed link with child rows it cannot attach (an empty key,
                or a value the parent lacks): ``run()`` refuses those rows, so the user learns
                which to remove now rather than at the run.
        """
        if len(self.config.tables) < 2:
            raise ValueError(
                f"advise_links needs at least two tables; added: {sorted(self.config.tables)}."
            )
        self._push_config()
        advice = self.api.advise_links(self._ensure_run())
        for link in advice.links:
            if link.rows_without_parent:
                warnings.warn(
                    f"link {link.parent_table}.{link.parent_field} -> {link.child_table}."
                    f"{link.child_field}: {link.rows_without_parent} of {link.child_rows} "
                    f"{link.child_table!r} rows have no row in {link.parent_table!r} (empty, or "
                    "a key it does not hold); run() refuses them: remove those rows or add "
                    "their parents.",
                    UserWarning,
                    stacklevel=2,
                )
        if apply:
            for link in advice.links:
                self.add_link(
                    link.parent_table,
                    link.parent_field,
                    link.child_table,
                    link.child_field,
                    link.method,
                )
        return advice

    def add_annotations(self, annotations: dict[str, str]) -> None:
        """Label the run: merged into its annotations, kept with it and in its YAML."""
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise InvalidArgument(
                f"annotations must be a dict of strings; got {annotations!r}.",
                field="annotations",
            )
        previous = dict(self.config.annotations)
        self.config.annotations.update(annotations)
        try:
            self._push_config()
        except VeilError:
            self.config.annotations = previous
            raise

    def delete_table(self, table_name: str) -> None:
        """Remove a table, its avatar data, its parameters and its links."""
        self._require_table(table_name)
        del self.config.tables[table_name]
        self.config.links = [
            link
            for link in self.config.links
            if table_name not in (link.parent_table, link.child_table)
        ]
        if self._run_id is not None:
            self.api.delete_table(self._writable_run(), table_name)
            self._push_config()

    # -- parameters ---------------------------------------------------------------------------

    def set_parameters(
        self,
        table_name: str,
        # Octopize's parameters, in the order of its signature, so positional calls
        # (set_parameters("iris", 5)) mean the same thing; Veil's own ones are keyword-only.
        k: int | None = None,
        ncp: int | None = None,
        use_categorical_reduction: bool | None = None,
        column_weights: dict[str, float] | None = None,
        exclude_variable_names: list[str] | None = None,
        exclude_replacement_strategy: Any = None,
        exclude_variable_method: Any = None,
        imputation_method: Any = None,
        imputation_k: int | None = None,
        imputation_training_fraction: float | None = None,
        imputation_return_data_imputed: bool | None = None,
        open_dp_epsilon: float | None = None,
        fast_dp_epsilon: float | None = None,
        time_series_nf: int | None = None,
        time_series_projection_type: ProjectionType | str | None = None,
        time_series_nb_points: int | None = None,
        time_series_method: AlignmentMethod | str | None = None,
        known_variables: list[str] | None = None,
        target: str | None = None,
        quantile_threshold: int | None = None,
        data_augmentation_strategy: Any = None,
        data_augmentation_target_column: str | None = None,
        data_augmentation_should_anonymize_original_table: bool | None = None,
        processors: list[Any] | None = None,
        pseudonymized_columns: dict[str, Any] | None = None,
        use_excluded_variables_in_metrics: bool = False,
        *,
        max_rows_per_batch: int | None = None,
        max_weight: float | None = None,
        local_noise: float | None = None,
        redraw_unique_copies: bool | None = None,
        coupled_noise: bool | None = None,
        target_column: str | None = None,
        time_series_unalignment: UnalignmentStrategy | str | None = None,
        preprocess_budget_ratio: float | None = None,
        mechanism: str | None = None,
        gmm_n_components: int | None = None,
        histogram_n_bins: int | None = None,
        bounds_percentile: float | None = None,
        **other: Any,
    ) -> None:
        """Replace every parameter of a table (Octopize's names; see docs/porting_octopize.md).

        Args:
            k: Neighbours an avatar is drawn from; setting it avatarizes the table.
            ncp: Projection dimensions of the neighbour search (capped, with a warning, at the
                projection's dimensions).
            use_categorical_reduction: Embed many-modality categoricals (avatarization and the
                metrics' projection).
            exclude_variable_names: Columns kept out of the avatarization and put back with
                ``exclude_variable_method``; also kept out of the metrics' projection unless
                ``use_excluded_variables_in_metrics``.
            imputation_return_data_imputed: Give the avatars the imputed values instead of the
                original's missing values.
            known_variables, target, quantile_threshold: Privacy metrics' attacker model.
            max_weight, local_noise, redraw_unique_copies, coupled_noise: Veil's privacy knobs
                (docs/avatarization.md): ``max_weight`` bounds the share of an avatar one
                neighbour may carry (1: Octopize's unbounded weights), ``local_noise`` gives back
                as noise the spread that mixing neighbours removes (0: none),
                ``redraw_unique_copies`` draws again every avatar equal to a row occurring once,
                and ``coupled_noise`` draws that noise from one random combination of the
                neighbourhood's deviations, keeping their correlations (off by default; needs
                ``local_noise`` above 0). Unset, each takes the server's default.
            target_column: The column analysts will model (a label, an outcome). Its values
                are decoded without the local noise: a categorical takes its neighbours'
                weighted majority, a number their weighted mean, so a model trained on the
                avatars learns each neighbourhood's typical value instead of a random draw of
                it; every other column keeps the noise. The utility metrics and the
                privacy-targeted advice use it as their ``target`` when none is given. The cost
                is that column's inference risk (docs/avatarization.md, "A named target
                column"); the report says so.
            time_series_projection_type, time_series_nf: For a time-series table (one linked
                with ``LinkMethod.TIME_SERIES``), how each series becomes numbers (FPCA or
                FLATTEN) and how many are kept per variable.
            time_series_method, time_series_nb_points: The common grid series are compared on
                (SPECIFIED, MAX, MIN, MEAN).
            time_series_unalignment: How avatar series get their readings back (UNIFORM, SKIP;
                avatar_yaml's ``unalignment``).

            open_dp_epsilon, preprocess_budget_ratio: End-to-end differentially private
                generation instead of the avatar method (docs/avatarization.md).
            fast_dp_epsilon, mechanism, gmm_n_components, histogram_n_bins, bounds_percentile:
                Fast DP generation (NOT end-to-end DP: bounds come from percentiles of the data).
            data_augmentation_strategy, data_augmentation_target_column,
                data_augmentation_should_anonymize_original_table: More rows than the original
                (a multiplier, ``minority``, ``not_majority`` or shares per modality).
            processors: Server-side processors, applied in list order.
            pseudonymized_columns: Column -> pseudonymization strategy.

        Raises:
            InvalidArgument: an unknown parameter (with the closest known name) or a wrong type.
            NotImplementedError: a parameter of a feature Veil does not offer yet.
        """
        state = self._require_table(table_name)
        parameters.check_names(other)
        time_series = links.time_series_settings(
            {
                "time_series_nf": time_series_nf,
                "time_series_projection_type": time_series_projection_type,
                "time_series_nb_points": time_series_nb_points,
                "time_series_method": time_series_method,
                "time_series_unalignment": time_series_unalignment,
            }
        )
        given = {
            "k": k,
            "ncp": ncp,
            "use_categorical_reduction": use_categorical_reduction,
            "column_weights": column_weights,
            "exclude_variable_names": exclude_variable_names,
            "exclude_variable_method": exclude_variable_method,
            "exclude_replacement_strategy": exclude_replacement_strategy,
            "imputation_method": imputation_method,
            "imputation_k": imputation_k,
            "imputation_training_fraction": imputation_training_fraction,
            "imputation_return_data_imputed": imputation_return_data_imputed,
            "known_variables": known_variables,
            "target": target,
            "quantile_threshold": quantile_threshold,
            "max_rows_per_batch": max_rows_per_batch,
            "max_weight": max_weight,
            "local_noise": local_noise,
            "redraw_unique_copies": redraw_unique_copies,
            "coupled_noise": coupled_noise,
            "target_column": target_column,
            "use_excluded_variables_in_metrics": use_excluded_variables_in_metrics,
        }
        values = parameters.normalized(given)
        feature_values = features.normalized(
            {
                "open_dp_epsilon": open_dp_epsilon,
                "fast_dp_epsilon": fast_dp_epsilon,
                "preprocess_budget_ratio": preprocess_budget_ratio,
                "mechanism": mechanism,
                "gmm_n_components": gmm_n_components,
                "histogram_n_bins": histogram_n_bins,
                "bounds_percentile": bounds_percentile,
                "data_augmentation_strategy": data_augmentation_strategy,
                "data_augmentation_target_column": data_augmentation_target_column,
                "data_augmentation_should_anonymize_original_table": (
                    data_augmentation_should_anonymize_original_table
                ),
                "processors": processors,
                "pseudonymized_columns": pseudonymized_columns,
            }
        )
        features.generator_key(values.get("k"), feature_values)
        previous = (
            state.avatarization,
            state.privacy_metrics,
            state.signal_metrics,
            state.time_series,
            state.pseudonymized_columns,
        )
        parameters.apply(state, values)
        state.avatarization = features.apply(state, feature_values, state.avatarization)
        state.time_series = time_series
        try:
            self._push_config()
        except (VeilError, TypeError, ValueError):
            (
                state.avatarization,
                state.privacy_metrics,
                state.signal_metrics,
                state.time_series,
                state.pseudonymized_columns,
            ) = previous
            raise

    def update_parameters(self, table_name: str, **kwargs: Any) -> None:
        """Change some parameters, keeping the others."""
        state = self._require_table(table_name)
        if (
            state.avatarization is None
            and not state.privacy_metrics
            and not state.time_series
            and not state.pseudonymized_columns
        ):
            raise ValueError(f"table {table_name!r} has no parameters yet; use set_parameters.")
        parameters.check_names(kwargs)
        stored_names = {v: k for k, v in links.TIME_SERIES_PARAMETERS.items()}
        current = parameters.current(state)
        current.update(features.current(state))
        current.update({stored_names[k]: v for k, v in (state.time_series or {}).items()})
        self.set_parameters(table_name, **{**current, **kwargs})

    def delete_parameters(self, table_name: str, parameters_names: list[str] | None = None) -> None:
        """Drop all parameters of a table, or only the named ones."""
        state = self._require_table(table_name)
        if parameters_names is None:
            state.avatarization, state.privacy_metrics, state.signal_metrics = None, {}, {}
            state.time_series = None
        else:
            for name in parameters_names:
                stored = links.TIME_SERIES_PARAMETERS.get(name)
                if stored is not None and state.time_series:
                    state.time_series.pop(stored, None)
            for block in (state.avatarization or {}, state.privacy_metrics, state.signal_metrics):
                for name in parameters_names:
                    block.pop(
                        "exclude_variables_method" if name == "exclude_variable_method" else name,
                        None,
                    )
        self._push_config()

    def advise_parameters(
        self,
        table_name: str | None = None,
        *,
        privacy_targets: dict[str, float] | None = None,
        target: str | None = None,
    ) -> None:
        """Ask the server for parameter advice and apply it (k, ncp, reduction).

        Beyond Octopize: with ``privacy_targets`` (``{}`` for issue 21's defaults; names
        ``hidden_rate``, ``local_cloaking``, ``singling_out``, ``linkability``, ``inference``,
        ``distance_ratio``, ``unique_copies`` and, with a ``target``, ``utility_loss``) the
        server tries k and the privacy knobs on a sample, attacks each result and applies the
        most useful parameters that meet every target; ``target`` is the column whose
        prediction measures utility (a model trained on avatars may lose at most
        ``utility_loss``, default 0.03, of the real rows' score). Privacy comes first: when the
        sets meeting every privacy target all lose more, the most useful of them is applied and
        the search says ``met`` false, binding ``utility_loss``. What it explored is in
        :meth:`privacy_search` (trials, binding target, the privacy-utility curve).

        On a linked run the server searches each table's ``k`` and ``coupled_noise`` over whole
        linked avatarizations instead: of the settings tried whose matched hidden rate (each
        original paired with an avatar by minimum total distance) reaches what a fresh sample
        of the population gets, or the ``hidden_rate`` stated in ``privacy_targets`` (the only
        target a linked run takes: the attack risks need a held-out part; other names and
        ``target`` are INVALID_ARGUMENT), the one whose avatars keep the table best. Tables are
        advised parents first, so a child's search runs with its parents' advised parameters;
        what each search tried is in :meth:`linked_k_search`.
        """
        series = links.time_series_tables(self.config)
        names = (
            [table_name]
            if table_name
            else [n for n in links.parents_first(self.config) if n not in series]
        )
        for name in names:
            self._require_table(name)
            advice = self.api.advise_parameters(
                self._ensure_run(), name, privacy_targets=privacy_targets, target=target
            )
            p = advice.parameters
            # The named target column is the owner's statement, not a searched knob: it stays.
            named_target = (self._require_table(name).avatarization or {}).get("target_column")
            self.set_parameters(
                name,
                k=p.get("k"),
                ncp=p.get("ncp"),
                use_categorical_reduction=p.get("use_categorical_reduction"),
                imputation_method=p.get("imputation_method"),
                exclude_variable_names=p.get("exclude_variable_names"),
                exclude_variable_method=p.get("exclude_variables_method")
                if p.get("exclude_variable_names")
                else None,
                max_weight=p.get("max_weight"),
                local_noise=p.get("local_noise"),
                redraw_unique_copies=p.get("redraw_unique_copies"),
                coupled_noise=p.get("coupled_noise"),
                target_column=named_target,
            )
            self._cache[f"advice:{name}"] = {
                "notes": list(advice.notes),
                "flagged_columns": list(advice.flagged_columns),
            }
            if advice.privacy_search is not None:
                self._privacy_searches[name] = advice.privacy_search
            if advice.linked_k_search is not None:
                self._linked_k_searches[name] = advice.linked_k_search

    def linked_k_search(self, table_name: str) -> LinkedKSearch:
        """How :meth:`advise_parameters` chose a linked table's ``k`` (target, every ``k`` tried
        with its matched hidden rate per seed; ``to_frame()`` for a table).

        Raises:
            FailedPrecondition: the table's ``k`` was not advised on a linked run.
        """
        search = self._linked_k_searches.get(table_name)
        if search is None:
            raise FailedPrecondition(
                f"no linked k search for {table_name!r}: add_link(...) the run's tables, then "
                f"call advise_parameters({table_name!r})."
            )
        return search

    def set_advice_parameters(
        self,
        table_name: str,
        *,
        privacy_targets: dict[str, float] | None = None,
        target: str | None = None,
    ) -> None:
        """Parameters of the table's advice job (``run(jobs_to_run=[JobKind.advice])``).

        With ``privacy_targets`` (``{}`` for issue 21's targets) the job runs the
        privacy-targeted search of :meth:`advise_parameters`; its result (``advice``) holds the
        chosen parameters, every trial and the curve (``curve_svg``). None clears them.
        """
        state = self._require_table(table_name)
        if target is not None and not isinstance(target, str):
            raise InvalidArgument(f"target must be a column name; got {target!r}.", field="target")
        if privacy_targets is not None and not isinstance(privacy_targets, dict):
            raise InvalidArgument(
                "privacy_targets must be a dict of target name to number; "
                f"got {privacy_targets!r}.",
                field="privacy_targets",
            )
        previous = state.advice
        values = {"privacy_targets": privacy_targets, "target": target}
        state.advice = {k: v for k, v in values.items() if v is not None} or None
        try:
            self._push_config()
        except (VeilError, TypeError, ValueError, AttributeError) as exc:
            state.advice = previous
            if isinstance(exc, AttributeError):
                raise InvalidArgument(
                    f"privacy_targets has an unknown target name: {exc}.", field="privacy_targets"
                ) from None
            raise

    def privacy_search(self, table_name: str, curve_path: str | None = None) -> PrivacySearch:
        """What the last privacy-targeted :meth:`advise_parameters` of a table explored.

        Args:
            table_name: The table.
            curve_path: Where to write the privacy-utility curve (SVG), if wanted.

        Raises:
            FailedPrecondition: no privacy-targeted advice was asked for this table.
        """
        search = self._privacy_searches.get(table_name)
        if search is None:
            raise FailedPrecondition(
                f"no privacy-targeted advice for {table_name!r}: call "
                f"advise_parameters({table_name!r}, privacy_targets={{}}) first."
            )
        if curve_path:
            Path(curve_path).write_text(search.curve_svg)
        return search

    def table_summary(self, table_name: str) -> pd.DataFrame:
        """Per-column statistics of a table as the server stored it (computed by the engine)."""
        self._require_table(table_name)
        return self.api.describe_table(self._ensure_run(), table_name).to_frame()

    def print_parameters(self, table_name: str | None = None) -> None:
        """Print the parameters of one table or all."""
        for name in [table_name] if table_name else list(self.config.tables):
            state = self._require_table(name)
            print(f"--- {name} ---")
            print(f"avatarization: {state.avatarization}")
            print(f"privacy_metrics: {state.privacy_metrics}")
            print(f"signal_metrics: {state.signal_metrics}")
            if state.time_series is not None or name in links.time_series_tables(self.config):
                print(f"time_series: {state.time_series or {}}")

    # -- YAML ---------------------------------------------------------------------------------

    def get_yaml(self, path: str | None = None) -> str:
        """The run's configuration as avatar_yaml text (also written to ``path``)."""
        self._push_config()
        text = self.api.export_yaml(self._ensure_run())
        if path:
            Path(path).write_text(text)
        return text

    def from_yaml(self, yaml_path: str) -> None:
        """Load a configuration written by get_yaml or the web app (upload data separately)."""
        text = Path(yaml_path).read_text()
        imported = self.api.import_yaml(self._writable_run(), text, self.config)
        for note in imported.warnings:
            warnings.warn(note, UserWarning, stacklevel=2)
        self.config = imported.config
        self._mark_pushed()
        self.report_language = ReportLanguage(self.config.report_language)

    # -- jobs ---------------------------------------------------------------------------------

    def run(self, jobs_to_run: list[JobKind] | None = None, ignore_warnings: bool = False) -> None:
        """Start jobs (default: standard, signal and privacy metrics, report)."""
        kinds = [JobKind(k) for k in (jobs_to_run or DEFAULT_JOBS)]
        database_kinds = [k.value for k in kinds if k in _DATABASE_JOBS]
        if database_kinds:
            raise Unimplemented(
                f"jobs {database_kinds} belong to Octopize's database runs (tables extracted "
                "from a database connection), which Veil does not offer: add tables with "
                "add_table and run standard, privacy_metrics, signal_metrics and report.",
                code="UNIMPLEMENTED",
            )
        if self.jobs and not ignore_warnings:
            warnings.warn(
                f"This runner already has results for set_name '{self.set_name}'. To access "
                f"previous results later: manager.create_runner_from_id('{self.set_name}')",
                UserWarning,
                stacklevel=2,
            )
        self._push_config()
        # The runner's name, not the run's: a runner reloaded by create_runner_from_id is
        # named "<name>-v1" (Octopize's rule) and its rerun is listed under that name.
        started = self.api.start_jobs(self._ensure_run(), kinds, display_name=self.display_name)
        self.set_name = started.run_id
        self.jobs = {JobKind(job.kind): job.id for job in started.jobs}
        self._cache = {}

    def _job_id(self, job: JobKind | str) -> str:
        name = getattr(job, "value", job)
        # Octopize's report job makes the technical report and a "report_pia" job the PIA one;
        # Veil's report job makes both, so Octopize's name for the second is that job.
        kind = JobKind.report if name == _PIA_REPORT_JOB else JobKind(name)
        if kind not in self.jobs:
            raise ValueError(
                f"job {kind.value!r} was not launched; launched: "
                f"{[k.value for k in self.jobs]}. Call run() first."
            )
        return self.jobs[kind]

    def get_job(self, job_name: JobKind | str) -> JobResponse:
        """The job's current state."""
        return self.api.get_job(self._job_id(job_name))

    def get_status(
        self, job_kind: JobKind | str | None = None, *, job_name: JobKind | str | None = None
    ) -> JobStatus:
        """The status of a launched job (default: standard); ``job_name`` is Octopize's
        deprecated spelling of ``job_kind``."""
        if job_name is not None:
            warnings.warn(
                "get_status(job_name=...) is deprecated; use get_status(job_kind).",
                DeprecationWarning,
                stacklevel=2,
            )
            job_kind = job_kind or job_name
        status: JobStatus = self.get_job(job_kind or JobKind.standard)["status"]
        return status

    def statuses(self) -> dict[str, JobStatus]:
        """Statuses of every launched job, ``report_pia`` after them when a report was
        launched (Octopize launches a PIA report job with every report; Veil's report job makes
        both reports, so ``report_pia`` has its status)."""
        found = {kind.value: self.get_job(kind)["status"] for kind in self.jobs}
        if JobKind.report.value in found:
            found[_PIA_REPORT_JOB] = found[JobKind.report.value]
        return found

    def _wait(self, job: JobKind | str) -> JobResponse:
        job_id = self._job_id(job)
        bar = JobProgress(str(getattr(job, "value", job)))
        last: JobResponse | None = None
        try:
            for last in self.api.watch_jobs([job_id]):
                bar.update(last.progress, last.phase)
        finally:
            bar.close()
        return last if last is not None else self.get_job(job)

    def _finished(self, job: JobKind | str) -> JobResponse:
        state = self._wait(job)
        if state["status"] != JobStatus.finished:
            detail = state["exception"] or state["status"].value
            raise FailedPrecondition(
                f"job {state['kind'].value} did not finish ({state['status'].value}): {detail}",
                code="FAILED_PRECONDITION",
                reason="JOB_NOT_FINISHED",
            )
        if state.id not in self._warned:
            self._warned.add(state.id)
            for warning in state.warnings:
                warnings.warn(warning, UserWarning, stacklevel=3)
        return state

    def delete(self, job_names: JobKind | str | list[Any] | None = None) -> dict[str, Any]:
        """Delete the runner's jobs (all if None) and their results."""
        names = (
            job_names
            if isinstance(job_names, list)
            else ([job_names] if job_names else list(self.jobs))
        )
        kinds = [JobKind(getattr(n, "value", n)) for n in names]
        gone = [
            self._deleted[kind] for kind in kinds if kind not in self.jobs and kind in self._deleted
        ]
        ids = [
            self._job_id(kind) for kind in kinds if kind not in self._deleted or kind in self.jobs
        ]
        for job_id in ids:
            if not self.api.get_job(job_id).done:
                self.api.cancel_job(job_id)
        count = self.api.delete_jobs(ids) if ids else 0
        for kind in kinds:
            if kind in self.jobs:
                self._deleted[kind] = self.jobs.pop(kind)
        # Jobs deleted by an earlier call cannot be deleted again: Octopize lists them as failed.
        return {"deleted_jobs": ids, "failed_jobs": gone, "count": count}

    def kill(self) -> None:
        """Stop the run: cancel every launched job that is not done (Octopize's kill is a
        no-op).

        Jobs deleted meanwhile (``manager.delete_job(...)``) are skipped: there is nothing left
        to stop, and a script ending with ``kill()`` must not fail where Octopize's did nothing.
        """
        for job_id in self.jobs.values():
            with contextlib.suppress(NotFound):
                self.api.cancel_job_unless_done(job_id)

    def cancel(self, job_names: JobKind | str | list[Any] | None = None) -> list[JobResponse]:
        """Cancel launched jobs that are not done."""
        names = (
            job_names
            if isinstance(job_names, list)
            else ([job_names] if job_names else list(self.jobs))
        )
        out = []
        for name in names:
            cancelled = self.api.cancel_job_unless_done(self._job_id(name))
            out.append(cancelled if cancelled is not None else self.get_job(name))
        return out

    # -- results ------------------------------------------------------------------------------

    def _list_results(self, job: JobKind) -> list[ResultInfo]:
        self._finished(job)
        return self.api.list_results(job_id=self._job_id(job))

    def _fetch(self, info: ResultInfo) -> bytes:
        if info.id not in self._cache:
            _, data = self.api.download_result(info.id)
            self._cache[info.id] = data
        value: bytes = self._cache[info.id]
        return value

    def get_specific_result_urls(
        self, job_name: JobKind | str, result: Results = Results.SHUFFLED
    ) -> list[str]:
        """Where a job's results of one kind are: Veil's result ids (download one with
        ``runner.api.download_result(id)``), after waiting for the job. Empty if none."""
        kind = Results(getattr(result, "value", result))
        return [
            info.id
            for info in self._list_results(JobKind(getattr(job_name, "value", job_name)))
            if info.kind == kind.value
        ]

    def get_specific_result(
        self, table_name: str, job_name: JobKind | str, result: Results = Results.SHUFFLED
    ) -> Any:
        """One result of a job for a table: a DataFrame (tables, with their original dtypes),
        a dict or list (JSON), the figures by kind (``{"2d_projection": [HTML, ...]}``, as
        Octopize's) or bytes (the PDF report)."""
        self._require_table(table_name)
        result = Results(getattr(result, "value", result))
        found = [
            r
            for r in self._list_results(JobKind(getattr(job_name, "value", job_name)))
            if r.kind == result.value and (r.table_name in (table_name, ""))
        ]
        if result is Results.REPORT:  # the technical report; the PIA one: download_report
            found = [r for r in found if r.subkind == ReportType.BASIC.value] or found
        if not found:
            raise ValueError(
                f"job {job_name} produced no {result.value} result for {table_name!r}."
            )
        if result is Results.FIGURES:
            # Octopize's ResultsOrganizer keeps a table's figures by kind ({kind: [HTML, ...]},
            # what its render_plot reads); one HTML page would hide every other figure.
            figures: dict[str, list[str]] = {}
            for info in found:
                kind = info.subkind.partition(":")[0]
                figures.setdefault(kind, []).append(self._decode(info))
            return figures
        value = self._decode(found[-1])
        if result in (Results.PRIVACY_METRICS, Results.SIGNAL_METRICS) and not isinstance(
            value, list
        ):
            # Octopize's ResultsOrganizer keeps one list per table (one dict per computation),
            # so its get_specific_result returns a list even for a one-table run.
            return [value]
        return value

    def get_all_results(self) -> ResultsOrganizer:
        """Wait for every launched job and download its results, organized by kind and table
        (Octopize's ResultsOrganizer: ``results.shuffled["wbcd"]``...)."""
        organizer = ResultsOrganizer()
        for kind in self.jobs:
            for info in self._list_results(kind):
                if info.kind in STORED_KINDS and info.kind not in _ON_REQUEST_ONLY:
                    organizer.add(info.kind, info.subkind, info.table_name, self._decode(info))
        return organizer

    def _decode(self, info: ResultInfo) -> Any:
        data = self._fetch(info)
        if info.media_type == "application/vnd.apache.arrow.stream":
            return to_dataframe(ipc.open_stream(pa.py_buffer(data)).read_all())
        if info.media_type == "application/json":
            return json.loads(data)
        if info.media_type == "text/html":
            return data.decode("utf-8")
        return data

    def shuffled(self, table_name: str) -> pd.DataFrame:
        """The avatar table (rows shuffled): what may leave the building."""
        frame: pd.DataFrame = self.get_specific_result(
            table_name, JobKind.standard, Results.SHUFFLED
        )
        return frame

    def pseudonym_mappings(self, table_name: str) -> pd.DataFrame:
        """SENSITIVE (Veil): the table's pseudonym mappings, one row per original value of each
        consistently pseudonymized column: ``column``, ``namespace``, ``original``,
        ``pseudonym``. Only the run's owner can download them; they are deleted with the run.
        """
        self._require_table(table_name)
        found = [
            r
            for r in self._list_results(JobKind.standard)
            if r.kind == "pseudonym_mappings" and r.table_name == table_name
        ]
        if not found:
            raise ValueError(
                f"table {table_name!r} has no pseudonym mappings: its run pseudonymized no "
                "column with a consistent strategy (or a DP generator drew fresh pseudonyms)."
            )
        frame: pd.DataFrame = self._decode(found[-1])
        return frame

    def privacy_loss(self, table_name: str) -> PrivacyLoss | None:
        """(Veil) The (ε, δ) the table's DP release spent, as the DP library computed it
        (None for the avatar method)."""
        self._list_results(JobKind.standard)  # waits for the job to end
        job = self.get_job(JobKind.standard)
        return next((p for p in job.privacy_losses if p.table_name == table_name), None)

    def sensitive_unshuffled(self, table_name: str) -> pd.DataFrame:
        """SENSITIVE: avatars in the original row order (for your own checks only)."""
        frame: pd.DataFrame = self.get_specific_result(
            table_name, JobKind.standard, Results.UNSHUFFLED
        )
        return frame

    def privacy_metrics(self, table_name: str) -> list[dict[str, Any]]:
        """Privacy metrics of a table: one dict per computation."""
        value: list[dict[str, Any]] = self.get_specific_result(
            table_name, JobKind.privacy_metrics, Results.PRIVACY_METRICS
        )
        return value

    def signal_metrics(self, table_name: str) -> list[dict[str, Any]]:
        """Signal (utility) metrics of a table: one dict per computation."""
        value: list[dict[str, Any]] = self.get_specific_result(
            table_name, JobKind.signal_metrics, Results.SIGNAL_METRICS
        )
        return value

    def projections(
        self, table_name: str, job_name: JobKind | str = JobKind.standard
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(original coordinates, avatar coordinates) in the projection space of a job."""
        return (
            self.get_specific_result(table_name, job_name, Results.PROJECTIONS_ORIGINAL),
            self.get_specific_result(table_name, job_name, Results.PROJECTIONS_AVATARS),
        )

    def _summary(self, kind: Results, job: JobKind) -> dict[str, Any]:
        if not self.config.links:
            raise ValueError(
                f"{kind.value} is for multi-table runs (tables linked with add_link); this run "
                f"has no link: read runner.{job.value}(table) instead, or metrics_summary()."
            )
        found = [r for r in self._list_results(job) if r.kind == kind.value]
        if not found:
            raise ValueError(f"the {job.value} job produced no {kind.value}.")
        summary: dict[str, Any] = self._decode(found[-1])
        return summary

    def render_privacy_metrics_summary(self, open_in_browser: bool = False) -> dict[str, Any]:
        """Multi-table runs: ``{table: {reference: hidden rate %}}``, ``reference`` being
        ``standalone`` or the other table a computation type involved (ValueError otherwise).

        ``open_in_browser`` is accepted for Octopize's signature and deprecated there.
        """
        if open_in_browser:
            warnings.warn(
                "render_privacy_metrics_summary(open_in_browser=...) is deprecated and ignored.",
                DeprecationWarning,
                stacklevel=2,
            )
        return self._summary(Results.PRIVACY_METRICS_SUMMARY, JobKind.privacy_metrics)

    def render_signal_metrics_summary(self) -> dict[str, Any]:
        """Multi-table runs: ``{table: {reference: 100 x (1 - Hellinger mean)}}``."""
        return self._summary(Results.SIGNAL_METRICS_SUMMARY, JobKind.signal_metrics)

    def metrics_summary(self) -> pd.DataFrame:
        """One row per table, columns ``(reference, "privacy"|"signal")``: the hidden rate (%)
        and ``100 x (1 - Hellinger mean)`` (docs/metrics.md, "Meta metrics"). Works for a
        one-table run too (reference ``standalone``)."""
        found: dict[str, dict[str, Any]] = {"privacy": {}, "signal": {}}
        for family, job, kind in (
            ("privacy", JobKind.privacy_metrics, Results.PRIVACY_METRICS_SUMMARY),
            ("signal", JobKind.signal_metrics, Results.SIGNAL_METRICS_SUMMARY),
        ):
            if job in self.jobs:
                stored = [r for r in self._list_results(job) if r.kind == kind.value]
                if stored:
                    found[family] = self._decode(stored[-1])
        return summary_frame(found["privacy"], found["signal"])

    def _figures(self, table_name: str) -> list[ResultInfo]:
        figures = []
        for kind in (
            JobKind.standard,
            JobKind.privacy_metrics,
            JobKind.signal_metrics,
            JobKind.report,
        ):
            if kind in self.jobs:
                figures += [
                    r
                    for r in self._list_results(kind)
                    if r.kind == Results.FIGURES.value and r.table_name == table_name
                ]
        return figures

    def render_plot(
        self, table_name: str, plot_kind: PlotKind, open_in_browser: bool = False
    ) -> list[str]:
        """Show a table's figures of one kind, as Octopize's client does.

        In a Jupyter notebook the figures are displayed inline. With ``open_in_browser=True``
        each is written to ``<table>_<kind>_<index>.html`` in the current directory (Octopize's
        names) and opened in a browser. Nothing else is written: outside a notebook, without
        ``open_in_browser``, there is nothing to show a figure in, so a UserWarning says how
        to get the files (Octopize prints the repr of an IPython object there).

        Returns:
            The paths of the files written (Veil; Octopize returns None): empty unless
            ``open_in_browser``.

        Raises:
            ValueError: an unknown table, or no figure of that kind was produced for it (the
                message lists the kinds that were).
        """
        self._require_table(table_name)
        kind = PlotKind(getattr(plot_kind, "value", plot_kind))
        figures = self._figures(table_name)
        chosen = [f for f in figures if f.subkind.split(":")[0] == kind.value]
        if not chosen:
            produced = sorted({f.subkind.split(":")[0] for f in figures})
            raise ValueError(
                f"no {kind.value} plot was produced for {table_name!r}; produced kinds: {produced}."
            )
        names = [f"{table_name}_{kind.value}_{index}.html" for index in range(len(chosen))]
        notebook = in_notebook()
        if not open_in_browser and not notebook:
            # Writing anyway (to a shared temporary directory, as Veil once did) would leave
            # figures of sensitive data where Octopize leaves none.
            warnings.warn(
                f"render_plot: not in a Jupyter notebook, so there is nothing to show the "
                f"{kind.value} figure(s) of {table_name!r} in and nothing was written; pass "
                f"open_in_browser=True to write {', '.join(names)} in the current directory "
                "and open them.",
                UserWarning,
                stacklevel=2,
            )
            return []
        paths = []
        for name, info in zip(names, chosen, strict=True):
            html = self._fetch(info).decode("utf-8")
            if open_in_browser:
                path = Path(name).resolve()
                path.write_text(html, encoding="utf-8")
                webbrowser.open(path.as_uri())
                paths.append(str(path))
            else:
                # Untyped module; only imported inside a Jupyter kernel, where it is present.
                ipython: Any = importlib.import_module("IPython.display")
                ipython.display(ipython.HTML(html))
        return paths

    def download_report(
        self, path: str | None = None, report_type: ReportType = ReportType.BASIC
    ) -> list[str]:
        """Download the technical (PDF) or PIA (DOCX) report(s) of the run."""
        report_type = ReportType(getattr(report_type, "value", report_type))
        reports = [
            r
            for r in self._list_results(JobKind.report)
            if r.kind == Results.REPORT.value and r.subkind == report_type.value
        ]
        if not reports:
            raise ValueError(f"the report job produced no {report_type.value} report.")
        written = []
        for index, info in enumerate(reports):
            if path is None:
                target = Path(info.filename)
            elif len(reports) == 1:
                target = Path(path)
            else:
                target = Path(path) / f"{index}_{info.filename}"
                target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._fetch(info))
            written.append(str(target))
        return written
