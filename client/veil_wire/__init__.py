"""The wire code Veil's client and server share, so that neither imports the other.

* :mod:`veil_wire.framing`: the hand-framed ``bytes`` field of upload/download messages, the
  gRPC (de)serializers that use it, message size limits.
* :mod:`veil_wire.ipc`: Arrow IPC streams cut into ~1 MiB messages and read back in place.
* :mod:`veil_wire.digest`: sha256 on a helper thread.
* :mod:`veil_wire.malloc_tuning`: glibc malloc settings for processes that stream tables.
* :mod:`veil_wire.channel`: the addresses a caller may give and the channel opened to them.
* :mod:`veil_wire.avatar_features`: the avatarization features' messages and their flat names.

It depends on grpcio, pyarrow and the generated messages only (no pandas).
"""
