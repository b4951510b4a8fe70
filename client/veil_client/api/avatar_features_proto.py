"""The avatarization features (DP generators, data augmentation, processors, pseudonymization,
privacy loss) between the Runner's flat ``set_parameters`` names and their messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veil.v1 import runs_pb2

from veil_client.models import PrivacyLoss

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


def _inverse(mapping: Mapping[str, Any]) -> dict[Any, str]:
    return {v: k for k, v in mapping.items()}


def _enum(mapping: Mapping[str, Any], name: str, value: Any) -> Any:
    """The enum number of a name; an unknown name is sent as UNSPECIFIED for the server to refuse
    with the accepted values."""
    return mapping.get(str(value), 0) if value is not None else 0


def _opt(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def fill_features(target: runs_pb2.AvatarizationParameters, values: dict[str, Any]) -> None:
    """Set the feature fields of an AvatarizationParameters message."""
    if values.get("open_dp_epsilon") is not None:
        target.open_dp.epsilon = values["open_dp_epsilon"]
        if values.get("preprocess_budget_ratio") is not None:
            target.open_dp.preprocess_budget_ratio = values["preprocess_budget_ratio"]
    if values.get("fast_dp_epsilon") is not None:
        f = target.fast_dp
        f.epsilon = values["fast_dp_epsilon"]
        f.mechanism = _enum(MECHANISM, "mechanism", values.get("mechanism"))
        for key in ("gmm_n_components", "histogram_n_bins", "bounds_percentile"):
            if values.get(key) is not None:
                setattr(f, key, values[key])
    strategy = values.get("data_augmentation_strategy")
    if strategy is not None:
        d = target.data_augmentation
        if isinstance(strategy, dict):
            d.modality_shares.shares.update(strategy)
        elif isinstance(strategy, str):
            d.class_strategy = _enum(CLASS_STRATEGY, "strategy", strategy)
        else:
            d.multiplier = float(strategy)
        d.target_column = values.get("data_augmentation_target_column") or ""
        keep = values.get("data_augmentation_should_anonymize_original_table")
        if keep is not None:
            d.should_anonymize_original_table = keep
    for entry in values.get("processors") or []:
        p = target.processors.add()
        if "target" in entry or "references" in entry:
            p.relative_difference.target = entry.get("target") or ""
            p.relative_difference.references.extend(entry.get("references") or [])
            if entry.get("scaling_unit") is not None:
                p.relative_difference.scaling_unit = entry["scaling_unit"]
        elif entry:
            i = p.inter_record_range_difference
            i.id_variable = entry.get("id_variable") or ""
            i.target_start_variable = entry.get("target_start_variable") or ""
            i.target_end_variable = entry.get("target_end_variable") or ""


def features_from_proto(a: runs_pb2.AvatarizationParameters) -> dict[str, Any]:
    """The feature arguments of an AvatarizationParameters message (unset ones left out)."""
    out: dict[str, Any] = {}
    if a.HasField("open_dp"):
        out["open_dp_epsilon"] = a.open_dp.epsilon
        out["preprocess_budget_ratio"] = _opt(a.open_dp, "preprocess_budget_ratio")
    if a.HasField("fast_dp"):
        f = a.fast_dp
        out.update(
            fast_dp_epsilon=f.epsilon,
            mechanism=_inverse(MECHANISM).get(f.mechanism),
            gmm_n_components=_opt(f, "gmm_n_components"),
            histogram_n_bins=_opt(f, "histogram_n_bins"),
            bounds_percentile=_opt(f, "bounds_percentile"),
        )
    if a.HasField("data_augmentation"):
        d = a.data_augmentation
        which = d.WhichOneof("strategy")
        out["data_augmentation_strategy"] = (
            d.multiplier
            if which == "multiplier"
            else _inverse(CLASS_STRATEGY).get(d.class_strategy)
            if which == "class_strategy"
            else dict(d.modality_shares.shares)
            if which == "modality_shares"
            else None
        )
        out["data_augmentation_target_column"] = d.target_column or None
        out["data_augmentation_should_anonymize_original_table"] = _opt(
            d, "should_anonymize_original_table"
        )
    processors = []
    for p in a.processors:
        if p.WhichOneof("processor") == "relative_difference":
            r = p.relative_difference
            entry: dict[str, Any] = {"target": r.target, "references": list(r.references)}
            if r.HasField("scaling_unit"):
                entry["scaling_unit"] = r.scaling_unit
        else:
            i = p.inter_record_range_difference
            entry = {
                "id_variable": i.id_variable,
                "target_start_variable": i.target_start_variable,
                "target_end_variable": i.target_end_variable,
            }
        processors.append(entry)
    if processors:
        out["processors"] = processors
    return {key: value for key, value in out.items() if value is not None}


def fill_strategy(target: runs_pb2.PseudonymizationStrategy, fields: dict[str, Any]) -> None:
    """Set a PseudonymizationStrategy message from an avatar_yaml field map."""
    target.kind = _enum(KIND, "kind", str(fields.get("kind", "")).upper())
    if fields.get("pii_type") is not None:
        target.pii_type = _enum(PII_TYPE, "pii_type", str(fields["pii_type"]).upper())
    for key in ("consistent", "high_variability"):
        if fields.get(key) is not None:
            setattr(target, key, bool(fields[key]))
    target.value = str(fields.get("value") or "")
    target.pattern = str(fields.get("pattern") or "")
    if fields.get("letter_case") is not None:
        target.letter_case = _enum(LETTER_CASE, "letter_case", str(fields["letter_case"]).lower())


def strategy_from_proto(s: runs_pb2.PseudonymizationStrategy) -> dict[str, Any]:
    """The avatar_yaml field map of a PseudonymizationStrategy message."""
    out = {
        "kind": _inverse(KIND).get(s.kind),
        "pii_type": _inverse(PII_TYPE).get(s.pii_type),
        "consistent": _opt(s, "consistent"),
        "high_variability": _opt(s, "high_variability"),
        "value": s.value or None,
        "pattern": s.pattern or None,
        "letter_case": _inverse(LETTER_CASE).get(s.letter_case),
    }
    return {key: value for key, value in out.items() if value is not None}


def privacy_loss_from_proto(loss: runs_pb2.PrivacyLoss) -> PrivacyLoss:
    """A PrivacyLoss message as the client's dataclass."""
    return PrivacyLoss(
        table_name=loss.table_name,
        generator=loss.generator,
        epsilon=loss.epsilon,
        delta=loss.delta,
        end_to_end=loss.end_to_end,
        accountant=loss.accountant,
    )
