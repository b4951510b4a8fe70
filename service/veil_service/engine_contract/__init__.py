"""What the server and the engine agree on, imported by both sides and by nothing heavier.

The engine's algorithms and the server's domain never import each other: a request, a dataset's
metadata or a task's parameters cross between them only in the forms defined here.

* ``dp_requests``: the DP libraries' names, request and result dataclasses, field checks.
* ``dp_metadata``: dataset metadata (Lomas's format): parse, validate, convert.
* ``dp_tasks``: the JSON parameters of the DP engine tasks, their codec, the dummy-data limits.
* ``linked_tables``: tables' keys and links of multi-table runs, and avatar_yaml's rules on them.
* ``time_series``: the time-series parameters (projection, alignment) and their checks.

Modules here import only the standard library, PyYAML and ``veil_service.errors`` (pandas only
for type checking), so the server process stays free of the engine's libraries.
"""
