"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cr_einvoice.core.errors import ConfigError

__all__ = ["dump_json", "json_default", "read_bytes", "write_output"]


def json_default(value: object) -> Any:
    """JSON encoding for the types the package returns: amounts stay exact strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dump_json(obj: object) -> None:
    json.dump(obj, sys.stdout, default=json_default, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def read_bytes(path: str) -> bytes:
    """Read a file named on the command line; '-' is standard input."""
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"file not found: {path}")
    return p.read_bytes()


def write_output(data: bytes, path: str | None) -> None:
    """Write to ``path`` (created atomically) or to standard output when it is None or '-'."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
