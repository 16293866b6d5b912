"""The formula chain (cr_einvoice.vouchers.compute) against amounts computed by hand."""

from __future__ import annotations

from decimal import Decimal

from cr_einvoice.core.catalogs import CodigoImpuesto, CodigoTarifaIVA, TratamientoFiscal
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.compute import CalculoSurtido, ImpuestoCalculado, SummaryLine, TaxInput

D = Decimal
IVA = CodigoImpuesto.IVA
GENERAL = CodigoTarifaIVA.GENERAL_13
EXENTA = CodigoTarifaIVA.EXENTA
G, E, X, N = (
    TratamientoFiscal.GRAVADO,
    TratamientoFiscal.EXENTO,
    TratamientoFiscal.EXONERADO,
    TratamientoFiscal.NO_SUJETO,
)


def iva(tarifa: CodigoTarifaIVA = GENERAL, **kwargs: object) -> TaxInput:
    return TaxInput(IVA, tarifa, tarifa.tarifa, **kwargs)  # type: ignore[arg-type]


def test_monto_total_rounds_half_up_at_5_decimals() -> None:
    # 1 × 1.234565 ends in a 5 at the 6th decimal: half-up gives ...57 (half-even would give ...56)
    assert compute.monto_total(D("1"), D("1.234565")) == D("1.23457")
    assert compute.monto_total(D("3"), D("0.333335")) == D("1.00001")  # 1.000005
    assert compute.monto_total(D("2.5"), D("0.000002")) == D("0.00001")  # 0.000005


def test_successive_discounts() -> None:
    # 10 % of 1000 = 100; then 50; then 12.5 % of what remains (850) = 106.25
    amounts, remaining = compute.apply_discounts(
        D("1000"), [(None, D("10")), (D("50"), None), (None, D("12.5"))]
    )
    assert amounts == [
        (D("100.00000"), D("1000")),
        (D("50"), D("900.00000")),
        (D("106.25000"), D("850.00000")),
    ]
    assert remaining == D("743.75")
    assert compute.sub_total(D("-1")) == 0


def test_line_with_a_selective_tax_in_the_iva_base() -> None:
    # 2 × 50 = 100; tax 02 at 10 % = 10; BaseImponible = 110; IVA 13 % = 14.3; neto 24.3; total 124.3
    calc = compute.line(
        [TaxInput(CodigoImpuesto.SELECTIVO_CONSUMO, tarifa=D("10")), iva()],
        cantidad=D("2"),
        monto_total=D("100"),
        remaining=D("100"),
        base_given=None,
        regalias=(),
    )
    assert calc.sub_total == D("100")
    assert calc.base_imponible == D("110")
    assert [t.monto for t in calc.impuestos] == [D("10.00000"), D("14.30000")]
    assert calc.impuesto_neto == D("24.3")
    assert calc.monto_total_linea == D("124.3")


def test_regalia_iva_is_on_monto_total_and_assumed_by_the_emisor() -> None:
    # MontoTotal 100 with a regalía of 20: SubTotal 80, IVA 13 % of 100 = 13, the emisor assumes 13 % of 20
    calc = compute.line(
        [iva()], cantidad=D("1"), monto_total=D("100"), remaining=D("80"), base_given=None, regalias=[D("20")]
    )
    assert calc.total_descuentos == D("20")
    assert calc.impuestos[0] == ImpuestoCalculado(
        IVA, GENERAL, D("13.00000"), D("0"), D("2.60000"), D("10.4")
    )
    assert calc.impuesto_asumido_emisor_fabrica == D("2.6")
    assert calc.monto_total_linea == D("90.4")


def test_exoneration_and_its_share_of_monto_total() -> None:
    # SubTotal 1000, IVA 13 % = 130, exonerated 4 % of the base = 40, neto 90
    calc = compute.line(
        [iva(tarifa_exonerada=D("4"))],
        cantidad=D("1"),
        monto_total=D("1000"),
        remaining=D("1000"),
        base_given=None,
        regalias=(),
    )
    t = calc.impuestos[0]
    assert (t.monto, t.monto_exoneracion, t.neto) == (D("130.00000"), D("40.00000"), D("90.00000"))
    # the exonerated part of MontoTotal: 1000 × 4 / 13 = 307.692307... → 307.69231
    share = compute.exonerated_share(D("1000"), D("13"), D("4"))
    assert share == D("307.69231")
    assert compute.sale_parts(D("1000"), G, share, factory_goods=False) == {X: share, G: D("692.30769")}
    assert compute.sale_parts(D("1000"), G, share, factory_goods=True) == {}


def test_tax_rounds_half_up_at_5_decimals() -> None:
    # IVA 1 % of 0.0005 = 0.000005: half-up gives 0.00001
    calc = compute.line(
        [iva(CodigoTarifaIVA.REDUCIDA_1)],
        cantidad=D("1"),
        monto_total=D("0.0005"),
        remaining=D("0.0005"),
        base_given=None,
        regalias=(),
    )
    assert calc.impuestos[0].monto == D("0.00001")


def test_bienes_usados_and_payment_lines() -> None:
    usados = TaxInput(CodigoImpuesto.IVA_BIENES_USADOS, tarifa=D("13"), factor_calculo_iva=D("0.0325"))
    calc = compute.line(
        [usados], cantidad=D("1"), monto_total=D("200"), remaining=D("200"), base_given=None, regalias=()
    )
    assert calc.impuestos[0].monto == D("6.50000")  # 0.0325 × 200
    pago = compute.payment_line(D("500"), D("400"), [iva()])
    assert (pago.impuestos[0].monto, pago.impuesto_neto, pago.monto_total_linea) == (
        D("52"),
        D("52"),
        D("452"),
    )


