"""Code catalogues of the v4.4 Anexos (the "Notas") and the official XSD enumerations, as enums.

Member names are readable Spanish names (valid Python identifiers); values are the exact codes written in the
XML. Where the 2026-04-22 "Bitácora de Ajustes" added codes that the published XSDs do not list yet
(CodigoReferencia 16 and 17, TipoDocIR 19 and 20), the enums accept them so documents using them can be
built and read; the XSD validation of such a document fails until Hacienda republishes the schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "DOCUMENT_KINDS",
    "MENSAJE_HACIENDA",
    "MENSAJE_RECEPTOR",
    "NAMESPACE_BASE",
    "VOUCHER_ROOTS",
    "CodigoDescuento",
    "CodigoImpuesto",
    "CodigoMoneda",
    "CodigoReferencia",
    "CodigoTarifaIVA",
    "CondicionImpuesto",
    "CondicionVenta",
    "DocumentKind",
    "IVACobradoFabrica",
    "InstitucionExoneracion",
    "Mensaje",
    "Situacion",
    "TipoCodigoComercial",
    "TipoDocReferencia",
    "TipoDocumento",
    "TipoDocumentoExoneracion",
    "TipoDocumentoOtrosCargos",
    "TipoIdentificacion",
    "TipoMedioPago",
    "TipoTransaccion",
    "TratamientoFiscal",
    "UnidadMedida",
    "document_kind",
    "is_service_cabys",
]


class TipoDocumento(StrEnum):
    """Document type codes (Nota 3), positions 9-10 of the consecutivo."""

    FACTURA_ELECTRONICA = "01"
    NOTA_DEBITO = "02"
    NOTA_CREDITO = "03"
    TIQUETE = "04"
    CONFIRMACION_ACEPTACION = "05"
    CONFIRMACION_ACEPTACION_PARCIAL = "06"
    CONFIRMACION_RECHAZO = "07"
    FACTURA_COMPRA = "08"
    FACTURA_EXPORTACION = "09"
    RECIBO_PAGO = "10"

    @property
    def kind(self) -> DocumentKind:
        """The document this code is numbered in: its root element, namespace and schema."""
        return _KIND_OF_TIPO[self]

    @property
    def root(self) -> str:
        """The root element (``FacturaElectronica``; ``MensajeReceptor`` for 05/06/07)."""
        return _KIND_OF_TIPO[self].root

    @property
    def namespace(self) -> str:
        """The v4.4 namespace of the root element."""
        return _KIND_OF_TIPO[self].namespace()

    @property
    def is_mensaje_receptor(self) -> bool:
        """05, 06 and 07: the receptor's acceptance, partial acceptance or rejection."""
        return _KIND_OF_TIPO[self].root == MENSAJE_RECEPTOR


#: Base of the namespace URIs (Nota 2); the last segment is the camelCase root name.
NAMESPACE_BASE = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
MENSAJE_RECEPTOR = "MensajeReceptor"
MENSAJE_HACIENDA = "MensajeHacienda"


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One root element of the comprobantes electrónicos: the single table every module reads the
    element name, namespace, schema file and document type codes from."""

    root: str
    #: The usual abbreviation (FE, ND, NC, TE, FEC, FEE, REP, MR, MH).
    abbreviation: str
    #: Consecutivo types numbered under this root (empty for MensajeHacienda).
    tipos: tuple[TipoDocumento, ...]

    def namespace(self, version: str = "4.4") -> str:
        """``https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica``."""
        return f"{NAMESPACE_BASE}v{version}/{self.root[0].lower()}{self.root[1:]}"

    def schema_file(self, version: str = "4.4") -> str:
        """The official XSD's file name (``FacturaElectronica_V4.4.xsd``)."""
        return f"{self.root}_V{version}.xsd"

    @property
    def is_voucher(self) -> bool:
        """A comprobante (FE, ND, NC, TE, FEC, FEE, REP), not a message."""
        return self.root not in (MENSAJE_RECEPTOR, MENSAJE_HACIENDA)


