"""The ``cr-einvoice`` command line.

Each area registers its verbs from its own module in this package (``cr_einvoice/cli/<area>.py`` exposing
``register(subparsers)``); modules are discovered automatically, in name order. A command handler receives
the parsed ``argparse.Namespace`` and returns the process exit code (an
:class:`~cr_einvoice.core.errors.ExitCode`). Any :class:`~cr_einvoice.core.errors.CrEinvoiceError` becomes a
message on stderr and the exit code of its class (``exc.exit_code``) -- never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from cr_einvoice.app.cli._common import setup_logging
from cr_einvoice.core.errors import CrEinvoiceError, ExitCode
from cr_einvoice.core.version import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cr-einvoice",
        description="Costa Rica electronic vouchers v4.4 (build, validate, sign, submit, verify) "
        "and Chilean bill/invoice retrieval.",
    )
    parser.add_argument("--version", action="version", version=f"cr-einvoice {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(
        int(args.verbose),
        as_json=bool(getattr(args, "log_json", False)),
        worker_info=args.command == "worker",
    )
    handler = getattr(args, "func", None)
    if handler is None:
        parser.error(f"'{args.command}' needs a sub-command (see --help)")
    try:
        code = handler(args)
    except CrEinvoiceError as exc:
        print(f"cr-einvoice: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("cr-einvoice: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
