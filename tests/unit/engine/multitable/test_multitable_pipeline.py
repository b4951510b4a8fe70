"""Multi-table avatarization end to end on the engine: structure, keys, links, methods, shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linked_data import hospital
from support import FIXTURES
from veil_service.engine.multitable import (
    Link,
    MultiTableResult,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.multitable.table_trials import table_avatars
from veil_service.errors import InvalidArgumentError

FIXTURES = FIXTURES / "avatar" / "fixtures"


def tutorial3(method: str = "linear_sum_assignment") -> tuple[Schema, dict[str, pd.DataFrame]]:
    frames = {
        name: pd.read_csv(FIXTURES / f"{name}.csv") for name in ("patient", "doctor", "visit")
    }
    schema = Schema(
        (
            TableKeys("patient", "p_id", individual_level=True),
            TableKeys("doctor", "d_id", individual_level=True),
            TableKeys("visit", "visit_id", ("patient_id", "doctor_id"), individual_level=False),
        ),
        (
            Link("patient", "p_id", "visit", "patient_id", method),
            Link("doctor", "d_id", "visit", "doctor_id", method),
        ),
    )
    return schema, frames


def params(*names: str, k: int = 5) -> dict[str, TableParameters]:
    return {name: TableParameters({"k": k}) for name in names}


def hospital_schema(tables: dict[str, pd.DataFrame], method: str) -> Schema:
    keys = [TableKeys("patient", "p_id", ("r_id",) if "region" in tables else ())]
    links = [Link("patient", "p_id", "visit", "p_id", method)]
    visit_fks = ("p_id", "d_id") if "doctor" in tables else ("p_id",)
    keys.append(TableKeys("visit", "visit_id", visit_fks))
    if "region" in tables:
        keys.append(TableKeys("region", "r_id"))
        links.append(Link("region", "r_id", "patient", "r_id", method))
    if "doctor" in tables:
        keys.append(TableKeys("doctor", "d_id"))
        links.append(Link("doctor", "d_id", "visit", "d_id", method))
    return Schema(tuple(keys), tuple(links))


def assert_keys_consistent(schema: Schema, result: MultiTableResult) -> None:
    for table in schema.tables:
        avatars = result.tables[table.name].avatars
        if table.primary_key:
            assert avatars[table.primary_key].is_unique
            assert sorted(avatars[table.primary_key]) == list(range(len(avatars)))
    for link in schema.links:
        parent_keys = set(result.tables[link.parent_table].avatars[link.parent_field])
        assert set(result.tables[link.child_table].avatars[link.child_field]) <= parent_keys


def child_counts(child: pd.DataFrame, fk: str, parent: pd.DataFrame, pk: str) -> np.ndarray:
    counts = child.groupby(fk).size().reindex(parent[pk]).fillna(0)
    return np.asarray(counts.to_numpy(), dtype=np.int64)


def hellinger(a: np.ndarray, b: np.ndarray) -> float:
    top = int(max(a.max(), b.max())) + 1
    p = np.bincount(a, minlength=top) / len(a)
    q = np.bincount(b, minlength=top) / len(b)
    return float(np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum()))


def test_tutorial3_shapes_dtypes_and_consistent_new_keys() -> None:
    schema, frames = tutorial3()
    result = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=42)
    for name, frame in frames.items():
        avatars = result.tables[name].avatars
        assert avatars.shape == frame.shape
        assert list(avatars.columns) == list(frame.columns)
        assert avatars.dtypes.to_dict() == frame.dtypes.to_dict()
    assert_keys_consistent(schema, result)
    assert result.warnings == []
    # The tutorial's own joins work on the avatars.
    visit = result.tables["visit"].avatars
    doctors = result.tables["doctor"].avatars.rename(columns={"age": "age_doctor"})
    flat = visit.join(doctors.set_index("d_id"), on="doctor_id").join(
        result.tables["patient"].avatars.set_index("p_id"), on="patient_id"
    )
    assert flat[["age_doctor", "gender", "job"]].notna().all().all()


def test_new_keys_reveal_nothing_of_the_original_keys() -> None:
    schema, frames = tutorial3()
    result = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=3)
    for name, key in (("patient", "p_id"), ("visit", "visit_id")):
        original = frames[name][key].to_numpy()
        new = result.tables[name].unshuffled[key].to_numpy()
        # Row i of the unshuffled avatars is original row i's avatar: its new key is unrelated.
        assert abs(np.corrcoef(original, new)[0, 1]) < 0.25
        assert np.mean(original == new) < 0.05


def test_same_seed_same_avatars_other_seed_other_avatars() -> None:
    schema, frames = tutorial3()
    first = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=7)
    again = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=7)
    other = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=8)
    for name in frames:
        pd.testing.assert_frame_equal(first.tables[name].avatars, again.tables[name].avatars)
    assert not first.tables["visit"].avatars.equals(other.tables["visit"].avatars)


def test_each_table_keeps_its_own_k() -> None:
    schema, frames = tutorial3()
    parameters = params("patient", "visit", k=20) | {"doctor": TableParameters({"k": 60})}
    with pytest.raises(InvalidArgumentError) as caught:
        avatarize_tables(schema, frames, parameters, seed=1)
    assert "table 'doctor'" in caught.value.message
    assert "(50)" in caught.value.message
    assert caught.value.field == "tables[doctor].k"


@pytest.mark.parametrize("method", ["linear_sum_assignment", "minimum_distance_assignment"])
def test_links_keep_child_counts_and_cross_table_correlations(method: str) -> None:
    tables = hospital(600, 4.0, seed=1)
    schema = hospital_schema(tables, method)
    result = avatarize_tables(schema, tables, params("patient", "visit", k=10), seed=5)
    assert_keys_consistent(schema, result)
    patients, visits = result.tables["patient"].avatars, result.tables["visit"].avatars
    original_counts = child_counts(tables["visit"], "p_id", tables["patient"], "p_id")
    avatar_counts = child_counts(visits, "p_id", patients, "p_id")
    assert avatar_counts.sum() == len(tables["visit"])
    assert hellinger(original_counts, avatar_counts) < 0.2
    # Older patients have more and costlier visits: both survive the assignment.
    for frame, count in ((tables["patient"], original_counts), (patients, avatar_counts)):
        assert np.corrcoef(frame["age"], count)[0, 1] > 0.5
    joined = visits.join(patients.set_index("p_id"), on="p_id")
    original = tables["visit"].join(tables["patient"].set_index("p_id"), on="p_id")
    assert np.corrcoef(original["age"], original["cost"])[0, 1] > 0.25
    assert np.corrcoef(joined["age"], joined["cost"])[0, 1] > 0.2
    distance = result.link_result("patient", "visit").total_distance
    assert distance is not None and distance > 0


def test_linear_sum_beats_minimum_distance_on_total_distance() -> None:
    tables = hospital(500, 3.0, seed=2)
    totals = {}
    for method in ("linear_sum_assignment", "minimum_distance_assignment"):
        result = avatarize_tables(
            hospital_schema(tables, method), tables, params("patient", "visit", k=10), seed=4
        )
        total = result.link_result("patient", "visit").total_distance
        assert total is not None
        totals[method] = total
    assert totals["linear_sum_assignment"] <= totals["minimum_distance_assignment"]


def test_sensitive_original_order_keeps_the_original_structure_and_warns() -> None:
    tables = hospital(300, 3.0, seed=3)
    schema = hospital_schema(tables, "sensitive_original_order_assignment")
    result = avatarize_tables(schema, tables, params("patient", "visit", k=10), seed=6)
    link = result.link_result("patient", "visit")
    assert np.array_equal(link.avatar_parent_rows, link.original_parent_rows)
    assert len(result.warnings) == 1
    assert "HIGH PRIVACY BREACH" in result.warnings[0]
    assert "patient.p_id -> visit.p_id" in result.warnings[0]


def test_three_level_hierarchy() -> None:
    tables = hospital(400, 3.0, seed=4, n_regions=40)
    schema = hospital_schema(tables, "linear_sum_assignment")
    result = avatarize_tables(schema, tables, params("region", "patient", "visit", k=5), seed=2)
    assert_keys_consistent(schema, result)
    assert set(result.tables["patient"].avatars.columns) == set(tables["patient"].columns)
    regions = result.tables["region"].avatars
    counts = child_counts(result.tables["patient"].avatars, "r_id", regions, "r_id")
    original = child_counts(tables["patient"], "r_id", tables["region"], "r_id")
    # Dense regions hold more patients, in the avatars too.
    assert np.corrcoef(tables["region"]["density"], original)[0, 1] > 0.6
    assert np.corrcoef(regions["density"], counts)[0, 1] > 0.3


def test_child_with_two_parents() -> None:
    tables = hospital(300, 3.0, seed=5, n_doctors=30)
    schema = hospital_schema(tables, "linear_sum_assignment")
    result = avatarize_tables(schema, tables, params("patient", "doctor", "visit", k=5), seed=3)
    assert_keys_consistent(schema, result)
    visits = result.tables["visit"].avatars.join(
        result.tables["doctor"].avatars.set_index("d_id"), on="d_id"
    )
    # Surgeries go to surgeons in the original; most do in the avatars.
    surgeries = visits[visits["kind"] == "surgery"]
    assert len(surgeries) > 10
    assert (surgeries["specialty"] == "surgeon").mean() > 0.6


def test_parents_without_children_stay_possible() -> None:
    tables = hospital(500, 2.0, seed=6, childless_share=0.3)
    schema = hospital_schema(tables, "linear_sum_assignment")
    result = avatarize_tables(schema, tables, params("patient", "visit", k=5), seed=8)
    counts = child_counts(
        result.tables["visit"].avatars, "p_id", result.tables["patient"].avatars, "p_id"
    )
    original = child_counts(tables["visit"], "p_id", tables["patient"], "p_id")
    assert (original == 0).mean() > 0.25
    assert (counts == 0).mean() > 0.15


def _mostly_childless(n_parents: int, with_children: int, seed: int) -> dict[str, pd.DataFrame]:
    """Parents (age, sex, income) of whom only the first ``with_children`` have 1-4 stays."""
    rng = np.random.default_rng(seed)
    parents = pd.DataFrame(
        {
            "pid": np.arange(n_parents),
            "age": rng.integers(18, 90, n_parents),
            "sex": rng.choice(["F", "M"], n_parents),
            "income": rng.normal(30000, 8000, n_parents).round(1),
        }
    )
    counts = np.where(np.arange(n_parents) < with_children, rng.integers(1, 5, n_parents), 0)
    owner = np.repeat(parents["pid"].to_numpy(), counts)
    stays = pd.DataFrame(
        {
            "sid": np.arange(len(owner)),
            "pid": owner,
            "los": rng.gamma(2.0, 3.0, len(owner)).round(2),
            "ward": rng.choice(["A", "B", "C"], len(owner)),
        }
    )
    return {"person": parents, "stay": stays}


@pytest.mark.parametrize(("n_parents", "with_children", "k"), [(20, 5, 5), (300, 120, 10)])
def test_child_counts_keep_their_shape_when_most_parents_are_childless(
    n_parents: int, with_children: int, k: int
) -> None:
    """Rounded avatar counts scaled up to the children turned {0: 15, 2: 2, 3: 3} into
    {0: 18, 3: 1, 10: 1}: no avatar parent may get more children than the original's most, and
    the childless share stays near the original's."""
    schema = Schema(
        (TableKeys("person", "pid", individual_level=True), TableKeys("stay", "sid", ("pid",))),
        (Link("person", "pid", "stay", "pid"),),
    )
    for seed in range(3):
        tables = _mostly_childless(n_parents, with_children, seed)
        parameters = {"person": TableParameters({"k": k}), "stay": TableParameters({"k": 3})}
        result = avatarize_tables(schema, tables, parameters, seed=seed)
        original = child_counts(tables["stay"], "pid", tables["person"], "pid")
        avatar = child_counts(
            result.tables["stay"].avatars, "pid", result.tables["person"].avatars, "pid"
        )
        assert avatar.sum() == original.sum()
        assert avatar.max() <= original.max()
        assert abs((avatar == 0).mean() - (original == 0).mean()) <= 0.1


