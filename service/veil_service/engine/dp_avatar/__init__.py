"""Differentially private avatarization: Open DP (end-to-end DP) and Fast DP (not end-to-end).

Usage::

    from veil_service.engine.dp_avatar import OpenDPParameters, open_dp_avatarize

    result = open_dp_avatarize(df, OpenDPParameters(epsilon=1.0, preprocess_budget_ratio=0.3))
    result.avatars              # generated rows
    result.epsilon, result.delta  # the release's loss, OpenDP's own map of its composition

    from veil_service.engine.dp_avatar import FastDPParameters, fast_dp_avatarize

    fast = fast_dp_avatarize(df, FastDPParameters(epsilon=5.0, mechanism="gaussian"))
    fast.bounds                 # read from the data without noise: not end-to-end DP

Plain pandas, numpy, scipy, OpenDP and private-pgm (``mbi``): no gRPC, protobuf or database.
docs/avatarization.md has the proof sketch of Open DP.
"""

from veil_service.engine.dp_avatar.fast_dp import FastDPResult, fast_dp_avatarize
from veil_service.engine.dp_avatar.open_dp import OpenDPResult, open_dp_avatarize
from veil_service.engine.dp_avatar.parameters import (
    DEFAULT_DELTA,
    FAST_DP_MECHANISMS,
    FastDPParameters,
    OpenDPParameters,
    check_epsilon,
)

__all__ = [
    "DEFAULT_DELTA",
    "FAST_DP_MECHANISMS",
    "FastDPParameters",
    "FastDPResult",
    "OpenDPParameters",
    "OpenDPResult",
    "check_epsilon",
    "fast_dp_avatarize",
    "open_dp_avatarize",
]
