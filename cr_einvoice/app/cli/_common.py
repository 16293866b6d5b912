"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cr_einvoice.app.config import CONFIG_ENV, DEFAULT_CONFIG_NAME
from cr_einvoice.core.errors import ConfigError, ExitCode, StoreError
from cr_einvoice.core.secret import Secret

if TYPE_CHECKING:
    from cr_einvoice.app.runtime import Runtime
    from cr_einvoice.outbox.store import Store, VoucherRecord

__all__ = [
    "add_callback_arguments",
    "add_config_argument",
    "add_group",
    "add_issuer_argument",
    "add_outbox_arguments",
    "add_trust_argument",
    "dump_json",
    "find_record",
    "issuers_of",
    "json_default",
    "open_runtime",
    "outcome_code",
    "print_errores",
    "read_bytes",
    "setup_logging",
    "write_output",
]


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


def add_config_argument(parser: Any) -> None:
    """The ``--config`` option every issuing command takes."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"configuration file (default: ${CONFIG_ENV} or ./{DEFAULT_CONFIG_NAME}; create it with 'init')",
    )


def add_issuer_argument(parser: Any, *, many: bool = False, help: str | None = None) -> None:
    """``--issuer NAME``: one of the configuration's taxpayers (``[issuers.NAME]``, or ``default`` for the
    top-level tables); ``many``: repeatable."""
    parser.add_argument(
        "--issuer",
        metavar="NAME",
        action="append" if many else "store",
        help=help or "the configured taxpayer ([issuers.NAME]; default: the file's default or only one)",
    )


def issuers_of(args: Any) -> list[str] | None:
    """The taxpayers ``--issuer`` names (a list for a repeatable option), or None: every one."""
    value = getattr(args, "issuer", None)
    if value is None:
        return None
    return list(value) if isinstance(value, list) else [value]


def add_group(subparsers: Any, name: str, help: str, **kwargs: Any) -> Any:
    """A command with sub-commands (``cr-einvoice NAME VERB``): returns the sub-command table, one of whose
    verbs must be given."""
    parser = subparsers.add_parser(name, help=help, **kwargs)
    verbs = parser.add_subparsers(dest=f"{name}_command", metavar="VERB")
    verbs.required = True
    return verbs


def add_callback_arguments(parser: Any, *, public_url: str) -> None:
    """``--public-url`` (``public_url`` is its help) and ``--callback-secret-env``: how Hacienda reaches a
    callback receiver and the secret of its URL tokens (``worker --listen``, ``serve``)."""
    parser.add_argument("--public-url", help=public_url)
    parser.add_argument(
        "--callback-secret-env",
        default="CR_EINVOICE_CALLBACK_SECRET",
        help="variable holding the secret of the callback URL tokens",
    )


def callback_secret(args: Any) -> Secret | None:
    """The secret of the callback URL tokens, from the variable ``--callback-secret-env`` names; None when
    it is not set (callback URLs without a token)."""
    named = args.callback_secret_env
    return Secret.from_env(named) if os.environ.get(named) else None


def add_trust_argument(parser: Any, help: str) -> None:
    """``--trust CA.pem`` (repeatable): the certificates a signature must chain to."""
    parser.add_argument("--trust", action="append", default=[], metavar="CA.pem", help=help)


def add_outbox_arguments(parser: Any, *, clave: bool = False, submit: str | None = None) -> None:
    """The options of the commands that work on the outbox: the voucher (``clave``), ``--config``,
    ``--submit``/``--within`` (``submit`` is the help of ``--submit``) and ``--json``."""
    if clave:
        parser.add_argument("clave", metavar="CLAVE", help="the clave (or clave-consecutivoReceptor)")
    add_config_argument(parser)
    if submit is not None:
        parser.add_argument("--submit", action="store_true", help=submit)
        parser.add_argument(
            "--within", type=float, default=120.0, help="with --submit: seconds to wait (default 120)"
        )
    parser.add_argument("--json", action="store_true", help="JSON output")


def open_runtime(args: Any) -> Runtime:
    """The :class:`~cr_einvoice.app.runtime.Runtime` of ``--config`` (use it in a ``with`` block)."""
    from cr_einvoice.app.runtime import Runtime

    return Runtime.from_file(getattr(args, "config", None))


def find_record(store: Store, clave: str) -> VoucherRecord:
    """The outbox record of a clave (or clave-consecutivoReceptor); a clear error when there is none."""
    record = store.find(clave)
    if record is None:
        raise StoreError(f"no voucher {clave} in the outbox (see 'cr-einvoice list')")
    return record


def print_errores(errores: Iterable[Mapping[str, Any]], indent: str) -> None:
    """Hacienda's error rows (``{"codigo", "mensaje"}``), one a line: ``[-52] El valor ...``."""
    for error in errores:
        code = f"[{error.get('codigo')}] " if error.get("codigo") is not None else ""
        print(f"{indent}{code}{error.get('mensaje')}")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line (``ts``, ``level``, ``logger``, ``message`` and the record's ``extra``
    fields such as ``key``/``state``) for a supervisor that reads the log."""

    _PLAIN = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in self._PLAIN})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (not the stream of the moment the CLI
    started), so a redirected or replaced stderr never receives a write after it was closed."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(verbose: int, *, as_json: bool = False, worker_info: bool = False) -> None:
    """Log to stderr: WARNING (``-v`` INFO, ``-vv`` DEBUG); with ``worker_info`` (the ``worker`` command) the
    worker's own lines at INFO without ``-v``; with ``as_json`` one JSON object per line. Replaces only the
    handler an earlier call installed (handlers of the host program or of a test harness stay)."""
    handler = _StderrHandler()
    if as_json:
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _StderrHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING - 10 * min(verbose, 2))
    if worker_info:
        logging.getLogger("cr_einvoice.worker").setLevel(min(logging.INFO, root.level))


def outcome_code(records: Sequence[VoucherRecord], store: Store) -> ExitCode:
    """The exit code of a command that sent vouchers: ``REJECTED`` when any ended rejected or in ``error``;
    for vouchers still without a final answer ``UNREACHABLE`` when the store says Hacienda is unreachable,
    else ``PENDING``; ``OK`` when every one was accepted."""
    from cr_einvoice.outbox.store import VoucherState

    states = {r.state for r in records}
    if states & {VoucherState.REJECTED, VoucherState.ERROR}:
        return ExitCode.REJECTED
    if states - {VoucherState.ACCEPTED}:
        online, _ = store.connectivity()
        return ExitCode.PENDING if online else ExitCode.UNREACHABLE
    return ExitCode.OK
