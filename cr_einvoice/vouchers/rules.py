"""Hacienda's business rules that the XSD cannot express, checked on the parsed XML.

:func:`check_rules` works on every v4.4 voucher (FE, ND, NC, TE, FEC, FEE, REP) and on the MensajeReceptor,
without the document model, so the local Hacienda simulator can reject with Hacienda's codes and texts.
Problems carry Hacienda's rejection code and its exact message where one has been captured (``-8``, ``-23``,
``-405``, ``-45``, ``-505``, ``-46``, ``-52``, ``-54``, ``-58``, ``-110``, ``-111``, ``-487``, ``-492``, and
``-1`` "El tipo de documento no corresponde."); other findings have ``code=None`` and an English message
naming the field and the expected value. Paths use element names below the root with 1-based indexes on
repeatable elements (``DetalleServicio/LineaDetalle[2]/Impuesto[1]/Monto``).

Arithmetic follows the Anexos' formula chain (5 decimals, ROUND_HALF_UP through :mod:`cr_einvoice.core.money`)
with **no tolerance**: values must be equal after rounding. Decisions on points the Anexos leave open:

* IVA ``Monto`` = BaseImponible × Tarifa / 100 (MontoTotal × Tarifa / 100 with a Regalía/Bonificación
  discount 01/03; FactorCalculoIVA × SubTotal for code 08; 0 for CodigoTarifaIVA 10).
* ``MontoExoneracion`` is capped at the tax Monto (with a regalía the IVA is on MontoTotal, which can be below
  the BaseImponible the exoneration rate applies to), as the document model computes it.
* Combo lines (``DetalleSurtido``): every component (``LineaDetalleSurtido[k]``) is checked like a line --
  MontoTotalSurtido = CantidadSurtido × PrecioUnitarioSurtido, SubTotalSurtido = MontoTotalSurtido minus its
  successive discounts, BaseImponibleSurtido = SubTotalSurtido + its taxes 02/04/05/12, IVA
  MontoImpuestoSurtido = base (or MontoTotalSurtido with a regalía/bonificación) × TarifaSurtido / 100. The
  components describe ONE unit of the combo, so the line's SubTotal must be q5(Cantidad × Σ SubTotalSurtido)
  and each line Impuesto's Monto must be, per tax code, Σ over the components' (tax code, CodigoTarifaIVA)
  groups of q5(Cantidad × Σ MontoImpuestoSurtido); ImpuestoAsumidoEmisorFabrica likewise from the
  components' regalías. The line's Impuesto carries no CodigoTarifaIVA/Tarifa (Anexos). TotalDesgloseImpuesto
  takes the combo's groups (by the components' CodigoTarifaIVASurtido), and the goods/services split shares
  the line's MontoTotal among the components' IVA treatments in proportion to their SubTotalSurtido (the
  first treatment present, in the order gravado, exento, no sujeto, takes the rounding remainder).
* ``MontoExoneracion`` = BaseImponible × TarifaExonerada / 100. In the goods/services split, an exonerated
  line contributes ``q5(MontoTotal × TarifaExonerada / Tarifa)`` to the exonerado total and the rest of its
  MontoTotal to the gravado total.
* A line's treatment comes from its first IVA tax (codes 01/07 by CodigoTarifaIVA; 08 is gravado); a line
  with no IVA tax counts as no sujeto. Goods vs services by the first digit of CodigoCABYS (0-4 goods).
  When a line has no CodigoCABYS (allowed in NC/ND) the split is not checked.
* ``TotalDesgloseImpuesto`` is grouped by (Codigo, CodigoTarifaIVA for 01/07); each tax contributes
  Monto − MontoExoneracion and the line's ImpuestoAsumidoEmisorFabrica is taken from its first IVA tax.
* REP: MontoTotal/SubTotal are payment amounts (not recomputed), TotalVenta = Σ MontoTotal and
  TotalComprobante = TotalVenta (Anexos, TotalComprobante: "se obtiene de la suma de los campos Total de la
  venta").
* The 2026 Bitácora codes (CodigoReferencia 16/17, TipoDocIR 19/20) are accepted.
* v4.3 documents get only the clave/consecutivo/date checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from cr_einvoice.core.catalogs import CodigoTarifaIVA
from cr_einvoice.core.clave import Clave, Consecutivo, cr_date, identificacion_problem
from cr_einvoice.core.errors import ClaveError, Problem
from cr_einvoice.core.money import ONE_HUNDRED, ZERO, fmt_amount, q5
from cr_einvoice.core.xmlsafe import find_child

__all__ = ["MESSAGES", "check_rules"]

#: Hacienda's texts, exactly as captured (accents and typos included); ``{n}`` is the line number.
MESSAGES: dict[int, str] = {
    -1: "El tipo de documento no corresponde.",
    -8: "El número de identificación de la clave numérica no coincide con el número de identificación del "
    "emisor.",
    -23: "La numeración del consecutivo del comprobante no coincide con el valor de la clave.",
    -45: "En la línea ({n}) el campo de Tarifa es obligatorio para el Codigo de Impuesto {codigo}",
    -46: "El monto total de la línea ({n}) no coincide con la suma de los campos denominados subtotal y "
    "monto del impuesto.",
    -52: "El monto total de descuentos no coincide con la suma de los descuentos concedidos",
    -54: "El monto total de impuestos no coincide con la suma de los campos denominados 'Monto del Impuesto'",
    -58: "El campo denominado 'Plazo del crédito' no posee la estructura establecida para el mismo.",
    # The opening words of -110 were not captured; the rest is Hacienda's text.
    -110: "El comprobante carece del monto total de mercancías gravados, pero cuenta con mercancías gravados",
    -111: "El monto total de servicios gravados no coincide con la suma de los servicios gravados",
    -405: "La fecha de la clave númerica no concuerda con el campo Fecha Emisión del comprobante",
    -487: "El documento posee detalle de Impuesto pero carece del campo Total Desglose Impuestos",
    -492: "El Tipo Medio Pago OTRO es obligatorio cuando se utilice el Tipo de Medio Pago '99'",
    # Captured for code 10 ("la tarifa debe ser 0"); the same form is used for the other tarifa codes.
    -505: "En la línea ({n}), para el código de tarifa '{codigo}' la tarifa debe ser {tarifa}",
}

_ROOT_TIPOS = {
    "FacturaElectronica": ("01",),
    "NotaDebitoElectronica": ("02",),
    "NotaCreditoElectronica": ("03",),
    "TiqueteElectronico": ("04",),
    "FacturaElectronicaCompra": ("08",),
    "FacturaElectronicaExportacion": ("09",),
    "ReciboElectronicoPago": ("10",),
    "MensajeReceptor": ("05", "06", "07"),
}
_CREDITO = frozenset({"02", "08", "10"})
_IVA_CODES = frozenset({"01", "07"})
_BASE_CODES = frozenset({"02", "04", "05", "12"})
_NEEDS_REFERENCE = frozenset({"NotaDebitoElectronica", "NotaCreditoElectronica", "FacturaElectronicaCompra"})
#: TipoDocIR whose Numero must be a clave (Anexos, InformacionReferencia/Numero).
_IR_CLAVE = frozenset({"01", "02", "03", "04", "09", "11", "12", "15"})
_REP_IR = frozenset({"01", "02", "03", "04", "08", "20"})


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _kids(el: etree._Element | None, name: str) -> list[etree._Element]:
    """Children with local name ``name`` in any namespace (lxml filters ``{*}name`` in C)."""
    if el is None:
        return []
    return list(el.iterchildren("{*}" + name))


def _kid(el: etree._Element | None, name: str) -> etree._Element | None:
    return find_child(el, name)


def _text(el: etree._Element | None, name: str) -> str | None:
    node = _kid(el, name)
    if node is None or node.text is None:
        return None
    return node.text.strip()


def _dec(el: etree._Element | None, name: str) -> Decimal | None:
    text = _text(el, name)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None  # the XSD reports malformed numbers
    return value if value.is_finite() else None


def _fmt(value: Decimal) -> str:
    return fmt_amount(value)


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


@dataclass
class _Ctx:
    root: etree._Element
    kind: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, code: int | None = None) -> None:
        self.problems.append(Problem(path, message, code))

    def hacienda(self, code: int, path: str, **fmt: object) -> None:
        self.add(path, MESSAGES[code].format(**fmt), code)


def check_rules(root: etree._Element) -> list[Problem]:
    """Business-rule problems of a voucher or MensajeReceptor (empty when none are found)."""
    kind = _local(root)
    ctx = _Ctx(root, kind)
    namespace = etree.QName(root).namespace or ""
    if kind == "MensajeReceptor":
        _check_mensaje_receptor(ctx)
        return ctx.problems
    if kind == "MensajeHacienda":
        _check_clave_only(ctx)
        return ctx.problems
    if kind not in _ROOT_TIPOS:
        ctx.add(kind, f"{kind} is not a Costa Rica comprobante electrónico")
        return ctx.problems
    _check_header(ctx)
    if "/v4.4/" not in namespace:
        return ctx.problems
    lines = _check_lines(ctx)
    _check_resumen(ctx, lines)
    _check_condicion_y_pago(ctx)
    _check_referencias(ctx)
    _check_identificaciones(ctx)
    return ctx.problems


# -- header: clave, consecutivo, date ---------------------------------------------------------------------


def _parse_clave(ctx: _Ctx) -> Clave | None:
    text = _text(ctx.root, "Clave")
    if text is None:
        ctx.add("Clave", "the Clave is missing")
        return None
    try:
        return Clave.parse(text)
    except ClaveError as exc:
        for p in exc.problems:
            ctx.add("Clave", f"{p.path}: {p.message}")
        return None


def _check_clave_only(ctx: _Ctx) -> None:
    _parse_clave(ctx)


def _check_header(ctx: _Ctx) -> None:
    root = ctx.root
    clave = _parse_clave(ctx)
    consecutivo_text = _text(root, "NumeroConsecutivo")
    consecutivo: Consecutivo | None = None
    if consecutivo_text is not None:
        try:
            consecutivo = Consecutivo.parse(consecutivo_text)
        except ClaveError as exc:
            for p in exc.problems:
                ctx.add("NumeroConsecutivo", f"{p.path}: {p.message}")
    if consecutivo is not None and consecutivo.tipo.value not in _ROOT_TIPOS[ctx.kind]:
        # Hacienda's exact text; the consecutivo's type does not match the root element (_ROOT_TIPOS).
        ctx.hacienda(-1, "NumeroConsecutivo")
    if clave is None:
        return
    if consecutivo_text is not None and str(clave.consecutivo) != consecutivo_text:
        ctx.hacienda(-23, "NumeroConsecutivo")
    emisor_id = _kid(_kid(root, "Emisor"), "Identificacion")
    candidates = [emisor_id]
    if ctx.kind == "FacturaElectronicaCompra":
        # Open point (notes §13.4): which party's id a FEC clave carries; accept the emisor or the receptor.
        candidates.append(_kid(_kid(root, "Receptor"), "Identificacion"))
    ids = [(_text(c, "Tipo"), _text(c, "Numero")) for c in candidates if c is not None]
    if ids and not any(t and n and clave.matches_identificacion(t, n) for t, n in ids):
        ctx.hacienda(-8, "Clave")
    fecha_text = _text(root, "FechaEmision")
    if fecha_text is not None:
        try:
            fecha = datetime.fromisoformat(fecha_text.replace("Z", "+00:00"))
        except ValueError:
            return  # the XSD reports a malformed dateTime
        if fecha.tzinfo is None:
            ctx.add("FechaEmision", "FechaEmision must carry a time-zone offset (use -06:00)")
        elif cr_date(fecha) != clave.fecha:
            ctx.hacienda(-405, "Clave")


# -- lines ------------------------------------------------------------------------------------------------


@dataclass
class _Line:
    path: str
    cabys: str | None
    monto_total: Decimal
    descuentos: Decimal
    neto: Decimal
    asumido: Decimal
    fabrica: bool
    treatment: str  # gravado / exento / no_sujeto
    exonerado_share: Decimal  # part of MontoTotal that is exonerated
    tax_groups: dict[tuple[str, str | None], Decimal]
    has_tax: bool
    shares: dict[str, Decimal] | None = None  # a combo's MontoTotal per IVA treatment


def _check_lines(ctx: _Ctx) -> list[_Line]:
    out: list[_Line] = []
    detalle = _kid(ctx.root, "DetalleServicio")
    for i, line in enumerate(_kids(detalle, "LineaDetalle"), start=1):
        path = f"DetalleServicio/LineaDetalle[{i}]"
        out.append(_check_line(ctx, line, path, _text(line, "NumeroLinea") or str(i)))
    return out


def _check_line(ctx: _Ctx, line: etree._Element, path: str, n: str) -> _Line:
    rep = ctx.kind == "ReciboElectronicoPago"
    surtido_el = _kid(line, "DetalleSurtido")
    surtido = surtido_el is not None
    combo = _check_surtido(ctx, surtido_el, f"{path}/DetalleSurtido") if surtido_el is not None else None
    cantidad = _dec(line, "Cantidad")
    precio = _dec(line, "PrecioUnitario")
    monto_total = _dec(line, "MontoTotal") or ZERO
    sub_total = _dec(line, "SubTotal") or ZERO
    if not rep and cantidad is not None and precio is not None:
        if precio <= 0:
            ctx.add(f"{path}/PrecioUnitario", "PrecioUnitario must be greater than zero")
        expected = q5(cantidad * precio)
        if monto_total != expected:
            ctx.add(
                f"{path}/MontoTotal",
                f"MontoTotal must be Cantidad × PrecioUnitario = {_fmt(expected)}, found {_fmt(monto_total)}",
            )
    # discounts, applied one after another on the remaining base
    remaining = monto_total
    total_desc = ZERO
    codes: set[str] = set()
    for j, desc in enumerate(_kids(line, "Descuento"), start=1):
        dpath = f"{path}/Descuento[{j}]"
        amount = _dec(desc, "MontoDescuento") or ZERO
        code = _text(desc, "CodigoDescuento") or ""
        codes.add(code)
        if amount > remaining:
            ctx.add(
                f"{dpath}/MontoDescuento",
                f"the discount {_fmt(amount)} exceeds the remaining base {_fmt(remaining)} (MontoTotal minus "
                "the previous discounts)",
            )
        remaining -= amount
        total_desc += amount
        if code == "99":
            if _text(desc, "CodigoDescuentoOTRO") is None:
                ctx.add(
                    f"{dpath}/CodigoDescuentoOTRO", "CodigoDescuentoOTRO is required with CodigoDescuento 99"
                )
            if _text(desc, "NaturalezaDescuento") is None:
                ctx.add(
                    f"{dpath}/NaturalezaDescuento", "NaturalezaDescuento is required with CodigoDescuento 99"
                )
    if not rep:
        expected_sub = monto_total - total_desc
        if sub_total != expected_sub:
            ctx.add(
                f"{path}/SubTotal",
                f"SubTotal must be MontoTotal − discounts = {_fmt(expected_sub)}, found {_fmt(sub_total)}",
            )
        elif combo is not None and cantidad is not None and sub_total != q5(cantidad * combo.sub_total):
            ctx.add(
                f"{path}/SubTotal",
                "the SubTotal of a combo line must be Cantidad × the components' SubTotalSurtido = "
                f"{_fmt(q5(cantidad * combo.sub_total))}, found {_fmt(sub_total)}",
            )
    fabrica_code = _text(line, "IVACobradoFabrica")
    impuestos = _kids(line, "Impuesto")
    base_el = _kid(line, "BaseImponible")
    base = _dec(line, "BaseImponible") if base_el is not None else sub_total
    base = sub_total if base is None else base
    editable = fabrica_code == "01" or any(_text(imp, "Codigo") == "07" for imp in impuestos)
    if base_el is not None and not rep and not editable:
        expected_base = sub_total + sum(
            ((_dec(imp, "Monto") or ZERO) for imp in impuestos if _text(imp, "Codigo") in _BASE_CODES), ZERO
        )
        if base != expected_base:
            ctx.add(
                f"{path}/BaseImponible",
                "BaseImponible must be SubTotal plus the taxes 02, 04, 05 and 12 of the line = "
                f"{_fmt(expected_base)}, found {_fmt(base)}",
            )
    treatment = "no_sujeto"
    treatment_set = False
    exonerado_share = ZERO
    monto_sum = ZERO
    exon_sum = ZERO
    groups: dict[tuple[str, str | None], Decimal] = {}
    own: dict[tuple[str, str | None], tuple[Decimal, Decimal]] = {}
    first_iva_key: tuple[str, str | None] | None = None
    has_tax = False
    for k, imp in enumerate(impuestos, start=1):
        ipath = f"{path}/Impuesto[{k}]"
        codigo = _text(imp, "Codigo") or ""
        ctar_text = _text(imp, "CodigoTarifaIVA")
        tarifa = _dec(imp, "Tarifa")
        monto = _dec(imp, "Monto") or ZERO
        monto_sum += monto
        if monto != 0:
            has_tax = True
        ctar: CodigoTarifaIVA | None = None
        if ctar_text is not None:
            try:
                ctar = CodigoTarifaIVA(ctar_text)
            except ValueError:
                ctar = None  # the XSD reports it
        if codigo == "99" and _text(imp, "CodigoImpuestoOTRO") is None:
            ctx.add(f"{ipath}/CodigoImpuestoOTRO", "CodigoImpuestoOTRO is required with Codigo 99")
        if combo is not None:
            for element in ("CodigoTarifaIVA", "Tarifa"):
                if _kid(imp, element) is not None:
                    ctx.add(
                        f"{ipath}/{element}",
                        f"a combo line's tax carries no {element}: the rates are on its components "
                        "(DetalleSurtido/LineaDetalleSurtido/ImpuestoSurtido)",
                    )
            want = _combo_monto(combo, cantidad or ZERO, codigo)
            if monto != want:
                ctx.add(
                    f"{ipath}/Monto",
                    f"the tax {codigo} of a combo line must be Cantidad × the components' "
                    f"MontoImpuestoSurtido = {_fmt(want)}, found {_fmt(monto)}",
                )
        if codigo in _IVA_CODES and not surtido:
            if ctar_text is None:
                ctx.add(f"{ipath}/CodigoTarifaIVA", f"CodigoTarifaIVA is required for tax code {codigo}")
            if tarifa is None:
                ctx.hacienda(-45, f"{ipath}/Tarifa", n=n, codigo=codigo)
        if ctar is not None and tarifa is not None and not surtido and tarifa != ctar.tarifa:
            ctx.hacienda(-505, f"{ipath}/Tarifa", n=n, codigo=ctar.value, tarifa=_rate(ctar.tarifa))
        if (
            ctar is not None
            and ctar.solo_notas
            and ctx.kind not in ("NotaCreditoElectronica", "NotaDebitoElectronica")
        ):
            ctx.add(
                f"{ipath}/CodigoTarifaIVA",
                f"CodigoTarifaIVA {ctar.value} (transitional rate) is only allowed in credit and debit notes",
            )
        # IVA amount
        expected_monto: Decimal | None = None
        if not surtido and codigo in _IVA_CODES and ctar is not None:
            if ctar is CodigoTarifaIVA.EXENTA:
                expected_monto = ZERO
            elif tarifa is not None:
                on = monto_total if (codigo == "01" and codes & {"01", "03"}) else base
                expected_monto = q5(on * tarifa / ONE_HUNDRED)
        elif not surtido and codigo == "08":
            factor = _dec(imp, "FactorCalculoIVA")
            if factor is None:
                ctx.add(
                    f"{ipath}/FactorCalculoIVA",
                    "FactorCalculoIVA is required with tax code 08 (bienes usados)",
                )
            else:
                expected_monto = q5(factor * sub_total)
        if expected_monto is not None and monto != expected_monto:
            ctx.add(
                f"{ipath}/Monto",
                f"the tax amount must be {_fmt(expected_monto)} (rate applied to the taxable base), found "
                f"{_fmt(monto)}",
            )
        # exoneration
        exon = _kid(imp, "Exoneracion")
        exon_amount = ZERO
        if exon is not None:
            tarifa_ex = _dec(exon, "TarifaExonerada") or ZERO
            exon_amount = _dec(exon, "MontoExoneracion") or ZERO
            expected_exon = min(q5(base * tarifa_ex / ONE_HUNDRED), monto)
            if exon_amount != expected_exon:
                ctx.add(
                    f"{ipath}/Exoneracion/MontoExoneracion",
                    "MontoExoneracion must be BaseImponible × TarifaExonerada / 100 = "
                    f"{_fmt(expected_exon)}, found {_fmt(exon_amount)}",
                )
            if tarifa is not None and tarifa_ex > tarifa:
                ctx.add(
                    f"{ipath}/Exoneracion/TarifaExonerada",
                    f"TarifaExonerada {_rate(tarifa_ex)} exceeds the tax rate {_rate(tarifa)}",
                )
            if codigo in _IVA_CODES and tarifa:
                exonerado_share = q5(monto_total * tarifa_ex / tarifa)
        exon_sum += exon_amount
        key = (codigo, ctar_text if codigo in _IVA_CODES else None)
        groups[key] = groups.get(key, ZERO) + monto - exon_amount
        own_monto, own_exon = own.get(key, (ZERO, ZERO))
        own[key] = (own_monto + monto, own_exon + exon_amount)
        # treatment, from the first IVA tax
        if not treatment_set and codigo in (*_IVA_CODES, "08"):
            treatment_set = True
            first_iva_key = key
            treatment = "gravado" if codigo == "08" or ctar is None else ctar.tratamiento
    asumido = _dec(line, "ImpuestoAsumidoEmisorFabrica") or ZERO
    shares: dict[str, Decimal] | None = None
    if combo is not None:
        groups = _combo_groups(ctx, combo, line, path, cantidad or ZERO, own)
        shares = _combo_shares(monto_total, combo.weights)
    elif asumido:
        target = first_iva_key or next(iter(groups), None)
        if target is not None:
            groups[target] -= asumido
    expected_neto = monto_sum - exon_sum - asumido
    neto = _dec(line, "ImpuestoNeto")
    if neto is None:
        neto = expected_neto  # FEE lines have no ImpuestoNeto
    elif neto != expected_neto:
        ctx.add(
            f"{path}/ImpuestoNeto",
            "ImpuestoNeto must be the tax amounts minus exonerations minus ImpuestoAsumidoEmisorFabrica = "
            f"{_fmt(expected_neto)}, found {_fmt(neto)}",
        )
    total_linea = _dec(line, "MontoTotalLinea")
    if total_linea is not None and total_linea != sub_total + neto:
        ctx.hacienda(-46, f"{path}/MontoTotalLinea", n=n)
    return _Line(
        path=path,
        cabys=_text(line, "CodigoCABYS"),
        monto_total=monto_total,
        descuentos=total_desc,
        neto=neto,
        asumido=asumido,
        fabrica=fabrica_code is not None,
        treatment=treatment,
        exonerado_share=exonerado_share if treatment == "gravado" else ZERO,
        tax_groups=groups,
        has_tax=has_tax,
        shares=shares,
    )


def _combo_monto(combo: _Combo, cantidad: Decimal, codigo: str) -> Decimal:
    """A combo line's tax Monto for one tax code: Σ over the components' groups of Cantidad × Σ monto."""
    return sum((q5(cantidad * m) for (c, _), (m, _a) in combo.groups.items() if c == codigo), ZERO)


def _combo_groups(  # noqa: PLR0917
    ctx: _Ctx,
    combo: _Combo,
    line: etree._Element,
    path: str,
    cantidad: Decimal,
    stated: dict[tuple[str, str | None], tuple[Decimal, Decimal]],
) -> dict[tuple[str, str | None], Decimal]:
    """The TotalDesgloseImpuesto contributions of a combo line (its components' groups times Cantidad, net
    of the assumed IVA and of any exoneration stated on the line's taxes), after checking that every tax
    code of the components has its Impuesto on the line and that ImpuestoAsumidoEmisorFabrica matches."""
    line_codes = {c for c, _ in stated}  # the line's own (Codigo, CodigoTarifaIVA) → (Monto, exonerated)
    groups: dict[tuple[str, str | None], Decimal] = {}
    asumido = ZERO
    for key, (monto, assumed) in combo.groups.items():
        total = q5(cantidad * monto)
        share = min(q5(cantidad * assumed), total)
        asumido += share
        groups[key] = total - share
        if key[0] not in line_codes:
            ctx.add(
                f"{path}/Impuesto",
                f"the components carry tax code {key[0]} but the combo line has no Impuesto with that Codigo",
            )
            line_codes.add(key[0])
    stated_asumido = _dec(line, "ImpuestoAsumidoEmisorFabrica")
    if stated_asumido is not None and stated_asumido != asumido:
        ctx.add(
            f"{path}/ImpuestoAsumidoEmisorFabrica",
            "the ImpuestoAsumidoEmisorFabrica of a combo line must be Cantidad × the IVA its components "
            f"assume on regalías/bonificaciones = {_fmt(asumido)}, found {_fmt(stated_asumido)}",
        )
    for (codigo, _ctar), (monto, exonerated) in stated.items():
        # line taxes the components lack keep their stated net amount; exonerations reduce the first group
        target = next((k for k in groups if k[0] == codigo), None)
        if target is None:
            groups[(codigo, None)] = monto - exonerated
        else:
            groups[target] -= exonerated
    return groups


# -- combos (DetalleSurtido) ------------------------------------------------------------------------------


@dataclass
class _Combo:
    """What a DetalleSurtido adds up to, per ONE unit of the combo."""

    sub_total: Decimal = ZERO  # Σ SubTotalSurtido
    #: (Codigo, CodigoTarifaIVA for 01/07) → (Σ MontoImpuestoSurtido, Σ IVA assumed on regalías)
    groups: dict[tuple[str, str | None], tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: IVA treatment → Σ SubTotalSurtido of the components with that treatment
    weights: dict[str, Decimal] = field(default_factory=dict)


def _check_surtido(ctx: _Ctx, node: etree._Element, path: str) -> _Combo:
    combo = _Combo()
    notas = ctx.kind in ("NotaCreditoElectronica", "NotaDebitoElectronica")
    for k, comp in enumerate(_kids(node, "LineaDetalleSurtido"), start=1):
        cpath = f"{path}/LineaDetalleSurtido[{k}]"
        cantidad = _dec(comp, "CantidadSurtido")
        precio = _dec(comp, "PrecioUnitarioSurtido")
        monto_total = _dec(comp, "MontoTotalSurtido") or ZERO
        sub_total = _dec(comp, "SubTotalSurtido") or ZERO
        if precio is not None and precio <= 0:
            ctx.add(f"{cpath}/PrecioUnitarioSurtido", "PrecioUnitarioSurtido must be greater than zero")
        if cantidad is not None and cantidad <= 0:
            ctx.add(f"{cpath}/CantidadSurtido", "CantidadSurtido must be greater than zero")
        if cantidad is not None and precio is not None and monto_total != q5(cantidad * precio):
            ctx.add(
                f"{cpath}/MontoTotalSurtido",
                "MontoTotalSurtido must be CantidadSurtido × PrecioUnitarioSurtido = "
                f"{_fmt(q5(cantidad * precio))}, found {_fmt(monto_total)}",
            )
        remaining = monto_total
        regalias = ZERO
        has_regalia = False
        for j, desc in enumerate(_kids(comp, "DescuentoSurtido"), start=1):
            dpath = f"{cpath}/DescuentoSurtido[{j}]"
            amount = _dec(desc, "MontoDescuentoSurtido") or ZERO
            code = _text(desc, "CodigoDescuentoSurtido")
            if amount > remaining:
                ctx.add(
                    f"{dpath}/MontoDescuentoSurtido",
                    f"the discount {_fmt(amount)} exceeds the remaining base {_fmt(remaining)} "
                    "(MontoTotalSurtido minus the previous discounts)",
                )
            remaining -= amount
            if code in ("01", "03"):
                has_regalia = True
                regalias += amount
            if code == "99" and _text(desc, "DescuentoSurtidoOtros") is None:
                ctx.add(
                    f"{dpath}/DescuentoSurtidoOtros",
                    "DescuentoSurtidoOtros is required with CodigoDescuentoSurtido 99",
                )
        if sub_total != remaining:
            ctx.add(
                f"{cpath}/SubTotalSurtido",
                "SubTotalSurtido must be MontoTotalSurtido − the component's discounts = "
                f"{_fmt(remaining)}, found {_fmt(sub_total)}",
            )
        impuestos = _kids(comp, "ImpuestoSurtido")
        codes = [_text(imp, "CodigoImpuestoSurtido") or "" for imp in impuestos]
        base_el = _kid(comp, "BaseImponibleSurtido")
        base = sub_total
        if base_el is not None:
            base = _dec(comp, "BaseImponibleSurtido") or ZERO
            editable = _text(comp, "IVACobradoFabricaSurtido") == "01" or "07" in codes
            expected_base = sub_total + sum(
                (
                    _dec(imp, "MontoImpuestoSurtido") or ZERO
                    for imp, code in zip(impuestos, codes, strict=True)
                    if code in _BASE_CODES
                ),
                ZERO,
            )
            if not editable and base != expected_base:
                ctx.add(
                    f"{cpath}/BaseImponibleSurtido",
                    "BaseImponibleSurtido must be SubTotalSurtido plus the component's taxes 02, 04, 05 "
                    f"and 12 = {_fmt(expected_base)}, found {_fmt(base)}",
                )
        treatment: str | None = None
        for m, (imp, codigo) in enumerate(zip(impuestos, codes, strict=True), start=1):
            ipath = f"{cpath}/ImpuestoSurtido[{m}]"
            ctar_text = _text(imp, "CodigoTarifaIVASurtido")
            tarifa = _dec(imp, "TarifaSurtido")
            monto = _dec(imp, "MontoImpuestoSurtido") or ZERO
            ctar: CodigoTarifaIVA | None = None
            if ctar_text is not None:
                try:
                    ctar = CodigoTarifaIVA(ctar_text)
                except ValueError:
                    ctar = None  # the XSD reports it
            if codigo == "99" and _text(imp, "CodigoImpuestoOTROSurtido") is None:
                ctx.add(
                    f"{ipath}/CodigoImpuestoOTROSurtido",
                    "CodigoImpuestoOTROSurtido is required with CodigoImpuestoSurtido 99",
                )
            asumido = ZERO
            if codigo in _IVA_CODES:
                if ctar_text is None:
                    ctx.add(
                        f"{ipath}/CodigoTarifaIVASurtido",
                        f"CodigoTarifaIVASurtido is required for tax code {codigo}",
                    )
                if tarifa is None:
                    ctx.add(f"{ipath}/TarifaSurtido", f"TarifaSurtido is required for tax code {codigo}")
                elif ctar is not None and tarifa != ctar.tarifa:
                    ctx.add(
                        f"{ipath}/TarifaSurtido",
                        f"for CodigoTarifaIVASurtido {ctar.value} the TarifaSurtido must be "
                        f"{_rate(ctar.tarifa)}, found {_rate(tarifa)}",
                    )
                if ctar is not None and ctar.solo_notas and not notas:
                    ctx.add(
                        f"{ipath}/CodigoTarifaIVASurtido",
                        f"CodigoTarifaIVASurtido {ctar.value} (transitional rate) is only allowed in credit "
                        "and debit notes",
                    )
                if ctar is not None and tarifa is not None:
                    regalia = codigo == "01" and has_regalia
                    expected = q5((monto_total if regalia else base) * tarifa / ONE_HUNDRED)
                    if ctar is CodigoTarifaIVA.EXENTA:
                        expected = ZERO
                    if monto != expected:
                        ctx.add(
                            f"{ipath}/MontoImpuestoSurtido",
                            f"the component's tax amount must be {_fmt(expected)} (rate applied to "
                            f"{'MontoTotalSurtido' if regalia else 'the taxable base'}), found {_fmt(monto)}",
                        )
                    if regalia:
                        asumido = min(q5(regalias * tarifa / ONE_HUNDRED), monto)
                if treatment is None:
                    treatment = "gravado" if ctar is None else ctar.tratamiento
            elif codigo == "08" and treatment is None:
                treatment = "gravado"
            key = (codigo, ctar_text if codigo in _IVA_CODES else None)
            total, assumed = combo.groups.get(key, (ZERO, ZERO))
            combo.groups[key] = (total + monto, assumed + asumido)
        treatment = treatment or "no_sujeto"
        if treatment == "no_sujeto" and ctx.kind == "FacturaElectronicaExportacion":
            treatment = "exento"
        combo.weights[treatment] = combo.weights.get(treatment, ZERO) + sub_total
        combo.sub_total += sub_total
    return combo


def _combo_shares(monto_total: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """The combo line's MontoTotal per treatment, in proportion to the components' SubTotalSurtido; the first
    treatment present (gravado, exento, no sujeto) takes the rounding remainder."""
    order: list[str] = [t for t in ("gravado", "exento", "no_sujeto") if t in weights]
    whole = sum(weights.values(), ZERO)
    if len(order) <= 1 or whole == 0:
        return dict.fromkeys(order[:1], monto_total)
    shares = {t: q5(monto_total * weights[t] / whole) for t in order[1:]}
    out = {order[0]: monto_total - sum(shares.values(), ZERO)}
    out.update(shares)
    return out


# -- summary ----------------------------------------------------------------------------------------------

_SPLIT_FIELDS = {
    ("serv", "gravado"): "TotalServGravados",
    ("serv", "exento"): "TotalServExentos",
    ("serv", "exonerado"): "TotalServExonerado",
    ("serv", "no_sujeto"): "TotalServNoSujeto",
    ("merc", "gravado"): "TotalMercanciasGravadas",
    ("merc", "exento"): "TotalMercanciasExentas",
    ("merc", "exonerado"): "TotalMercExonerada",
    ("merc", "no_sujeto"): "TotalMercNoSujeta",
}


def _check_resumen(ctx: _Ctx, lines: list[_Line]) -> None:
    resumen = _kid(ctx.root, "ResumenFactura")
    if resumen is None:
        return
    rep = ctx.kind == "ReciboElectronicoPago"

    def val(name: str) -> Decimal:
        return _dec(resumen, name) or ZERO

    def expect(
        name: str, expected: Decimal, what: str, code: int | None = None, hacienda: bool = False
    ) -> None:
        found = val(name)
        if found != expected:
            path = f"ResumenFactura/{name}"
            if hacienda and code is not None:
                ctx.hacienda(code, path)
            else:
                ctx.add(path, f"{name} must be {what} = {_fmt(expected)}, found {_fmt(found)}", code)

    moneda = _kid(resumen, "CodigoTipoMoneda")
    if _text(moneda, "CodigoMoneda") == "CRC" and _dec(moneda, "TipoCambio") not in (None, Decimal(1)):
        ctx.add("ResumenFactura/CodigoTipoMoneda/TipoCambio", "TipoCambio must be 1 for CRC")

    # goods / services split
    if not rep and lines and all(ln.cabys for ln in lines):
        sums = dict.fromkeys(_SPLIT_FIELDS, ZERO)
        for ln in lines:
            kind = "merc" if (ln.cabys or "9")[0] in "01234" else "serv"
            treatment = ln.treatment
            if treatment == "no_sujeto" and ctx.kind == "FacturaElectronicaExportacion":
                # The FEE summary has no no-sujeto totals: 0 % export lines (tarifa 01/11) count as exento.
                treatment = "exento"
            if ln.shares is not None:
                for share_treatment, amount in ln.shares.items():
                    if not (share_treatment == "gravado" and kind == "merc" and ln.fabrica):
                        sums[(kind, share_treatment)] += amount
            elif treatment == "gravado":
                if kind == "merc" and ln.fabrica:
                    continue  # TotalMercanciasGravadas excludes IVA charged at factory level
                sums[(kind, "exonerado")] += ln.exonerado_share
                sums[(kind, "gravado")] += ln.monto_total - ln.exonerado_share
            else:
                sums[(kind, treatment)] += ln.monto_total
        for key, name in _SPLIT_FIELDS.items():
            expected = sums[key]
            if name == "TotalServGravados" and val(name) != expected:
                ctx.hacienda(-111, f"ResumenFactura/{name}")
            elif name == "TotalMercanciasGravadas" and _kid(resumen, name) is None and expected != 0:
                ctx.hacienda(-110, f"ResumenFactura/{name}")
            else:
                goods = "goods (CABYS starting 0-4)" if key[0] == "merc" else "services (CABYS starting 5-9)"
                expect(name, expected, f"the MontoTotal of the {key[1].replace('_', ' ')} {goods}")
        for total, parts in (
            ("TotalGravado", ("TotalServGravados", "TotalMercanciasGravadas")),
            ("TotalExento", ("TotalServExentos", "TotalMercanciasExentas")),
            ("TotalExonerado", ("TotalServExonerado", "TotalMercExonerada")),
            ("TotalNoSujeto", ("TotalServNoSujeto", "TotalMercNoSujeta")),
        ):
            expect(total, val(parts[0]) + val(parts[1]), f"{parts[0]} + {parts[1]}")
    if rep:
        expect("TotalVenta", sum((ln.monto_total for ln in lines), ZERO), "the sum of the lines' MontoTotal")
    else:
        expect(
            "TotalVenta",
            val("TotalGravado") + val("TotalExento") + val("TotalExonerado") + val("TotalNoSujeto"),
            "TotalGravado + TotalExento + TotalExonerado + TotalNoSujeto",
        )
    descuentos = sum((ln.descuentos for ln in lines), ZERO)
    if val("TotalDescuentos") != descuentos:
        ctx.hacienda(-52, "ResumenFactura/TotalDescuentos")
    expect("TotalVentaNeta", val("TotalVenta") - val("TotalDescuentos"), "TotalVenta − TotalDescuentos")
    impuesto = sum((ln.neto for ln in lines), ZERO)
    if val("TotalImpuesto") != impuesto:
        ctx.hacienda(-54, "ResumenFactura/TotalImpuesto")
    expect(
        "TotalImpAsumEmisorFabrica",
        sum((ln.asumido for ln in lines), ZERO),
        "the sum of ImpuestoAsumidoEmisorFabrica",
    )
    _check_desglose(ctx, resumen, lines)
    cargos = _kids(ctx.root, "OtrosCargos")
    total_cargos = ZERO
    for c, cargo in enumerate(cargos, start=1):
        cpath = f"OtrosCargos[{c}]"
        amount = _dec(cargo, "MontoCargo") or ZERO
        total_cargos += amount
        if amount <= 0:
            ctx.add(f"{cpath}/MontoCargo", "MontoCargo must be greater than zero")
        tipo = _text(cargo, "TipoDocumentoOC")
        if tipo == "99" and _text(cargo, "TipoDocumentoOTROS") is None:
            ctx.add(f"{cpath}/TipoDocumentoOTROS", "TipoDocumentoOTROS is required with TipoDocumentoOC 99")
        if tipo == "04":
            if _kid(cargo, "IdentificacionTercero") is None:
                ctx.add(
                    f"{cpath}/IdentificacionTercero",
                    "IdentificacionTercero is required with TipoDocumentoOC 04",
                )
            if _text(cargo, "NombreTercero") is None:
                ctx.add(f"{cpath}/NombreTercero", "NombreTercero is required with TipoDocumentoOC 04")
    expect("TotalOtrosCargos", total_cargos, "the sum of OtrosCargos/MontoCargo")
    if rep:
        expect("TotalComprobante", val("TotalVenta"), "TotalVenta (Recibo Electrónico de Pago)")
    else:
        expect(
            "TotalComprobante",
            val("TotalVentaNeta") + val("TotalImpuesto") + val("TotalOtrosCargos") - val("TotalIVADevuelto"),
            "TotalVentaNeta + TotalImpuesto + TotalOtrosCargos − TotalIVADevuelto",
        )


def _check_desglose(ctx: _Ctx, resumen: etree._Element, lines: list[_Line]) -> None:
    expected: dict[tuple[str, str | None], Decimal] = {}
    for ln in lines:
        for key, amount in ln.tax_groups.items():
            expected[key] = expected.get(key, ZERO) + amount
    entries = _kids(resumen, "TotalDesgloseImpuesto")
    if not entries:
        if any(ln.has_tax for ln in lines):
            ctx.hacienda(-487, "ResumenFactura/TotalDesgloseImpuesto")
        return
    seen: set[tuple[str, str | None]] = set()
    for d, entry in enumerate(entries, start=1):
        dpath = f"ResumenFactura/TotalDesgloseImpuesto[{d}]"
        codigo = _text(entry, "Codigo") or ""
        ctar = _text(entry, "CodigoTarifaIVA")
        if codigo in _IVA_CODES and ctar is None:
            ctx.add(f"{dpath}/CodigoTarifaIVA", f"CodigoTarifaIVA is required for tax code {codigo}")
        key = (codigo, ctar if codigo in _IVA_CODES else None)
        if key in seen:
            ctx.add(dpath, f"a second TotalDesgloseImpuesto for tax code {codigo} / tarifa {ctar}")
            continue
        seen.add(key)
        found = _dec(entry, "TotalMontoImpuesto") or ZERO
        want = expected.get(key, ZERO)
        if key not in expected:
            ctx.add(
                dpath,
                f"no line carries tax code {codigo}" + (f" with CodigoTarifaIVA {ctar}" if ctar else ""),
            )
        elif found != want:
            ctx.add(
                f"{dpath}/TotalMontoImpuesto",
                f"TotalMontoImpuesto for tax code {codigo}"
                + (f" / tarifa {ctar}" if key[1] else "")
                + " must be "
                f"the sum of the lines' net tax = {_fmt(want)}, found {_fmt(found)}",
            )
    for key, amount in expected.items():
        if key not in seen and amount != 0:
            ctx.add(
                "ResumenFactura/TotalDesgloseImpuesto",
                f"missing the entry for tax code {key[0]}"
                + (f" / tarifa {key[1]}" if key[1] else "")
                + f" (lines total {_fmt(amount)})",
            )


# -- header conditions, payment means ---------------------------------------------------------------------


def _check_condicion_y_pago(ctx: _Ctx) -> None:
    root = ctx.root
    rep = ctx.kind == "ReciboElectronicoPago"
    condicion = _text(root, "CondicionVenta")
    plazo_text = _text(root, "PlazoCredito")
    if condicion in ("02", "10") or plazo_text is not None:
        try:
            plazo = int(plazo_text) if plazo_text is not None else 0
        except ValueError:
            plazo = 0
        if plazo <= 0:
            ctx.hacienda(-58, "PlazoCredito")
    if condicion == "99" and _text(root, "CondicionVentaOtros") is None:
        ctx.add("CondicionVentaOtros", "CondicionVentaOtros is required with CondicionVenta 99")
    if rep and condicion not in ("09", "11"):
        ctx.add(
            "CondicionVenta",
            f"a Recibo Electrónico de Pago only allows CondicionVenta 09 or 11, got {condicion}",
        )
    if not rep and condicion in ("09", "11"):
        ctx.add(
            "CondicionVenta", f"CondicionVenta {condicion} is only allowed in a Recibo Electrónico de Pago"
        )
    if condicion == "12" and ctx.kind != "FacturaElectronica":
        ctx.add("CondicionVenta", "CondicionVenta 12 (mercancía no nacionalizada) is only allowed in a FE")
    resumen = _kid(root, "ResumenFactura")
    medios = _kids(resumen, "MedioPago")
    if not medios and (rep or condicion not in _CREDITO):
        ctx.add(
            "ResumenFactura/MedioPago",
            "MedioPago is required"
            + (
                " in a Recibo Electrónico de Pago"
                if rep
                else " unless CondicionVenta is a credit sale (02, 08, 10)"
            ),
        )
    total = ZERO
    for m, medio in enumerate(medios, start=1):
        mpath = f"ResumenFactura/MedioPago[{m}]"
        if _text(medio, "TipoMedioPago") == "99" and _text(medio, "MedioPagoOtros") is None:
            ctx.hacienda(-492, f"{mpath}/MedioPagoOtros")
        amount = _dec(medio, "TotalMedioPago")
        if amount is not None and amount <= 0:
            ctx.add(f"{mpath}/TotalMedioPago", "TotalMedioPago must be greater than zero")
        if amount is None and len(medios) > 1:
            ctx.add(
                f"{mpath}/TotalMedioPago",
                "TotalMedioPago is required when more than one payment means is used",
            )
        total += amount or ZERO
    if len(medios) > 1:
        comprobante = _dec(resumen, "TotalComprobante") or ZERO
        if total != comprobante:
            ctx.add(
                "ResumenFactura/TotalComprobante",
                f"TotalComprobante {_fmt(comprobante)} must equal the sum of TotalMedioPago {_fmt(total)} "
                "when two or more payment means are used",
            )


def _check_referencias(ctx: _Ctx) -> None:
    root = ctx.root
    refs = _kids(root, "InformacionReferencia")
    if not refs and (ctx.kind in _NEEDS_REFERENCE or ctx.kind == "ReciboElectronicoPago"):
        ctx.add("InformacionReferencia", f"InformacionReferencia is required in a {ctx.kind}")
    pairs: list[tuple[str | None, str | None]] = []
    for r, ref in enumerate(refs, start=1):
        rpath = f"InformacionReferencia[{r}]"
        tipo = _text(ref, "TipoDocIR")
        codigo = _text(ref, "Codigo")
        pairs.append((tipo, codigo))
        if tipo == "99" and _text(ref, "TipoDocRefOTRO") is None:
            ctx.add(f"{rpath}/TipoDocRefOTRO", "TipoDocRefOTRO is required with TipoDocIR 99")
        if codigo == "99" and _text(ref, "CodigoReferenciaOTRO") is None:
            ctx.add(f"{rpath}/CodigoReferenciaOTRO", "CodigoReferenciaOTRO is required with Codigo 99")
        if tipo == "16" and ctx.kind != "FacturaElectronicaCompra":
            ctx.add(f"{rpath}/TipoDocIR", "TipoDocIR 16 (proveedor no domiciliado) is only allowed in a FEC")
        if ctx.kind == "ReciboElectronicoPago" and tipo not in _REP_IR:
            ctx.add(f"{rpath}/TipoDocIR", f"a Recibo Electrónico de Pago cannot reference TipoDocIR {tipo}")
        numero = _text(ref, "Numero")
        if tipo != "13":
            if numero is None:
                ctx.add(f"{rpath}/Numero", f"Numero is required with TipoDocIR {tipo}")
            elif tipo in _IR_CLAVE:
                try:
                    Clave.parse(numero)
                except ClaveError as exc:
                    ctx.add(f"{rpath}/Numero", f"TipoDocIR {tipo} references a clave: {exc.problems[0]}")
            if codigo is None:
                ctx.add(f"{rpath}/Codigo", f"Codigo is required with TipoDocIR {tipo}")
    clave = _text(root, "Clave")
    if clave is not None and len(clave) == 50 and clave[41] == "2" and ("08", "05") not in pairs:
        ctx.add(
            "InformacionReferencia",
            "a voucher in situación 2 (contingencia) must reference the contingency voucher with TipoDocIR "
            "08 and Codigo 05",
        )


def _check_id(ctx: _Ctx, ident: etree._Element | None, path: str) -> str | None:
    if ident is None:
        return None
    tipo = _text(ident, "Tipo")
    numero = _text(ident, "Numero")
    if tipo is None or numero is None:
        return tipo
    problem = identificacion_problem(tipo, numero)
    if problem is not None:
        ctx.add(f"{path}/Numero", problem)
    return tipo


def _check_identificaciones(ctx: _Ctx) -> None:
    root = ctx.root
    emisor = _check_id(ctx, _kid(_kid(root, "Emisor"), "Identificacion"), "Emisor/Identificacion")
    receptor = _check_id(ctx, _kid(_kid(root, "Receptor"), "Identificacion"), "Receptor/Identificacion")
    for c, cargo in enumerate(_kids(root, "OtrosCargos"), start=1):
        _check_id(ctx, _kid(cargo, "IdentificacionTercero"), f"OtrosCargos[{c}]/IdentificacionTercero")
    fec = ctx.kind == "FacturaElectronicaCompra"
    condicion = _text(root, "CondicionVenta")
    if emisor == "05":
        tipos_ir = {_text(ref, "TipoDocIR") for ref in _kids(root, "InformacionReferencia")}
        if not fec or "16" not in tipos_ir:
            ctx.add(
                "Emisor/Identificacion/Tipo",
                "an emisor of type 05 (extranjero no domiciliado) is only allowed in a FEC referencing "
                "TipoDocIR 16",
            )
    if emisor == "06" and not (fec and condicion == "13"):
        ctx.add(
            "Emisor/Identificacion/Tipo",
            "an emisor of type 06 (no contribuyente) is only allowed in a FEC with CondicionVenta 13",
        )
    if receptor == "05" and ctx.kind == "FacturaElectronica" and condicion != "12":
        ctx.add(
            "Receptor/Identificacion/Tipo",
            "a receptor of type 05 (extranjero no domiciliado) in a FE requires CondicionVenta 12",
        )


# -- MensajeReceptor --------------------------------------------------------------------------------------

_MENSAJE_TIPO = {"1": "05", "2": "06", "3": "07"}


def _check_mensaje_receptor(ctx: _Ctx) -> None:
    root = ctx.root
    clave = _parse_clave(ctx)
    cedula = _text(root, "NumeroCedulaEmisor")
    if (
        clave is not None
        and cedula is not None
        and not (cedula.isdigit() and len(cedula) <= 12 and cedula.rjust(12, "0") == clave.identificacion)
    ):
        ctx.hacienda(-8, "Clave")
    mensaje = _text(root, "Mensaje")
    if mensaje in ("2", "3") and not _text(root, "DetalleMensaje"):
        ctx.add("DetalleMensaje", f"DetalleMensaje (the reason) is required with Mensaje {mensaje}")
    consecutivo_text = _text(root, "NumeroConsecutivoReceptor")
    if consecutivo_text is None:
        return
    try:
        consecutivo = Consecutivo.parse(consecutivo_text, path="NumeroConsecutivoReceptor")
    except ClaveError as exc:
        for p in exc.problems:
            ctx.add("NumeroConsecutivoReceptor", f"{p.path}: {p.message}")
        return
    want = _MENSAJE_TIPO.get(mensaje or "")
    if want is not None and consecutivo.tipo.value != want:
        # Mensaje 1/2/3 needs document type 05/06/07 in the consecutivo; Hacienda's exact text.
        ctx.hacienda(-1, "NumeroConsecutivoReceptor")
