"""Conversions of the avatarization features (DP generators, data augmentation, processors,
pseudonymization, privacy loss) between their protobuf messages and the domain's flat
``set_parameters`` names (``engine_contract.avatar_features``)."""

from __future__ import annotations

from typing import Any

from veil.v1 import runs_pb2

from veil_service.runs.privacy_loss import PrivacyLoss

MECHANISM = {
    runs_pb2.FAST_DP_MECHANISM_GAUSSIAN: "gaussian",
    runs_pb2.FAST_DP_MECHANISM_GMM: "gmm",
    runs_pb2.FAST_DP_MECHANISM_HISTOGRAM: "histogram",
}
CLASS_STRATEGY = {
    runs_pb2.AUGMENTATION_STRATEGY_MINORITY: "minority",
    runs_pb2.AUGMENTATION_STRATEGY_NOT_MAJORITY: "not_majority",
}
KIND = {
    runs_pb2.PSEUDONYMIZATION_KIND_FAKER: "FAKER",
    runs_pb2.PSEUDONYMIZATION_KIND_HASH_SHA256: "HASH_SHA256",
    runs_pb2.PSEUDONYMIZATION_KIND_UUID4: "UUID4",
    runs_pb2.PSEUDONYMIZATION_KIND_CONSTANT: "CONSTANT",
    runs_pb2.PSEUDONYMIZATION_KIND_INTEGER: "INTEGER",
    runs_pb2.PSEUDONYMIZATION_KIND_SPECIFIC_ID: "SPECIFIC_ID",
}
PII_TYPE = {
    runs_pb2.PII_TYPE_EMAIL: "EMAIL",
    runs_pb2.PII_TYPE_FIRST_NAME: "FIRST_NAME",
    runs_pb2.PII_TYPE_LAST_NAME: "LAST_NAME",
    runs_pb2.PII_TYPE_FULL_NAME: "FULL_NAME",
    runs_pb2.PII_TYPE_PHONE: "PHONE",
    runs_pb2.PII_TYPE_SSN: "SSN",
    runs_pb2.PII_TYPE_ADDRESS: "ADDRESS",
    runs_pb2.PII_TYPE_FREE_TEXT: "FREE_TEXT",
}
LETTER_CASE = {
    runs_pb2.SPECIFIC_ID_LETTER_CASE_UPPER: "upper",
    runs_pb2.SPECIFIC_ID_LETTER_CASE_LOWER: "lower",
    runs_pb2.SPECIFIC_ID_LETTER_CASE_BOTH: "both",
}


def _inverse(mapping: dict[Any, str]) -> dict[str, Any]:
    return {value: key for key, value in mapping.items()}


