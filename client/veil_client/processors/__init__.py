"""Client-side processors (the Octopize ``avatars.processors``), plus the server-side ones.

A client-side processor runs on your machine: ``preprocess(df)`` before ``add_table``, and
``postprocess(source, dest)`` on the downloaded avatars. Server-side processors
(``RelativeDifferenceParameters``, ``InterRecordRangeDifferenceParameters``) are passed to
``runner.set_parameters(table, processors=[...])`` and run in the engine, in list order.

Example::

    from veil_client.processors import ProportionProcessor

    processor = ProportionProcessor(["home", "away"], reference="total", decimal_count=0)
    runner.add_table("games", processor.preprocess(df))
    ...
    games = processor.postprocess(df, runner.shuffled("games"))
"""

from veil_client.processors.base import Processor
from veil_client.processors.datetime import DatetimeProcessor
from veil_client.processors.expected_mean import ExpectedMeanProcessor
from veil_client.processors.geolocation_normalization import GeolocationNormalizationProcessor
from veil_client.processors.group_modalities import GroupModalitiesProcessor
from veil_client.processors.inter_record_bounded_cumulated_difference import (
    InterRecordBoundedCumulatedDifferenceProcessor,
)
from veil_client.processors.inter_record_bounded_range_difference import (
    InterRecordBoundedRangeDifferenceProcessor,
)
from veil_client.processors.inter_record_cumulated_difference import (
    InterRecordCumulatedDifferenceProcessor,
)
from veil_client.processors.inter_record_range_difference import (
    InterRecordRangeDifferenceProcessor,
)
from veil_client.processors.perturbation import PerturbationProcessor
from veil_client.processors.proportions import ProportionProcessor
from veil_client.processors.to_categorical import ToCategoricalProcessor
from veil_client.server_processors import (
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)

__all__ = [
    "DatetimeProcessor",
    "ExpectedMeanProcessor",
    "GeolocationNormalizationProcessor",
    "GroupModalitiesProcessor",
    "InterRecordBoundedCumulatedDifferenceProcessor",
    "InterRecordBoundedRangeDifferenceProcessor",
    "InterRecordCumulatedDifferenceProcessor",
    "InterRecordRangeDifferenceParameters",
    "InterRecordRangeDifferenceProcessor",
    "PerturbationProcessor",
    "Processor",
    "ProportionProcessor",
    "RelativeDifferenceParameters",
    "ToCategoricalProcessor",
]
