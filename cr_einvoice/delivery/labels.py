"""Spanish descriptions of the code catalogues, as a graphic representation prints them.

The Anexos v4.4 ask that, "para efectos de impresión y visualización", the description of a code is shown
(Notas 7, 10, 10.1, 12, 13). The codes themselves live in :mod:`cr_einvoice.core.catalogs`; this module only
names them, in the Anexos' own wording (shortened where a line would not fit a ticket).
"""

from __future__ import annotations

from enum import StrEnum

from cr_einvoice.core.catalogs import (
    CodigoDescuento,
    CodigoImpuesto,
    CodigoReferencia,
    CodigoTarifaIVA,
    CondicionImpuesto,
    CondicionVenta,
    InstitucionExoneracion,
    IVACobradoFabrica,
    Mensaje,
    Situacion,
    TipoCodigoComercial,
    TipoDocReferencia,
    TipoDocumento,
    TipoDocumentoExoneracion,
    TipoDocumentoOtrosCargos,
    TipoIdentificacion,
    TipoMedioPago,
    TipoTransaccion,
)

__all__ = ["ESTADOS", "PROVINCIAS", "describe", "impuesto_corto", "titulo"]

#: Each document type's name as printed (Nota 2, "Etiqueta"; the MensajeReceptor by its Mensaje).
_TITULOS: dict[TipoDocumento, str] = {
    TipoDocumento.FACTURA_ELECTRONICA: "Factura Electrónica",
    TipoDocumento.NOTA_DEBITO: "Nota de Débito Electrónica",
    TipoDocumento.NOTA_CREDITO: "Nota de Crédito Electrónica",
    TipoDocumento.TIQUETE: "Tiquete Electrónico",
    TipoDocumento.CONFIRMACION_ACEPTACION: "Mensaje Receptor: Confirmación de aceptación",
    TipoDocumento.CONFIRMACION_ACEPTACION_PARCIAL: "Mensaje Receptor: Confirmación de aceptación parcial",
    TipoDocumento.CONFIRMACION_RECHAZO: "Mensaje Receptor: Confirmación de rechazo",
    TipoDocumento.FACTURA_COMPRA: "Factura Electrónica de Compra",
    TipoDocumento.FACTURA_EXPORTACION: "Factura Electrónica de Exportación",
    TipoDocumento.RECIBO_PAGO: "Recibo Electrónico de Pago",
}

