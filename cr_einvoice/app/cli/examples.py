"""``cr-einvoice examples list|show NAME``: the example programs, also from an installed wheel.

The scripts live in the repository's ``examples/`` folder; the wheel ships the same files as
``cr_einvoice/examples/`` (``pyproject.toml``, force-include), so there is one copy of each.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

from cr_einvoice.app.cli._common import add_group, dump_json
from cr_einvoice.core.errors import ConfigError

__all__ = ["examples_dir", "list_examples", "register"]


def examples_dir() -> Path:
    """The folder of the example scripts: inside the installed package, else the source tree's."""
    package = Path(__file__).resolve().parents[2]  # the cr_einvoice package
    for candidate in (package / "examples", package.parent / "examples"):
        if candidate.is_dir() and any(candidate.glob("*.py")):
            return candidate
    raise ConfigError("the example scripts were not found beside the cr_einvoice package; reinstall it")


def list_examples() -> dict[str, str]:
    """Example name → the first line of its docstring."""
    found: dict[str, str] = {}
    for path in sorted(examples_dir().glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found[path.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return found


def _path(name: str) -> Path:
    stem = name.removesuffix(".py")
    known = list_examples()
    if stem not in known:
        raise ConfigError(f"no example {name!r} (known: {', '.join(known)})")
    return examples_dir() / f"{stem}.py"


def run_list(args: argparse.Namespace) -> int:
    found = list_examples()
    if args.json:
        dump_json([{"name": name, "summary": summary} for name, summary in found.items()])
        return 0
    width = max(map(len, found), default=0)
    for name, summary in found.items():
        print(f"{name.ljust(width)}  {summary}")
    print(
        f"(in {examples_dir()}; 'cr-einvoice examples show NAME > NAME.py' copies one; they run against "
        "the local simulator)",
        file=sys.stderr,
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    sys.stdout.write(_path(args.name).read_text(encoding="utf-8"))
    return 0


def register(sub: Any) -> None:
    verbs = add_group(sub, "examples", "list or print the example programs (POS ticket, ERP batch ...)")
    p_list = verbs.add_parser("list", help="name and summary of every example program")
    p_list.add_argument("--json", action="store_true", help="JSON output")
    p_list.set_defaults(func=run_list)
    p_show = verbs.add_parser("show", help="print an example's source (redirect it to a file to run it)")
    p_show.add_argument("name", help="the example's name (see 'cr-einvoice examples list')")
    p_show.set_defaults(func=run_show)
