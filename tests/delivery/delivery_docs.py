"""Signed vouchers of every type for the graphic-representation tests (the shipped examples, numbered)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from cr_einvoice.core.catalogs import Situacion, TipoDocumento
from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo
from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import MensajeReceptor
from cr_einvoice.vouchers.xmlwrite import to_xml

FECHA = datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ)
#: the example kinds and the variants built from them
KINDS = (
    "fe",
    "nd",
    "nc",
    "te",
    "fec",
    "fee",
    "rep",
    "mr",
    "mr-parcial",
    "mr-rechazo",
    "fe-exo",
    "te-contingencia",
    "fe-credito",
)

_EXO_LINE: dict[str, Any] = {
    "codigo_cabys": "8314200000000",
    "detalle": "Soporte técnico exonerado a institución autónoma",
    "cantidad": "3",
    "unidad_medida": "h",
    "precio_unitario": "20000.00000",
    "impuestos": [
        {
            "codigo": "01",
            "codigo_tarifa_iva": "08",
            "exoneracion": {
                "tipo_documento_ex1": "03",
                "numero_documento": "AL-00460853-20",
                "articulo": 7,
                "inciso": 2,
                "nombre_institucion": "01",
                "fecha_emision_ex": "2026-06-01T08:00:00-06:00",
                "tarifa_exonerada": "13",
            },
        }
    ],
}


def voucher_json(kind: str, *, lines: int | None = None) -> dict[str, Any]:
    """The example of ``kind`` (or a variant); ``lines`` repeats the example's lines up to that many."""
    base = kind.split("-", maxsplit=1)[0]
    data = example_json(base)
    if kind == "fe-exo":
        data["lineas"] = [*data["lineas"][:1], copy.deepcopy(_EXO_LINE)]
    elif kind == "fe-credito":
        data |= {"condicion_venta": "02", "plazo_credito": 30}
        data.pop("medios_pago")
    elif kind == "mr-parcial":
        data |= {"mensaje": "2", "detalle_mensaje": "Se aceptan 2 de 3 artículos facturados"}
    elif kind == "mr-rechazo":
        data |= {"mensaje": "3", "detalle_mensaje": "Mercadería no recibida"}
        for name in ("monto_total_impuesto_acreditar", "monto_total_de_gasto_aplicable"):
            data.pop(name, None)
    elif kind == "te-contingencia":
        data["referencias"] = [
            {
                "tipo_doc_ir": "08",
                "numero": "CONT-000457",
                "fecha_emision_ir": "2026-07-15T08:10:00-06:00",
                "codigo": "05",
                "razon": "Sustituye el tiquete provisional emitido sin sistema",
            }
        ]
    if lines is not None:
        source = data["lineas"]
        data["lineas"] = [
            {
                **copy.deepcopy(source[i % len(source)]),
                "detalle": f"Artículo número {i + 1}: " + source[i % len(source)]["detalle"],
            }
            for i in range(lines)
        ]
        data["medios_pago"] = [{"tipo_medio_pago": data["medios_pago"][0]["tipo_medio_pago"]}]
    return data


def signed_voucher(kind: str, signer: Signer, *, lines: int | None = None, numero: int = 123) -> bytes:
    doc = document_from_json(voucher_json(kind, lines=lines))
    situacion = Situacion.CONTINGENCIA if kind.endswith("contingencia") else Situacion.NORMAL
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=numero)
    if isinstance(doc, MensajeReceptor):
        numbered: Any = doc.with_numbering(consecutivo=consecutivo, fecha_emision=FECHA)
    else:
        # the clave carries the taxpayer's identification: a FacturaCompra's buyer (receptor), else the emisor
        party = doc.receptor if doc.tipo is TipoDocumento.FACTURA_COMPRA else doc.emisor
        assert party is not None and party.identificacion is not None
        clave = Clave.build(
            tipo_identificacion=party.identificacion.tipo,
            numero_identificacion=party.identificacion.numero,
            consecutivo=consecutivo,
            fecha=FECHA,
            situacion=situacion,
            codigo_seguridad="48213975",
        )
        numbered = doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=FECHA)
    return signer.sign(to_xml(numbered))


def respuesta(clave: str, *, aceptado: bool = True) -> bytes:
    """An (unsigned) MensajeHacienda for ``clave``, as the simulator writes it."""
    detalle = (
        "Este comprobante fue recibido en el ambiente de pruebas, por lo cual no tiene validez para fines "
        "tributarios.\n\n"
    )
    if not aceptado:
        detalle += (
            "El comprobante electrónico tiene los siguientes errores: \r\n[\r\n"
            "codigo, mensaje, fila, columna\r\n"
            '-52, ""El monto total del comprobante no coincide"", 0, 0\r\n\r\n]'
        )
    return render_mensaje_hacienda(
        MensajeHaciendaData(
            clave=clave,
            nombre_emisor="Soluciones Tecnológicas del Valle S.A.",
            tipo_identificacion_emisor="02",
            numero_cedula_emisor="3101123456",
            mensaje=1 if aceptado else 3,
            detalle=detalle,
            total_factura="1000.00000",
        )
    )
