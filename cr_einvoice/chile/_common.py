"""Pieces shared by the three Chilean clients: the client shells (a protocol run on an httpx client with
:mod:`cr_einvoice.transport`), base URLs, exact JSON, dates, errors, JSON export."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from cr_einvoice.core import jsonsafe
from cr_einvoice.core.errors import APIError, ConfigError, ValidationError
from cr_einvoice.core.money import to_decimal
from cr_einvoice.core.version import __version__
from cr_einvoice.transport.http import (
    DEFAULT_TIMEOUT,
    AsyncClosing,
    Closing,
    Flow,
    Request,
    run_async,
    run_sync,
)

__all__ = [
    "USER_AGENT",
    "AsyncRunner",
    "ChileAPIError",
    "NamedEnum",
    "SyncRunner",
    "UnexpectedResponseError",
    "amount",
    "answered",
    "as_timeout",
    "check_same_origin",
    "env_values",
    "load_json",
    "load_pushed_json",
    "opt_amount",
    "opt_date",
    "opt_datetime",
    "opt_str",
    "parse_date",
    "parse_datetime",
    "provider_repr",
    "resolve_base_url",
    "to_jsonable",
]

USER_AGENT = f"cr-einvoice/{__version__}"

T = TypeVar("T")


class NamedEnum(StrEnum):
    """A :class:`~enum.StrEnum` of a provider's upper-case codes: ``auto()`` gives each member its own name as
    its value (``PENDING = auto()`` is ``"PENDING"``, where a plain StrEnum would give ``"pending"``)."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
        return name


class ChileAPIError(APIError):
    """Root of the errors a Chilean provider answered with (Khipu, Belvo, Flow)."""


class UnexpectedResponseError(ChileAPIError):
    """The provider answered with a body this client cannot understand (not JSON, wrong shape, bad PDF)."""


class ProviderProtocol(Protocol):
    """What a client needs of its provider's protocol core (request builders, parsers and flows)."""

    @property
    def base_url(self) -> str: ...

    @property
    def auth(self) -> object: ...

    @property
    def timeout(self) -> httpx.Timeout | None: ...


P = TypeVar("P", bound=ProviderProtocol)


def provider_repr(owner: object, protocol: ProviderProtocol) -> str:
    """``Name(base_url=..., auth=...)``, the repr of a client or of its protocol core: only the base URL and
    the credentials, whose own repr masks the secrets."""
    return f"{type(owner).__name__}(base_url={protocol.base_url!r}, auth={protocol.auth!r})"


class _Runner(Generic[P]):
    def __init__(self, protocol: P) -> None:
        self.protocol = protocol
        self.timeout = as_timeout(protocol.timeout)

    def __repr__(self) -> str:
        return provider_repr(self, self.protocol)


class SyncRunner(_Runner[P], Closing):
    """Owns (or borrows) an ``httpx.Client`` and runs the protocol's flows on it (a sync client)."""

    def __init__(self, protocol: P, http_client: httpx.Client | None) -> None:
        super().__init__(protocol)
        self._own = http_client is None
        self._client = http_client or httpx.Client(timeout=self.timeout)

    def _run(self, flow: Flow[T]) -> T:
        return run_sync(flow, self._client)

    def close(self) -> None:
        if self._own:
            self._client.close()


class AsyncRunner(_Runner[P], AsyncClosing):
    """The asynchronous twin of :class:`SyncRunner` (an ``httpx.AsyncClient``; ``async with``)."""

    def __init__(self, protocol: P, http_client: httpx.AsyncClient | None) -> None:
        super().__init__(protocol)
        self._own = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=self.timeout)

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(flow, self._client)

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()


def answered(response: httpx.Response, request: Request) -> dict[str, Any]:
    """What a provider error carries of the answer: its status, headers and body, and the request's URL."""
    return {
        "status": response.status_code,
        "headers": response.headers,
        "body": response.text,
        "url": request.url,
    }


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


#: A provider's JSON answer (Belvo's pages of invoices are the largest).
_MAX_BODY_BYTES = 32 * 1024 * 1024


def load_json(data: bytes | str, *, what: str, status: int = 0, url: str = "") -> Any:
    """Parse JSON keeping every non-integer number as an exact ``Decimal`` (never a float)."""
    try:
        return jsonsafe.loads(data, what=what, decimal=True, max_bytes=_MAX_BODY_BYTES)
    except jsonsafe.JSONInputError as exc:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        raise UnexpectedResponseError(
            f"{what}: the body {exc.reason}", status=status, body=text, url=url
        ) from None


def load_pushed_json(
    body: bytes, *, max_bytes: int, error: type[ValidationError], provider: str, kind: str
) -> Any:
    """The JSON of a body a provider pushed to us (its ``kind``: webhook, callback). A body over ``max_bytes``
    or not JSON raises ``error`` at ``path="body"``."""
    if len(body) > max_bytes:
        raise error(f"the {kind} body is larger than {max_bytes} bytes", path="body")
    try:
        return load_json(body, what=f"{provider} {kind}")
    except UnexpectedResponseError:
        raise error(f"the {kind} body is not JSON", path="body") from None


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
