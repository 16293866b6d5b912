"""The view of a plain v4.4 voucher read straight from its tree: the fast path of
:func:`cr_einvoice.delivery.document.representacion`.

The general reading goes through the model (:func:`cr_einvoice.vouchers.xmlread.from_xml` with
``stated=True``: every element of every version read into checked dataclasses) and then words the view from
it. For printing, most of that is work the paper never shows. Here the tree of an FE, ND, NC, TE, FEC or FEE
of v4.4 whose elements are all of the everyday kind (parties, lines with commercial codes, discounts and
rate taxes and their exonerations, other charges, references, Otros, the summary with its tax breakdown and
means of payment) is
read in one pass straight into the same view, with the same words (:mod:`cr_einvoice.delivery.view`) and
the same values: each figure is the ``Decimal`` of the signed text, each code its catalogue member,
defaults as the model sets them.

Anything else -- another version or type, an element this reading does not know (combo, specific-tax data,
v4.3 names, anything unexpected), a code outside its catalogue, a figure the model would
refuse or warn about, a missing required part -- and :func:`quick_view` returns None: the general reading
then reads the voucher, prints it or names the field it refuses. So the view is always the one the model's
reading gives (the tests compare both on every kind of voucher and on hundreds of changed ones).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from lxml import etree

from cr_einvoice.core.catalogs import (
    CodigoDescuento,
    CodigoImpuesto,
    CodigoMoneda,
    CodigoReferencia,
    CodigoTarifaIVA,
    CondicionVenta,
    InstitucionExoneracion,
    IVACobradoFabrica,
    TipoCodigoComercial,
    TipoDocReferencia,
    TipoDocumento,
    TipoDocumentoExoneracion,
    TipoDocumentoOtrosCargos,
    TipoIdentificacion,
    TipoMedioPago,
    TipoTransaccion,
    UnidadMedida,
)
from cr_einvoice.core.checks import as_cr_time
from cr_einvoice.core.money import AMOUNT_MAX, ZERO
from cr_einvoice.delivery.formatting import fecha, fecha_hora, fmt_cantidad, fmt_monto
from cr_einvoice.delivery.labels import describe, titulo
from cr_einvoice.delivery.view import (
    Campo,
    Linea,
    Parte,
    Representacion,
    asumido_nota,
    descuento_nota,
    direccion,
    exoneracion_nota,
    identificacion,
    impuesto_celda,
    impuesto_otro_nota,
    linea_notas,
    medio,
    otro_cargo,
    otro_texto,
    parte,
    referencia,
    resumen_filas,
    situacion,
)
from cr_einvoice.signing.xades.algorithms import DS_NS
from cr_einvoice.vouchers.model import ResumenFactura

__all__ = ["quick_view"]

_E = TypeVar("_E", bound=StrEnum)
#: The types read here, by the namespace of their v4.4 root.
_TIPOS = {
    tipo.namespace: tipo
    for tipo in (
        TipoDocumento.FACTURA_ELECTRONICA,
        TipoDocumento.NOTA_DEBITO,
        TipoDocumento.NOTA_CREDITO,
        TipoDocumento.TIQUETE,
        TipoDocumento.FACTURA_COMPRA,
        TipoDocumento.FACTURA_EXPORTACION,
    )
}
_SIGNATURE = f"{{{DS_NS}}}Signature"
#: Each element read here and the children it may have (anything else: the general reading).
_KNOWN: dict[str, frozenset[str]] = {
    name: frozenset(children.split())
    for name, children in {
        "root": "Clave ProveedorSistemas CodigoActividadEmisor CodigoActividadReceptor NumeroConsecutivo "
        "FechaEmision Emisor Receptor CondicionVenta CondicionVentaOtros PlazoCredito DetalleServicio "
        "OtrosCargos ResumenFactura InformacionReferencia Otros",
        "InformacionReferencia": "TipoDocIR TipoDocRefOTRO Numero FechaEmisionIR Codigo CodigoReferenciaOTRO "
        "Razon",
        "Otros": "OtroTexto OtroContenido",
        "Emisor": "Nombre Identificacion Registrofiscal8707 NombreComercial Ubicacion OtrasSenasExtranjero "
        "Telefono CorreoElectronico",
        "Receptor": "Nombre Identificacion NombreComercial Ubicacion OtrasSenasExtranjero Telefono "
        "CorreoElectronico",
        "Identificacion": "Tipo Numero",
        "IdentificacionTercero": "Tipo Numero",
        "OtrosCargos": "TipoDocumentoOC TipoDocumentoOTROS IdentificacionTercero NombreTercero Detalle "
        "PorcentajeOC MontoCargo",
        "Ubicacion": "Provincia Canton Distrito Barrio OtrasSenas",
        "Telefono": "CodigoPais NumTelefono",
        "DetalleServicio": "LineaDetalle",
        "LineaDetalle": "NumeroLinea PartidaArancelaria CodigoCABYS CodigoComercial Cantidad UnidadMedida "
        "TipoTransaccion UnidadMedidaComercial Detalle NumeroVINoSerie RegistroMedicamento FormaFarmaceutica "
        "PrecioUnitario MontoTotal Descuento SubTotal IVACobradoFabrica BaseImponible Impuesto "
        "ImpuestoAsumidoEmisorFabrica ImpuestoNeto MontoTotalLinea",
        "CodigoComercial": "Tipo Codigo",
        "Descuento": "MontoDescuento CodigoDescuento CodigoDescuentoOTRO NaturalezaDescuento",
        "Impuesto": "Codigo CodigoImpuestoOTRO CodigoTarifaIVA Tarifa FactorCalculoIVA Monto "
        "MontoExportacion Exoneracion",
        "Exoneracion": "TipoDocumentoEX1 TipoDocumentoOTRO NumeroDocumento Articulo Inciso NombreInstitucion "
        "NombreInstitucionOtros FechaEmisionEX TarifaExonerada MontoExoneracion",
        "ResumenFactura": "CodigoTipoMoneda TotalDesgloseImpuesto MedioPago "
        + " ".join(ResumenFactura.AMOUNT_ELEMENTS.values()),
        "CodigoTipoMoneda": "CodigoMoneda TipoCambio",
        "TotalDesgloseImpuesto": "Codigo CodigoTarifaIVA TotalMontoImpuesto",
        "MedioPago": "TipoMedioPago MedioPagoOtros TotalMedioPago",
    }.items()
}
#: What a Rate field must stay below, or the model refuses it (Rate(max_digits=4) and (max_digits=5,
#: decimals=4)).
_TARIFA_BELOW = Decimal(100)
_FACTOR_BELOW = Decimal(10)
_PORCENTAJE_OC_BELOW = Decimal(10_000)
_TARIFA_BY_CODE = (CodigoImpuesto.IVA, CodigoImpuesto.IVA_CALCULO_ESPECIAL)


def _tables(namespace: str) -> dict[str, dict[str, str]]:
    """Per element of :data:`_KNOWN`, each child's tag in ``namespace`` → its local name (the root's
    ds:Signature → "": passed over)."""
    prefix = f"{{{namespace}}}"
    tables = {name: {prefix + child: child for child in children} for name, children in _KNOWN.items()}
    tables["root"][_SIGNATURE] = ""
    return tables


_TABLES = {namespace: _tables(namespace) for namespace in _TIPOS}

#: An element's children by local name.
_Kids = dict[str, list[etree._Element]]


class _Unsupported(Exception):
    """Not for this reading: the general one reads the voucher."""


def quick_view(root: etree._Element, version: str) -> Representacion | None:
    """The view of ``root`` (a signed voucher's root element; ``version`` its schema version), or None when
    it is not a plain v4.4 FE, ND, NC, TE, FEC or FEE (see the module's documentation)."""
    if version != "4.4":
        return None
    namespace = etree.QName(root).namespace
    tipo = _TIPOS.get(namespace or "")
    if tipo is None or root.tag != f"{{{namespace}}}{tipo.root}":
        return None
    try:
        return _Quick(tipo.namespace).view(root, tipo, version)
    except (_Unsupported, ArithmeticError, ValueError):
        return None


def _enum(kind: type[_E], value: str | None) -> _E:
    """The member of a code (the general reading refuses or reads otherwise what is not one)."""
    member = kind._value2member_map_.get(value) if value is not None else None
    if member is None:
        raise _Unsupported
    return member  # type: ignore[return-value]


def _optional(kind: type[_E], value: str | None) -> _E | None:
    return None if value is None else _enum(kind, value)


def _finite(value: Decimal) -> Decimal:
    """A figure printed as it is (a NaN or an infinity: the general reading decides)."""
    if not value.is_finite():
        raise _Unsupported
    return value


def _amount(value: Decimal, below: Decimal | None = None) -> Decimal:
    """An amount the model's checks accept as it is: finite, not negative, at most AMOUNT_MAX (and below
    ``below``)."""
    if not value.is_finite() or value < 0 or value > AMOUNT_MAX or (below is not None and value >= below):
        raise _Unsupported
    return value


def _moment(value: str | None) -> datetime:
    """A date-time as the model reads it (Costa Rica time; a malformed one: ValueError)."""
    if value is None:
        raise _Unsupported
    return as_cr_time(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _fecha(value: str | None) -> str:
    """A date-time printed as the model's view prints it."""
    return fecha_hora(_moment(value))


class _Quick:
    def __init__(self, namespace: str) -> None:
        self.tables = _TABLES[namespace]

    def kids(self, node: etree._Element, name: str) -> _Kids:
        """``node``'s children by local name, all of them known for an element ``name``."""
        table = self.tables[name]
        out: _Kids = {}
        for element in node:
            local = table.get(element.tag)
            if not local:
                if local is None:
                    raise _Unsupported
                continue  # the root's ds:Signature
            found = out.get(local)
            if found is None:
                out[local] = [element]
            else:
                found.append(element)
        return out

    @staticmethod
    def text(kids: _Kids, name: str) -> str | None:
        """The first child's text, stripped (None when missing or empty), as the general reading takes it."""
        found = kids.get(name)
        return (found[0].text or "").strip() or None if found else None

    def dec(self, kids: _Kids, name: str) -> Decimal | None:
        value = self.text(kids, name)
        return None if value is None else Decimal(value)  # not a number: ArithmeticError

    def amount(self, kids: _Kids, name: str) -> Decimal:
        value = self.dec(kids, name)
        return ZERO if value is None else _finite(value)

    def one(self, kids: _Kids, name: str) -> _Kids | None:
        found = kids.get(name)
        return self.kids(found[0], name) if found else None

    # -- the document ------------------------------------------------------------------------------------

    def view(self, root: etree._Element, tipo: TipoDocumento, version: str) -> Representacion:
        top = self.kids(root, "root")
        text = self.text
        clave, consecutivo, emitida = (
            text(top, "Clave"),
            text(top, "NumeroConsecutivo"),
            text(top, "FechaEmision"),
        )
        emisor, resumen = self.one(top, "Emisor"), self.one(top, "ResumenFactura")
        if clave is None or consecutivo is None or emitida is None or emisor is None or resumen is None:
            raise _Unsupported
        fecha = _fecha(emitida)
        detalle = self.one(top, "DetalleServicio")
        lineas = tuple(
            self.linea(i, self.kids(node, "LineaDetalle"))
            for i, node in enumerate(detalle.get("LineaDetalle", ()) if detalle else (), start=1)
        )
        compra = tipo is TipoDocumento.FACTURA_COMPRA
        refs = top.get("InformacionReferencia", ())
        otros = self.one(top, "Otros")
        receptor = self.one(top, "Receptor")
        condiciones = self.condiciones(top)
        filas, total, moneda = self.resumen(resumen, condiciones)
        condiciones.append(Campo("Proveedor de sistemas", text(top, "ProveedorSistemas") or "—"))
        return Representacion(
            tipo=tipo,
            titulo=titulo(tipo),
            version=version,
            clave=clave,
            consecutivo=consecutivo,
            fecha_emision=fecha,
            situacion=situacion(clave),
            emisor=self.parte("Emisor (vendedor)" if compra else "Emisor", emisor, emisor=True),
            receptor=(
                self.parte("Receptor (comprador)" if compra else "Receptor", receptor, emisor=False)
                if receptor is not None
                else None
            ),
            condiciones=tuple(condiciones),
            lineas=lineas,
            otros_cargos=tuple(
                self.otro_cargo(self.kids(n, "OtrosCargos")) for n in top.get("OtrosCargos", ())
            ),
            resumen=filas,
            total=Campo(f"Total comprobante ({moneda})", total),
            referencias=tuple(self.referencia(self.kids(n, "InformacionReferencia")) for n in refs),
            otros=tuple(self.otros(otros)) if otros is not None else (),
            estado=None,
            hacienda=(),
            leyenda="",
            qr=clave,
        )

    def condiciones(self, top: _Kids) -> list[Campo]:
        out: list[Campo] = []
        for name, label in (
            ("CodigoActividadEmisor", "Actividad económica del emisor"),
            ("CodigoActividadReceptor", "Actividad económica del receptor"),
        ):
            code = self.text(top, name)
            if code is not None and code.isdigit() and len(code) < 6:  # the model pads it
                code = code.rjust(6, "0")
            if code:
                out.append(Campo(label, code))
        venta = describe(_enum(CondicionVenta, self.text(top, "CondicionVenta")))
        otros = self.text(top, "CondicionVentaOtros")
        out.append(Campo("Condición de venta", f"{venta} ({otros})" if otros else venta))
        plazo = self.text(top, "PlazoCredito")
        if plazo is not None:
            if not (plazo.isascii() and plazo.isdigit()) or str(int(plazo)) != plazo:
                raise _Unsupported  # read with a warning by the general reading
            if int(plazo):
                out.append(Campo("Plazo de crédito", f"{int(plazo)} días"))
        return out

    def resumen(self, kids: _Kids, condiciones: list[Campo]) -> tuple[tuple[Campo, ...], str, CodigoMoneda]:
        """The summary's rows and total; the currency, exchange rate and means of payment go to
        ``condiciones``."""
        holder = self.one(kids, "CodigoTipoMoneda")
        if holder is None:
            raise _Unsupported
        moneda = _enum(CodigoMoneda, self.text(holder, "CodigoMoneda") or "CRC")
        cambio = self.dec(holder, "TipoCambio")
        if cambio is None:
            if moneda is not CodigoMoneda.CRC:
                raise _Unsupported
            cambio = Decimal(1)
        condiciones.append(Campo("Moneda", str(moneda)))
        condiciones.append(Campo("Tipo de cambio", fmt_monto(_amount(cambio))))
        for node in kids.get("MedioPago", ()):
            if not len(node):
                raise _Unsupported  # a v4.3 code alone
            m = self.kids(node, "MedioPago")
            total = self.dec(m, "TotalMedioPago")
            condiciones.append(
                medio(
                    _enum(TipoMedioPago, self.text(m, "TipoMedioPago")),
                    self.text(m, "MedioPagoOtros"),
                    None if total is None else _amount(total),
                )
            )
        amounts = {attr: self.amount(kids, name) for attr, name in ResumenFactura.AMOUNT_ELEMENTS.items()}
        desglose = []
        for node in kids.get("TotalDesgloseImpuesto", ()):
            d = self.kids(node, "TotalDesgloseImpuesto")
            tarifa_iva = self.text(d, "CodigoTarifaIVA")
            codigo = _enum(CodigoImpuesto, self.text(d, "Codigo") or "")
            rate = _enum(CodigoTarifaIVA, tarifa_iva) if tarifa_iva else None
            desglose.append((codigo, rate, self.amount(d, "TotalMontoImpuesto")))
        return resumen_filas(amounts.__getitem__, desglose), fmt_monto(amounts["total_comprobante"]), moneda

    def exoneracion(self, kids: _Kids) -> str:
        text = self.text
        articulo, inciso = text(kids, "Articulo"), text(kids, "Inciso")
        tarifa = self.dec(kids, "TarifaExonerada")
        return exoneracion_nota(
            _enum(TipoDocumentoExoneracion, text(kids, "TipoDocumentoEX1")),
            text(kids, "NumeroDocumento") or "",
            articulo=None if articulo is None else int(articulo),  # not an integer: ValueError
            inciso=None if inciso is None else int(inciso),
            # (a v4.3 free-text institution is not a code: the general reading takes it)
            institucion=_enum(InstitucionExoneracion, text(kids, "NombreInstitucion")),
            institucion_otros=text(kids, "NombreInstitucionOtros"),
            fecha=fecha(_moment(text(kids, "FechaEmisionEX"))),
            tarifa=ZERO if tarifa is None else _amount(tarifa, _TARIFA_BELOW) or ZERO,
            monto=self.amount(kids, "MontoExoneracion"),
        )

    def otro_cargo(self, kids: _Kids) -> Campo:
        text = self.text
        ident = self.one(kids, "IdentificacionTercero")
        nombre = text(kids, "NombreTercero")
        numero = None
        if ident is not None:
            _enum(TipoIdentificacion, text(ident, "Tipo"))  # the model requires a known type
            numero = text(ident, "Numero") or ""
        porcentaje = self.dec(kids, "PorcentajeOC")
        return otro_cargo(
            _enum(TipoDocumentoOtrosCargos, text(kids, "TipoDocumentoOC")),
            text(kids, "TipoDocumentoOTROS"),
            detalle=text(kids, "Detalle") or "",
            porcentaje=None if porcentaje is None else _amount(porcentaje, _PORCENTAJE_OC_BELOW),
            tercero=(nombre, numero) if nombre or ident is not None else None,
            monto=_amount(self.amount(kids, "MontoCargo")),
        )

    def referencia(self, kids: _Kids) -> str:
        text = self.text
        return referencia(
            _enum(TipoDocReferencia, text(kids, "TipoDocIR")),
            text(kids, "TipoDocRefOTRO"),
            numero=text(kids, "Numero"),
            fecha=_fecha(text(kids, "FechaEmisionIR")),
            codigo=_optional(CodigoReferencia, text(kids, "Codigo")),
            codigo_otro=text(kids, "CodigoReferenciaOTRO"),
            razon=text(kids, "Razon"),
        )

    def otros(self, kids: _Kids) -> list[str]:
        out = []
        for name in ("OtroTexto", "OtroContenido"):
            for node in kids.get(name, ()):
                valor = "".join(str(part) for part in node.itertext())  # as the general reading takes it
                if valor.strip():
                    out.append(otro_texto(node.get("codigo"), valor))
        return out

    # -- parties -----------------------------------------------------------------------------------------

    def parte(self, rol: str, kids: _Kids, *, emisor: bool) -> Parte:
        text = self.text
        ident = self.one(kids, "Identificacion")
        if ident is None and emisor:
            raise _Unsupported  # the model requires it
        ubicacion = self.one(kids, "Ubicacion")
        if ubicacion is None:
            address = text(kids, "OtrasSenasExtranjero")
        else:
            address = direccion(
                text(ubicacion, "Provincia") or "",
                text(ubicacion, "Canton") or "",
                text(ubicacion, "Distrito") or "",
                text(ubicacion, "Barrio"),
                text(ubicacion, "OtrasSenas") or "",
            )
        telefono = None
        phone = self.one(kids, "Telefono")
        number = text(phone, "NumTelefono") if phone is not None else None
        if phone is not None and number is not None:
            pais = text(phone, "CodigoPais")
            telefono = f"+{(int(pais) if pais is not None else None) or 506} {number}"
        if emisor:
            correos: tuple[str | None, ...] = tuple(
                (c.text or "").strip() for c in kids.get("CorreoElectronico", ()) if c.text
            )
        else:
            correos = (text(kids, "CorreoElectronico"),)
        return parte(
            rol,
            text(kids, "Nombre") or "",
            nombre_comercial=text(kids, "NombreComercial"),
            identificacion=(
                identificacion(_enum(TipoIdentificacion, text(ident, "Tipo")), text(ident, "Numero") or "")
                if ident is not None
                else None
            ),
            registro=text(kids, "Registrofiscal8707") if emisor else None,
            direccion=address,
            telefono=telefono,
            correos=correos,
        )

    # -- lines -------------------------------------------------------------------------------------------

    def linea(self, numero: int, kids: _Kids) -> Linea:
        text = self.text
        codigos = []
        for node in kids.get("CodigoComercial", ()):
            cc = self.kids(node, "CodigoComercial")
            codigos.append((_enum(TipoCodigoComercial, text(cc, "Tipo")), text(cc, "Codigo") or ""))
        fabrica = _optional(IVACobradoFabrica, text(kids, "IVACobradoFabrica"))
        notas = linea_notas(
            codigos,
            partida=text(kids, "PartidaArancelaria"),
            transaccion=_optional(TipoTransaccion, text(kids, "TipoTransaccion")),
            unidad_comercial=text(kids, "UnidadMedidaComercial"),
            vins=tuple((v.text or "").strip() for v in kids.get("NumeroVINoSerie", ()) if v.text),
            registro=text(kids, "RegistroMedicamento"),
            forma=text(kids, "FormaFarmaceutica"),
            fabrica=fabrica,
        )
        descuentos = ZERO
        for node in kids.get("Descuento", ()):
            d = self.kids(node, "Descuento")
            monto = _amount(self.amount(d, "MontoDescuento")) or ZERO  # as the model's view (-0 → 0)
            kind = _enum(CodigoDescuento, text(d, "CodigoDescuento") or "99")  # v4.3: none, read as 99
            notas.append(
                descuento_nota(kind, text(d, "CodigoDescuentoOTRO"), text(d, "NaturalezaDescuento"), monto)
            )
            descuentos += monto
        cells = []
        tax_notes = []
        especial = False
        for node in kids.get("Impuesto", ()):
            t = self.kids(node, "Impuesto")
            codigo = _enum(CodigoImpuesto, text(t, "Codigo"))
            tarifa_iva = _optional(CodigoTarifaIVA, text(t, "CodigoTarifaIVA"))
            rate = self.dec(t, "Tarifa")
            factor = self.dec(t, "FactorCalculoIVA")
            exportacion = self.dec(t, "MontoExportacion")
            if rate is not None:
                _amount(rate, _TARIFA_BELOW)
            elif codigo in _TARIFA_BY_CODE and tarifa_iva is not None:
                rate = tarifa_iva.tarifa  # the model's default
            elif codigo is CodigoImpuesto.CEMENTO:
                rate = Decimal("5")
            if factor is not None:
                _amount(factor, _FACTOR_BELOW)
            if exportacion is not None:
                _amount(exportacion)
            especial = especial or codigo is CodigoImpuesto.IVA_CALCULO_ESPECIAL
            cells.append(impuesto_celda(codigo, tarifa_iva, rate, factor, self.amount(t, "Monto")))
            otro = text(t, "CodigoImpuestoOTRO")
            if otro:
                tax_notes.append(impuesto_otro_nota(codigo, otro))
            exoneracion = self.one(t, "Exoneracion")
            if exoneracion is not None:
                tax_notes.append(self.exoneracion(exoneracion))
        base = self.dec(kids, "BaseImponible")
        if base is not None and (fabrica is IVACobradoFabrica.VENTA_CON_IVA_FABRICA or especial):
            _amount(base)  # the model checks it then
        asumido = self.amount(kids, "ImpuestoAsumidoEmisorFabrica")
        if asumido:
            notas.append(asumido_nota(asumido))
        for name in ("MontoTotal", "SubTotal", "ImpuestoNeto"):  # read by the general reading
            self.amount(kids, name)
        cantidad = self.dec(kids, "Cantidad")
        cantidad = Decimal(1) if cantidad is None else _amount(cantidad)  # (AMOUNT_MAX < 10**13)
        return Linea(
            numero=numero,
            cabys=text(kids, "CodigoCABYS") or "",
            detalle=text(kids, "Detalle") or "",
            notas=tuple(notas + tax_notes),
            cantidad=fmt_cantidad(cantidad),
            unidad=_enum(UnidadMedida, text(kids, "UnidadMedida")).value,
            precio_unitario=fmt_monto(_amount(self.amount(kids, "PrecioUnitario"))),
            descuento=fmt_monto(descuentos),
            impuestos=tuple(cells),
            total=fmt_monto(self.amount(kids, "MontoTotalLinea")),
        )
