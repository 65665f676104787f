"""Compile the user's ``.proto`` files at run time with protoc as grpcio-tools bundles it.

``python -m grpc_tools.protoc --descriptor_set_out`` runs in a child process so its
messages can be read and reported as one clear line (the compiler writes them on the
process's standard error, which an in-process call would spill onto the terminal).
The protobuf well-known types (``google/protobuf/*.proto``) shipped with grpcio-tools
are on the include path. This module does file and process I/O; decoding with the
result is :mod:`explorer.codecs.protobuf`, which does none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from explorer.codecs.base import CodecError
from explorer.codecs.protobuf import ProtoSchemas

__all__ = ["compile_proto_files", "load_schemas"]

_TIMEOUT = 60.0


def _well_known_include() -> str | None:
    try:
        import grpc_tools
    except ImportError:
        return None
    path = Path(grpc_tools.__file__).parent / "_proto"
    return str(path) if path.is_dir() else None


def compile_proto_files(files: Sequence[str], include: Sequence[str] = ()) -> bytes:
    """A serialized ``FileDescriptorSet`` of ``files`` and everything they import.

    Each file's own directory is on the include path, then ``include``.

    Raises:
        CodecError: a file is missing, protoc is not installed, or the file does not
            compile (the compiler's first message, with file and line).
    """
    if not files:
        return b""
    paths: list[Path] = []
    for name in files:
        path = Path(name).expanduser()
        if not path.is_file():
            raise CodecError(f"--proto {name}: no such file")
        paths.append(path.resolve())
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        raise CodecError("compiling .proto files needs grpcio-tools: pip install grpcio-tools") from None
    dirs = list(dict.fromkeys(str(path.parent) for path in paths))
    dirs += [str(Path(d).expanduser().resolve()) for d in include]
    well_known = _well_known_include()
    if well_known:
        dirs.append(well_known)
    with tempfile.TemporaryDirectory(prefix="mqttws-proto-") as tmp:
        out = os.path.join(tmp, "set.pb")
        command = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "--include_imports",
            f"--descriptor_set_out={out}",
        ]
        command += [f"-I{d}" for d in dirs]
        command += [str(path) for path in paths]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CodecError(f"cannot run protoc: {exc}") from None
        if done.returncode != 0 or not os.path.exists(out):
            raise CodecError(f"the .proto files do not compile: {_first_error(done.stderr)}")
        return Path(out).read_bytes()


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if ".proto:" in line or "File not found" in line or "not found" in line:
            return line
    useful = [line for line in lines if not line.startswith(("WARNING:", "W0000", "I0000"))]
    return useful[0] if useful else (lines[-1] if lines else "protoc failed")


def load_schemas(files: Sequence[str], include: Sequence[str] = ()) -> ProtoSchemas:
    """:class:`ProtoSchemas` with the message types of ``files`` (empty without files)."""
    schemas = ProtoSchemas()
    if files:
        schemas.add_descriptor_set(compile_proto_files(files, include))
    return schemas
