"""Pieces shared by the three Chilean clients: base URLs, exact JSON, dates, errors, JSON export."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx

from cr_einvoice.core.errors import APIError, ConfigError, ValidationError
from cr_einvoice.core.money import to_decimal
from cr_einvoice.core.version import __version__
from cr_einvoice.transport.http import DEFAULT_TIMEOUT, HTTPCore, Request

__all__ = [
    "USER_AGENT",
    "AsyncRunner",
    "ChileAPIError",
    "Flow",
    "Sleep",
    "SyncRunner",
    "UnexpectedResponseError",
    "amount",
    "as_timeout",
    "check_same_origin",
    "env_values",
    "load_json",
    "opt_amount",
    "opt_date",
    "opt_datetime",
    "opt_str",
    "parse_date",
    "parse_datetime",
    "resolve_base_url",
    "run_async",
    "run_sync",
    "to_jsonable",
]

USER_AGENT = f"cr-einvoice/{__version__}"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """A step of a :data:`Flow`: wait this long before the next request."""

    seconds: float


#: A provider call as data (sans-I/O): a generator that yields the requests to send (or pauses) and receives
#: each response; exceptions from a send are thrown into it. The sync and async clients drive the very same
#: generator, so they cannot behave differently -- only the send differs.
Flow = Generator[Request | Sleep, httpx.Response | None, T]


def run_sync(flow: Flow[T], send: Callable[[Request], httpx.Response], sleep: Callable[[float], None]) -> T:
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                sleep(step.seconds)
                step = flow.send(None)
            else:
                try:
                    response = send(step)
                except Exception as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        flow.close()


async def run_async(flow: Flow[T], send: Callable[[Request], Awaitable[httpx.Response]]) -> T:
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                step = flow.send(None)
            else:
                try:
                    response = await send(step)
                except Exception as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        flow.close()


class ChileAPIError(APIError):
    """Root of the errors a Chilean provider answered with (Khipu, Belvo, Flow)."""


class UnexpectedResponseError(ChileAPIError):
    """The provider answered with a body this client cannot understand (not JSON, wrong shape, bad PDF)."""


class _Runner:
    http: HTTPCore
    timeout: httpx.Timeout
    protocol: Any

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.protocol.base_url!r}, auth={self.protocol.auth!r})"


class SyncRunner(_Runner):
    """Owns (or borrows) an ``httpx.Client`` and runs a :data:`Flow` through ``self.http`` (a sync client)."""

    def _open(self, http_client: httpx.Client | None) -> None:
        self._own = http_client is None
        self._client = http_client or httpx.Client(timeout=self.timeout)

    def _run(self, flow: Flow[T]) -> T:
        return run_sync(flow, lambda req: self.http.send(self._client, req), time.sleep)

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncRunner(_Runner):
    """The asynchronous twin of :class:`SyncRunner` (an ``httpx.AsyncClient``; ``async with``)."""

    def _open(self, http_client: httpx.AsyncClient | None) -> None:
        self._own = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=self.timeout)

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(flow, lambda req: self.http.send_async(self._client, req))

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def env_values(provider: str, names: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the environment variables ``names``; a ConfigError names every missing one."""
    env = os.environ if environ is None else environ
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise ConfigError(f"{provider} credentials: set {' and '.join(missing)}")
    return [env[name] for name in names]


def resolve_base_url(provider: str, environments: Mapping[str, str], name_or_url: str) -> str:
    """An environment name (``production``, ``sandbox``...) or a custom ``http(s)://`` URL -> base URL."""
    if name_or_url in environments:
        return environments[name_or_url]
    parts = urlsplit(name_or_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return name_or_url.rstrip("/")
    names = ", ".join(sorted(environments))
    raise ConfigError(f"{provider} base URL: {name_or_url!r} is neither an environment ({names}) nor a URL")


def check_same_origin(base_url: str, url: str, *, what: str) -> None:
    """Refuse to send credentials to a host the configured base URL does not name."""
    a, b = urlsplit(base_url), urlsplit(url)
    if (a.scheme, a.netloc) != (b.scheme, b.netloc):
        raise UnexpectedResponseError(
            f"{what}: the server pointed to {b.scheme}://{b.netloc}, which is not the configured "
            f"{a.scheme}://{a.netloc}; refusing to send the credentials there",
            status=0,
            url=url,
        )


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout)


def load_json(data: bytes | str, *, what: str, status: int = 0, url: str = "") -> Any:
    """Parse JSON keeping every non-integer number as an exact ``Decimal`` (never a float)."""
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        raise UnexpectedResponseError(
            f"{what}: the body is not valid JSON ({exc})", status=status, body=text, url=url
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid amount")


def amount(value: object, field: str) -> Decimal:
    """A JSON amount (int, Decimal or numeric string) as ``Decimal``; errors name the field."""
    return to_decimal(value, field)


def opt_amount(value: object, field: str) -> Decimal | None:
    return None if value is None else to_decimal(value, field)


def opt_str(value: object, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(f"expected a string, got {type(value).__name__}", path=field)


def parse_date(value: object, field: str) -> date:
    """``YYYY-MM-DD`` (a full timestamp is accepted and cut to its date)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10]) if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            pass
    raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", path=field)


def parse_datetime(value: object, field: str) -> datetime:
    """ISO 8601 (``Z`` allowed), Flow's ``YYYY-MM-DD HH:MM:SS``, or a bare date (midnight).

    The time zone is kept when the provider sends one; Flow's local times stay naive (they are Chile time).
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValidationError(f"{value!r} is not a date and time", path=field)


def opt_datetime(value: object, field: str) -> datetime | None:
    return None if value is None or value == "" else parse_datetime(value, field)


def opt_date(value: object, field: str) -> date | None:
    return None if value is None or value == "" else parse_date(value, field)


def to_jsonable(obj: object, *, exclude: frozenset[str] = frozenset({"raw"})) -> Any:
    """A model as plain JSON data (amounts as exact strings, dates ISO, enums by value, no raw copies)."""
    as_json = getattr(obj, "as_json", None)
    if callable(as_json):
        return to_jsonable(as_json(), exclude=exclude)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_jsonable(getattr(obj, f.name), exclude=exclude)
            for f in dataclasses.fields(obj)
            if f.name not in exclude and f.repr
        }
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, exclude=exclude) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, exclude=exclude) for v in obj]
    return obj
