"""Clave and consecutivo: round trips, Costa Rica dates whatever the host zone, and every error path."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cr_einvoice.core.catalogs import Situacion, TipoDocumento, TipoIdentificacion
from cr_einvoice.core.clave import (
    CR_TZ,
    Clave,
    Consecutivo,
    clave_identificacion,
    cr_now,
    new_codigo_seguridad,
)
from cr_einvoice.core.errors import ClaveError

ID_NUMBERS = {
    TipoIdentificacion.CEDULA_FISICA: st.from_regex(r"[1-9][0-9]{8}", fullmatch=True),
    TipoIdentificacion.CEDULA_JURIDICA: st.from_regex(r"[0-9]{10}", fullmatch=True),
    TipoIdentificacion.DIMEX: st.from_regex(r"[1-9][0-9]{10,11}", fullmatch=True),
    TipoIdentificacion.NITE: st.from_regex(r"[0-9]{10}", fullmatch=True),
    TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO: st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    TipoIdentificacion.NO_CONTRIBUYENTE: st.from_regex(r"[0-9]{1,12}", fullmatch=True),
}


@st.composite
def identificaciones(draw: st.DrawFn) -> tuple[TipoIdentificacion, str]:
    tipo = draw(st.sampled_from(list(TipoIdentificacion)))
    return tipo, draw(ID_NUMBERS[tipo])


consecutivos = st.builds(
    Consecutivo,
    sucursal=st.integers(1, 999),
    terminal=st.integers(1, 99_999),
    tipo=st.sampled_from(list(TipoDocumento)),
    numero=st.integers(1, 9_999_999_999),
)
# Instants in 2000-2099 with arbitrary offsets, so CR midnight is crossed from every side.
instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
).flatmap(
    lambda dt: st.integers(-12 * 60, 14 * 60).map(lambda m: dt.astimezone(timezone(timedelta(minutes=m))))
)


@settings(max_examples=150, deadline=None)
@given(
    ident=identificaciones(),
    consecutivo=consecutivos,
    fecha=instants,
    situacion=st.sampled_from(list(Situacion)),
)
def test_round_trip(
    ident: tuple[TipoIdentificacion, str], consecutivo: Consecutivo, fecha: datetime, situacion: Situacion
) -> None:
    tipo, numero = ident
    clave = Clave.build(
        tipo_identificacion=tipo,
        numero_identificacion=numero,
        consecutivo=consecutivo,
        fecha=fecha,
        situacion=situacion,
    )
    text = str(clave)
    assert len(text) == 50 and text.isdigit()
    assert text[:3] == "506"
    cr = fecha.astimezone(timezone(timedelta(hours=-6))).date()
    assert text[3:9] == cr.strftime("%d%m%y")
    assert text[9:21] == numero.rjust(12, "0")
    assert text[21:41] == str(consecutivo)
    assert text[41] == situacion.value
    parsed = Clave.parse(text)
    assert parsed == clave
    assert parsed.fecha == cr
    assert parsed.consecutivo == consecutivo
    assert Consecutivo.parse(str(consecutivo)) == consecutivo
    assert parsed.matches_identificacion(tipo, numero)


def test_worked_example_from_the_notes() -> None:
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=123)
    assert str(consecutivo) == "00100001010000000123"
    clave = Clave.build(
        tipo_identificacion=TipoIdentificacion.CEDULA_JURIDICA,
        numero_identificacion="3101123456",
        consecutivo=consecutivo,
        fecha=datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ),
        situacion=Situacion.NORMAL,
        codigo_seguridad="48213975",
    )
    assert str(clave) == "50615072600310112345600100001010000000123148213975"


@pytest.mark.parametrize(
    ("tipo", "numero", "segment"),
    [
        ("01", "112345678", "000112345678"),
        ("02", "3101123456", "003101123456"),
        ("03", "15501234567", "015501234567"),
        ("03", "155012345678", "155012345678"),
        ("04", "4000123456", "004000123456"),
        ("05", "123456789012", "123456789012"),
        ("06", "98765", "000000098765"),
    ],
)
def test_padding(tipo: str, numero: str, segment: str) -> None:
    assert clave_identificacion(tipo, numero) == segment


@pytest.fixture
def host_tz() -> Iterator[None]:
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati"])
@pytest.mark.usefixtures("host_tz")
def test_date_ignores_host_time_zone(zone: str) -> None:
    os.environ["TZ"] = zone
    time.tzset()
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.TIQUETE, numero=1)
    # 19:30 in Costa Rica is already the next day in UTC and in every zone east of it.
    evening = datetime(2026, 7, 16, 1, 30, tzinfo=UTC)
    clave = Clave.build(
        tipo_identificacion="02", numero_identificacion="3101123456", consecutivo=consecutivo, fecha=evening
    )
    assert str(clave)[3:9] == "150726"
    # 00:30 in Costa Rica is 06:30 UTC the same day; a host west of CR would still be on the previous day.
    morning = datetime(2026, 7, 15, 6, 30, tzinfo=UTC)
    clave = Clave.build(
        tipo_identificacion="02", numero_identificacion="3101123456", consecutivo=consecutivo, fecha=morning
    )
    assert str(clave)[3:9] == "150726"
    now = cr_now()
    assert now.utcoffset() == timedelta(hours=-6)
    assert now.microsecond == 0
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_naive_datetime_is_refused() -> None:
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=1)
    with pytest.raises(ClaveError) as info:
        Clave.build(
            tipo_identificacion="02",
            numero_identificacion="3101123456",
            consecutivo=consecutivo,
            fecha=datetime(2026, 7, 15, 9, 30),
        )
    assert info.value.problems[0].path == "fecha"
    assert "no time zone" in str(info.value)


def test_plain_date_is_a_costa_rica_date() -> None:
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=1)
    clave = Clave.build(
        tipo_identificacion="02",
        numero_identificacion="3101123456",
        consecutivo=consecutivo,
        fecha=date(2026, 1, 2),
    )
    assert str(clave)[3:9] == "020126"


def test_security_code_is_random_and_eight_digits() -> None:
    codes = {new_codigo_seguridad() for _ in range(200)}
    assert all(len(c) == 8 and c.isdigit() for c in codes)
    assert len(codes) > 190


VALID = "50615072600310112345600100001010000000123148213975"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (VALID[:-1], "clave"),
        (VALID[:-1] + "x", "clave"),
        ("507" + VALID[3:], "clave[0:3] pais"),
        (VALID[:3] + "320726" + VALID[9:], "clave[3:9] fecha"),
        (VALID[:3] + "151326" + VALID[9:], "clave[3:9] fecha"),
        (VALID[:21] + "000" + VALID[24:], "clave[21:41] consecutivo[0:3] sucursal"),
        (VALID[:24] + "00000" + VALID[29:], "clave[21:41] consecutivo[3:8] terminal"),
        (VALID[:29] + "11" + VALID[31:], "clave[21:41] consecutivo[8:10] tipo"),
        (VALID[:31] + "0000000000" + VALID[41:], "clave[21:41] consecutivo[10:20] numero"),
        (VALID[:41] + "4" + VALID[42:], "clave[41] situacion"),
    ],
)
def test_parse_errors_name_the_part(text: str, path: str) -> None:
    with pytest.raises(ClaveError) as info:
        Clave.parse(text)
    assert [p.path for p in info.value.problems] == [path]


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"sucursal": 0}, "consecutivo.sucursal"),
        ({"sucursal": 1000}, "consecutivo.sucursal"),
        ({"terminal": 0}, "consecutivo.terminal"),
        ({"terminal": 100_000}, "consecutivo.terminal"),
        ({"tipo": "11"}, "consecutivo.tipo"),
        ({"numero": 0}, "consecutivo.numero"),
        ({"numero": 10_000_000_000}, "consecutivo.numero"),
        ({"numero": True}, "consecutivo.numero"),
    ],
)
def test_consecutivo_errors(kwargs: dict[str, object], path: str) -> None:
    base: dict[str, object] = {"sucursal": 1, "terminal": 1, "tipo": "01", "numero": 1}
    base.update(kwargs)
    with pytest.raises(ClaveError) as info:
        Consecutivo(**base)  # type: ignore[arg-type]
    assert info.value.problems[0].path == path


def test_consecutivo_parse_errors() -> None:
    with pytest.raises(ClaveError) as info:
        Consecutivo.parse("0010000101000000012")
    assert info.value.problems[0].path == "consecutivo"


@pytest.mark.parametrize(
    ("tipo", "numero", "needle"),
    [
        ("01", "012345678", "9 digits without a leading zero"),
        ("01", "1234567890", "9 digits"),
        ("02", "310112345", "10 digits"),
        ("03", "05501234567", "11 or 12 digits"),
        ("03", "1550123456", "11 or 12 digits"),
        ("04", "40001234x6", "10 digits"),
        ("05", "A1234567", "open point"),
        ("06", "1234567890123", "open point"),
        ("05", "ABC-123", "letters or digits"),
        ("07", "112345678", "unknown identification type"),
    ],
)
def test_identification_errors(tipo: str, numero: str, needle: str) -> None:
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=1)
    with pytest.raises(ClaveError) as info:
        Clave.build(
            tipo_identificacion=tipo,
            numero_identificacion=numero,
            consecutivo=consecutivo,
            fecha=cr_now(),
        )
    assert needle in str(info.value)
    assert info.value.problems[0].path in ("numero_identificacion", "tipo_identificacion")


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"situacion": "4"}, "situacion"),
        ({"codigo_seguridad": "1234567"}, "codigo_seguridad"),
        ({"codigo_seguridad": "1234567a"}, "codigo_seguridad"),
        ({"fecha": datetime(1999, 12, 31, 12, tzinfo=CR_TZ)}, "fecha"),
        ({"consecutivo": "00100001010000000123"}, "consecutivo"),
    ],
)
def test_build_errors(kwargs: dict[str, object], path: str) -> None:
    args: dict[str, object] = {
        "tipo_identificacion": "02",
        "numero_identificacion": "3101123456",
        "consecutivo": Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=1),
        "fecha": datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ),
    }
    args.update(kwargs)
    with pytest.raises(ClaveError) as info:
        Clave.build(**args)  # type: ignore[arg-type]
    assert info.value.problems[0].path == path
