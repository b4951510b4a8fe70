"""Multi-table avatarization: linked tables (parents, children, time series) to linked avatars.

Usage::

    from veil_service.engine.multitable import Link, Schema, TableKeys, TableParameters
    from veil_service.engine.multitable import avatarize_tables

    schema = Schema(
        tables=(TableKeys("patient", primary_key="p_id"),
                TableKeys("visit", primary_key="visit_id", foreign_keys=("patient_id",))),
        links=(Link("patient", "p_id", "visit", "patient_id"),),
    )
    result = avatarize_tables(schema, {"patient": patients, "visit": visits},
                              {"patient": TableParameters({"k": 5}),
                               "visit": TableParameters({"k": 5})}, seed=42)
    result.tables["visit"].avatars     # shuffled, new keys consistent with result.tables["patient"]

It composes the single-table pipeline (:func:`veil_service.engine.avatarize.avatarize`); plain
pandas, numpy and scipy. docs/avatarization.md ("Linked tables") describes the method.
"""

from veil_service.engine.multitable.pipeline import (
    LinkResult,
    MultiTableResult,
    TableParameters,
    TableResult,
    avatarize_tables,
)
from veil_service.engine_contract.linked_tables import (
    LINK_METHODS,
    Link,
    Schema,
    TableKeys,
    check_table_keys,
)

__all__ = [
    "LINK_METHODS",
    "Link",
    "LinkResult",
    "MultiTableResult",
    "Schema",
    "TableKeys",
    "TableParameters",
    "TableResult",
    "avatarize_tables",
    "check_table_keys",
]