T = TipoDocumento
DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    DocumentKind("FacturaElectronica", "FE", (T.FACTURA_ELECTRONICA,)),
    DocumentKind("NotaDebitoElectronica", "ND", (T.NOTA_DEBITO,)),
    DocumentKind("NotaCreditoElectronica", "NC", (T.NOTA_CREDITO,)),
    DocumentKind("TiqueteElectronico", "TE", (T.TIQUETE,)),
    DocumentKind("FacturaElectronicaCompra", "FEC", (T.FACTURA_COMPRA,)),
    DocumentKind("FacturaElectronicaExportacion", "FEE", (T.FACTURA_EXPORTACION,)),
    DocumentKind("ReciboElectronicoPago", "REP", (T.RECIBO_PAGO,)),
    DocumentKind(
        MENSAJE_RECEPTOR,
        "MR",
        (T.CONFIRMACION_ACEPTACION, T.CONFIRMACION_ACEPTACION_PARCIAL, T.CONFIRMACION_RECHAZO),
    ),
    DocumentKind(MENSAJE_HACIENDA, "MH", ()),
)
del T
_KIND_OF_TIPO: dict[TipoDocumento, DocumentKind] = {t: k for k in DOCUMENT_KINDS for t in k.tipos}
_KIND_OF_ROOT: dict[str, DocumentKind] = {k.root: k for k in DOCUMENT_KINDS}
#: The root elements of the comprobantes (not the messages).
VOUCHER_ROOTS: frozenset[str] = frozenset(k.root for k in DOCUMENT_KINDS if k.is_voucher)


def document_kind(root: str) -> DocumentKind | None:
    """The :class:`DocumentKind` of a root element's local name, or None for anything else."""
    return _KIND_OF_ROOT.get(root)


class TipoIdentificacion(StrEnum):
    """Identification types (Nota 4)."""

    CEDULA_FISICA = "01"
    CEDULA_JURIDICA = "02"
    DIMEX = "03"
    NITE = "04"
    EXTRANJERO_NO_DOMICILIADO = "05"
    NO_CONTRIBUYENTE = "06"


class Situacion(StrEnum):
    """Situación del comprobante, clave position 42."""

    NORMAL = "1"
    CONTINGENCIA = "2"
    SIN_INTERNET = "3"


class CondicionVenta(StrEnum):
    """Condición de la venta (Nota 5). 09 and 11 are for the Recibo Electrónico de Pago only."""

    CONTADO = "01"
    CREDITO = "02"
    CONSIGNACION = "03"
    APARTADO = "04"
    ARRENDAMIENTO_OPCION_COMPRA = "05"
    ARRENDAMIENTO_FUNCION_FINANCIERA = "06"
    COBRO_FAVOR_TERCERO = "07"
    SERVICIOS_PRESTADOS_ESTADO = "08"
    PAGO_SERVICIOS_PRESTADOS_ESTADO = "09"
    VENTA_CREDITO_IVA_90_DIAS = "10"
    PAGO_VENTA_CREDITO_IVA_90_DIAS = "11"
    VENTA_MERCANCIA_NO_NACIONALIZADA = "12"
    VENTA_BIENES_USADOS_NO_CONTRIBUYENTE = "13"
    ARRENDAMIENTO_OPERATIVO = "14"
    ARRENDAMIENTO_FINANCIERO = "15"
    OTROS = "99"

    @property
    def es_credito(self) -> bool:
        """Credit sales (02, 08, 10): MedioPago is not required."""
        return self in _CREDITO


_CREDITO = frozenset(
    {
        CondicionVenta.CREDITO,
        CondicionVenta.SERVICIOS_PRESTADOS_ESTADO,
        CondicionVenta.VENTA_CREDITO_IVA_90_DIAS,
    }
)


class TipoMedioPago(StrEnum):
    """Medio de pago (Nota 6)."""

    EFECTIVO = "01"
    TARJETA = "02"
    CHEQUE = "03"
    TRANSFERENCIA = "04"
    RECAUDADO_TERCEROS = "05"
    SINPE_MOVIL = "06"
    PLATAFORMA_DIGITAL = "07"
    OTROS = "99"


