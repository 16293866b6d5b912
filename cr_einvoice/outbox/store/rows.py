"""What every SQL backend of the store shares: how records become rows and back, and how a change of a
voucher becomes the SET fragments of one UPDATE.

Both backends keep the same column names and representations (timestamps as ISO 8601 text with the offset
they were given, JSON as text, signed bytes as a blob), so a record reads back equal -- offsets included --
whichever backend holds it. SQL fragments take the backend's parameter mark (``?`` or ``%s``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, Protocol, TypeVar

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import (
    FINAL_STATES,
    Change,
    CounterKey,
    Counters,
    EventRecord,
    IssuerRecord,
    NewVoucher,
    ReceivedPage,
    ReceivedRecord,
    RespuestaRecord,
    TerminalRecord,
    VoucherKind,
    VoucherPage,
    VoucherRecord,
    VoucherState,
)
from cr_einvoice.outbox.store.deliveries import DeliveryRecord, DeliveryStage, DeliveryState

__all__ = [
    "COUNTERS",
    "IDLE_STATES",
    "MAX_SEQUENCE",
    "NEW_FIELDS",
    "RECEIVED_FIELDS",
    "RESPUESTA_FIELDS",
    "VOUCHER_COLUMNS",
    "Row",
    "column",
    "columns",
    "counter_sets",
    "event_record",
    "event_values",
    "fields",
    "iso",
    "issuer",
    "key_dict",
    "new_voucher_row",
    "now",
    "page_query",
    "paged",
    "parse_dt",
    "reader",
    "received",
    "respuesta",
    "terminal",
    "transition_sets",
    "voucher",
]

_R = TypeVar("_R")


class Row(Protocol):
    """A database row read by column name (``sqlite3.Row``, a psycopg ``dict_row``)."""

    def __getitem__(self, name: str, /) -> Any: ...


#: Highest consecutive sequence number (10 digits); the next one restarts at 1 (Anexos, Nota 3).
MAX_SEQUENCE = 9_999_999_999

#: States the worker does not pick up on its own: final ones, and ``error`` (needs a person or a retry).
IDLE_STATES = (VoucherState.ACCEPTED.value, VoucherState.REJECTED.value, VoucherState.ERROR.value)

#: The persisted counters a :class:`Change` may set, by column.
COUNTERS = ("not_found", "troubles", "resends", "sent_at")


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise StoreError("timestamps must be timezone-aware")
    return value.isoformat()


def event_values(kind: str, detail: Mapping[str, Any]) -> tuple[str, str, str]:
    """(at, kind, detail) of an event logged now, as the ``events`` table keeps them."""
    return iso(now()), kind, json.dumps(dict(detail), default=str, ensure_ascii=False)


def parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _blob(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)


def fields(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


#: How a column is read back, by name (every record's fields are named like the table's columns).
_READ: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(
        ("fecha_emision", "created_at", "updated_at", "submitted_at", "finished_at", "received_at", "at"),
        parse_dt,
    ),
    **dict.fromkeys(("signed_xml", "xml", "raw_xml"), _blob),
    "detail": json.loads,
    "errores": lambda text: tuple(json.loads(text)),
}


def reader(cls: type[_R], **convert: Callable[[Any], Any]) -> Callable[[Row], _R]:
    """The record ``cls`` from a row (any mapping by column name) whose columns carry its fields' names."""
    names = fields(cls)
    read = {n: f for n, f in {**_READ, **convert}.items() if n in names}

    def from_row(row: Row) -> _R:
        return cls(**{n: read[n](row[n]) if n in read else row[n] for n in names})

    return from_row


def column(value: object) -> object:
    """A field's value as the store keeps it."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return json.dumps(dict(value), default=str, ensure_ascii=False)
    return value


def columns(record: object, names: Sequence[str]) -> dict[str, object]:
    return {n: column(getattr(record, n)) for n in names}


NEW_FIELDS = fields(NewVoucher)
RECEIVED_FIELDS = fields(ReceivedRecord)
RESPUESTA_FIELDS = fields(RespuestaRecord)[1:]  # without the id the database gives
VOUCHER_COLUMNS = ", ".join(fields(VoucherRecord))
voucher = reader(VoucherRecord, kind=VoucherKind, state=VoucherState)
received = reader(ReceivedRecord)
respuesta = reader(RespuestaRecord)
event_record = reader(EventRecord)
issuer = reader(IssuerRecord)
terminal = reader(TerminalRecord)


def new_voucher_row(new: NewVoucher, key: CounterKey, numero: int) -> dict[str, object]:
    """The row of a voucher just numbered (state ``signed``, due at once)."""
    stamp = iso(now())
    return columns(new, NEW_FIELDS) | {
        "sucursal": key.sucursal,
        "terminal": key.terminal,
        "numero": numero,
        "state": VoucherState.SIGNED.value,
        "created_at": stamp,
        "updated_at": stamp,
        "next_action_at": 0.0,
    }


def counter_sets(change: Counters, sets: list[str], params: list[Any], mark: str = "?") -> None:
    """The SET fragments of a change's counters; the lease ends unless the change starts one."""
    for name in COUNTERS:
        if name in change:
            sets.append(f"{name} = {mark}")
            params.append(change[name])  # type: ignore[literal-required]
    sets.append(f"lease_owner = {mark}")
    params.append(change.get("lease_owner"))


