"""The PrivacyLoss message as the client's dataclass (the feature parameters themselves convert in
:mod:`veil_wire.avatar_features`, shared with the server)."""

from __future__ import annotations

from veil.v1 import runs_pb2

from veil_client.models import PrivacyLoss


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