_NAMES: dict[type[StrEnum], dict[str, str]] = {
    TipoIdentificacion: {
        "01": "Cédula física",
        "02": "Cédula jurídica",
        "03": "DIMEX",
        "04": "NITE",
        "05": "Extranjero no domiciliado",
        "06": "No contribuyente",
    },
    Situacion: {"1": "Normal", "2": "Contingencia", "3": "Sin internet"},
    CondicionVenta: {
        "01": "Contado",
        "02": "Crédito",
        "03": "Consignación",
        "04": "Apartado",
        "05": "Arrendamiento con opción de compra",
        "06": "Arrendamiento en función financiera",
        "07": "Cobro a favor de un tercero",
        "08": "Servicios prestados al Estado",
        "09": "Pago de servicios prestados al Estado",
        "10": "Venta a crédito en IVA hasta 90 días (Art. 27 LIVA)",
        "11": "Pago de venta a crédito en IVA hasta 90 días (Art. 27 LIVA)",
        "12": "Venta de mercancía no nacionalizada",
        "13": "Venta de bienes usados no contribuyente",
        "14": "Arrendamiento operativo",
        "15": "Arrendamiento financiero",
        "99": "Otros",
    },
    TipoMedioPago: {
        "01": "Efectivo",
        "02": "Tarjeta",
        "03": "Cheque",
        "04": "Transferencia o depósito bancario",
        "05": "Recaudado por terceros",
        "06": "SINPE Móvil",
        "07": "Plataforma digital",
        "99": "Otros",
    },
    CodigoImpuesto: {
        "01": "IVA",
        "02": "Impuesto Selectivo de Consumo",
        "03": "Impuesto Único a los Combustibles",
        "04": "Impuesto específico de Bebidas Alcohólicas",
        "05": "Impuesto específico sobre bebidas envasadas sin alcohol y jabones de tocador",
        "06": "Impuesto a los Productos de Tabaco",
        "07": "IVA (cálculo especial)",
        "08": "IVA Régimen de Bienes Usados (factor)",
        "12": "Impuesto Específico al Cemento",
        "99": "Otros",
    },
    CodigoTarifaIVA: {
        "01": "Tarifa 0 % (Art. 32 num. 1 RLIVA)",
        "02": "Tarifa reducida 1 %",
        "03": "Tarifa reducida 2 %",
        "04": "Tarifa reducida 4 %",
        "05": "Transitorio 0 %",
        "06": "Transitorio 4 %",
        "07": "Tarifa transitoria 8 %",
        "08": "Tarifa general 13 %",
        "09": "Tarifa reducida 0,5 %",
        "10": "Tarifa exenta",
        "11": "Tarifa 0 % sin derecho a crédito",
    },
    CodigoReferencia: {
        "01": "Anula documento de referencia",
        "02": "Corrige monto",
        "04": "Referencia a otro documento",
        "05": "Sustituye comprobante provisional por contingencia",
        "06": "Devolución de mercancía",
        "07": "Sustituye comprobante electrónico",
        "08": "Factura endosada",
        "09": "Nota de crédito financiera",
        "10": "Nota de débito financiera",
        "11": "Proveedor no domiciliado",
        "12": "Crédito por exoneración posterior a la facturación",
        "16": "Código 16 (Bitácora de ajustes 2026)",
        "17": "Pago a comprobante electrónico",
        "99": "Otros",
    },
    TipoDocReferencia: {
        "01": "Factura electrónica",
        "02": "Nota de débito electrónica",
        "03": "Nota de crédito electrónica",
        "04": "Tiquete electrónico",
        "05": "Nota de despacho",
        "06": "Contrato",
        "07": "Procedimiento",
        "08": "Comprobante emitido en contingencia",
        "09": "Devolución mercadería",
        "10": "Comprobante electrónico rechazado por el Ministerio de Hacienda",
        "11": "Sustituye factura rechazada por el receptor del comprobante",
        "12": "Sustituye factura de exportación",
        "13": "Facturación mes vencido",
        "14": "Comprobante aportado por contribuyente de régimen especial",
        "15": "Sustituye una factura electrónica de compra",
        "16": "Comprobante de proveedor no domiciliado",
        "17": "Nota de crédito a factura electrónica de compra",
        "18": "Nota de débito a factura electrónica de compra",
        "19": "Factura electrónica de exportación",
        "20": "Recibo electrónico de pago",
        "99": "Otros",
    },
    CodigoDescuento: {
        "01": "Regalía",
        "02": "Regalía IVA cobrado al cliente",
        "03": "Bonificación",
        "04": "Volumen",
        "05": "Temporada",
        "06": "Promocional",
        "07": "Comercial",
        "08": "Frecuencia",
        "09": "Sostenido",
        "99": "Otros",
    },
    TipoDocumentoOtrosCargos: {
        "01": "Contribución parafiscal",
        "02": "Timbre de la Cruz Roja",
        "03": "Timbre del Benemérito Cuerpo de Bomberos",
        "04": "Cobro de un tercero",
        "05": "Costos de exportación",
        "06": "Impuesto de servicio 10 %",
        "07": "Timbre de Colegios Profesionales",
        "08": "Depósitos de garantía",
        "09": "Multas o penalizaciones",
        "10": "Intereses moratorios",
        "99": "Otros cargos",
    },
    TipoDocumentoExoneracion: {
        "01": "Compras autorizadas por la Dirección General de Tributación",
        "02": "Ventas exentas a diplomáticos",
        "03": "Autorizado por ley especial",
        "04": "Exenciones DGH, autorización local genérica",
        "05": "Exenciones DGH, Transitorio V",
        "06": "Servicios turísticos inscritos ante el ICT",
        "07": "Transitorio XVII (reciclaje)",
        "08": "Exoneración a Zona Franca",
        "09": "Servicios complementarios para la exportación (Art. 11 RLIVA)",
        "10": "Órgano de las corporaciones municipales",
        "11": "Exenciones DGH, autorización de impuesto local concreta",
        "99": "Otros",
    },
    InstitucionExoneracion: {
        "01": "Ministerio de Hacienda",
        "02": "Ministerio de Relaciones Exteriores y Culto",
        "03": "Ministerio de Agricultura y Ganadería",
        "04": "Ministerio de Economía, Industria y Comercio",
        "05": "Cruz Roja Costarricense",
        "06": "Benemérito Cuerpo de Bomberos de Costa Rica",
        "07": "Asociación Obras del Espíritu Santo",
        "08": "Fecrunapa",
        "09": "EARTH",
        "10": "INCAE",
        "11": "Junta de Protección Social",
        "12": "Aresep",
        "99": "Otros",
    },
    IVACobradoFabrica: {
        "01": "Venta con IVA cobrado a nivel de fábrica",
        "02": "Venta exenta, IVA cobrado a nivel de fábrica",
    },
    TipoTransaccion: {
        "01": "Venta normal",
        "02": "Mercancía de autoconsumo exento",
        "03": "Mercancía de autoconsumo gravado",
        "04": "Servicio de autoconsumo exento",
        "05": "Servicio de autoconsumo gravado",
        "06": "Cuota de afiliación",
        "07": "Cuota de afiliación exenta",
        "08": "Bienes de capital para el emisor",
        "09": "Bienes de capital para el receptor",
        "10": "Bienes de capital para el emisor y el receptor",
        "11": "Bienes de capital de autoconsumo exento para el emisor",
        "12": "Bienes de capital sin contraprestación a terceros exento para el emisor",
        "13": "Sin contraprestación a terceros",
    },
    TipoCodigoComercial: {
        "01": "Código del vendedor",
        "02": "Código del comprador",
        "03": "Código del fabricante",
        "04": "Código de uso interno",
        "99": "Otro código",
    },
    CondicionImpuesto: {
        "01": "Genera crédito IVA",
        "02": "Genera crédito parcial del IVA",
        "03": "Bienes de capital",
        "04": "Gasto corriente no genera crédito",
        "05": "Proporcionalidad",
    },
    Mensaje: {"1": "Aceptado", "2": "Aceptación parcial", "3": "Rechazado"},
}

