"""Differentially private queries inside the engine: smartnoise-sql, OpenDP, diffprivlib and
smartnoise-synth behind one set of pure functions (see ``dispatch`` and docs/dp.md).

Nothing here imports gRPC or protobuf; the servicer converts messages to the dataclasses of
``requests`` and back.
"""
