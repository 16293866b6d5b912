"""``cr-einvoice lookup taxpayer|cabys|tc|exoneracion``: Hacienda's public data (api.hacienda.go.cr).

The base URL comes from ``[publicdata] base_url`` (or ``--base-url``); answers are cached in the configured
outbox store when there is a configuration file, so ``--offline`` answers from earlier lookups. Each answer
says where it came from (``source``, ``fetched_at``, ``stale``).

``cr-einvoice lookup import FILE`` loads what the API does not publish into that cache, for the preflight's
-37 and -408 (:mod:`cr_einvoice.hacienda.publicdata.imported`): the catalogue of economic activities (CSV
or JSON) and taxpayers' registered data with their address (a registry file).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from cr_einvoice.app.cli._common import add_config_argument, add_group, dump_json
from cr_einvoice.core.errors import ValidationError

__all__ = ["register"]


def register(sub: Any) -> None:
    verbs = add_group(
        sub,
        "lookup",
        "Hacienda's public data: taxpayers, CABYS, exchange rates, exonerations",
        description="Ask api.hacienda.go.cr (or [publicdata] base_url). With a configuration file the "
        "answers are cached in its outbox store and --offline answers from that cache.",
    )

    def verb(name: str, help: str, run: Callable[[argparse.Namespace, Any], Any]) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = verbs.add_parser(name, help=help)
        add_config_argument(parser)
        parser.add_argument("--base-url", help="the API's root URL (default: [publicdata] base_url)")
        parser.add_argument("--offline", action="store_true", help="answer from the cache only")
        parser.add_argument("--json", action="store_true", help="JSON output")
        parser.set_defaults(func=lambda args: _run(args, run))
        return parser

    taxpayer = verb("taxpayer", "a taxpayer's name, type, régimen and activities (/fe/ae)", _taxpayer)
    taxpayer.add_argument("cedula", help="identification number (dashes allowed)")
    cabys = verb("cabys", "a CABYS code (13 digits) or a search by description (/fe/cabys)", _cabys)
    cabys.add_argument("query", help="a 13-digit code, or words of the description")
    cabys.add_argument("--top", type=int, default=None, help="at most this many search results")
    tc = verb("tc", "the BCCR exchange rate (/indicadores/tc)", _tc)
    tc.add_argument("--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    tc.add_argument("--until", type=date.fromisoformat, default=None, help="with --date: the USD history")
    tc.add_argument("--currency", default="USD", help="USD (default) or EUR")
    exo = verb("exoneracion", "an exoneration authorisation (/fe/ex)", _exoneracion)
    exo.add_argument("autorizacion", help="the authorisation number, e.g. AL-00460853-20")

    imp: argparse.ArgumentParser = verbs.add_parser(
        "import",
        help="load the activity catalogue or taxpayers' registered data (with the address) into the cache",
        description="Load what api.hacienda.go.cr does not publish into the outbox's public-data cache, for "
        "the preflight's -37 and -408: Hacienda's catalogue of economic activities (CSV export of the "
        "spreadsheet: a code and a description column; or JSON) and taxpayers' registered data with "
        "provincia/cantón/distrito (a registry file, the format of 'sandbox serve --registry'). Imported "
        "entries never expire; importing again replaces them.",
    )
    imp.add_argument("file", help="the CSV or JSON file")
    imp.add_argument(
        "--format", choices=("csv", "json"), default=None, help="default: by suffix, else content"
    )
    add_config_argument(imp)
    imp.add_argument("--json", action="store_true", help="JSON output")
    imp.set_defaults(func=_import)


def _taxpayer(args: argparse.Namespace, client: Any) -> Any:
    return client.taxpayer(args.cedula)


def _cabys(args: argparse.Namespace, client: Any) -> Any:
    query = args.query.strip()
    if query.isdigit() and len(query) == 13:
        return client.cabys(query)
    return client.search_cabys(query, top=args.top)


def _tc(args: argparse.Namespace, client: Any) -> Any:
    if args.until is not None:
        if args.date is None or args.currency.upper() != "USD":
            raise ValidationError("--until gives the USD history from --date", path="--until")
        return client.exchange_history(args.date, args.until)
    return client.exchange_rate(args.currency, args.date)


def _exoneracion(args: argparse.Namespace, client: Any) -> Any:
    return client.exoneration(args.autorizacion)


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    """The configured client (cache: the outbox store) when there is a configuration file, else one that
    keeps its answers in memory for this command only."""
    from cr_einvoice.app.config import default_config_path
    from cr_einvoice.app.publicdata import PublicDataConfig, open_public_data
    from cr_einvoice.app.runtime import Runtime
    from cr_einvoice.hacienda.publicdata import MemoryCache

    offline = True if args.offline else None
    path = Path(args.config) if args.config else default_config_path()
    if args.config or path.is_file():
        with Runtime.from_file(path) as runtime:
            settings = runtime.config.publicdata
            with open_public_data(settings, runtime.store, base_url=args.base_url, offline=offline) as client:
                yield client
        return
    with open_public_data(
        PublicDataConfig(), MemoryCache(), base_url=args.base_url, offline=offline
    ) as client:
        yield client


def _import(args: argparse.Namespace) -> int:
    from cr_einvoice.app.config import default_config_path
    from cr_einvoice.app.runtime import Runtime
    from cr_einvoice.core.errors import ConfigError
    from cr_einvoice.hacienda.publicdata.imported import import_registry_file

    path = Path(args.config) if args.config else default_config_path()
    if not (args.config or path.is_file()):
        raise ConfigError(
            "lookup import keeps the data in the outbox store of a configuration: give --config "
            f"(no {path} here)"
        )
    with Runtime.from_file(path) as runtime:
        summary = import_registry_file(runtime.store, args.file, fmt=args.format)
    if args.json:
        dump_json(summary.to_dict())
        return 0
    if summary.actividades is not None:
        print(f"catalogue of economic activities: {summary.actividades} activities")
    for numero in summary.taxpayers:
        print(f"registered data of taxpayer {numero}")
    if summary.ignored:
        print(f"not imported (the simulator's only): {', '.join(summary.ignored)}")
    print(f"(imported from {summary.source}; kept until imported again)")
    return 0


def _run(args: argparse.Namespace, run: Callable[[argparse.Namespace, Any], Any]) -> int:
    from cr_einvoice.hacienda.publicdata import as_json

    with _client(args) as client:
        result = as_json(run(args, client))
    if args.json:
        dump_json(result)
    else:
        _print({k: v for k, v in result.items() if k not in _META}, "")
        stale = "  STALE (Hacienda could not be asked again)" if result["stale"] else ""
        print(f"({result['source']} answer fetched {result['fetched_at']}{stale})")
    return 0


#: Where an answer came from: printed once, at the end.
_META = ("fetched_at", "source", "stale")


def _print(value: dict[str, Any], indent: str) -> None:
    for key, item in value.items():
        if isinstance(item, dict):
            print(f"{indent}{key}:")
            _print(item, indent + "  ")
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            print(f"{indent}{key}:")
            for element in item:
                flat = "  ".join(
                    f"{k}={v}"
                    for k, v in element.items()
                    if k not in _META and v is not None and not isinstance(v, list | dict)
                )
                print(f"{indent}  - {flat}")
        elif isinstance(item, list):
            print(f"{indent}{key}: {', '.join(map(str, item))}")
        else:
            print(f"{indent}{key}: {'' if item is None else item}")