@pytest.mark.parametrize("k", [20, 80])
def test_child_counts_keep_their_distribution_at_a_large_k(k: int) -> None:
    """Avatar counts are local means: on 300 parents (180 childless) the zeros became small
    counts apportioned as ones, the total variation between the count distributions 0.06-0.08
    at k 20 and 0.15-0.16 at k 80 (144 childless avatars for 180, 76 parents with one child for
    26). Ranked and given the original's distribution (levels averaged over 3): 0.00-0.01."""
    schema = Schema(
        (TableKeys("person", "pid", individual_level=True), TableKeys("stay", "sid", ("pid",))),
        (Link("person", "pid", "stay", "pid"),),
    )
    tables = _mostly_childless(300, 120, seed=3)
    parameters = {"person": TableParameters({"k": k}), "stay": TableParameters({"k": 5})}
    result = avatarize_tables(schema, tables, parameters, seed=1)
    original = child_counts(tables["stay"], "pid", tables["person"], "pid")
    avatar = child_counts(
        result.tables["stay"].avatars, "pid", result.tables["person"].avatars, "pid"
    )
    levels = range(int(original.max()) + 1)
    share = [(original == c).mean() for c in levels], [(avatar == c).mean() for c in levels]
    assert 0.5 * np.abs(np.subtract(*share)).sum() <= 0.03
    assert abs((avatar == 0).mean() - (original == 0).mean()) <= 0.05


