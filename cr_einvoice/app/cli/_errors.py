"""How the command line reports a failure: one line on stderr, or with ``--json`` one JSON object on stdout.

The JSON form is the same for every verb::

    {"error": {"type": "ValidationError", "message": "...", "exit_code": 3,
               "problems": [{"path": "lineas[1].cantidad", "message": "...", "code": null}]}}

``problems`` lists every finding of a :class:`~cr_einvoice.core.errors.ValidationError` (one row with an
empty path for other errors); an :class:`~cr_einvoice.core.errors.APIError` adds ``status``, ``error_cause``
(Hacienda's ``X-Error-Cause``) and ``clave``; a :class:`~cr_einvoice.core.errors.TransportError` adds
``request_sent``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from cr_einvoice.core.errors import APIError, ConfigError, CrEinvoiceError, TransportError, ValidationError

__all__ = ["JSON_FLAG", "ArgumentParser", "UsageError", "error_document", "report", "wants_json"]

#: The option that turns both the output and the errors of a command into JSON.
JSON_FLAG = "--json"


class UsageError(ConfigError):
    """The command line itself is wrong (an unknown option, a missing argument); argparse's message, and
    the usage line of the command concerned."""

    def __init__(self, message: str, *, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with usage errors raised as :class:`UsageError` so that ``--json`` reports them too."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", usage=self.format_usage())


def wants_json(argv: Sequence[str]) -> bool:
    """``--json`` anywhere on the command line (before or after the verb)."""
    return JSON_FLAG in argv


def error_document(exc: CrEinvoiceError) -> dict[str, Any]:
    """The ``{"error": {...}}`` object of a failure."""
    if isinstance(exc, ValidationError):
        problems = [{"path": p.path, "message": p.message, "code": p.code} for p in exc.problems]
    else:
        problems = [{"path": "", "message": str(exc), "code": None}]
    body: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": str(exc),
        "exit_code": int(exc.exit_code),
        "problems": problems,
    }
    if isinstance(exc, APIError):
        body.update(status=exc.status, error_cause=exc.error_cause, clave=exc.clave)
    if isinstance(exc, TransportError):
        body.update(request_sent=exc.request_sent)
    return {"error": body}


def report(exc: CrEinvoiceError, *, as_json: bool) -> int:
    """Print ``exc`` (JSON on stdout, or one line on stderr) and return its exit code."""
    if as_json:
        json.dump(error_document(exc), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        if isinstance(exc, UsageError) and exc.usage:
            sys.stderr.write(exc.usage)
        print(f"cr-einvoice: error: {exc}", file=sys.stderr)
    return int(exc.exit_code)