class CodigoImpuesto(StrEnum):
    """Código del impuesto (Nota 8)."""

    IVA = "01"
    SELECTIVO_CONSUMO = "02"
    UNICO_COMBUSTIBLES = "03"
    BEBIDAS_ALCOHOLICAS = "04"
    BEBIDAS_SIN_ALCOHOL_JABONES = "05"
    TABACO = "06"
    IVA_CALCULO_ESPECIAL = "07"
    IVA_BIENES_USADOS = "08"
    CEMENTO = "12"
    OTROS = "99"

    @property
    def es_iva(self) -> bool:
        """IVA family (01, 07, 08): decides the line's gravado/exento/no sujeto treatment."""
        return self in (
            CodigoImpuesto.IVA,
            CodigoImpuesto.IVA_CALCULO_ESPECIAL,
            CodigoImpuesto.IVA_BIENES_USADOS,
        )

    @property
    def forma_base_imponible(self) -> bool:
        """Specific taxes that are added to the IVA base (notes §9.2 step 3): 02, 04, 05 and 12."""
        return self in (
            CodigoImpuesto.SELECTIVO_CONSUMO,
            CodigoImpuesto.BEBIDAS_ALCOHOLICAS,
            CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES,
            CodigoImpuesto.CEMENTO,
        )


class CodigoTarifaIVA(StrEnum):
    """Código de la tarifa del IVA (Nota 8.1); ``.tarifa`` is the percentage written in ``Tarifa``."""

    TARIFA_0_CON_CREDITO = "01"
    REDUCIDA_1 = "02"
    REDUCIDA_2 = "03"
    REDUCIDA_4 = "04"
    TRANSITORIO_0 = "05"
    TRANSITORIO_4 = "06"
    TRANSITORIA_8 = "07"
    GENERAL_13 = "08"
    REDUCIDA_0_5 = "09"
    EXENTA = "10"
    TARIFA_0_SIN_CREDITO = "11"

    @property
    def tarifa(self) -> Decimal:
        """The rate as a percentage (13 for 13 %)."""
        return _TARIFAS[self]

    @property
    def solo_notas(self) -> bool:
        """Transitional codes 05-07 are only allowed in credit and debit notes."""
        return self in (
            CodigoTarifaIVA.TRANSITORIO_0,
            CodigoTarifaIVA.TRANSITORIO_4,
            CodigoTarifaIVA.TRANSITORIA_8,
        )

    @property
    def tratamiento(self) -> TratamientoFiscal:
        """Gravado, exento (10) or no sujeto (01 and 11), as the ResumenFactura split needs."""
        if self is CodigoTarifaIVA.EXENTA:
            return TratamientoFiscal.EXENTO
        if self in (CodigoTarifaIVA.TARIFA_0_CON_CREDITO, CodigoTarifaIVA.TARIFA_0_SIN_CREDITO):
            return TratamientoFiscal.NO_SUJETO
        return TratamientoFiscal.GRAVADO


class TratamientoFiscal(StrEnum):
    """How a sale counts in the ResumenFactura split (TotalServGravados ... TotalMercNoSujeta). Gravado,
    exento and no sujeto come from a line's IVA tax; exonerado is the exonerated part of a gravado line."""

    GRAVADO = "gravado"
    EXENTO = "exento"
    EXONERADO = "exonerado"
    NO_SUJETO = "no_sujeto"