def test_child_table_fifty_times_the_parent() -> None:
    tables = hospital(200, 50.0, seed=7)
    assert len(tables["visit"]) > 40 * len(tables["patient"])
    schema = hospital_schema(tables, "linear_sum_assignment")
    result = avatarize_tables(schema, tables, params("patient", "visit", k=10), seed=9)
    assert_keys_consistent(schema, result)
    counts = child_counts(
        result.tables["visit"].avatars, "p_id", result.tables["patient"].avatars, "p_id"
    )
    original = child_counts(tables["visit"], "p_id", tables["patient"], "p_id")
    assert counts.sum() == original.sum()
    assert abs(np.corrcoef(result.tables["patient"].avatars["age"], counts)[0, 1]) > 0.5


def test_string_keys_get_new_string_keys() -> None:
    tables = hospital(200, 2.0, seed=8)
    tables["patient"]["p_id"] = "P" + tables["patient"]["p_id"].astype(str)
    tables["visit"]["p_id"] = "P" + tables["visit"]["p_id"].astype(str)
    schema = hospital_schema(tables, "linear_sum_assignment")
    result = avatarize_tables(schema, tables, params("patient", "visit", k=5), seed=1)
    patients = result.tables["patient"].avatars
    assert patients["p_id"].map(type).eq(str).all()
    assert not set(patients["p_id"]) & set(tables["patient"]["p_id"])
    assert set(result.tables["visit"].avatars["p_id"]) <= set(patients["p_id"])


