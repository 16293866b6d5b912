"""Hacienda's business rules that the XSD cannot express, checked on the parsed XML.

:func:`check_rules` works on every v4.4 voucher (FE, ND, NC, TE, FEC, FEE, REP) and on the MensajeReceptor,
without the document model, so the local Hacienda simulator can reject with Hacienda's codes and texts.
The package's modules: ``messages`` (Hacienda's texts by code), ``header`` (clave, consecutivo, date,
condition, payment means, references, identifications), ``lines``, ``combos``, ``summary`` and ``mensaje``.
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

from lxml import etree

from cr_einvoice.core.catalogs import MENSAJE_HACIENDA, MENSAJE_RECEPTOR, VOUCHER_ROOTS
from cr_einvoice.core.errors import Problem
from cr_einvoice.core.xmlsafe import local_name
from cr_einvoice.vouchers.rules._base import Ctx
from cr_einvoice.vouchers.rules.header import (
    check_condicion_y_pago,
    check_header,
    check_identificaciones,
    check_referencias,
    parse_clave,
)
from cr_einvoice.vouchers.rules.lines import check_lines
from cr_einvoice.vouchers.rules.mensaje import check_mensaje_receptor
from cr_einvoice.vouchers.rules.messages import MESSAGES
from cr_einvoice.vouchers.rules.summary import check_resumen

__all__ = ["MESSAGES", "check_rules"]


def check_rules(root: etree._Element) -> list[Problem]:
    """Business-rule problems of a voucher or MensajeReceptor (empty when none are found)."""
    kind = local_name(root.tag)
    ctx = Ctx(root, kind)
    namespace = etree.QName(root).namespace or ""
    if kind == MENSAJE_RECEPTOR:
        check_mensaje_receptor(ctx)
        return ctx.problems
    if kind == MENSAJE_HACIENDA:
        parse_clave(ctx)
        return ctx.problems
    if kind not in VOUCHER_ROOTS:
        ctx.add(kind, f"{kind} is not a Costa Rica comprobante electrónico")
        return ctx.problems
    check_header(ctx)
    if "/v4.4/" not in namespace:
        return ctx.problems
    lines = check_lines(ctx)
    check_resumen(ctx, lines)
    check_condicion_y_pago(ctx)
    check_referencias(ctx)
    check_identificaciones(ctx)
    return ctx.problems
