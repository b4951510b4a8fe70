"""Schema rules of linked tables (avatar_yaml's checks), each breach a clear error."""

from __future__ import annotations

import pytest
from veil_service.engine.multitable import Link, Schema, TableKeys, check_table_keys
from veil_service.engine_contract.linked_tables import descendants
from veil_service.errors import InvalidArgumentError

PATIENT = TableKeys("patient", primary_key="p_id", individual_level=True)
DOCTOR = TableKeys("doctor", primary_key="d_id", individual_level=True)
VISIT = TableKeys("visit", primary_key="visit_id", foreign_keys=("patient_id", "doctor_id"))
TO_PATIENT = Link("patient", "p_id", "visit", "patient_id")
TO_DOCTOR = Link("doctor", "d_id", "visit", "doctor_id")


def tutorial3() -> Schema:
    return Schema((VISIT, PATIENT, DOCTOR), (TO_PATIENT, TO_DOCTOR))


def breach(schema: Schema, *fragments: str, require_links: bool = True) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        schema.check(require_links=require_links)
    for fragment in fragments:
        assert fragment in caught.value.message
    return caught.value.message


def test_tutorial3_schema_passes_and_orders_parents_first() -> None:
    schema = tutorial3()
    schema.check()
    order = schema.order()
    assert order.index("visit") > order.index("patient")
    assert order.index("visit") > order.index("doctor")
    assert schema.is_individual_level("patient")
    assert not schema.is_individual_level("visit")
    assert [link.parent_table for link in schema.parents("visit")] == ["patient", "doctor"]


def test_primary_key_listed_as_foreign_key_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="primary key 'visit_id' is also listed"):
        check_table_keys(TableKeys("visit", "visit_id", ("visit_id",)))


def test_time_column_cannot_be_a_key() -> None:
    with pytest.raises(InvalidArgumentError, match="cannot be the primary key"):
        check_table_keys(TableKeys("s", "t", (), time_series_time="t"))
    with pytest.raises(InvalidArgumentError, match="cannot be a foreign key"):
        check_table_keys(TableKeys("s", "pk", ("t",), time_series_time="t"))


def test_link_to_a_missing_table_names_it() -> None:
    schema = Schema((PATIENT, VISIT), (TO_PATIENT, TO_DOCTOR))
    breach(schema, "parent table 'doctor' does not exist", "add_table('doctor'")


def test_parent_field_must_be_the_parent_primary_key() -> None:
    schema = Schema((PATIENT, VISIT), (Link("patient", "gender", "visit", "patient_id"),))
    breach(schema, "patient.gender -> visit.patient_id", "primary key 'p_id'", "not 'gender'")


def test_child_field_must_be_a_foreign_key() -> None:
    schema = Schema((PATIENT, VISIT), (Link("patient", "p_id", "visit", "exam"),))
    breach(schema, "'exam' is not a foreign key of 'visit'", "foreign_keys=['exam']")


def test_parent_without_primary_key_is_refused() -> None:
    schema = Schema((TableKeys("patient"), VISIT), (TO_PATIENT,))
    breach(schema, "parent table 'patient' has no primary key", require_links=False)


def test_cycles_are_refused_with_the_cycle_named() -> None:
    a = TableKeys("a", "a_id", ("c_id",))
    b = TableKeys("b", "b_id", ("a_id",))
    c = TableKeys("c", "c_id", ("b_id",))
    links = (Link("a", "a_id", "b", "a_id"), Link("b", "b_id", "c", "b_id"))
    cycle = Schema((a, b, c), (*links, Link("c", "c_id", "a", "c_id")))
    message = breach(cycle, "cycle")
    assert "a -> b -> c -> a" in message or "b -> c -> a -> b" in message


def test_a_table_cannot_be_its_own_parent() -> None:
    table = TableKeys("person", "id", ("mother_id",))
    breach(Schema((table,), (Link("person", "id", "person", "mother_id"),)), "its own parent")


