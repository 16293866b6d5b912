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
from cr_einvoice.app.cli._errors import JSON_FLAG, ArgumentParser, report, wants_json
from cr_einvoice.core.errors import CrEinvoiceError, ExitCode
from cr_einvoice.core.version import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
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
    _give_every_verb_json(parser)
    return parser


def _give_every_verb_json(parser: argparse.ArgumentParser) -> None:
    """Every verb takes ``--json``: its output where it has one, and its errors on stdout, as JSON."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        if JSON_FLAG not in parser._option_string_actions:
            parser.add_argument(JSON_FLAG, action="store_true", help="errors as JSON on stdout")
        return
    for group in groups:
        for verb in dict.fromkeys(group.choices.values()):
            _give_every_verb_json(verb)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(arguments)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except CrEinvoiceError as exc:
        return report(exc, as_json=as_json)
    setup_logging(
        int(args.verbose),
        as_json=bool(getattr(args, "log_json", False)),
        worker_info=args.command == "worker",
    )
    handler = getattr(args, "func", None)
    try:
        if handler is None:
            parser.error(f"'{args.command}' needs a sub-command (see --help)")
        code = handler(args)
    except CrEinvoiceError as exc:
        return report(exc, as_json=as_json)
    except KeyboardInterrupt:
        print("cr-einvoice: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
