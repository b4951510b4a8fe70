"""The avatarization features (DP generators, data augmentation, processors, pseudonymization)
between their protobuf messages and the flat ``set_parameters`` names both sides use.

The Runner keeps these features as Octopize's flat keyword names and the server's domain keeps the
same names (``engine_contract.avatar_features``), so one conversion serves both ends of the wire:
two hand-kept copies had already drifted in what they did with unknown values.

Writing is lenient on purpose: an unknown enum name is sent as UNSPECIFIED (0) and an empty
processor as a processor with no kind, so that the server, which checks every value, refuses it
with the accepted values instead of the client failing with a bare ``KeyError``. Reading gives an
unknown enum number back as ``""`` (and a processor with no kind as ``{}``) for the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veil.v1 import runs_pb2

MECHANISM = {
    "gaussian": runs_pb2.FAST_DP_MECHANISM_GAUSSIAN,
    "gmm": runs_pb2.FAST_DP_MECHANISM_GMM,
    "histogram": runs_pb2.FAST_DP_MECHANISM_HISTOGRAM,
}
CLASS_STRATEGY = {
    "minority": runs_pb2.AUGMENTATION_STRATEGY_MINORITY,
    "not_majority": runs_pb2.AUGMENTATION_STRATEGY_NOT_MAJORITY,
}
KIND = {
    "FAKER": runs_pb2.PSEUDONYMIZATION_KIND_FAKER,
    "HASH_SHA256": runs_pb2.PSEUDONYMIZATION_KIND_HASH_SHA256,
    "UUID4": runs_pb2.PSEUDONYMIZATION_KIND_UUID4,
    "CONSTANT": runs_pb2.PSEUDONYMIZATION_KIND_CONSTANT,
    "INTEGER": runs_pb2.PSEUDONYMIZATION_KIND_INTEGER,
    "SPECIFIC_ID": runs_pb2.PSEUDONYMIZATION_KIND_SPECIFIC_ID,
}
PII_TYPE = {
    "EMAIL": runs_pb2.PII_TYPE_EMAIL,
    "FIRST_NAME": runs_pb2.PII_TYPE_FIRST_NAME,
    "LAST_NAME": runs_pb2.PII_TYPE_LAST_NAME,
    "FULL_NAME": runs_pb2.PII_TYPE_FULL_NAME,
    "PHONE": runs_pb2.PII_TYPE_PHONE,
    "SSN": runs_pb2.PII_TYPE_SSN,
    "ADDRESS": runs_pb2.PII_TYPE_ADDRESS,
    "FREE_TEXT": runs_pb2.PII_TYPE_FREE_TEXT,
}
LETTER_CASE = {
    "upper": runs_pb2.SPECIFIC_ID_LETTER_CASE_UPPER,
    "lower": runs_pb2.SPECIFIC_ID_LETTER_CASE_LOWER,
    "both": runs_pb2.SPECIFIC_ID_LETTER_CASE_BOTH,
}


def _name(mapping: Mapping[str, int], number: int) -> str:
    """The name of an enum number; UNSPECIFIED or unknown gives "" for the server's checks."""
    return next((name for name, value in mapping.items() if value == number), "")


def _number(mapping: Mapping[str, int], name: Any) -> int:
    """The enum number of a name; an unknown name gives UNSPECIFIED (0) for the server to refuse."""
    return mapping.get(str(name), 0) if name is not None else 0


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def fill_features(target: runs_pb2.AvatarizationParameters, values: Mapping[str, Any]) -> None:
    """Set the feature fields of an AvatarizationParameters message from the flat names."""
    if values.get("open_dp_epsilon") is not None:
        target.open_dp.epsilon = values["open_dp_epsilon"]
        if values.get("preprocess_budget_ratio") is not None:
            target.open_dp.preprocess_budget_ratio = values["preprocess_budget_ratio"]
    if values.get("fast_dp_epsilon") is not None:
        fast = target.fast_dp
        fast.epsilon = values["fast_dp_epsilon"]
        fast.mechanism = _number(MECHANISM, values.get("mechanism"))  # type: ignore[assignment]
        for key in ("gmm_n_components", "histogram_n_bins", "bounds_percentile"):
            if values.get(key) is not None:
                setattr(fast, key, values[key])
    strategy = values.get("data_augmentation_strategy")
    if strategy is not None:
        augmentation = target.data_augmentation
        if isinstance(strategy, Mapping):
            shares = {str(key): float(share) for key, share in strategy.items()}
            augmentation.modality_shares.shares.update(shares)
        elif isinstance(strategy, str):
            augmentation.class_strategy = _number(CLASS_STRATEGY, strategy)  # type: ignore[assignment]
        else:
            augmentation.multiplier = float(strategy)
        augmentation.target_column = values.get("data_augmentation_target_column") or ""
        keep = values.get("data_augmentation_should_anonymize_original_table")
        if keep is not None:
            augmentation.should_anonymize_original_table = keep
    for entry in values.get("processors") or []:
        processor = target.processors.add()
        if "target" in entry or "references" in entry:
            relative = processor.relative_difference
            relative.target = entry.get("target") or ""
            relative.references.extend(entry.get("references") or [])
            if entry.get("scaling_unit") is not None:
                relative.scaling_unit = entry["scaling_unit"]
        elif entry:
            ranges = processor.inter_record_range_difference
            ranges.id_variable = entry.get("id_variable") or ""
            ranges.target_start_variable = entry.get("target_start_variable") or ""
            ranges.target_end_variable = entry.get("target_end_variable") or ""


