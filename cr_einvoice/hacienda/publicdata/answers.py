"""api.hacienda.go.cr as pure functions: the query checks, the requests, and the answers read into results.

Nothing here sends or caches (:mod:`.client` does). A malformed answer raises :class:`AnswerShapeError`
naming the JSON path; the client turns it into :class:`~.errors.UnexpectedAnswerError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, Unpack

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.hacienda.publicdata.model import (
    Actividad,
    Cabys,
    CabysSearch,
    ExchangeRate,
    Exoneration,
    Regimen,
    Situacion,
    Taxpayer,
    TipoDocumentoExoneracion,
)
from cr_einvoice.transport.http import Request

__all__ = [
    "CURRENCIES",
    "DEFAULT_BASE_URL",
    "AnswerShapeError",
    "Meta",
    "cabys_code_request",
    "check_authorization",
    "check_cabys_code",
    "check_currency",
    "check_identificacion",
    "exoneration_request",
    "history_request",
    "parse_cabys_list",
    "parse_cabys_search",
    "parse_cached_rate",
    "parse_current_rate",
    "parse_exoneration",
    "parse_history",
    "parse_taxpayer",
    "rate_cache_value",
    "rate_request",
    "search_request",
    "taxpayer_request",
]

DEFAULT_BASE_URL = "https://api.hacienda.go.cr"
#: The currencies with a BCCR rate in the API, and the path segment of each.
CURRENCIES: Mapping[str, str] = {"USD": "dolar", "EUR": "euro"}

_DIGITS = re.compile(r"\d+")
_AUTHORIZATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/]{0,39}")


class AnswerShapeError(ValueError):
    """An answer does not have the shape the API documents; ``path`` names where."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class Meta(TypedDict, total=False):
    """Where a result came from (the :class:`~.model.Fetched` fields)."""

    fetched_at: datetime
    source: str
    stale: bool


# -- queries ----------------------------------------------------------------------------------------------
def check_identificacion(value: str) -> str:
    """The identification as the API takes it: digits only (dashes and spaces dropped). Whether the number
    is a valid one is Hacienda's answer to give (400)."""
    text = str(value).replace("-", "").replace(" ", "").strip()
    if not _DIGITS.fullmatch(text) or len(text) > 20:
        raise ValidationError(
            f"{value!r} is not an identification number (digits, dashes allowed)", path="identificacion"
        )
    return text


def check_cabys_code(value: str) -> str:
    text = str(value).strip()
    if not _DIGITS.fullmatch(text) or len(text) != 13:
        raise ValidationError(f"{value!r} is not a CABYS code (13 digits)", path="codigo_cabys")
    return text


def check_authorization(value: str) -> str:
    text = str(value).strip()
    if not _AUTHORIZATION.fullmatch(text):
        raise ValidationError(
            f"{value!r} is not an exoneration authorisation number (like AL-00460853-20)", path="autorizacion"
        )
    return text


def check_currency(value: str) -> str:
    code = str(value).strip().upper()
    if code not in CURRENCIES:
        raise ValidationError(
            f"{value!r}: Hacienda publishes exchange rates for {', '.join(CURRENCIES)} only", path="currency"
        )
    return code


# -- requests ---------------------------------------------------------------------------------------------
def _get(base_url: str, path: str, what: str, **params: str | int) -> Request:
    return Request("GET", base_url.rstrip("/") + path, params=params or None, what=what)


def taxpayer_request(base_url: str, identificacion: str) -> Request:
    return _get(base_url, "/fe/ae", "taxpayer lookup", identificacion=identificacion)


def cabys_code_request(base_url: str, codigo: str) -> Request:
    return _get(base_url, "/fe/cabys", "CABYS lookup", codigo=codigo)


def search_request(base_url: str, text: str, top: int | None) -> Request:
    if top is None:
        return _get(base_url, "/fe/cabys", "CABYS search", q=text)
    return _get(base_url, "/fe/cabys", "CABYS search", q=text, top=top)


def rate_request(base_url: str, currency: str) -> Request:
    return _get(base_url, f"/indicadores/tc/{CURRENCIES[currency]}", "exchange rate lookup")


def history_request(base_url: str, desde: date, hasta: date) -> Request:
    return _get(
        base_url,
        "/indicadores/tc/dolar/historico",
        "exchange rate history",
        d=desde.isoformat(),
        h=hasta.isoformat(),
    )


