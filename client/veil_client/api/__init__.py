"""The per-RPC layer: one module per service, one typed method per RPC.

Each method takes Python values, builds the request message, sends it through the transport's
one ``_rpc_call`` and returns plain frozen dataclasses (or DataFrames/Arrow tables for table
downloads). Only this package and :mod:`veil_client.transport` know protobuf and gRPC; the
``Manager``, ``Runner`` and DP client facades are built on it.

* :mod:`veil_client.api.auth`: AuthService.
* :mod:`veil_client.api.runs`: RunsService (with :mod:`veil_client.api.run_config_proto`, the
  run configuration's message form).
* :mod:`veil_client.api.dpquery`: DPQueryService.
* :mod:`veil_client.api.admin`: AdminService.
* :mod:`veil_client.api.health`: the standard gRPC health service.
* :mod:`veil_client.api.common`: messages shared by several services.
"""