_TARIFAS: dict[CodigoTarifaIVA, Decimal] = {
    CodigoTarifaIVA.TARIFA_0_CON_CREDITO: Decimal("0"),
    CodigoTarifaIVA.REDUCIDA_1: Decimal("1"),
    CodigoTarifaIVA.REDUCIDA_2: Decimal("2"),
    CodigoTarifaIVA.REDUCIDA_4: Decimal("4"),
    CodigoTarifaIVA.TRANSITORIO_0: Decimal("0"),
    CodigoTarifaIVA.TRANSITORIO_4: Decimal("4"),
    CodigoTarifaIVA.TRANSITORIA_8: Decimal("8"),
    CodigoTarifaIVA.GENERAL_13: Decimal("13"),
    CodigoTarifaIVA.REDUCIDA_0_5: Decimal("0.5"),
    CodigoTarifaIVA.EXENTA: Decimal("0"),
    CodigoTarifaIVA.TARIFA_0_SIN_CREDITO: Decimal("0"),
}


class UnidadMedida(StrEnum):
    """Unidad de medida (Nota 15): the full UnidadMedidaType enumeration of the v4.4 rev C XSD.

    The service units (Nota 15) are ``SERVICIOS_PROFESIONALES`` (Sp), ``SERVICIOS_PERSONALES`` (Spe),
    ``SERVICIOS_TECNICOS`` (St), ``OTRO_TIPO_SERVICIO`` (Os), ``ALQUILER_USO_HABITACIONAL`` (Al),
    ``ALQUILER_USO_COMERCIAL`` (Alc), ``COMISIONES`` (Cm) and ``INTERESES`` (I).
    """

    UNO_INDICE_REFRACCION = "1"
    MINUTO_ARCO = "\u00b4"
    SEGUNDO_ARCO = "\u00b4\u00b4"
    GRADO_CELSIUS = "\u00b0C"
    UNO_POR_METRO = "1/m"
    AMPERE = "A"
    AMPERE_POR_METRO = "A/m"
    AMPERE_POR_METRO_CUADRADO = "A/m\u00b2"
    ACTIVO_VIRTUAL = "Acv"
    ALQUILER_USO_HABITACIONAL = "Al"
    ALQUILER_USO_COMERCIAL = "Alc"
    BEL = "B"
    BECQUEREL = "Bq"
    COULOMB = "C"
    COULOMB_POR_KILOGRAMO = "C/kg"
    COULOMB_POR_METRO_CUADRADO = "C/m\u00b2"
    COULOMB_POR_METRO_CUBICO = "C/m\u00b3"
    CAJUELA_CAFE = "Cc"
    CANDELA = "Cd"
    CANDELA_POR_METRO_CUADRADO = "cd/m\u00b2"
    COMISIONES = "Cm"
    CENTIMETRO = "cm"
    CUARTILLO_CAFE = "Cu"
    DIA = "D"
    ELECTRONVOLT = "eV"
    FARAD = "F"
    FARAD_POR_METRO = "F/m"
    FANEGA_CAFE = "Fa"
    GRAMO = "G"
    GALON = "Gal"
    GRAY = "Gy"
    GRAY_POR_SEGUNDO = "Gy/s"
    HORA = "h"
    HENRY = "H"
    HENRY_POR_METRO = "H/m"
    HERTZ = "Hz"
    INTERESES = "I"
    JOULE = "J"
    JOULE_POR_KILOGRAMO_KELVIN = "J/(kg\u00b7K)"
    JOULE_POR_MOL_KELVIN = "J/(mol\u00b7K)"
    JOULE_POR_KELVIN = "J/K"
    JOULE_POR_KILOGRAMO = "J/kg"
    JOULE_POR_METRO_CUBICO = "J/m\u00b3"
    JOULE_POR_MOL = "J/mol"
    KELVIN = "K"
    KATAL = "Kat"
    KATAL_POR_METRO_CUBICO = "kat/m\u00b3"
    KILOGRAMO = "Kg"
    KILOGRAMO_POR_METRO_CUBICO = "kg/m\u00b3"
    KILOMETRO = "Km"
    KILOVATIO = "Kw"
    KILOVATIO_HORA = "kWh"
    LITRO = "L"
    LUMEN = "Lm"
    PULGADA = "Ln"
    LUX = "Lx"
    METRO = "M"
    METRO_POR_SEGUNDO = "m/s"
    METRO_POR_SEGUNDO_CUADRADO = "m/s\u00b2"
    METRO_CUADRADO = "m\u00b2"
    METRO_CUBICO = "m\u00b3"
    MINUTO = "Min"
    MILILITRO = "mL"
    MILIMETRO = "Mm"
    MOL = "Mol"
    MOL_POR_METRO_CUBICO = "mol/m\u00b3"
    NEWTON = "N"
    NEWTON_POR_METRO = "N/m"
    NEWTON_METRO = "N\u00b7m"
    NEPER = "Np"
    GRADO = "\u00ba"
    OTRO_TIPO_SERVICIO = "Os"
    OTROS = "Otros"
    ONZA = "Oz"
    PASCAL = "Pa"
    PASCAL_SEGUNDO = "Pa\u00b7s"
    QUINTAL = "Qq"
    RADIAN = "Rad"
    RADIAN_POR_SEGUNDO = "rad/s"
    RADIAN_POR_SEGUNDO_CUADRADO = "rad/s\u00b2"
    SEGUNDO = "S"
    SIEMENS = "s"
    SERVICIOS_PROFESIONALES = "Sp"
    SERVICIOS_PERSONALES = "Spe"
    ESTEREORRADIAN = "Sr"
    SERVICIOS_TECNICOS = "St"
    SIEVERT = "Sv"
    TESLA = "t"
    TONELADA = "T"
    UNIDAD_MASA_ATOMICA = "U"
    UNIDAD_ASTRONOMICA = "Ua"
    UNIDAD = "Unid"
    VOLT = "V"
    VOLT_POR_METRO = "V/m"
    WATT = "W"
    WATT_POR_METRO_KELVIN = "W/(m\u00b7K)"
    WATT_POR_METRO_CUADRADO_ESTEREORRADIAN = "W/(m\u00b2\u00b7sr)"
    WATT_POR_METRO_CUADRADO = "W/m\u00b2"
    WATT_POR_ESTEREORRADIAN = "W/sr"
    WEBER = "Wb"
    OHM = "\u2126"  # OHM SIGN, as the XSD writes it (not the Greek capital omega)

    @property
    def es_servicio(self) -> bool:
        """True for the service-type units of Nota 15 (v4.3 classified lines this way; v4.4 uses CABYS)."""
        return self in _UNIDADES_SERVICIO


