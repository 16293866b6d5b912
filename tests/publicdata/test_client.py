"""The public-data client against the simulator's api.hacienda.go.cr over loopback: typed results, Decimal
amounts, parsed dates, 404 and 400 kept apart, the async twin agreeing with the sync client."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import BadRequestError, ConfigError, NotFoundError, ValidationError
from cr_einvoice.hacienda.publicdata import (
    AsyncPublicDataClient,
    MalformedQueryError,
    NotRegisteredError,
    PublicDataClient,
    SlidingWindowLimiter,
    as_json,
)
from cr_einvoice.sandbox import Simulator


def test_taxpayer_is_typed(client: PublicDataClient) -> None:
    t = client.taxpayer("3-101-123456")
    assert t.identificacion == "3101123456"
    assert t.nombre == "SOLUCIONES TECNOLOGICAS DEL VALLE SOCIEDAD ANONIMA"
    assert t.tipo_identificacion == "02"
    assert t.regimen is not None and t.regimen.codigo == 1
    assert t.situacion is not None and t.situacion.moroso is False and t.situacion.estado == "Inscrito"
    assert [a.codigo for a in t.actividades][:2] == ["620100", "461001"]
    assert t.actividad("620100") is not None and t.actividad("999999") is None
    assert (t.source, t.stale) == ("network", False)
    assert t.fetched_at.tzinfo is not None


def test_fisica_with_an_inactive_activity(client: PublicDataClient) -> None:
    t = client.taxpayer("112345678")
    assert t.tipo_identificacion == "01"
    inactive = t.actividad("107101")
    assert inactive is not None and not inactive.activa


def test_404_and_400_are_distinct(client: PublicDataClient) -> None:
    with pytest.raises(NotRegisteredError) as missing:
        client.taxpayer("3101999999")
    assert isinstance(missing.value, NotFoundError) and missing.value.status == 404
    assert "identificacion=3101999999" in str(missing.value)
    with pytest.raises(MalformedQueryError) as malformed:
        client.taxpayer("12345")  # digits, but not an identification Hacienda accepts
    assert isinstance(malformed.value, BadRequestError) and malformed.value.status == 400
    assert not isinstance(malformed.value, NotFoundError)
    with pytest.raises(ValidationError, match="identificacion"):
        client.taxpayer("31O1123456")  # a letter O: refused before anything is sent


def test_cabys_by_code_and_search(client: PublicDataClient) -> None:
    laptop = client.cabys("4527100000100")
    assert laptop.impuesto == Decimal("13") and isinstance(laptop.impuesto, Decimal)
    assert laptop.descripcion == "Computadoras portátiles"
    assert "Computadoras" in laptop.categorias
    rice = client.cabys("2316100000100")
    assert rice.impuesto == Decimal("1")
    with pytest.raises(NotRegisteredError, match="1234567890123"):
        client.cabys("1234567890123")
    with pytest.raises(ValidationError, match="13 digits"):
        client.cabys("12345")
    found = client.search_cabys("jugo de tomate", top=1)
    assert (found.total, found.cantidad, len(found.items)) == (2, 1, 1)
    assert found.items[0].codigo.startswith("21321") and found.items[0].uri is not None


def test_exchange_rates_are_decimal_and_dated(sim: Simulator, client: PublicDataClient) -> None:
    today = datetime.now(CR_TZ).date()
    usd = client.exchange_rate()
    published = sim.registry.rate("USD", today)
    assert published is not None
    assert usd.currency == "USD" and usd.fecha == today
    assert usd.venta == published[1]["venta"] and usd.compra == published[1]["compra"]
    assert isinstance(usd.venta, Decimal)
    past = client.exchange_rate("USD", date(2026, 7, 20))  # the rate published on 15 July holds
    assert (past.fecha, past.venta, past.compra) == (date(2026, 7, 20), Decimal("511.70"), Decimal("505.47"))
    eur = client.exchange_rate("eur")
    assert eur.currency == "EUR" and eur.venta == Decimal("596.93") and eur.dolares == Decimal("1.1665")
    with pytest.raises(ValidationError, match="currency"):
        client.exchange_rate("CRC")
    with pytest.raises(ValidationError, match="future"):
        client.exchange_rate("USD", today + timedelta(days=2))


def test_exchange_history(client: PublicDataClient) -> None:
    history = client.exchange_history(date(2026, 7, 13), date(2026, 7, 16))
    assert [r.fecha for r in history.rates] == [date(2026, 7, d) for d in (13, 14, 15, 16)]
    assert [r.venta for r in history.rates] == [Decimal("508.61")] * 2 + [Decimal("511.70")] * 2
    with pytest.raises(ValidationError, match="before it starts"):
        client.exchange_history(date(2026, 7, 16), date(2026, 7, 13))


def test_exoneration(client: PublicDataClient) -> None:
    ex = client.exoneration("AL-00460853-20")
    assert ex.porcentaje_exoneracion == Decimal("13") and ex.posee_cabys
    assert ex.fecha_emision == datetime(2026, 1, 10, tzinfo=CR_TZ)
    assert ex.fecha_vencimiento.tzinfo is not None
    assert ex.covers("4527100000100") and not ex.covers("8314200000000")
    assert ex.valid_on(datetime(2026, 7, 15, tzinfo=CR_TZ))
    assert not ex.valid_on(datetime(2027, 2, 1, tzinfo=CR_TZ))
    assert ex.tipo_documento is not None and ex.tipo_documento.codigo == "03"
    assert as_json(ex)["porcentaje_exoneracion"] == "13"
    with pytest.raises(NotRegisteredError):
        client.exoneration("AL-99999999-99")


def test_async_twin_agrees(sim: Simulator, client: PublicDataClient) -> None:
    async def lookups() -> tuple[object, ...]:
        async with AsyncPublicDataClient(sim.root_url, limiter=SlidingWindowLimiter()) as aclient:
            return await asyncio.gather(
                aclient.taxpayer("3101123456"),
                aclient.cabys("4527100000100"),
                aclient.exchange_rate("USD", date(2026, 7, 15)),
                aclient.exoneration("AL-00460853-20"),
            )

    got = asyncio.run(lookups())
    expected = (
        client.taxpayer("3101123456"),
        client.cabys("4527100000100"),
        client.exchange_rate("USD", date(2026, 7, 15)),
        client.exoneration("AL-00460853-20"),
    )
    for a, b in zip(got, expected, strict=True):
        assert {k: v for k, v in as_json(a).items() if k != "fetched_at"} == {  # type: ignore[arg-type]
            k: v
            for k, v in as_json(b).items()
            if k != "fetched_at"  # type: ignore[arg-type]
        }


def test_async_errors_match(sim: Simulator) -> None:
    async def missing() -> None:
        async with AsyncPublicDataClient(sim.root_url, limiter=SlidingWindowLimiter()) as aclient:
            await aclient.taxpayer("3101999999")

    with pytest.raises(NotRegisteredError):
        asyncio.run(missing())


def test_bad_options_are_refused(sim: Simulator) -> None:
    with pytest.raises(TypeError, match="ofline"):
        PublicDataClient(sim.root_url, ofline=True)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="base_url"):
        PublicDataClient("ftp://example.cr")