_RECIBIDO = "Recibido por Hacienda, en espera de su respuesta"
_PROCESANDO = "En proceso de validación por Hacienda"
_ACEPTADO = "Aceptado por el Ministerio de Hacienda"
_RECHAZADO = "Rechazado por el Ministerio de Hacienda"
_ERROR = "Error en el procesamiento de Hacienda"

#: Hacienda's processing states (``ind-estado``, lower case) and the outbox's voucher states, as printed.
ESTADOS: dict[str, str] = {
    "recibido": _RECIBIDO,
    "procesando": _PROCESANDO,
    "aceptado": _ACEPTADO,
    "rechazado": _RECHAZADO,
    "error": _ERROR,
    "signed": "Firmado, pendiente de envío a Hacienda",
    "sending": "En envío a Hacienda",
    "submitted": _RECIBIDO,
    "processing": _PROCESANDO,
    "accepted": _ACEPTADO,
    "rejected": _RECHAZADO,
}


#: The short names of the taxes, for a line's tax cell.
_IMPUESTOS_CORTOS: dict[CodigoImpuesto, str] = {
    CodigoImpuesto.IVA: "IVA",
    CodigoImpuesto.SELECTIVO_CONSUMO: "Selectivo",
    CodigoImpuesto.UNICO_COMBUSTIBLES: "Combustibles",
    CodigoImpuesto.BEBIDAS_ALCOHOLICAS: "Bebidas alcohólicas",
    CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES: "Bebidas y jabones",
    CodigoImpuesto.TABACO: "Tabaco",
    CodigoImpuesto.IVA_CALCULO_ESPECIAL: "IVA especial",
    CodigoImpuesto.IVA_BIENES_USADOS: "IVA bienes usados",
    CodigoImpuesto.CEMENTO: "Cemento",
    CodigoImpuesto.OTROS: "Otro impuesto",
}

#: Provincias (Nota 14, first digit of the location code).
PROVINCIAS: dict[str, str] = {
    "1": "San José",
    "2": "Alajuela",
    "3": "Cartago",
    "4": "Heredia",
    "5": "Guanacaste",
    "6": "Puntarenas",
    "7": "Limón",
}


def impuesto_corto(codigo: CodigoImpuesto) -> str:
    """``IVA``, ``Selectivo``, ...: a tax's name where a line has little room."""
    return _IMPUESTOS_CORTOS[codigo]


def describe(code: StrEnum) -> str:
    """``"02 Tarjeta"``: the code followed by its Spanish description (the code alone when unnamed)."""
    name = _NAMES.get(type(code), {}).get(code.value)
    return f"{code.value} {name}" if name else code.value


def titulo(tipo: TipoDocumento) -> str:
    """The printed name of a document type ("Factura Electrónica")."""
    return _TITULOS[tipo]
