"""XML → model: vouchers we produced (identity round trip) and vouchers received from suppliers (v4.4, v4.3).

``from_xml(data)`` returns the model object of the root element. Everything computed (MontoTotal, SubTotal,
taxes, the ResumenFactura) is recomputed from the inputs; what the XML *states* is kept in ``doc.stated``
(:class:`~cr_einvoice.vouchers.model.StatedTotals`: ``version``, ``resumen``, ``lineas``, ``warnings``), so
``doc.stated_differences()`` lists where the two disagree and ``doc.stated_resumen.total_comprobante`` is the
total the supplier invoiced.

By default documents are read leniently (:func:`~cr_einvoice.vouchers.model.reading_received`): types are
converted but
Hacienda's format and business checks are skipped, because a received voucher must be readable even when it
breaks them. ``strict=True`` applies every check of the constructors.

v4.3 (and v4.2) names are mapped: ``CodigoActividad`` → codigo_actividad_emisor, line ``Codigo`` (CABYS text,
or the old complex code) → codigo_cabys / codigos_comerciales, ``CodigoTarifa`` → codigo_tarifa_iva,
``FactorIVA`` → factor_calculo_iva, the header ``MedioPago`` codes → medios_pago, the v4.3 Exoneracion
(TipoDocumento, FechaEmision, PorcentajeExoneracion, free-text NombreInstitucion → 99 + its text),
OtrosCargos (TipoDocumento, NumeroIdentidadTercero, Porcentaje), InformacionReferencia (TipoDoc,
FechaEmision), ``IdentificacionExtranjero`` → identification type 05. Things the model cannot hold are
reported in ``doc.stated.warnings`` (unknown units of measure -- mapped to ``Otros``).

Combo lines (``DetalleSurtido``) are read into ``LineaDetalle.surtido``; the line's own Impuesto elements are
not inputs of the model (a combo's taxes are computed from its components) and their stated amounts are kept
in ``doc.stated.lineas[i].impuestos``, the components' stated amounts in ``doc.stated.lineas[i].surtido``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from lxml import etree

from cr_einvoice.core.catalogs import (
    CodigoImpuesto,
    CodigoMoneda,
    CodigoTarifaIVA,
    InstitucionExoneracion,
    TipoIdentificacion,
    UnidadMedida,
)
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.money import ZERO
from cr_einvoice.core.xmlsafe import local_name, parse_untrusted
from cr_einvoice.vouchers.model import (
    CalculoLinea,
    CalculoSurtido,
    CodigoComercial,
    CodigoComercialSurtido,
    Comprobante,
    DatosImpuestoEspecifico,
    Descuento,
    DescuentoSurtido,
    Document,
    Emisor,
    Exoneracion,
    Identificacion,
    Impuesto,
    ImpuestoCalculado,
    ImpuestoSurtido,
    InformacionReferencia,
    LineaDetalle,
    LineaDetalleSurtido,
    LineaPago,
    MedioPago,
    MensajeReceptor,
    OtroCargo,
    OtroContenido,
    Otros,
    OtroTexto,
    Receptor,
    ReciboPago,
    ResumenFactura,
    StatedTotals,
    Telefono,
    TotalDesgloseImpuesto,
    Ubicacion,
    document_class,
    reading_received,
)

__all__ = ["from_xml"]

_T = TypeVar("_T")
_D = TypeVar("_D", Comprobante, ReciboPago)


def from_xml(data: bytes | str | etree._Element, *, strict: bool = False, stated: bool = False) -> Document:
    """Read a voucher (FE, ND, NC, TE, FEC, FEE, REP or MensajeReceptor; v4.4 or v4.3).

    ``stated=True`` (a lenient reading only) skips the formula chain: each LineaDetalle's ``calculo`` and a
    Comprobante's ``resumen`` ARE the amounts the XML states (``doc.stated``), so nothing is recomputed and
    ``stated_differences()`` is empty. For printing what was signed (:mod:`cr_einvoice.delivery.document`);
    to check a supplier's arithmetic, read without it.

    Bytes and text go through :func:`cr_einvoice.core.xmlsafe.parse_untrusted`. Raises
    :class:`~cr_einvoice.core.errors.XMLParseError` for unsafe or malformed XML and
    :class:`~cr_einvoice.core.errors.ValidationError` when a value cannot be read at all (a number that is
    not a
    number, an unknown code, an amount beyond the schema's range); its paths are the model's field paths
    (``lineas[0].impuestos[1].codigo``), ending in the element name for unreadable numbers.
    """
    if strict and stated:
        raise ValueError("stated amounts are read leniently: strict=True recomputes them")
    root = data if isinstance(data, etree._Element) else parse_untrusted(data, what="voucher XML")
    reader = _Reader(root, stated=stated)
    if strict:
        return reader.document()
    with reading_received(stated=stated):
        return reader.document()


def _version(ns: str) -> str:
    match = re.search(r"/v(\d+\.\d+)/", ns + "/")
    return match.group(1) if match else "unknown"


class _Reader:
    def __init__(self, root: etree._Element, *, stated: bool = False) -> None:
        self.root = root
        #: The computed amounts are the stated ones (see :func:`from_xml`).
        self.stated = stated
        self.name = local_name(root.tag)
        self.version = _version(etree.QName(root).namespace or "")
        self.warnings: list[Problem] = []
        #: Per element read, its children by local name (the reader holds the elements, so the lxml
        #: proxies used as keys stay the same objects).
        self._children: dict[etree._Element, dict[str, list[etree._Element]]] = {}

    # -- primitives ------------------------------------------------------------------------------------

    def _index(self, node: etree._Element) -> dict[str, list[etree._Element]]:
        """``node``'s children by local name, built in one pass the first time (instead of one scan of the
        children per name asked, ~60 a line)."""
        index = self._children.get(node)
        if index is None:
            index = {}
            for element in node.iterchildren():
                tag = element.tag
                if isinstance(tag, str):
                    name = tag.rpartition("}")[2]
                    found = index.get(name)
                    if found is None:
                        index[name] = [element]
                    else:
                        found.append(element)
            self._children[node] = index
        return index

    def child(self, node: etree._Element | None, *names: str) -> etree._Element | None:
        """The first child found under any of ``names`` (v4.4 and older names of one element)."""
        if node is None:
            return None
        index = self._index(node)
        for name in names:
            found = index.get(name)
            if found:
                return found[0]
        return None

    def children(self, node: etree._Element, name: str) -> list[etree._Element]:
        return list(self._index(node).get(name, ()))

    def text(self, node: etree._Element | None, *names: str) -> str | None:
        if node is None:
            return None
        index = self._children.get(node)
        if index is None:
            index = self._index(node)
        for name in names:
            found = index.get(name)
            if found:
                return (found[0].text or "").strip() or None
        return None

    def dec(self, node: etree._Element | None, *names: str, path: str = "") -> Decimal | None:
        value = self.text(node, *names)
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not a number", path=f"{path}{names[0]}") from None

    def amount(self, node: etree._Element | None, *names: str, path: str = "") -> Decimal:
        value = self.dec(node, *names, path=path)
        return ZERO if value is None else value

    def integer(self, node: etree._Element | None, name: str, path: str) -> int | None:
        value = self.text(node, name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            self.warn(f"{path}{name}", f"{value!r} is not an integer; ignored")
            return None

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Problem(path, message))

    def build(self, path: str, factory: Callable[..., _T], **kwargs: Any) -> _T:
        try:
            return factory(**kwargs)
        except ValidationError as exc:
            raise ValidationError(
                [Problem(f"{path}{p.path}" if path else p.path, p.message, p.code) for p in exc.problems]
            ) from None

    # -- parties ---------------------------------------------------------------------------------------

    def identificacion(self, node: etree._Element | None, path: str) -> Identificacion | None:
        if node is None:
            return None
        return self.build(
            path + ".",
            Identificacion,
            tipo=self.text(node, "Tipo"),
            numero=self.text(node, "Numero") or "",
        )

    def ubicacion(self, node: etree._Element | None, path: str) -> Ubicacion | None:
        if node is None:
            return None
        return self.build(
            path + ".",
            Ubicacion,
            provincia=self.text(node, "Provincia") or "",
            canton=self.text(node, "Canton") or "",
            distrito=self.text(node, "Distrito") or "",
            barrio=self.text(node, "Barrio"),
            otras_senas=self.text(node, "OtrasSenas") or "",
        )

    def telefono(self, node: etree._Element | None, path: str) -> Telefono | None:
        if node is None or self.text(node, "NumTelefono") is None:
            return None
        codigo = self.integer(node, "CodigoPais", path + ".")
        return self.build(
            path + ".", Telefono, codigo_pais=codigo or 506, num_telefono=self.text(node, "NumTelefono")
        )

    def emisor(self, node: etree._Element) -> Emisor:
        return self.build(
            "emisor.",
            Emisor,
            nombre=self.text(node, "Nombre") or "",
            identificacion=self.identificacion(self.child(node, "Identificacion"), "identificacion"),
            registrofiscal8707=self.text(node, "Registrofiscal8707"),
            nombre_comercial=self.text(node, "NombreComercial"),
            ubicacion=self.ubicacion(self.child(node, "Ubicacion"), "ubicacion"),
            otras_senas_extranjero=self.text(node, "OtrasSenasExtranjero"),
            telefono=self.telefono(self.child(node, "Telefono"), "telefono"),
            correos_electronicos=tuple(
                (c.text or "").strip() for c in self.children(node, "CorreoElectronico") if c.text
            ),
        )

    def receptor(self, node: etree._Element | None) -> Receptor | None:
        if node is None:
            return None
        ident = self.identificacion(self.child(node, "Identificacion"), "identificacion")
        extranjero = self.text(node, "IdentificacionExtranjero")
        if ident is None and extranjero is not None:
            self.warn("Receptor/IdentificacionExtranjero", "v4.3 foreign identification read as type 05")
            ident = self.build(
                "receptor.identificacion.",
                Identificacion,
                tipo=TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO,
                numero=extranjero,
            )
        return self.build(
            "receptor.",
            Receptor,
            nombre=self.text(node, "Nombre") or "",
            identificacion=ident,
            nombre_comercial=self.text(node, "NombreComercial"),
            ubicacion=self.ubicacion(self.child(node, "Ubicacion"), "ubicacion"),
            otras_senas_extranjero=self.text(node, "OtrasSenasExtranjero"),
            telefono=self.telefono(self.child(node, "Telefono"), "telefono"),
            correo_electronico=self.text(node, "CorreoElectronico"),
        )

    # -- lines -----------------------------------------------------------------------------------------

    def unidad(self, value: str | None, path: str) -> UnidadMedida:
        if value is None:
            self.warn(path, "no UnidadMedida; read as Unid")
            return UnidadMedida.UNIDAD
        try:
            return UnidadMedida(value)
        except ValueError:
            pass
        self.warn(path, f"unknown UnidadMedida {value!r}; read as Otros")
        return UnidadMedida.OTROS

    def exoneracion(self, node: etree._Element | None, path: str) -> Exoneracion | None:
        if node is None:
            return None
        institucion = self.text(node, "NombreInstitucion")
        otros = self.text(node, "NombreInstitucionOtros")
        if institucion is not None and institucion not in {i.value for i in InstitucionExoneracion}:
            otros, institucion = institucion, InstitucionExoneracion.OTROS.value
        return self.build(
            path + ".",
            Exoneracion,
            tipo_documento_ex1=self.text(node, "TipoDocumentoEX1", "TipoDocumento"),
            tipo_documento_otro=self.text(node, "TipoDocumentoOTRO"),
            numero_documento=self.text(node, "NumeroDocumento") or "",
            articulo=self.integer(node, "Articulo", path + "."),
            inciso=self.integer(node, "Inciso", path + "."),
            nombre_institucion=institucion,
            nombre_institucion_otros=otros,
            fecha_emision_ex=self.text(node, "FechaEmisionEX", "FechaEmision"),
            tarifa_exonerada=self.dec(node, "TarifaExonerada", "PorcentajeExoneracion", path=path) or ZERO,
        )

    def impuesto(self, node: etree._Element, path: str) -> tuple[Impuesto, ImpuestoCalculado]:
        p = path + "."
        datos_node = self.child(node, "DatosImpuestoEspecifico")
        datos = None
        if datos_node is not None:
            datos = self.datos(datos_node, p + "datos_impuesto_especifico.", "")
        exo_node = self.child(node, "Exoneracion")
        tax = self.build(
            p,
            Impuesto,
            codigo=self.text(node, "Codigo"),
            codigo_impuesto_otro=self.text(node, "CodigoImpuestoOTRO"),
            codigo_tarifa_iva=self.text(node, "CodigoTarifaIVA", "CodigoTarifa"),
            tarifa=self.dec(node, "Tarifa", path=p),
            factor_calculo_iva=self.dec(node, "FactorCalculoIVA", "FactorIVA", path=p),
            datos_impuesto_especifico=datos,
            monto_exportacion=self.dec(node, "MontoExportacion", path=p),
            exoneracion=self.exoneracion(exo_node, p + "exoneracion"),
        )
        monto = self.amount(node, "Monto", path=p)
        exonerado = self.amount(exo_node, "MontoExoneracion", path=p) if exo_node is not None else ZERO
        tarifa_iva = tax.codigo_tarifa_iva
        stated = ImpuestoCalculado(tax.codigo, tarifa_iva, monto, exonerado, ZERO, monto - exonerado)
        return tax, stated

    def linea(self, node: etree._Element, index: int) -> tuple[LineaDetalle, CalculoLinea]:
        path = f"lineas[{index}]."
        cabys = self.text(node, "CodigoCABYS")
        comerciales = []
        for code_node in self.children(node, "Codigo"):
            if len(code_node):  # v4.2 complex code
                comerciales.append(code_node)
            elif code_node.text and cabys is None:
                cabys = code_node.text.strip()
        comerciales += self.children(node, "CodigoComercial")
        codigos = tuple(
            self.build(
                f"{path}codigos_comerciales[{i}].",
                CodigoComercial,
                tipo=self.text(cc, "Tipo"),
                codigo=self.text(cc, "Codigo") or "",
            )
            for i, cc in enumerate(comerciales)
        )
        surtido_node = self.child(node, "DetalleSurtido")
        comps = (
            [
                self.componente(cn, f"{path}surtido[{k}].")
                for k, cn in enumerate(self.children(surtido_node, "LineaDetalleSurtido"))
            ]
            if surtido_node is not None
            else []
        )
        descuentos = []
        for i, d in enumerate(self.children(node, "Descuento")):
            codigo = self.text(d, "CodigoDescuento")
            naturaleza = self.text(d, "NaturalezaDescuento")
            if codigo is None:  # v4.3: amount and free-text nature only
                codigo = "99"
            descuentos.append(
                self.build(
                    f"{path}descuentos[{i}].",
                    Descuento,
                    monto_descuento=self.amount(d, "MontoDescuento", path=path),
                    codigo_descuento=codigo,
                    codigo_descuento_otro=self.text(d, "CodigoDescuentoOTRO"),
                    naturaleza_descuento=naturaleza,
                )
            )
        taxes = [
            self.impuesto(t, f"{path}impuestos[{i}]")
            for i, t in enumerate(self.children(node, "Impuesto"))
            if not comps
        ]
        combo_taxes = [
            self.impuesto_combo(t, f"{path}impuestos[{i}].")
            for i, t in enumerate(self.children(node, "Impuesto"))
            if comps
        ]
        fabrica = self.text(node, "IVACobradoFabrica")
        base = self.dec(node, "BaseImponible", path=path)
        editable = not comps and (
            fabrica == "01" or any(t.codigo is CodigoImpuesto.IVA_CALCULO_ESPECIAL for t, _ in taxes)
        )
        linea = self.build(
            path,
            LineaDetalle,
            partida_arancelaria=self.text(node, "PartidaArancelaria"),
            codigo_cabys=cabys or "",
            codigos_comerciales=codigos,
            cantidad=_default(self.dec(node, "Cantidad", path=path), Decimal(1)),
            unidad_medida=self.unidad(self.text(node, "UnidadMedida"), f"{path}unidad_medida"),
            tipo_transaccion=self.text(node, "TipoTransaccion"),
            unidad_medida_comercial=self.text(node, "UnidadMedidaComercial"),
            detalle=self.text(node, "Detalle") or "",
            numeros_vin_serie=tuple(
                (v.text or "").strip() for v in self.children(node, "NumeroVINoSerie") if v.text
            ),
            registro_medicamento=self.text(node, "RegistroMedicamento"),
            forma_farmaceutica=self.text(node, "FormaFarmaceutica"),
            surtido=tuple(comp for comp, _ in comps),
            precio_unitario=self.amount(node, "PrecioUnitario", path=path),
            descuentos=tuple(descuentos),
            iva_cobrado_fabrica=fabrica,
            base_imponible=base if editable else None,
            impuestos=tuple(t for t, _ in taxes),
        )
        stated_taxes = tuple(s for _, s in taxes) + tuple(combo_taxes)
        sub_total = self.amount(node, "SubTotal", path=path)
        stated = CalculoLinea(
            monto_total=self.amount(node, "MontoTotal", path=path),
            total_descuentos=sum((d.monto_descuento or ZERO for d in descuentos), ZERO),
            sub_total=sub_total,
            base_imponible=base if base is not None else sub_total,
            impuestos=stated_taxes,
            impuesto_asumido_emisor_fabrica=self.amount(node, "ImpuestoAsumidoEmisorFabrica", path=path),
            impuesto_neto=_default(
                self.dec(node, "ImpuestoNeto", path=path),  # FEE lines have no ImpuestoNeto
                sum((t.neto for t in stated_taxes), ZERO),
            ),
            monto_total_linea=self.amount(node, "MontoTotalLinea", path=path),
            surtido=tuple(s for _, s in comps),
        )
        if self.stated:  # the line was just built here, without its calculo
            object.__setattr__(linea, "calculo", stated)
        return linea, stated

    def datos(self, node: etree._Element, path: str, suffix: str) -> DatosImpuestoEspecifico:
        """DatosImpuestoEspecifico, or with ``suffix`` "Surtido" a DatosImpuestoEspecificoSurtido."""
        return self.build(
            path,
            DatosImpuestoEspecifico,
            cantidad_unidad_medida=self.amount(node, f"CantidadUnidadMedida{suffix}", path=path),
            porcentaje=self.dec(node, f"Porcentaje{suffix}", path=path),
            proporcion=self.dec(node, f"Proporcion{suffix}", path=path),
            volumen_unidad_consumo=self.dec(node, f"VolumenUnidadConsumo{suffix}", path=path),
            impuesto_unidad=self.amount(node, f"ImpuestoUnidad{suffix}", path=path),
        )

    def impuesto_combo(self, node: etree._Element, path: str) -> ImpuestoCalculado:
        """The stated amounts of a combo line's Impuesto (not a model input: computed from the components)."""
        codigo_text = self.text(node, "Codigo")
        try:
            codigo = CodigoImpuesto(codigo_text or "")
        except ValueError:
            raise ValidationError(f"unknown tax code {codigo_text!r}", path=f"{path}codigo") from None
        ctar_text = self.text(node, "CodigoTarifaIVA")
        ctar = None
        if ctar_text is not None:
            try:
                ctar = CodigoTarifaIVA(ctar_text)
            except ValueError:
                self.warn(f"{path}codigo_tarifa_iva", f"unknown CodigoTarifaIVA {ctar_text!r}; ignored")
        monto = self.amount(node, "Monto", path=path)
        exo = self.child(node, "Exoneracion")
        exonerado = self.amount(exo, "MontoExoneracion", path=path) if exo is not None else ZERO
        if exo is not None:
            self.warn(path + "exoneracion", "an exoneration on a combo line is not modelled; ignored")
        return ImpuestoCalculado(codigo, ctar, monto, exonerado, ZERO, monto - exonerado)

    def componente(self, node: etree._Element, path: str) -> tuple[LineaDetalleSurtido, CalculoSurtido]:
        """One LineaDetalleSurtido: the component and the amounts its XML states."""
        codigos = tuple(
            self.build(
                f"{path}codigos_comerciales_surtido[{i}].",
                CodigoComercialSurtido,
                tipo_surtido=self.text(cc, "TipoSurtido"),
                codigo_surtido=self.text(cc, "CodigoSurtido") or "",
            )
            for i, cc in enumerate(self.children(node, "CodigoComercialSurtido"))
        )
        descuentos = tuple(
            self.build(
                f"{path}descuentos_surtido[{i}].",
                DescuentoSurtido,
                monto_descuento_surtido=self.amount(d, "MontoDescuentoSurtido", path=path),
                codigo_descuento_surtido=self.text(d, "CodigoDescuentoSurtido"),
                descuento_surtido_otros=self.text(d, "DescuentoSurtidoOtros"),
            )
            for i, d in enumerate(self.children(node, "DescuentoSurtido"))
        )
        taxes: list[ImpuestoSurtido] = []
        stated_taxes: list[ImpuestoCalculado] = []
        for i, t in enumerate(self.children(node, "ImpuestoSurtido")):
            p = f"{path}impuestos_surtido[{i}]."
            datos_node = self.child(t, "DatosImpuestoEspecificoSurtido")
            datos = None
            if datos_node is not None:
                datos = self.datos(datos_node, p + "datos_impuesto_especifico_surtido.", "Surtido")
            tax = self.build(
                p,
                ImpuestoSurtido,
                codigo_impuesto_surtido=self.text(t, "CodigoImpuestoSurtido"),
                codigo_impuesto_otro_surtido=self.text(t, "CodigoImpuestoOTROSurtido"),
                codigo_tarifa_iva_surtido=self.text(t, "CodigoTarifaIVASurtido"),
                tarifa_surtido=self.dec(t, "TarifaSurtido", path=p),
                datos_impuesto_especifico_surtido=datos,
            )
            monto = self.amount(t, "MontoImpuestoSurtido", path=p)
            taxes.append(tax)
            stated_taxes.append(
                ImpuestoCalculado(
                    tax.codigo_impuesto_surtido, tax.codigo_tarifa_iva_surtido, monto, ZERO, ZERO, monto
                )
            )
        fabrica = self.text(node, "IVACobradoFabricaSurtido")
        base = self.dec(node, "BaseImponibleSurtido", path=path)
        editable = fabrica == "01" or any(
            t.codigo_impuesto_surtido is CodigoImpuesto.IVA_CALCULO_ESPECIAL for t in taxes
        )
        comp = self.build(
            path,
            LineaDetalleSurtido,
            codigo_cabys_surtido=self.text(node, "CodigoCABYSSurtido") or "",
            codigos_comerciales_surtido=codigos,
            cantidad_surtido=_default(self.dec(node, "CantidadSurtido", path=path), Decimal(1)),
            unidad_medida_surtido=self.unidad(
                self.text(node, "UnidadMedidaSurtido"), f"{path}unidad_medida_surtido"
            ),
            unidad_medida_comercial_surtido=self.text(node, "UnidadMedidaComercialSurtido"),
            detalle_surtido=self.text(node, "DetalleSurtido") or "",
            precio_unitario_surtido=self.amount(node, "PrecioUnitarioSurtido", path=path),
            descuentos_surtido=descuentos,
            iva_cobrado_fabrica_surtido=fabrica,
            base_imponible_surtido=base if editable else None,
            impuestos_surtido=tuple(taxes),
        )
        sub_total = self.amount(node, "SubTotalSurtido", path=path)
        stated = CalculoSurtido(
            monto_total_surtido=self.amount(node, "MontoTotalSurtido", path=path),
            total_descuentos=sum((d.monto_descuento_surtido or ZERO for d in descuentos), ZERO),
            sub_total_surtido=sub_total,
            base_imponible_surtido=base if base is not None else sub_total,
            impuestos=tuple(stated_taxes),
        )
        return comp, stated

    def linea_pago(self, node: etree._Element, index: int) -> tuple[LineaPago, CalculoLinea]:
        path = f"lineas[{index}]."
        taxes = [
            self.impuesto(t, f"{path}impuestos[{i}]") for i, t in enumerate(self.children(node, "Impuesto"))
        ]
        sub_total = self.amount(node, "SubTotal", path=path)
        linea = self.build(
            path,
            LineaPago,
            detalle=self.text(node, "Detalle") or "",
            monto_total=self.amount(node, "MontoTotal", path=path),
            sub_total=sub_total,
            impuestos=tuple(t for t, _ in taxes),
        )
        stated = CalculoLinea(
            monto_total=linea.monto_total,
            total_descuentos=ZERO,
            sub_total=sub_total,
            base_imponible=sub_total,
            impuestos=tuple(s for _, s in taxes),
            impuesto_asumido_emisor_fabrica=ZERO,
            impuesto_neto=self.amount(node, "ImpuestoNeto", path=path),
            monto_total_linea=self.amount(node, "MontoTotalLinea", path=path),
        )
        return linea, stated

    # -- sections --------------------------------------------------------------------------------------

    def otro_cargo(self, node: etree._Element, index: int) -> OtroCargo:
        path = f"otros_cargos[{index}]."
        tercero = self.identificacion(
            self.child(node, "IdentificacionTercero"), path + "identificacion_tercero"
        )
        numero_v43 = self.text(node, "NumeroIdentidadTercero")
        if tercero is None and numero_v43 is not None:
            self.warn(
                f"OtrosCargos[{index + 1}]/NumeroIdentidadTercero", "v4.3 third-party number read as type 02"
            )
            tercero = self.build(
                path + "identificacion_tercero.", Identificacion, tipo="02", numero=numero_v43
            )
        return self.build(
            path,
            OtroCargo,
            tipo_documento_oc=self.text(node, "TipoDocumentoOC", "TipoDocumento"),
            tipo_documento_otros=self.text(node, "TipoDocumentoOTROS"),
            identificacion_tercero=tercero,
            nombre_tercero=self.text(node, "NombreTercero"),
            detalle=self.text(node, "Detalle") or "",
            porcentaje_oc=self.dec(node, "PorcentajeOC", "Porcentaje", path=path),
            monto_cargo=self.amount(node, "MontoCargo", path=path),
        )

    def medios(self, parent: etree._Element | None, path: str) -> tuple[MedioPago, ...]:
        if parent is None:
            return ()
        out = []
        for i, node in enumerate(self.children(parent, "MedioPago")):
            if len(node):
                tipo, otros, total = (
                    self.text(node, "TipoMedioPago"),
                    self.text(node, "MedioPagoOtros"),
                    self.dec(node, "TotalMedioPago", path=path),
                )
            else:  # v4.3 header MedioPago: the code only
                tipo, otros, total = (node.text or "").strip(), None, None
            out.append(
                self.build(
                    f"{path}[{i}].",
                    MedioPago,
                    tipo_medio_pago=tipo,
                    medio_pago_otros=otros,
                    total_medio_pago=total,
                )
            )
        return tuple(out)

    def referencias(self) -> tuple[InformacionReferencia, ...]:
        out = []
        for i, node in enumerate(self.children(self.root, "InformacionReferencia")):
            out.append(
                self.build(
                    f"referencias[{i}].",
                    InformacionReferencia,
                    tipo_doc_ir=self.text(node, "TipoDocIR", "TipoDoc"),
                    tipo_doc_ref_otro=self.text(node, "TipoDocRefOTRO"),
                    numero=self.text(node, "Numero"),
                    fecha_emision_ir=self.text(node, "FechaEmisionIR", "FechaEmision"),
                    codigo=self.text(node, "Codigo"),
                    codigo_referencia_otro=self.text(node, "CodigoReferenciaOTRO"),
                    razon=self.text(node, "Razon"),
                )
            )
        return tuple(out)

    def otros(self) -> Otros | None:
        node = self.child(self.root, "Otros")
        if node is None:
            return None
        textos = tuple(
            OtroTexto(valor=_all_text(t), codigo=t.get("codigo")) for t in self.children(node, "OtroTexto")
        )
        contenidos = tuple(
            OtroContenido(valor=_all_text(t), codigo=t.get("codigo"))
            for t in self.children(node, "OtroContenido")
        )
        return Otros(otros_textos=textos, otros_contenidos=contenidos)

    def moneda(self, resumen: etree._Element | None) -> tuple[str, Decimal | None]:
        if resumen is None:
            return "CRC", None
        holder = self.child(resumen, "CodigoTipoMoneda")
        source = holder if holder is not None else resumen  # v4.2: directly under ResumenFactura
        return self.text(source, "CodigoMoneda") or "CRC", self.dec(
            source, "TipoCambio", path="ResumenFactura/"
        )

    def stated_resumen(
        self, node: etree._Element | None, moneda: CodigoMoneda, cambio: Decimal
    ) -> ResumenFactura:
        if node is None:
            return ResumenFactura(codigo_moneda=moneda, tipo_cambio=cambio)
        values: dict[str, Any] = {}
        for attr, element in ResumenFactura.AMOUNT_ELEMENTS.items():
            values[attr] = self.amount(node, element, path="ResumenFactura/")
        desglose = []
        for d in self.children(node, "TotalDesgloseImpuesto"):
            codigo = self.text(d, "Codigo") or ""
            tarifa = self.text(d, "CodigoTarifaIVA")
            try:
                desglose.append(
                    TotalDesgloseImpuesto(
                        CodigoImpuesto(codigo),
                        CodigoTarifaIVA(tarifa) if tarifa else None,
                        self.amount(d, "TotalMontoImpuesto", path="ResumenFactura/TotalDesgloseImpuesto/"),
                    )
                )
            except ValueError:
                self.warn("ResumenFactura/TotalDesgloseImpuesto", f"unknown tax code {codigo!r}/{tarifa!r}")
        medios = self.medios(node, "ResumenFactura/MedioPago")
        return ResumenFactura(
            codigo_moneda=moneda,
            tipo_cambio=cambio,
            total_desglose_impuesto=tuple(desglose),
            medios_pago=medios,
            **values,
        )

    # -- documents -------------------------------------------------------------------------------------

    def emisor_node(self) -> etree._Element:
        node = self.child(self.root, "Emisor")
        if node is None:
            raise ValidationError("the voucher has no Emisor", path="Emisor")
        return node

    def line_nodes(self) -> list[etree._Element]:
        detalle = self.child(self.root, "DetalleServicio")
        return self.children(detalle, "LineaDetalle") if detalle is not None else []

    def attach_stated(self, doc: _D, resumen_node: etree._Element | None, lineas: list[CalculoLinea]) -> _D:
        assert doc.tipo_cambio is not None  # the constructor requires it (1 for colones)
        stated = StatedTotals(
            version=self.version,
            resumen=self.stated_resumen(resumen_node, doc.codigo_moneda, doc.tipo_cambio),
            lineas=tuple(lineas),
            warnings=tuple(self.warnings),
        )
        # the document was just built here; stated totals do not take part in equality
        object.__setattr__(doc, "stated", stated)
        if self.stated and isinstance(doc, Comprobante):  # built without its resumen
            object.__setattr__(doc, "resumen", stated.resumen)
        return doc

    def document(self) -> Document:
        cls = document_class(self.name)
        if cls is MensajeReceptor:
            return self.mensaje_receptor()
        if cls is ReciboPago:
            return self.recibo()
        assert issubclass(cls, Comprobante)
        root = self.root
        emisor_node = self.emisor_node()
        pairs = [self.linea(n, i) for i, n in enumerate(self.line_nodes())]
        resumen_node = self.child(root, "ResumenFactura")
        moneda, cambio = self.moneda(resumen_node)
        medios = self.medios(resumen_node, "medios_pago") or self.medios(root, "medios_pago")
        plazo_text = self.text(root, "PlazoCredito")
        plazo = None
        if plazo_text is not None:
            digits = re.match(r"\s*(\d+)", plazo_text)
            plazo = int(digits.group(1)) if digits else None
            if plazo is None or str(plazo) != plazo_text:
                self.warn("PlazoCredito", f"{plazo_text!r} read as {plazo}")
        devuelto = self.amount(resumen_node, "TotalIVADevuelto") if resumen_node is not None else ZERO
        doc = self.build(
            "",
            cls,
            proveedor_sistemas=self.text(root, "ProveedorSistemas") or "",
            emisor=self.emisor(emisor_node),
            receptor=self.receptor(self.child(root, "Receptor")),
            codigo_actividad_emisor=self.text(root, "CodigoActividadEmisor", "CodigoActividad"),
            codigo_actividad_receptor=self.text(root, "CodigoActividadReceptor"),
            condicion_venta=self.text(root, "CondicionVenta"),
            condicion_venta_otros=self.text(root, "CondicionVentaOtros"),
            plazo_credito=plazo,
            lineas=tuple(ln for ln, _ in pairs),
            otros_cargos=tuple(
                self.otro_cargo(n, i) for i, n in enumerate(self.children(root, "OtrosCargos"))
            ),
            codigo_moneda=moneda,
            tipo_cambio=cambio,
            medios_pago=medios,
            iva_devuelto_salud=devuelto > 0,
            referencias=self.referencias(),
            otros=self.otros(),
            clave=self.text(root, "Clave"),
            numero_consecutivo=self.text(root, "NumeroConsecutivo"),
            fecha_emision=self.text(root, "FechaEmision"),
        )
        return cast("Document", self.attach_stated(doc, resumen_node, [st for _, st in pairs]))

    def recibo(self) -> ReciboPago:
        root = self.root
        emisor_node = self.emisor_node()
        pairs = [self.linea_pago(n, i) for i, n in enumerate(self.line_nodes())]
        resumen_node = self.child(root, "ResumenFactura")
        moneda, cambio = self.moneda(resumen_node)
        doc = self.build(
            "",
            ReciboPago,
            proveedor_sistemas=self.text(root, "ProveedorSistemas") or "",
            emisor=self.emisor(emisor_node),
            receptor=self.receptor(self.child(root, "Receptor")),
            condicion_venta=self.text(root, "CondicionVenta"),
            lineas=tuple(ln for ln, _ in pairs),
            codigo_moneda=moneda,
            tipo_cambio=cambio,
            medios_pago=self.medios(resumen_node, "medios_pago"),
            referencias=self.referencias(),
            clave=self.text(root, "Clave"),
            numero_consecutivo=self.text(root, "NumeroConsecutivo"),
            fecha_emision=self.text(root, "FechaEmision"),
        )
        return self.attach_stated(doc, resumen_node, [st for _, st in pairs])

    def mensaje_receptor(self) -> MensajeReceptor:
        root = self.root
        doc = self.build(
            "",
            MensajeReceptor,
            clave=self.text(root, "Clave") or "",
            numero_cedula_emisor=self.text(root, "NumeroCedulaEmisor") or "",
            fecha_emision_doc=self.text(root, "FechaEmisionDoc"),
            mensaje=self.text(root, "Mensaje"),
            detalle_mensaje=self.text(root, "DetalleMensaje"),
            monto_total_impuesto=self.dec(root, "MontoTotalImpuesto"),
            codigo_actividad=self.text(root, "CodigoActividad"),
            condicion_impuesto=self.text(root, "CondicionImpuesto"),
            monto_total_impuesto_acreditar=self.dec(root, "MontoTotalImpuestoAcreditar"),
            monto_total_de_gasto_aplicable=self.dec(root, "MontoTotalDeGastoAplicable"),
            total_factura=self.amount(root, "TotalFactura"),
            numero_cedula_receptor=self.text(root, "NumeroCedulaReceptor") or "",
            numero_consecutivo_receptor=self.text(
                root, "NumeroConsecutivoReceptor", "NumConsecutivoReceptor"
            ),
        )
        return doc


def _default(value: Decimal | None, default: Decimal) -> Decimal:
    return default if value is None else value


def _all_text(node: etree._Element) -> str:
    return "".join(str(part) for part in node.itertext())