_UNIDADES_SERVICIO = frozenset(
    {
        UnidadMedida.SERVICIOS_PROFESIONALES,
        UnidadMedida.SERVICIOS_PERSONALES,
        UnidadMedida.SERVICIOS_TECNICOS,
        UnidadMedida.OTRO_TIPO_SERVICIO,
        UnidadMedida.ALQUILER_USO_HABITACIONAL,
        UnidadMedida.ALQUILER_USO_COMERCIAL,
        UnidadMedida.COMISIONES,
        UnidadMedida.INTERESES,
    }
)


class CodigoMoneda(StrEnum):
    """ISO 4217 currency codes accepted by the v4.4 rev C XSD (CodigoMonedaType). ``CRC`` is the colón."""

    AED = "AED"
    AFN = "AFN"
    ALL = "ALL"
    AMD = "AMD"
    ANG = "ANG"
    AOA = "AOA"
    ARS = "ARS"
    AUD = "AUD"
    AWG = "AWG"
    AZN = "AZN"
    BAM = "BAM"
    BBD = "BBD"
    BDT = "BDT"
    BGN = "BGN"
    BHD = "BHD"
    BIF = "BIF"
    BMD = "BMD"
    BND = "BND"
    BOB = "BOB"
    BOV = "BOV"
    BRL = "BRL"
    BSD = "BSD"
    BTN = "BTN"
    BWP = "BWP"
    BYR = "BYR"
    BZD = "BZD"
    CAD = "CAD"
    CDF = "CDF"
    CHE = "CHE"
    CHF = "CHF"
    CHW = "CHW"
    CLF = "CLF"
    CLP = "CLP"
    CNY = "CNY"
    COP = "COP"
    COU = "COU"
    CRC = "CRC"
    CUC = "CUC"
    CUP = "CUP"
    CVE = "CVE"
    CZK = "CZK"
    DJF = "DJF"
    DKK = "DKK"
    DOP = "DOP"
    DZD = "DZD"
    EGP = "EGP"
    ERN = "ERN"
    ETB = "ETB"
    EUR = "EUR"
    FJD = "FJD"
    FKP = "FKP"
    GBP = "GBP"
    GEL = "GEL"
    GHS = "GHS"
    GIP = "GIP"
    GMD = "GMD"
    GNF = "GNF"
    GTQ = "GTQ"
    GYD = "GYD"
    HKD = "HKD"
    HNL = "HNL"
    HRK = "HRK"
    HTG = "HTG"
    HUF = "HUF"
    IDR = "IDR"
    ILS = "ILS"
    INR = "INR"
    IQD = "IQD"
    IRR = "IRR"
    ISK = "ISK"
    JMD = "JMD"
    JOD = "JOD"
    JPY = "JPY"
    KES = "KES"
    KGS = "KGS"
    KHR = "KHR"
    KMF = "KMF"
    KPW = "KPW"
    KRW = "KRW"
    KWD = "KWD"
    KYD = "KYD"
    KZT = "KZT"
    LAK = "LAK"
    LBP = "LBP"
    LKR = "LKR"
    LRD = "LRD"
    LSL = "LSL"
    LYD = "LYD"
    MAD = "MAD"
    MDL = "MDL"
    MGA = "MGA"
    MKD = "MKD"
    MMK = "MMK"
    MNT = "MNT"
    MOP = "MOP"
    MRO = "MRO"
    MUR = "MUR"
    MVR = "MVR"
    MWK = "MWK"
    MXN = "MXN"
    MXV = "MXV"
    MYR = "MYR"
    MZN = "MZN"
    NAD = "NAD"
    NGN = "NGN"
    NIO = "NIO"
    NOK = "NOK"
    NPR = "NPR"
    NZD = "NZD"
    OMR = "OMR"
    PAB = "PAB"
    PEN = "PEN"
    PGK = "PGK"
    PHP = "PHP"
    PKR = "PKR"
    PLN = "PLN"
    PYG = "PYG"
    QAR = "QAR"
    RON = "RON"
    RSD = "RSD"
    RUB = "RUB"
    RWF = "RWF"
    SAR = "SAR"
    SBD = "SBD"
    SCR = "SCR"
    SDG = "SDG"
    SEK = "SEK"
    SGD = "SGD"
    SHP = "SHP"
    SLL = "SLL"
    SOS = "SOS"
    SRD = "SRD"
    SSP = "SSP"
    STD = "STD"
    SVC = "SVC"
    SYP = "SYP"
    SZL = "SZL"
    THB = "THB"
    TJS = "TJS"
    TMT = "TMT"
    TND = "TND"
    TOP = "TOP"
    TRY = "TRY"
    TTD = "TTD"
    TWD = "TWD"
    TZS = "TZS"
    UAH = "UAH"
    UGX = "UGX"
    USD = "USD"
    USN = "USN"
    UYI = "UYI"
    UYU = "UYU"
    UZS = "UZS"
    VEF = "VEF"
    VND = "VND"
    VUV = "VUV"
    WST = "WST"
    XAF = "XAF"
    XCD = "XCD"
    XDR = "XDR"
    XOF = "XOF"
    XPF = "XPF"
    XSU = "XSU"
    XUA = "XUA"
    YER = "YER"
    ZAR = "ZAR"
    ZMW = "ZMW"
    ZWL = "ZWL"


