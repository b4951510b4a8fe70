"""The standard job's release of one table: processors, generator (avatar method, Open DP or
Fast DP), data augmentation and pseudonymization, in that order.

Usage::

    from veil_service.engine.release import parse_release, release_table

    params = parse_release({"open_dp_epsilon": 1.0}, {"ssn": {"kind": "UUID4"}}, seed=0)
    release = release_table(df, params, secret=run_secret, table_name="patients")
    release.avatars          # shuffled output rows
    release.privacy_loss     # OpenDP's accounting, for DP generators
    release.mappings         # SENSITIVE: pseudonym mappings, kept by the server with the run

Plain pandas and numpy over the engine's algorithm packages: no gRPC, protobuf or database.
"""

from veil_service.engine.release.parameters import ReleaseParameters, parse_release
from veil_service.engine.release.release import Release, release_table

__all__ = ["Release", "ReleaseParameters", "parse_release", "release_table"]
