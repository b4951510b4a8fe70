"""The engine: stateless compute (algorithms, metrics, reports, DP execution).

Algorithms here are plain pandas/numpy/scikit-learn; only ``engine.server`` knows about gRPC.
"""
