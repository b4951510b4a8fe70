"""The layering of the code, pinned: imports go down, never up; no import cycle; small modules.

Every import counts, wherever it sits (module level, inside a function, under TYPE_CHECKING):
each is a dependency someone has to understand. The layers of ``veil_service``, lowest first:

    foundation       errors, settings, logs, yaml_limits
    contract         engine_contract (what the server and the engine agree on)
    engine           the algorithms: engine.avatarize, .metrics, .reports, .dp, .multitable, ...
    engine process   engine.tasks, engine.worker, engine.cache, engine.server (the engine's edge)
    infrastructure   storage, auth, email, engine_client, context, arrow_tables, ipc_framing, ...
    domain           accounts, runs, dpquery
    edge             api (servicers and conversions), server (the gRPC server), web (the web app)
    entry points     cli, admin_cli

The engine's two layers and the server's three are separate branches over the contract: the
server never imports an engine module, the engine never a server module. The engine algorithms
import no gRPC, protobuf or wire code, and the domain no protobuf (protobufs stay at the edges).
Nothing in the service imports the client; the client and the shared wire package import
nothing of the service. See docs/architecture.md.
"""

from __future__ import annotations

import ast
import statistics
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "veil_service": ROOT / "service" / "veil_service",
    "veil_client": ROOT / "client" / "veil_client",
    "veil_wire": ROOT / "client" / "veil_wire",
}

LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": ("veil_service", "errors", "settings", "logs", "yaml_limits"),
    "contract": ("engine_contract",),
    "engine": (),  # every engine.<package> not in "engine process"
    "engine process": (
        "engine",
        "engine.tasks",
        "engine.worker",
        "engine.cache",
        "engine.server",
        # engine.parent_death imports nothing of Veil's: it is an algorithm-layer utility that
        # the engine process (its workers, its forkserver) and the forked pieces of one task
        # (engine.forked_map) both use.
        "engine.forkserver_guard",
        "engine.dask_partitions",  # a job's partition tasks: release and metrics as the tasks do
    ),
    "infrastructure": (
        "storage",
        "auth",
        "email",
        "engine_client",
        "context",
        "arrow_tables",
        "ipc_framing",
        "server_state",
        "healthcheck",
    ),
    "domain": ("accounts", "runs", "dpquery"),
    "edge": ("api", "server", "web"),
    "entry points": ("cli", "admin_cli"),
}
MAY_IMPORT: dict[str, set[str]] = {
    "foundation": {"foundation"},
    "contract": {"foundation", "contract"},
    "engine": {"foundation", "contract", "engine"},
    "engine process": {"foundation", "contract", "engine", "engine process"},
    "infrastructure": {"foundation", "contract", "infrastructure"},
    "domain": {"foundation", "contract", "infrastructure", "domain"},
    "edge": {"foundation", "contract", "infrastructure", "domain", "edge"},
    "entry points": set(LAYERS),
}
PROTOBUF = ("grpc", "grpc_status", "grpc_health", "google.protobuf", "google.rpc", "veil")
FORBIDDEN_LIBRARIES: dict[str, tuple[str, ...]] = {
    "engine": (*PROTOBUF, "veil_wire"),
    "domain": PROTOBUF,
}
"""Libraries a layer must not import ("veil" is the generated protobuf code)."""
MEDIAN_MODULE_LINES = 300


def _module_name(path: Path) -> str:
    package = next(name for name, base in PACKAGES.items() if path.is_relative_to(base))
    parts = [package, *path.relative_to(PACKAGES[package]).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for base in PACKAGES.values()
        for path in sorted(base.rglob("*.py"))
        if "migrations" not in path.relative_to(base).parts
    }


def _imported_names(module: str, path: Path) -> Iterator[str]:
    """Every module name an import statement of ``path`` names (both ``a`` and ``a.b``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            yield origin
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def _resolve(name: str) -> str | None:
    """The module of ours ``name`` refers to (its longest known prefix), if any."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in _sources():
            return ".".join(parts[:end])
    return None


@cache
def _graph() -> dict[str, set[str]]:
    """Module -> modules of ours it imports (a module's own parent packages left out: importing
    ``a.b`` runs ``a/__init__.py`` first whatever the layering, so it is no dependency)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in _sources().items():
        for name in _imported_names(module, path):
            target = _resolve(name)
            if target and target != module and not module.startswith(f"{target}."):
                graph[module].add(target)
    return graph


def _layer(module: str) -> str:
    """The layer of a veil_service module (AssertionError for a package no layer names)."""
    parts = module.split(".")[1:] or ["veil_service"]
    for key in (".".join(parts[:2]), parts[0]):
        for layer, members in LAYERS.items():
            if key in members:
                return layer
        if key.startswith("engine."):
            return "engine"
    raise AssertionError(
        f"{module} belongs to no layer: add its package to LAYERS in tests/test_architecture.py "
        "(and to docs/architecture.md)"
    )


def test_every_service_package_has_a_layer() -> None:
    for module in _sources():
        if module.startswith("veil_service"):
            _layer(module)


def test_imports_never_go_up_a_layer_nor_across_the_engine_server_divide() -> None:
    wrong = sorted(
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in _graph().items()
        if module.startswith("veil_service.")
        for target in targets
        if target.startswith("veil_service") and _layer(target) not in MAY_IMPORT[_layer(module)]
    )
    assert wrong == []


def test_engine_algorithms_and_the_domain_import_no_grpc_protobuf_or_wire_code() -> None:
    wrong = sorted(
        f"{module} imports {name}"
        for module, path in _sources().items()
        if module.startswith("veil_service.") and _layer(module) in FORBIDDEN_LIBRARIES
        for name in set(_imported_names(module, path))
        for library in FORBIDDEN_LIBRARIES[_layer(module)]
        if name == library or name.startswith(f"{library}.")
    )
    assert wrong == []


def test_the_service_imports_no_client_and_the_client_and_the_wire_code_no_service() -> None:
    may_not = {
        "veil_service": ("veil_client",),
        "veil_client": ("veil_service",),
        "veil_wire": ("veil_service", "veil_client"),
    }
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if target.split(".")[0] in may_not[module.split(".")[0]]
    )
    assert wrong == []


def test_there_is_no_import_cycle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in _sources():
        if module not in index:
            visit(module)
    assert cycles == []


def test_modules_stay_small() -> None:
    lines = [len(path.read_text().splitlines()) for path in _sources().values()]
    assert statistics.median(lines) < MEDIAN_MODULE_LINES