def transition_sets(
    key: str, current: VoucherState, target: VoucherState, change: Change, mark: str = "?"
) -> tuple[list[str], list[Any], dict[str, Any]]:
    """The SET fragments and values of moving ``key`` from ``current`` to ``target``, and the event's detail.

    Checks the ``expected`` guard (the caller checks the transition table)."""
    expected = change.get("expected")
    if expected is not None:
        allowed = (expected,) if isinstance(expected, VoucherState) else tuple(expected)
        if current not in allowed:
            raise StoreError(
                f"voucher {key} is {current.value}, expected "
                f"{' or '.join(s.value for s in allowed)} (another process moved it)"
            )
    error = change.get("error")
    next_action_at = change.get("next_action_at")
    stamp = iso(now())
    sets = [f"state = {mark}", f"updated_at = {mark}"]
    params: list[Any] = [target.value, stamp]
    if next_action_at is not None:
        sets.append(f"next_action_at = {mark}")
        params.append(next_action_at)
    if error is not None or target in FINAL_STATES:
        sets.append(f"last_error = {mark}")
        params.append(error)
    if change.get("count_attempt"):
        sets.append("attempts = attempts + 1")
    if change.get("count_poll"):
        sets.append("polls = polls + 1")
    counter_sets(change, sets, params, mark)
    if target in (VoucherState.SUBMITTED, VoucherState.PROCESSING):
        sets.append(f"submitted_at = COALESCE(submitted_at, {mark})")
        params.append(stamp)
    if target in FINAL_STATES:
        sets.append(f"finished_at = {mark}")
        params.append(stamp)
    info: dict[str, Any] = {"from": current.value, "to": target.value}
    if error:
        info["error"] = error
    info.update(change.get("detail") or {})
    return sets, params, info


def key_dict(key: CounterKey) -> dict[str, Any]:
    return {"emisor": key.emisor, "sucursal": key.sucursal, "terminal": key.terminal, "tipo": key.tipo}


#: The most vouchers one page of the service's listing holds.
MAX_PAGE = 500


def _day(text: str, setting: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise StoreError(f"{setting} must be a date YYYY-MM-DD, got {text!r}") from None


def page_query(page: VoucherPage) -> tuple[str, list[Any]]:
    """The WHERE ... ORDER BY ... LIMIT (``?`` marks) of one page of the service's listing, and its values."""
    where = ["((kind = ? AND emisor_numero = ?) OR (kind = ? AND receptor_numero = ?))"]
    params: list[Any] = [VoucherKind.ISSUED.value, page.owner, VoucherKind.RECEPTOR_MESSAGE.value, page.owner]
    if page.state is not None:
        where.append("state = ?")
        params.append(page.state.value)
    if page.tipo is not None:
        where.append("tipo = ?")
        params.append(page.tipo)
    # FechaEmision is stored in Costa Rica time (ISO text, one offset): a day's bounds compare as text.
    return paged(where, params, page, time_column="created_at", key_column="key")


def paged(
    where: list[str],
    params: list[Any],
    page: VoucherPage | ReceivedPage,
    *,
    time_column: str,
    key_column: str,
) -> tuple[str, list[Any]]:
    """A listing's WHERE ... ORDER BY ... LIMIT (``?`` marks) and its values: ``where``/``params`` (the
    listing's own filters, extended here) with the page's FechaEmision days (``since``, ``until``: ISO text
    compared as text), its cursor (``after``: the last row's time and key, newest first) and its limit."""
    if page.since is not None:
        where.append("fecha_emision >= ?")
        params.append(_day(page.since, "since").isoformat())
    if page.until is not None:
        where.append("fecha_emision < ?")
        params.append((_day(page.until, "until") + timedelta(days=1)).isoformat())
    if page.after is not None:
        at, key = page.after
        where.append(f"({time_column} < ? OR ({time_column} = ? AND {key_column} < ?))")
        params.extend([at, at, key])
    params.append(max(1, min(page.limit, MAX_PAGE)))
    order = f"ORDER BY {time_column} DESC, {key_column} DESC"
    return f"WHERE {' AND '.join(where)} {order} LIMIT ?", params


#: A delivery from its row (SQLite keeps ``handed_over`` as 0/1, PostgreSQL as a boolean).
read_delivery = reader(
    DeliveryRecord, stage=DeliveryStage, state=DeliveryState, sent_at=parse_dt, handed_over=bool
)
