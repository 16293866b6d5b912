"""The simulator's copy of api.hacienda.go.cr: the public lookups served from its :class:`Registry`.

Routes (GET only, no authentication, JSON): ``/fe/ae?identificacion=``, ``/fe/cabys?codigo=`` (a bare
array) and ``?q=[&top=]``, ``/indicadores/tc``, ``/indicadores/tc/dolar``, ``/indicadores/tc/euro``,
``/indicadores/tc/dolar/historico?d=&h=``, ``/fe/ex?autorizacion=``. 404 when the registry has no such
entry, 400 when the identification or query is not valid, as the API document says.

The reported limits are enforced per client address: past ``n`` requests in any window of ``windows`` the
address is blocked for ``block_seconds`` (429 with ``Retry-After``), as Hacienda reportedly does.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.sandbox.registry import Registry

__all__ = ["PUBLIC_PREFIXES", "PublicAPI", "dumps"]

PUBLIC_PREFIXES = ("/fe/", "/indicadores/")

_IDENT = re.compile(r"\d{9,12}")
_AUTH = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/]{0,39}")
#: How many CABYS entries a search answers without ``top`` (the real default is not documented).
_DEFAULT_TOP = 10

Answer = tuple[int, bytes, dict[str, str]]


def dumps(value: Any) -> bytes:
    """JSON with Decimal amounts written as numbers exactly as they read (no float on the way)."""

    def write(v: Any) -> str:
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, Mapping):
            return "{" + ", ".join(f"{json.dumps(str(k))}: {write(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list | tuple):
            return "[" + ", ".join(write(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    return write(value).encode("utf-8")


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, dumps(body), headers or {}


def _error(status: int, message: str) -> Answer:
    return _reply(status, {"code": status, "message": message})


class _Windows:
    """Per-address sliding-window counting with a block once a window overflows."""

    def __init__(
        self, windows: Sequence[tuple[int, float]], block: float, clock: Callable[[], float]
    ) -> None:
        self._windows = tuple(windows)
        self._span = max((s for _, s in self._windows), default=0.0)
        self._block = block
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}

    def admit(self, client: str) -> float | None:
        """None when the request may go on, else the seconds the address stays blocked."""
        if not self._windows:
            return None
        now = self._clock()
        with self._lock:
            until = self._blocked.get(client, 0.0)
            if until > now:
                return until - now
            seen = self._seen.setdefault(client, deque())
            while seen and seen[0] <= now - self._span:
                seen.popleft()
            seen.append(now)
            for count, seconds in self._windows:
                if sum(1 for t in seen if t > now - seconds) > count:
                    self._blocked[client] = now + self._block
                    seen.clear()
                    return self._block
            return None


class PublicAPI:
    """Answers the public lookups from ``registry``; ``today`` is Costa Rica's date of the current rates."""

    def __init__(
        self,
        registry: Registry,
        *,
        windows: Sequence[tuple[int, float]] = ((100, 5.0), (1200, 120.0)),
        block_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self._clock = clock
        self._limits = _Windows(windows, block_seconds, clock)
        #: Requests answered, by path (tests look at it).
        self.hits: dict[str, int] = {}
        self._hits_lock = threading.Lock()

    def today(self) -> date:
        return datetime.fromtimestamp(self._clock(), CR_TZ).date()

    def handle(self, method: str, path: str, query: Mapping[str, list[str]], client: str) -> Answer:
        blocked = self._limits.admit(client)
        if blocked is not None:
            return _reply(
                429, {"code": 429, "message": "Too Many Requests"}, {"Retry-After": str(math.ceil(blocked))}
            )
        route = path.rstrip("/")
        with self._hits_lock:
            self.hits[route] = self.hits.get(route, 0) + 1
        if method != "GET":
            return _error(405, "Method Not Allowed")

        def arg(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        handlers: dict[str, Callable[[], Answer]] = {
            "/fe/ae": lambda: self._taxpayer(arg("identificacion")),
            "/fe/cabys": lambda: self._cabys(arg("codigo"), arg("q"), arg("top")),
            "/fe/ex": lambda: self._exoneration(arg("autorizacion")),
            "/indicadores/tc": self._all_rates,
            "/indicadores/tc/dolar": lambda: self._current("USD"),
            "/indicadores/tc/euro": lambda: self._current("EUR"),
            "/indicadores/tc/dolar/historico": lambda: self._history(arg("d"), arg("h")),
        }
        handler = handlers.get(route)
        return handler() if handler is not None else _error(404, "Not Found")

    # -- routes ---------------------------------------------------------------------------------------
    def _taxpayer(self, ident: str | None) -> Answer:
        if ident is None or not _IDENT.fullmatch(ident):
            return _error(400, "El número de identificación no es válido")
        found = self.registry.taxpayer(ident)
        return _reply(200, found) if found is not None else _error(404, "No se encontró la identificación")

    def _cabys(self, codigo: str | None, q: str | None, top: str | None) -> Answer:
        if codigo is not None:
            if not (codigo.isdigit() and len(codigo) == 13):
                return _error(400, "El código CAByS no es válido")
            entry = self.registry.cabys_entry(codigo)
            return _reply(200, [] if entry is None else [self._cabys_item(entry, uri=False)])
        if q is None or not q.strip():
            return _error(400, "Indique el parámetro q o codigo")
        if top is not None and not (top.isdigit() and int(top) > 0):
            return _error(400, "El parámetro top no es válido")
        found = self.registry.search_cabys(q)
        shown = found[: int(top) if top is not None else _DEFAULT_TOP]
        items = [self._cabys_item(e, uri=True) for e in shown]
        return _reply(200, {"total": len(found), "cantidad": len(shown), "cabys": items})

    @staticmethod
    def _cabys_item(entry: Mapping[str, Any], *, uri: bool) -> dict[str, Any]:
        item = {k: entry[k] for k in ("codigo", "descripcion", "categorias", "impuesto")}
        if uri:
            item["uri"] = f"https://api.hacienda.go.cr/fe/cabys?codigo={entry['codigo']}"
        return item

    def _current(self, currency: str) -> Answer:
        body = self._rate_body(currency)
        return _reply(200, body) if body is not None else _error(404, "No hay tipo de cambio publicado")

    def _rate_body(self, currency: str) -> dict[str, Any] | None:
        today = self.today()
        found = self.registry.rate(currency, today)
        if found is None:
            return None
        _, values = found
        fecha = datetime(today.year, today.month, today.day, tzinfo=CR_TZ).isoformat()
        if currency == "EUR":
            return {"fecha": fecha, "dolares": values.get("dolares"), "colones": values.get("colones")}
        return {
            "venta": {"fecha": fecha, "valor": values.get("venta")},
            "compra": {"fecha": fecha, "valor": values.get("compra")},
        }

    def _all_rates(self) -> Answer:
        return _reply(200, {"dolar": self._rate_body("USD"), "euro": self._rate_body("EUR")})

    def _history(self, d: str | None, h: str | None) -> Answer:
        try:
            desde, hasta = date.fromisoformat(d or ""), date.fromisoformat(h or "")
        except ValueError:
            return _error(400, "Las fechas d y h deben tener el formato AAAA-MM-DD")
        if hasta < desde or (hasta - desde).days > 366:
            return _error(400, "El rango de fechas no es válido")
        rows = []
        day = desde
        while day <= hasta:
            found = self.registry.rate("USD", day)
            if found is not None:
                values = found[1]
                rows.append(
                    {"fecha": f"{day} 00:00:00", "compra": values.get("compra"), "venta": values.get("venta")}
                )
            day += timedelta(days=1)
        return _reply(200, rows)

    def _exoneration(self, auth: str | None) -> Answer:
        if auth is None or not _AUTH.fullmatch(auth):
            return _error(400, "El número de autorización no es válido")
        found = self.registry.exoneration(auth)
        return _reply(200, found) if found is not None else _error(404, "No se encontró la autorización")
