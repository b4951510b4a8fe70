"""Server-side processors: parsing, round trips, list order, and constraints held in avatars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine.avatarize import avatarize
from veil_service.engine.processors import (
    InterRecordRangeDifference,
    ProcessorChain,
    RelativeDifference,
    parse_processors,
)
from veil_service.errors import InvalidArgumentError

EPL = FIXTURES / "avatar" / "fixtures" / "epl.csv"


@pytest.fixture(scope="module")
def epl() -> pd.DataFrame:
    return pd.read_csv(EPL).drop(columns=["career_start_date", "club_signing_date"])


def records(n_people: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = []
    for person in range(n_people):
        t = int(rng.integers(0, 30))
        for _ in range(int(rng.integers(2, 7))):
            start = t + int(rng.integers(0, 8))
            end = start + int(rng.integers(0, 12))
            rows.append({"project": person, "start": start, "end": end, "cost": rng.gamma(2, 3)})
            t = end
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_parse_tells_the_two_processors_apart_and_refuses_unknown_shapes() -> None:
    parsed = parse_processors(
        [
            {"target": "capital-gain", "references": ["capital-loss"]},
            {"id_variable": "p", "target_start_variable": "s", "target_end_variable": "e"},
            {"target": "a", "references": ["b", "c"], "scaling_unit": 1000},
        ]
    )
    assert parsed == [
        RelativeDifference("capital-gain", ("capital-loss",)),
        InterRecordRangeDifference("p", "s", "e"),
        RelativeDifference("a", ("b", "c"), 1000),
    ]
    with pytest.raises(InvalidArgumentError, match=r"processors\[0\] with fields \['bogus'\]"):
        parse_processors([{"bogus": 1}])
    with pytest.raises(InvalidArgumentError, match="references must be a list"):
        parse_processors([{"target": "a", "references": "b"}])
    with pytest.raises(InvalidArgumentError, match="scaling_unit must be a positive"):
        parse_processors([{"target": "a", "references": ["b"], "scaling_unit": 0}])


def test_a_processor_naming_a_missing_column_is_refused(epl: pd.DataFrame) -> None:
    chain = ProcessorChain(parse_processors([{"target": "nope", "references": ["age"]}]))
    with pytest.raises(InvalidArgumentError, match=r"names column\(s\) \['nope'\]"):
        chain.check(epl)


def test_relative_difference_round_trip_and_scaling(epl: pd.DataFrame) -> None:
    processor = RelativeDifference("penalty_goals", ("penalty_attempts",))
    pre = processor.preprocess(epl)
    assert (pre["penalty_goals"] <= 0).all()
    pd.testing.assert_frame_equal(processor.postprocess(epl, pre), epl)
    scaled = RelativeDifference("minutes_in_game", ("minutes_on_bench",), scaling_unit=60)
    back = scaled.postprocess(epl, scaled.preprocess(epl))
    pd.testing.assert_frame_equal(back, epl)


def test_relative_difference_holds_in_the_avatars(epl: pd.DataFrame) -> None:
    entries = [
        {"target": "penalty_goals", "references": ["penalty_attempts"]},
        {"target": "minutes_in_game", "references": ["minutes_played_home", "minutes_played_away"]},
    ]
    chain = ProcessorChain(parse_processors(entries))
    avatars = chain.postprocess(avatarize(chain.preprocess(epl), k=5, seed=0).avatars)
    played = avatars["minutes_played_home"] + avatars["minutes_played_away"]
    assert (avatars["penalty_goals"] <= avatars["penalty_attempts"]).all()
    assert (avatars["minutes_in_game"] >= played).all()


def test_inter_record_range_round_trip_and_chain_in_avatars() -> None:
    df = records()
    processor = InterRecordRangeDifference("project", "start", "end")
    pre = processor.preprocess(df)
    assert not {"start", "end"} & set(pre.columns)
    back = processor.postprocess(df, pre)
    # Row order inside a project decides the chain: each project's records are rebuilt in row
    # order, so the multiset of ranges and the chain are kept.
    for project, group in back.groupby("project"):
        original = df[df["project"] == project]
        assert sorted(group["end"] - group["start"]) == sorted(original["end"] - original["start"])
    avatars = processor.postprocess(
        df, avatarize(pre, k=5, ncp=4, seed=1, exclude_variable_names=["project"]).avatars
    )
    assert avatars["start"].dtype == df["start"].dtype
    for _, group in avatars.groupby("project", sort=False):
        start, end = group["start"].to_numpy(), group["end"].to_numpy()
        assert (start <= end).all() and (start[1:] >= end[:-1]).all()


def test_chain_preprocesses_in_list_order_and_postprocesses_in_reverse(epl: pd.DataFrame) -> None:
    # The second processor reads the first one's output: goals - attempts, then minus misses.
    entries = [
        {"target": "penalty_goals", "references": ["penalty_attempts"]},
        {"target": "penalty_goals", "references": ["penalty_misses"]},
    ]
    chain = ProcessorChain(parse_processors(entries))
    pre = chain.preprocess(epl)
    expected = epl["penalty_goals"] - epl["penalty_attempts"] - epl["penalty_misses"]
    np.testing.assert_allclose(pre["penalty_goals"], expected)
    pd.testing.assert_frame_equal(chain.postprocess(pre), epl)
    reversed_chain = ProcessorChain(parse_processors(entries[::-1]))
    reversed_chain.preprocess(epl)
    pd.testing.assert_frame_equal(reversed_chain.postprocess(pre), epl)