class TipoDocReferencia(StrEnum):
    """Tipo de documento de referencia, TipoDocIR (Nota 10). 19 and 20 come from the 2026-04-22 Bitácora and
    are not in the published XSD."""

    FACTURA_ELECTRONICA = "01"
    NOTA_DEBITO = "02"
    NOTA_CREDITO = "03"
    TIQUETE = "04"
    NOTA_DESPACHO = "05"
    CONTRATO = "06"
    PROCEDIMIENTO = "07"
    COMPROBANTE_CONTINGENCIA = "08"
    DEVOLUCION_MERCADERIA = "09"
    RECHAZADO_POR_HACIENDA = "10"
    SUSTITUYE_RECHAZADA_POR_RECEPTOR = "11"
    SUSTITUYE_FACTURA_EXPORTACION = "12"
    FACTURACION_MES_VENCIDO = "13"
    REGIMEN_ESPECIAL = "14"
    SUSTITUYE_FACTURA_COMPRA = "15"
    PROVEEDOR_NO_DOMICILIADO = "16"
    NOTA_CREDITO_FACTURA_COMPRA = "17"
    NOTA_DEBITO_FACTURA_COMPRA = "18"
    FACTURA_EXPORTACION = "19"
    RECIBO_PAGO = "20"
    OTROS = "99"

    @property
    def en_xsd(self) -> bool:
        """False for the Bitácora 2026 codes the published XSDs do not list yet."""
        return self not in (TipoDocReferencia.FACTURA_EXPORTACION, TipoDocReferencia.RECIBO_PAGO)