def _component(sub_total: str, tarifa: CodigoTarifaIVA, monto: str) -> CalculoSurtido:
    tax = ImpuestoCalculado(IVA, tarifa, D(monto), D("0"), D("0"), D(monto))
    return CalculoSurtido(D(sub_total), D("0"), D(sub_total), D(sub_total), (tax,))


def test_a_combo_line() -> None:
    # one combo unit: A (SubTotalSurtido 1000, IVA 13 % = 130) and B (500, exempt); Cantidad 3
    surtido = (_component("1000", GENERAL, "130"), _component("500", EXENTA, "0"))
    unidad, expected = compute.combo_sub_total(D("3"), surtido)
    assert (unidad, expected) == (D("1500"), D("4500"))
    calc = compute.combo_line(D("3"), D("4500"), D("4500"), surtido)
    assert [(t.codigo, t.codigo_tarifa_iva, t.monto) for t in calc.impuestos] == [(IVA, None, D("390"))]
    assert calc.base_imponible == D("4500")
    assert calc.monto_total_linea == D("4890")
    assert calc.surtido == surtido
    # the line's MontoTotal shared in proportion to the SubTotalSurtido: 4500 × 500 / 1500 = 1500 exento
    assert compute.combo_split(D("4500"), {G: D("1000"), E: D("500")}) == {G: D("3000"), E: D("1500.00000")}


def test_combo_split_gives_the_remainder_to_the_first_treatment() -> None:
    # thirds of 100: exento and no sujeto 33.33333 each, gravado takes 33.33334
    split = compute.combo_split(D("100"), {N: D("1"), E: D("1"), G: D("1")})
    assert split == {G: D("33.33334"), E: D("33.33333"), N: D("33.33333")}
    assert list(split) == [G, E, N]
    assert compute.combo_split(D("100"), {E: D("0")}) == {E: D("100")}
    assert compute.combo_split(D("100"), {}) == {}


def test_combo_groups_scale_with_the_quantity() -> None:
    groups = compute.combo_groups(D("3"), {"a": (D("0.333335"), D("1"))})
    assert groups == {"a": (D("1.00001"), D("1.00001"))}  # q5(3 × 0.333335); the assumed part is capped


def test_treatment() -> None:
    assert compute.treatment(None, None) is N
    assert compute.treatment(None, None, export=True) is E
    assert compute.treatment(IVA, None) is G
    assert compute.treatment(IVA, EXENTA) is E
    assert compute.treatment(IVA, CodigoTarifaIVA.TARIFA_0_SIN_CREDITO) is N
    assert compute.treatment(CodigoImpuesto.IVA_BIENES_USADOS, EXENTA) is G


def test_a_summary() -> None:
    servicio = compute.line(
        [TaxInput(CodigoImpuesto.SELECTIVO_CONSUMO, tarifa=D("10")), iva()],
        cantidad=D("2"),
        monto_total=D("100"),
        remaining=D("100"),
        base_given=None,
        regalias=(),
    )
    mercancia = compute.line(
        [iva(EXENTA)], cantidad=D("1"), monto_total=D("60"), remaining=D("50"), base_given=None, regalias=()
    )
    lines = [
        SummaryLine(servicio, D("2"), servicio=True, factory_goods=False, parts={G: D("100")}),
        SummaryLine(mercancia, D("1"), servicio=False, factory_goods=False, parts={E: D("60")}),
    ]
    totals = compute.summary(lines, otros_cargos=D("10"), iva_devuelto_salud=False)
    assert totals["total_serv_gravados"] == D("100")
    assert totals["total_mercancias_exentas"] == D("60")
    assert (totals["total_gravado"], totals["total_exento"], totals["total_venta"]) == (
        D("100"),
        D("60"),
        D("160"),
    )
    assert (totals["total_descuentos"], totals["total_venta_neta"]) == (D("10"), D("150"))
    assert totals["total_impuesto"] == D("24.3")
    assert totals["total_comprobante"] == D("184.3")  # 150 + 24.3 + 10
    assert dict(totals.desglose) == {
        (CodigoImpuesto.SELECTIVO_CONSUMO, None): D("10"),
        (IVA, GENERAL): D("14.3"),
        (IVA, EXENTA): D("0"),
    }
    devuelto = compute.summary(lines, otros_cargos=D("10"), iva_devuelto_salud=True)
    assert devuelto["total_iva_devuelto"] == D("14.3")
    assert devuelto["total_comprobante"] == D("170.0")
    assert set(totals.amounts) == set(compute.AMOUNT_FIELDS) and totals.amounts["total_exonerado"] == 0


def test_payment_summary() -> None:
    lines = [compute.payment_line(D("500"), D("400"), [iva()]), compute.payment_line(D("100"), D("100"), [])]
    totals = compute.payment_summary(lines)
    assert (totals["total_venta"], totals["total_venta_neta"], totals["total_comprobante"]) == (D("600"),) * 3
    assert totals["total_impuesto"] == D("52")
    assert dict(totals.desglose) == {(IVA, GENERAL): D("52")}