def test_top_tables_must_be_individual_level() -> None:
    lonely = TableKeys("visit", "visit_id", individual_level=False)
    breach(Schema((lonely,)), "table 'visit' has no parent", "individual_level=True")


def test_every_foreign_key_needs_a_link_when_a_job_runs() -> None:
    schema = Schema((PATIENT, DOCTOR, VISIT), (TO_PATIENT,))
    schema.check(require_links=False)
    breach(schema, "['doctor_id'] of table 'visit' have no link", "child_field='doctor_id'")


def test_a_foreign_key_is_linked_once() -> None:
    other = TableKeys("clinic", "c_id")
    schema = Schema(
        (PATIENT, other, VISIT), (TO_PATIENT, Link("clinic", "c_id", "visit", "patient_id"))
    )
    breach(schema, "visit.patient_id is linked twice", require_links=False)


def test_unknown_link_method_is_refused() -> None:
    schema = Schema((PATIENT, VISIT), (Link("patient", "p_id", "visit", "patient_id", "random"),))
    breach(schema, "unknown method 'random'", require_links=False)


def test_time_series_rules() -> None:
    vanilla = TableKeys("vanilla", "id")
    sensor = TableKeys("sensor", "pk", ("id",), time_series_time="t")
    schema = Schema((vanilla, sensor), (Link("vanilla", "id", "sensor", "id", "time_series"),))
    schema.check()
    assert schema.is_time_series("sensor")
    no_time = TableKeys("sensor", "pk", ("id",))
    breach(
        Schema((vanilla, no_time), (Link("vanilla", "id", "sensor", "id", "time_series"),)),
        "needs the child's time column",
    )
    breach(
        Schema((vanilla, sensor), (Link("vanilla", "id", "sensor", "id"),)),
        "must use method=LinkMethod.TIME_SERIES",
    )
    other = TableKeys("other", "oid")
    two = TableKeys("sensor", "pk", ("id", "oid"), time_series_time="t")
    breach(
        Schema(
            (vanilla, other, two),
            (
                Link("vanilla", "id", "sensor", "id", "time_series"),
                Link("other", "oid", "sensor", "oid", "time_series"),
            ),
        ),
        "linked to 2 parents",
    )


def test_three_levels_order_and_descendants() -> None:
    region = TableKeys("region", "r_id")
    patient = TableKeys("patient", "p_id", ("r_id",))
    visit = TableKeys("visit", "v_id", ("p_id",))
    schema = Schema(
        (visit, patient, region),
        (Link("region", "r_id", "patient", "r_id"), Link("patient", "p_id", "visit", "p_id")),
    )
    schema.check()
    assert schema.order() == ["region", "patient", "visit"]
    assert list(descendants(schema, "region")) == ["patient", "visit"]


def test_public_names_are_pinned() -> None:
    import veil_service.engine.multitable as multitable
    import veil_service.engine.timeseries as timeseries

    assert sorted(multitable.__all__) == [
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
    assert sorted(timeseries.__all__) == [
        "ALIGNMENT_METHODS",
        "PROJECTION_TYPES",
        "SeriesModel",
        "TimeSeriesParameters",
        "UNALIGNMENT_STRATEGIES",
        "fit_series",
    ]
    assert multitable.LINK_METHODS == (
        "linear_sum_assignment",
        "minimum_distance_assignment",
        "sensitive_original_order_assignment",
        "time_series",
    )


def test_a_parent_linked_twice_to_one_child_gets_distinct_prefixes() -> None:
    airport = TableKeys("airport", "faa")
    flight = TableKeys("flight", "fid", ("origin", "dest"))
    origin = Link("airport", "faa", "flight", "origin")
    dest = Link("airport", "faa", "flight", "dest")
    schema = Schema((airport, flight), (origin, dest))
    schema.check()
    assert schema.summary_prefix(origin) == "flight.origin."
    assert schema.broadcast_prefix(dest) == "airport.dest."
    assert tutorial3().summary_prefix(TO_PATIENT) == "visit."
    assert tutorial3().broadcast_prefix(TO_DOCTOR) == "doctor."