class CodigoReferencia(StrEnum):
    """Código de referencia (Nota 9). 16 and 17 come from the 2026-04-22 Bitácora (17 = pago a comprobante
    electrónico, REP only) and are not in the published XSD."""

    ANULA = "01"
    CORRIGE_MONTO = "02"
    REFERENCIA = "04"
    SUSTITUYE_CONTINGENCIA = "05"
    DEVOLUCION_MERCANCIA = "06"
    SUSTITUYE_COMPROBANTE = "07"
    FACTURA_ENDOSADA = "08"
    NOTA_CREDITO_FINANCIERA = "09"
    NOTA_DEBITO_FINANCIERA = "10"
    PROVEEDOR_NO_DOMICILIADO = "11"
    CREDITO_EXONERACION_POSTERIOR = "12"
    BITACORA_2026_16 = "16"
    PAGO_COMPROBANTE_ELECTRONICO = "17"
    OTROS = "99"

    @property
    def en_xsd(self) -> bool:
        """False for the Bitácora 2026 codes the published XSDs do not list yet."""
        return self not in (CodigoReferencia.BITACORA_2026_16, CodigoReferencia.PAGO_COMPROBANTE_ELECTRONICO)


class CodigoDescuento(StrEnum):
    """Código del descuento (Nota 20)."""

    REGALIA = "01"
    REGALIA_IVA_COBRADO_CLIENTE = "02"
    BONIFICACION = "03"
    VOLUMEN = "04"
    TEMPORADA = "05"
    PROMOCIONAL = "06"
    COMERCIAL = "07"
    FRECUENCIA = "08"
    SOSTENIDO = "09"
    OTROS = "99"


class TipoDocumentoOtrosCargos(StrEnum):
    """Tipo de documento de otros cargos, TipoDocumentoOC (Nota 16)."""

    CONTRIBUCION_PARAFISCAL = "01"
    TIMBRE_CRUZ_ROJA = "02"
    TIMBRE_BOMBEROS = "03"
    COBRO_TERCERO = "04"
    COSTOS_EXPORTACION = "05"
    IMPUESTO_SERVICIO_10 = "06"
    TIMBRE_COLEGIOS_PROFESIONALES = "07"
    DEPOSITOS_GARANTIA = "08"
    MULTAS_PENALIZACIONES = "09"
    INTERESES_MORATORIOS = "10"
    OTROS = "99"


class TipoDocumentoExoneracion(StrEnum):
    """Tipo de documento de exoneración o autorización, TipoDocumentoEX1 (Nota 10.1)."""

    COMPRAS_AUTORIZADAS_DGT = "01"
    VENTAS_EXENTAS_DIPLOMATICOS = "02"
    LEY_ESPECIAL = "03"
    DGH_AUTORIZACION_LOCAL_GENERICA = "04"
    DGH_TRANSITORIO_V = "05"
    SERVICIOS_TURISTICOS_ICT = "06"
    TRANSITORIO_XVII_RECICLAJE = "07"
    ZONA_FRANCA = "08"
    SERVICIOS_COMPLEMENTARIOS_EXPORTACION = "09"
    CORPORACIONES_MUNICIPALES = "10"
    DGH_AUTORIZACION_IMPUESTO_LOCAL_CONCRETA = "11"
    OTROS = "99"