def test_each_table_gets_the_single_table_privacy_defaults() -> None:
    """A linked run's tables are avatarized with issue 21's defaults (max_weight 2/k, local
    noise 1, unique copies redrawn) unless the table's parameters say otherwise."""
    schema, frames = tutorial3()
    default = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=5)
    stated = {
        name: TableParameters(
            {"k": 5, "max_weight": 0.4, "local_noise": 1.0, "redraw_unique_copies": True}
        )
        for name in frames
    }
    explicit = avatarize_tables(schema, frames, stated, seed=5)
    paper = {
        name: TableParameters(
            {"k": 5, "max_weight": 1.0, "local_noise": 0.0, "redraw_unique_copies": False}
        )
        for name in frames
    }
    octopize = avatarize_tables(schema, frames, paper, seed=5)
    for name in frames:
        pd.testing.assert_frame_equal(default.tables[name].avatars, explicit.tables[name].avatars)
        assert not default.tables[name].avatars.equals(octopize.tables[name].avatars)


def test_single_table_warnings_name_their_table() -> None:
    schema, frames = tutorial3()
    parameters = params("patient", "visit") | {"doctor": TableParameters({"k": 5, "ncp": 40})}
    result = avatarize_tables(schema, frames, parameters, seed=2)
    capped = [w for w in result.warnings if "ncp capped" in w]
    assert len(capped) == 1
    assert capped[0].startswith("table 'doctor': ncp=40 is more than the")


