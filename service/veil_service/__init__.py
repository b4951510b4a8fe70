"""Veil service: the gRPC server, its domain logic, storage and the engine."""

__version__ = "0.1.0"