class InstitucionExoneracion(StrEnum):
    """Institución o dependencia que emitió la exoneración, NombreInstitucion (Nota 23)."""

    MINISTERIO_HACIENDA = "01"
    MINISTERIO_RELACIONES_EXTERIORES = "02"
    MINISTERIO_AGRICULTURA = "03"
    MINISTERIO_ECONOMIA = "04"
    CRUZ_ROJA = "05"
    BOMBEROS = "06"
    OBRAS_ESPIRITU_SANTO = "07"
    FECRUNAPA = "08"
    EARTH = "09"
    INCAE = "10"
    JUNTA_PROTECCION_SOCIAL = "11"
    ARESEP = "12"
    OTROS = "99"


class IVACobradoFabrica(StrEnum):
    """IVA cobrado a nivel de fábrica (Nota 21)."""

    VENTA_CON_IVA_FABRICA = "01"
    VENTA_EXENTA_IVA_FABRICA = "02"


class TipoTransaccion(StrEnum):
    """Tipo de transacción (Nota 22)."""

    VENTA_NORMAL = "01"
    AUTOCONSUMO_MERCANCIA_EXENTO = "02"
    AUTOCONSUMO_MERCANCIA_GRAVADO = "03"
    AUTOCONSUMO_SERVICIO_EXENTO = "04"
    AUTOCONSUMO_SERVICIO_GRAVADO = "05"
    CUOTA_AFILIACION = "06"
    CUOTA_AFILIACION_EXENTA = "07"
    BIENES_CAPITAL_EMISOR = "08"
    BIENES_CAPITAL_RECEPTOR = "09"
    BIENES_CAPITAL_EMISOR_RECEPTOR = "10"
    BIENES_CAPITAL_AUTOCONSUMO_EXENTO_EMISOR = "11"
    BIENES_CAPITAL_SIN_CONTRAPRESTACION_EXENTO_EMISOR = "12"
    SIN_CONTRAPRESTACION_TERCEROS = "13"


class TipoCodigoComercial(StrEnum):
    """Tipo de código de producto/servicio, CodigoComercial/Tipo (Nota 12)."""

    VENDEDOR = "01"
    COMPRADOR = "02"
    INDUSTRIA = "03"
    USO_INTERNO = "04"
    OTROS = "99"


class CondicionImpuesto(StrEnum):
    """Condición del IVA in a MensajeReceptor (Nota 18)."""

    GENERA_CREDITO = "01"
    CREDITO_PARCIAL = "02"
    BIENES_CAPITAL = "03"
    GASTO_CORRIENTE_SIN_CREDITO = "04"
    PROPORCIONALIDAD = "05"


class Mensaje(StrEnum):
    """Mensaje of a MensajeReceptor (Nota 11) and the document type its consecutivo carries."""

    ACEPTADO = "1"
    ACEPTACION_PARCIAL = "2"
    RECHAZADO = "3"

    @property
    def tipo_documento(self) -> TipoDocumento:
        return {
            Mensaje.ACEPTADO: TipoDocumento.CONFIRMACION_ACEPTACION,
            Mensaje.ACEPTACION_PARCIAL: TipoDocumento.CONFIRMACION_ACEPTACION_PARCIAL,
            Mensaje.RECHAZADO: TipoDocumento.CONFIRMACION_RECHAZO,
        }[self]


def is_service_cabys(codigo_cabys: str) -> bool:
    """Hacienda's goods/services split: CABYS codes starting with 5-9 are services, 0-4 goods."""
    return bool(codigo_cabys) and codigo_cabys[0] in "56789"
