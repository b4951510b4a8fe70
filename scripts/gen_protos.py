"""Regenerate the Python code and mypy stubs of every .proto under protos/.

The one place generated code comes from (`make protos`). CI runs it and fails when the committed
files differ (`make check-protos`), so a contract change can never ship without its code.
Output goes to client/ (package ``veil.v1`` and ``veil.engine.v1``), next to the client that uses
it; the service imports the same modules.
"""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"
OUT_DIR = ROOT / "client"
GENERATED_PACKAGES = [OUT_DIR / "veil"]


def main() -> int:
    """Delete the old generated tree and write a fresh one."""
    for package in GENERATED_PACKAGES:
        shutil.rmtree(package, ignore_errors=True)
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    # The mypy plugins live next to this interpreter; name them so an unactivated venv works.
    bin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        f"--python_out={OUT_DIR}",
        f"--mypy_out={OUT_DIR}",
        f"--grpc_python_out={OUT_DIR}",
        f"--mypy_grpc_out={OUT_DIR}",
        *protos,
    ]
    code = protoc.main(args)
    if code != 0:
        print(f"protoc failed with exit code {code}", file=sys.stderr)
        return int(code)
    for directory in [p for p in (OUT_DIR / "veil").rglob("*") if p.is_dir()] + [OUT_DIR / "veil"]:
        (directory / "__init__.py").touch()
        (directory / "py.typed").touch()
    print(f"generated {len(protos)} protos into {OUT_DIR / 'veil'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
