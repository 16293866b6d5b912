"""``cr-einvoice list``: the vouchers in the outbox; also the table and progress helpers of the verbs."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from cr_einvoice.app.cli._common import add_issuer_argument, add_outbox_arguments, dump_json, open_runtime
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.outbox.store import VoucherKind, VoucherRecord, VoucherState

__all__ = ["Progress", "print_records", "register"]

_TIPOS = {
    "01": "FE",
    "02": "ND",
    "03": "NC",
    "04": "TE",
    "05": "MR-acepta",
    "06": "MR-parcial",
    "07": "MR-rechaza",
    "08": "FEC",
    "09": "FEE",
    "10": "REP",
}


def tipo_label(record: VoucherRecord) -> str:
    return _TIPOS.get(record.tipo, record.tipo)


def print_records(
    records: Sequence[VoucherRecord], *, as_json: bool, notes: Mapping[str, str] | None = None
) -> None:
    """A table (rich when installed) or JSON of ``records``; ``notes`` (by key) add to a record's detalle,
    or to its JSON as ``"e_mail"``."""
    notes = notes or {}
    if as_json:
        dump_json([{**r.summary(), **({"e_mail": notes[r.key]} if r.key in notes else {})} for r in records])
        return
    rows = [
        (
            r.key if r.kind is VoucherKind.RECEPTOR_MESSAGE else r.clave,
            tipo_label(r),
            r.state.value,
            "; ".join(x for x in (r.last_error, notes.get(r.key)) if x),
        )
        for r in records
    ]
    headers = ("clave", "tipo", "estado", "detalle")
    try:
        from rich.cells import cell_len
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _print_plain(headers, rows)
        return
    console = Console()
    # clave, tipo and estado are never wrapped (a clave must stay copyable in one piece); detalle folds. A
    # console too narrow for that (80 columns when not a terminal, and a MensajeReceptor key is 71 characters)
    # would squeeze the other columns to nothing: print aligned plain lines instead.
    fixed = [max(cell_len(r[i]) for r in (headers, *rows)) for i in range(3)]
    detalle = min(20, max(cell_len(r[3]) for r in (headers, *rows)))
    if console.width < sum(fixed) + detalle + 13:  # 13 = 5 borders + 4 x 2 padding
        _print_plain(headers, rows)
        return
    table = Table()
    for header in headers[:3]:
        table.add_column(header, no_wrap=True)
    table.add_column(headers[3], overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _print_plain(headers: tuple[str, str, str, str], rows: Sequence[tuple[str, str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(3)]
    for row in (headers, *rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        print((line + "  " + row[3]) if row[3] else line.rstrip())


class Progress:
    """A progress bar on stderr (rich when installed and stderr is a terminal, else a plain counter)."""

    def __init__(self, total: int, label: str) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self._bar: Any = None
        self._task: Any = None
        self._last_printed = 0
        self._last_time = time.monotonic()

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            try:
                from rich.progress import Progress as RichProgress
            except ImportError:
                pass
            else:
                self._bar = RichProgress(transient=False)
                self._bar.__enter__()
                self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def update(self, done: int) -> None:
        self.done = done
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        # Without a terminal (a log file, CI): a line per 10 % or per 5 s, whichever comes first, and the end.
        step = max(1, -(-self.total // 10))
        now = time.monotonic()
        if done == self.total or done - self._last_printed >= step or now - self._last_time >= 5.0:
            if done == self._last_printed:
                return
            self._last_printed, self._last_time = done, now
            print(f"{self.label}: {done}/{self.total}", file=sys.stderr, flush=True)

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@contextmanager
def progress(total: int, label: str) -> Iterator[Progress]:
    with Progress(total, label) as bar:
        yield bar


def _states() -> list[str]:
    return [s.value for s in VoucherState]


def cmd_list(args: argparse.Namespace) -> int:
    try:
        state = VoucherState(args.state) if args.state else None
    except ValueError:
        raise ConfigError(f"--state must be one of {', '.join(_states())}") from None
    kind = VoucherKind.RECEPTOR_MESSAGE if args.receptor_messages else None
    with open_runtime(args) as runtime:
        if args.issuer is None:
            records = runtime.store.list_vouchers(state=state, kind=kind, limit=args.limit)
        else:
            numero = runtime.config.taxpayer(args.issuer).emisor.numero_identificacion
            every = runtime.store.list_vouchers(state=state, kind=kind, limit=1_000_000)
            records = [r for r in every if r.taxpayer == numero][: args.limit]
        counted = runtime.store.delivery_counts([r.key for r in records])
        notes = {
            key: "e-mail: " + ", ".join(f"{n} {s.value}" for s, n in by_state.items())
            for key, by_state in counted.items()
        }
        if args.json:
            print_records(records, as_json=True, notes=notes)
            return 0
        print_records(records, as_json=False, notes=notes)
        counts = runtime.store.count_by_state()
        summary = ", ".join(f"{s.value} {n}" for s, n in counts.items() if n)
        print(f"{len(records)} shown; in the store: {summary or 'nothing yet'}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="list the vouchers in the outbox (newest first)")
    add_outbox_arguments(p)
    p.add_argument("--state", choices=_states(), help="only vouchers in this state")
    p.add_argument("--receptor-messages", action="store_true", help="only MensajeReceptor answers")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    add_issuer_argument(p, help="only the vouchers of this configured taxpayer")
    p.set_defaults(func=cmd_list)
