"""A recorded privacy loss as its protobuf message (the feature parameters themselves convert in
:mod:`veil_wire.avatar_features`, shared with the client)."""

from __future__ import annotations

from veil.v1 import runs_pb2

from veil_service.runs.privacy_loss import PrivacyLoss


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