def _augmentation_strategy(augmentation: runs_pb2.DataAugmentationParameters) -> Any:
    which = augmentation.WhichOneof("strategy")
    if which == "multiplier":
        return augmentation.multiplier
    if which == "class_strategy":
        return _name(CLASS_STRATEGY, augmentation.class_strategy)
    if which == "modality_shares":
        return dict(augmentation.modality_shares.shares)
    return None


def _processor(processor: runs_pb2.ProcessorParameters) -> dict[str, Any]:
    kind = processor.WhichOneof("processor")
    if kind == "relative_difference":
        relative = processor.relative_difference
        entry: dict[str, Any] = {"target": relative.target, "references": list(relative.references)}
        if relative.HasField("scaling_unit"):
            entry["scaling_unit"] = relative.scaling_unit
        return entry
    if kind == "inter_record_range_difference":
        ranges = processor.inter_record_range_difference
        return {
            "id_variable": ranges.id_variable,
            "target_start_variable": ranges.target_start_variable,
            "target_end_variable": ranges.target_end_variable,
        }
    return {}


def features_from_proto(message: runs_pb2.AvatarizationParameters) -> dict[str, Any]:
    """The flat feature names of an AvatarizationParameters message (unset ones left out)."""
    out: dict[str, Any] = {}
    if message.HasField("open_dp"):
        out["open_dp_epsilon"] = message.open_dp.epsilon
        out["preprocess_budget_ratio"] = _optional(message.open_dp, "preprocess_budget_ratio")
    if message.HasField("fast_dp"):
        fast = message.fast_dp
        out.update(
            fast_dp_epsilon=fast.epsilon,
            mechanism=_name(MECHANISM, fast.mechanism) or None,
            gmm_n_components=_optional(fast, "gmm_n_components"),
            histogram_n_bins=_optional(fast, "histogram_n_bins"),
            bounds_percentile=_optional(fast, "bounds_percentile"),
        )
    if message.HasField("data_augmentation"):
        augmentation = message.data_augmentation
        out.update(
            data_augmentation_strategy=_augmentation_strategy(augmentation),
            data_augmentation_target_column=augmentation.target_column or None,
            data_augmentation_should_anonymize_original_table=_optional(
                augmentation, "should_anonymize_original_table"
            ),
        )
    processors = [_processor(processor) for processor in message.processors]
    if processors:
        out["processors"] = processors
    return _without_none(out)


def fill_strategy(target: runs_pb2.PseudonymizationStrategy, fields: Mapping[str, Any]) -> None:
    """Set a PseudonymizationStrategy message from an avatar_yaml field map."""
    target.kind = _number(KIND, str(fields.get("kind", "")).upper())  # type: ignore[assignment]
    if fields.get("pii_type") is not None:
        target.pii_type = _number(PII_TYPE, str(fields["pii_type"]).upper())  # type: ignore[assignment]
    for key in ("consistent", "high_variability"):
        if fields.get(key) is not None:
            setattr(target, key, bool(fields[key]))
    target.value = str(fields.get("value") or "")
    target.pattern = str(fields.get("pattern") or "")
    if fields.get("letter_case") is not None:
        target.letter_case = _number(LETTER_CASE, str(fields["letter_case"]).lower())  # type: ignore[assignment]


def strategy_from_proto(strategy: runs_pb2.PseudonymizationStrategy) -> dict[str, Any]:
    """The avatar_yaml field map of a PseudonymizationStrategy message."""
    return _without_none(
        {
            "kind": _name(KIND, strategy.kind),
            "pii_type": _name(PII_TYPE, strategy.pii_type) or None,
            "consistent": _optional(strategy, "consistent"),
            "high_variability": _optional(strategy, "high_variability"),
            "value": strategy.value or None,
            "pattern": strategy.pattern or None,
            "letter_case": _name(LETTER_CASE, strategy.letter_case) or None,
        }
    )