def test_a_default_ncp_capped_by_a_narrow_linked_table_is_not_a_warning() -> None:
    # Tutorial 8's tables: the visits' projection (2 variables and the patient's 2) has 4
    # dimensions, under the default ncp 5 the user never set.
    patients = pd.DataFrame({"patient_id": range(40), "age": range(20, 60)})
    patients["weight"] = 50.0 + (patients["age"] * 13) % 45
    visits = pd.DataFrame(
        {"visit_id": range(100), "patient_id": [(i * 7) % 40 for i in range(100)]}
    )
    visits["duration"] = 10 + (visits["visit_id"] * 11) % 50
    visits["cost"] = 30.0 + (visits["visit_id"] * 17) % 120
    schema = Schema(
        (TableKeys("patients", "patient_id"), TableKeys("visits", "visit_id", ("patient_id",))),
        (Link("patients", "patient_id", "visits", "patient_id"),),
    )
    frames = {"patients": patients, "visits": visits}
    result = avatarize_tables(schema, frames, params("patients", "visits", k=3), seed=0)
    assert result.warnings == []
    chosen = params("patients", k=3) | {"visits": TableParameters({"k": 3, "ncp": 5})}
    result = avatarize_tables(schema, frames, chosen, seed=0)
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("table 'visits': ncp=5 is more than the 4 dimensions")


def test_one_table_alone_gets_the_avatars_of_the_whole_run() -> None:
    # The linked search measures one table per trial and avatarizes it alone (table_avatars):
    # its avatars must be those of the whole run with the same seed, whatever the other
    # tables' k, on the top tables, a child with two parents and a 3-level hierarchy.
    tables = hospital(300, 3.0, seed=5, n_doctors=30, n_regions=20)
    schema = hospital_schema(tables, "linear_sum_assignment")
    given = {
        "region": TableParameters({"k": 4}),
        "patient": TableParameters({"k": 7, "coupled_noise": True}),
        "doctor": TableParameters({"k": 6}),
        "visit": TableParameters({"k": 9}),
    }
    for name in ("region", "patient", "doctor", "visit"):
        alone = table_avatars(schema, tables, given, name, seeds=range(3, 5))
        assert alone is not None and len(alone) == 2
        for seed, avatars in zip(range(3, 5), alone, strict=True):
            # The other tables at another k: the table's own avatars do not move.
            others = {n: p if n == name else TableParameters({"k": 3}) for n, p in given.items()}
            whole = avatarize_tables(schema, tables, others, seed=seed).tables[name].unshuffled
            expected = whole[list(avatars.columns)]
            pd.testing.assert_frame_equal(avatars.reset_index(drop=True), expected)
    # Another seed gives other avatars (the seed is the table's, not a constant).
    first, second = table_avatars(schema, tables, given, "patient", seeds=range(2)) or []
    assert not first.equals(second)


def test_one_table_alone_defers_to_the_whole_run_where_it_cannot_tell() -> None:
    # Processors are undone with the table's new keys: only the whole run says.
    schema, frames = tutorial3()
    given = params("patient", "doctor", "visit")
    assert table_avatars(schema, frames, given, "doctor", seeds=range(1)) is not None
    processors = [{"target": "weight", "references": ["height"]}]
    with_processors = {**given, "patient": TableParameters({"k": 5, "processors": processors})}
    assert table_avatars(schema, frames, with_processors, "patient", seeds=range(1)) is None


def test_new_keys_keep_the_keys_dtypes() -> None:
    schema, frames = tutorial3()
    frames["patient"]["p_id"] = frames["patient"]["p_id"].astype(str).astype("string")
    frames["visit"]["patient_id"] = frames["visit"]["patient_id"].astype(str).astype("string")
    frames["doctor"]["d_id"] = frames["doctor"]["d_id"].astype("int32")
    frames["visit"]["doctor_id"] = frames["visit"]["doctor_id"].astype("int32")
    result = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=1)
    patients, visits = result.tables["patient"].avatars, result.tables["visit"].avatars
    assert patients["p_id"].dtype == "string"
    assert visits["patient_id"].dtype == "string"
    assert set(visits["patient_id"]) <= set(patients["p_id"])
    assert result.tables["doctor"].avatars["d_id"].dtype == np.int32
    assert visits["doctor_id"].dtype == np.int32
    assert sorted(result.tables["doctor"].avatars["d_id"]) == list(range(len(frames["doctor"])))