def exoneration_request(base_url: str, autorizacion: str) -> Request:
    return _get(base_url, "/fe/ex", "exoneration lookup", autorizacion=autorizacion)


# -- reading answers --------------------------------------------------------------------------------------
def _obj(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise AnswerShapeError(path or "(answer)", f"expected an object, got {type(data).__name__}")
    return data


def _list(data: Any, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise AnswerShapeError(path or "(answer)", f"expected an array, got {type(data).__name__}")
    return data


def _text(data: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> str:
    value = data.get(key)
    if value is None and optional:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise AnswerShapeError(f"{path}{key}", f"expected text, got {type(value).__name__}")
    return str(value)


def _amount(data: Mapping[str, Any], key: str, path: str) -> Decimal:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise AnswerShapeError(f"{path}{key}", f"expected a number, got {type(value).__name__}")
    try:
        result = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise AnswerShapeError(f"{path}{key}", f"{value!r} is not a number") from None
    if not result.is_finite():
        raise AnswerShapeError(f"{path}{key}", f"{value!r} is not a finite number")
    return result


def _moment(data: Mapping[str, Any], key: str, path: str) -> datetime:
    """``2019-10-24T00:00:00-06:00`` or ``2019-12-01 00:00:00``; without an offset: Costa Rica's time."""
    text = _text(data, key, path)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AnswerShapeError(f"{path}{key}", f"{text!r} is not a date") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CR_TZ)


def _yes(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().upper() in {"SI", "SÍ", "S", "TRUE"})


def _activity_code(value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise AnswerShapeError(path, f"expected an activity code, got {type(value).__name__}")
    return f"{value:06d}" if isinstance(value, int) else value.strip()


def parse_taxpayer(data: Any, identificacion: str, **meta: Unpack[Meta]) -> Taxpayer:
    obj = _obj(data, "")
    regimen = obj.get("regimen")
    situacion = obj.get("situacion")
    actividades = []
    for i, item in enumerate(_list(obj.get("actividades", []), "actividades")):
        path = f"actividades[{i}]."
        act = _obj(item, path)
        actividades.append(
            Actividad(
                codigo=_activity_code(act.get("codigo"), f"{path}codigo"),
                descripcion=_text(act, "descripcion", path, optional=True),
                estado=_text(act, "estado", path, optional=True),
                tipo=_text(act, "tipo", path, optional=True),
            )
        )
    return Taxpayer(
        identificacion=identificacion,
        nombre=_text(obj, "nombre", ""),
        tipo_identificacion=_text(obj, "tipoIdentificacion", "").zfill(2),
        regimen=None
        if regimen is None
        else Regimen(
            int(_amount(_obj(regimen, "regimen"), "codigo", "regimen.")),
            _text(regimen, "descripcion", "regimen.", optional=True),
        ),
        situacion=None
        if situacion is None
        else Situacion(
            moroso=_yes(_obj(situacion, "situacion").get("moroso")),
            omiso=_yes(situacion.get("omiso")),
            estado=_text(situacion, "estado", "situacion.", optional=True),
            administracion_tributaria=_text(
                situacion, "administracionTributaria", "situacion.", optional=True
            ),
        ),
        actividades=tuple(actividades),
        **meta,
    )


def _cabys(item: Any, path: str, meta: Meta) -> Cabys:
    obj = _obj(item, path)
    categorias = _list(obj.get("categorias", []), f"{path}categorias")
    return Cabys(
        codigo=_text(obj, "codigo", path),
        descripcion=_text(obj, "descripcion", path, optional=True),
        categorias=tuple(str(c) for c in categorias if c is not None),
        impuesto=_amount(obj, "impuesto", path),
        uri=obj.get("uri") if isinstance(obj.get("uri"), str) else None,
        **meta,
    )


def parse_cabys_list(data: Any, **meta: Unpack[Meta]) -> tuple[Cabys, ...]:
    """``GET /fe/cabys?codigo=``: a bare array (empty when the code is unknown)."""
    return tuple(_cabys(item, f"[{i}].", meta) for i, item in enumerate(_list(data, "")))


def parse_cabys_search(data: Any, query: str, **meta: Unpack[Meta]) -> CabysSearch:
    obj = _obj(data, "")
    items = tuple(
        _cabys(item, f"cabys[{i}].", meta) for i, item in enumerate(_list(obj.get("cabys", []), "cabys"))
    )
    return CabysSearch(
        query=query,
        total=int(_amount(obj, "total", "")) if "total" in obj else len(items),
        cantidad=int(_amount(obj, "cantidad", "")) if "cantidad" in obj else len(items),
        items=items,
        **meta,
    )


def parse_current_rate(data: Any, currency: str, **meta: Unpack[Meta]) -> ExchangeRate:
    """``/indicadores/tc/dolar`` (``{"venta": {"fecha", "valor"}, "compra": {...}}``) or ``/tc/euro``
    (``{"fecha", "dolares", "colones"}``, or the dollar's shape)."""
    obj = _obj(data, "")
    if "venta" in obj:
        venta = _obj(obj["venta"], "venta")
        compra = obj.get("compra")
        return ExchangeRate(
            currency=currency,
            fecha=_moment(venta, "fecha", "venta.").date(),
            venta=_amount(venta, "valor", "venta."),
            compra=None if compra is None else _amount(_obj(compra, "compra"), "valor", "compra."),
            **meta,
        )
    return ExchangeRate(
        currency=currency,
        fecha=_moment(obj, "fecha", "").date(),
        venta=_amount(obj, "colones", ""),
        dolares=_amount(obj, "dolares", "") if "dolares" in obj else None,
        **meta,
    )


def parse_history(data: Any, **meta: Unpack[Meta]) -> tuple[ExchangeRate, ...]:
    """``/indicadores/tc/dolar/historico``: ``[{"fecha", "compra", "venta"}]``, in date order."""
    rates = []
    for i, item in enumerate(_list(data, "")):
        path = f"[{i}]."
        obj = _obj(item, path)
        rates.append(
            ExchangeRate(
                currency="USD",
                fecha=_moment(obj, "fecha", path).date(),
                venta=_amount(obj, "venta", path),
                compra=_amount(obj, "compra", path) if obj.get("compra") is not None else None,
                **meta,
            )
        )
    return tuple(sorted(rates, key=lambda r: r.fecha))


def rate_cache_value(rate: ExchangeRate) -> bytes:
    """One day's rate as the cache keeps it (the history answer is split by day)."""
    fields = {"currency": rate.currency, "fecha": rate.fecha.isoformat(), "venta": str(rate.venta)}
    fields.update(
        {k: str(v) for k, v in (("compra", rate.compra), ("dolares", rate.dolares)) if v is not None}
    )
    return json.dumps(fields, sort_keys=True).encode()


def parse_cached_rate(data: Any, **meta: Unpack[Meta]) -> ExchangeRate:
    obj = _obj(data, "")
    return ExchangeRate(
        currency=_text(obj, "currency", ""),
        fecha=date.fromisoformat(_text(obj, "fecha", "")),
        venta=_amount(obj, "venta", ""),
        compra=_amount(obj, "compra", "") if "compra" in obj else None,
        dolares=_amount(obj, "dolares", "") if "dolares" in obj else None,
        **meta,
    )


def parse_exoneration(data: Any, **meta: Unpack[Meta]) -> Exoneration:
    obj = _obj(data, "")
    tipo = obj.get("tipoDocumento")
    cabys = _list(obj.get("cabys") or [], "cabys")
    cfia = obj.get("codigoProyectoCFIA")
    return Exoneration(
        numero_documento=_text(obj, "numeroDocumento", ""),
        identificacion=_text(obj, "identificacion", ""),
        codigo_proyecto_cfia=None if cfia in (None, "") else str(cfia),
        fecha_emision=_moment(obj, "fechaEmision", ""),
        fecha_vencimiento=_moment(obj, "fechaVencimiento", ""),
        porcentaje_exoneracion=_amount(obj, "porcentajeExoneracion", ""),
        tipo_documento=None
        if tipo is None
        else TipoDocumentoExoneracion(
            _text(_obj(tipo, "tipoDocumento"), "codigo", "tipoDocumento."),
            _text(tipo, "descripcion", "tipoDocumento.", optional=True),
        ),
        nombre_institucion=_text(obj, "nombreInstitucion", "", optional=True),
        posee_cabys=_yes(obj.get("poseeCabys")),
        cabys=tuple(str(c) for c in cabys),
        **meta,
    )