def _opt(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def features_from_proto(a: runs_pb2.AvatarizationParameters) -> dict[str, Any]:
    """The feature keys of an AvatarizationParameters message (absent ones left out)."""
    out: dict[str, Any] = {}
    if a.HasField("open_dp"):
        out["open_dp_epsilon"] = a.open_dp.epsilon
        out["preprocess_budget_ratio"] = _opt(a.open_dp, "preprocess_budget_ratio")
    if a.HasField("fast_dp"):
        f = a.fast_dp
        out.update(
            fast_dp_epsilon=f.epsilon,
            mechanism=MECHANISM.get(f.mechanism),
            gmm_n_components=_opt(f, "gmm_n_components"),
            histogram_n_bins=_opt(f, "histogram_n_bins"),
            bounds_percentile=_opt(f, "bounds_percentile"),
        )
    if a.HasField("data_augmentation"):
        d = a.data_augmentation
        which = d.WhichOneof("strategy")
        strategy: Any = None
        if which == "multiplier":
            strategy = d.multiplier
        elif which == "class_strategy":
            strategy = CLASS_STRATEGY.get(d.class_strategy, "")
        elif which == "modality_shares":
            strategy = dict(d.modality_shares.shares)
        out.update(
            data_augmentation_strategy=strategy,
            data_augmentation_target_column=d.target_column or None,
            data_augmentation_should_anonymize_original_table=_opt(
                d, "should_anonymize_original_table"
            ),
        )
    processors: list[dict[str, Any]] = []
    for p in a.processors:
        kind = p.WhichOneof("processor")
        if kind == "relative_difference":
            r = p.relative_difference
            entry: dict[str, Any] = {"target": r.target, "references": list(r.references)}
            if r.HasField("scaling_unit"):
                entry["scaling_unit"] = r.scaling_unit
            processors.append(entry)
        elif kind == "inter_record_range_difference":
            i = p.inter_record_range_difference
            processors.append(
                {
                    "id_variable": i.id_variable,
                    "target_start_variable": i.target_start_variable,
                    "target_end_variable": i.target_end_variable,
                }
            )
        else:
            processors.append({})
    if processors:
        out["processors"] = processors
    return {key: value for key, value in out.items() if value is not None}


def fill_features(target: runs_pb2.AvatarizationParameters, params: dict[str, Any]) -> None:
    """Set the feature fields of an AvatarizationParameters message from domain keys."""
    if params.get("open_dp_epsilon") is not None:
        target.open_dp.epsilon = params["open_dp_epsilon"]
        if params.get("preprocess_budget_ratio") is not None:
            target.open_dp.preprocess_budget_ratio = params["preprocess_budget_ratio"]
    if params.get("fast_dp_epsilon") is not None:
        f = target.fast_dp
        f.epsilon = params["fast_dp_epsilon"]
        if params.get("mechanism"):
            f.mechanism = _inverse(MECHANISM)[params["mechanism"]]
        for key in ("gmm_n_components", "histogram_n_bins", "bounds_percentile"):
            if params.get(key) is not None:
                setattr(f, key, params[key])
    strategy = params.get("data_augmentation_strategy")
    if strategy is not None:
        d = target.data_augmentation
        if isinstance(strategy, dict):
            d.modality_shares.shares.update({str(k): float(v) for k, v in strategy.items()})
        elif isinstance(strategy, str):
            d.class_strategy = _inverse(CLASS_STRATEGY)[strategy]
        else:
            d.multiplier = float(strategy)
        d.target_column = params.get("data_augmentation_target_column") or ""
        keep = params.get("data_augmentation_should_anonymize_original_table")
        if keep is not None:
            d.should_anonymize_original_table = keep
    for entry in params.get("processors") or []:
        p = target.processors.add()
        if "target" in entry:
            p.relative_difference.target = entry["target"]
            p.relative_difference.references.extend(entry.get("references") or [])
            if entry.get("scaling_unit") is not None:
                p.relative_difference.scaling_unit = entry["scaling_unit"]
        else:
            i = p.inter_record_range_difference
            i.id_variable = entry["id_variable"]
            i.target_start_variable = entry["target_start_variable"]
            i.target_end_variable = entry["target_end_variable"]


def strategy_from_proto(s: runs_pb2.PseudonymizationStrategy) -> dict[str, Any]:
    """The field map of a PseudonymizationStrategy message (as avatar_yaml writes it)."""
    out: dict[str, Any] = {
        "kind": KIND.get(s.kind, ""),
        "pii_type": PII_TYPE.get(s.pii_type),
        "consistent": _opt(s, "consistent"),
        "high_variability": _opt(s, "high_variability"),
        "value": s.value or None,
        "pattern": s.pattern or None,
        "letter_case": LETTER_CASE.get(s.letter_case),
    }
    return {key: value for key, value in out.items() if value is not None}


def fill_strategy(target: runs_pb2.PseudonymizationStrategy, strategy: dict[str, Any]) -> None:
    """Set a PseudonymizationStrategy message from a (checked) field map."""
    target.kind = _inverse(KIND)[str(strategy["kind"]).upper()]
    if strategy.get("pii_type"):
        target.pii_type = _inverse(PII_TYPE)[str(strategy["pii_type"]).upper()]
    for key in ("consistent", "high_variability"):
        if strategy.get(key) is not None:
            setattr(target, key, strategy[key])
    target.value = strategy.get("value") or ""
    target.pattern = strategy.get("pattern") or ""
    if strategy.get("letter_case"):
        target.letter_case = _inverse(LETTER_CASE)[str(strategy["letter_case"]).lower()]


def privacy_loss_to_proto(loss: PrivacyLoss) -> runs_pb2.PrivacyLoss:
    """PrivacyLoss message of a recorded loss."""
    return runs_pb2.PrivacyLoss(
        table_name=loss.table_name,
        generator=loss.generator,
        epsilon=loss.epsilon,
        delta=loss.delta,
        end_to_end=loss.end_to_end,
        accountant=loss.accountant,
    )
