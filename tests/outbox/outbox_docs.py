"""Small documents built with the model, for the outbox tests and the crash-test child process."""

from __future__ import annotations

from decimal import Decimal

from cr_einvoice.core.catalogs import CodigoImpuesto, CodigoTarifaIVA, TipoIdentificacion, TipoMedioPago
from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.vouchers.model import (
    Emisor,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    LineaDetalle,
    MedioPago,
    Receptor,
    Tiquete,
    Ubicacion,
)
from cr_einvoice.vouchers.xmlwrite import to_xml

EMISOR_ID = "3101123456"
CLIENTE_ID = "3101654321"


def emisor(numero: str = EMISOR_ID) -> Emisor:
    return Emisor(
        nombre="Empresa de Pruebas S.A.",
        identificacion=Identificacion(tipo=TipoIdentificacion.CEDULA_JURIDICA, numero=numero),
        correos_electronicos=("facturas@example.com",),
        ubicacion=Ubicacion(
            provincia="1", canton="01", distrito="08", otras_senas="Avenida central, local 5"
        ),
    )


def linea(precio: str = "1000", cantidad: str = "1", detalle: str = "Café molido 500 g") -> LineaDetalle:
    return LineaDetalle(
        codigo_cabys="2399999009900",
        detalle=detalle,
        precio_unitario=Decimal(precio),
        cantidad=Decimal(cantidad),
        impuestos=(Impuesto(codigo=CodigoImpuesto.IVA, codigo_tarifa_iva=CodigoTarifaIVA.GENERAL_13),),
    )


def ticket(lines: int = 3, numero: str = EMISOR_ID) -> Tiquete:
    return Tiquete(
        proveedor_sistemas=EMISOR_ID,
        emisor=emisor(numero),
        codigo_actividad_emisor="620100",
        lineas=tuple(linea(precio=f"{1000 + 250 * i}", detalle=f"Artículo {i + 1}") for i in range(lines)),
        medios_pago=(MedioPago(tipo_medio_pago=TipoMedioPago.EFECTIVO),),
    )


def factura(receptor_id: str = CLIENTE_ID, emisor_id: str = EMISOR_ID) -> FacturaElectronica:
    return FacturaElectronica(
        proveedor_sistemas=EMISOR_ID,
        emisor=emisor(emisor_id),
        receptor=Receptor(
            nombre="Cliente Mayorista S.A.",
            identificacion=Identificacion(tipo=TipoIdentificacion.CEDULA_JURIDICA, numero=receptor_id),
            correo_electronico="compras@example.com",
        ),
        codigo_actividad_emisor="620100",
        lineas=(linea("2500", "2"), linea("800", "3", "Azúcar 1 kg")),
        medios_pago=(MedioPago(tipo_medio_pago=TipoMedioPago.TRANSFERENCIA),),
    )


def supplier_invoice(supplier_pki: TestPKI, numero: int = 1) -> bytes:
    """A FE the supplier (CLIENTE_ID) issued to us (EMISOR_ID), signed with the supplier's key."""
    doc = factura(receptor_id=EMISOR_ID, emisor_id=CLIENTE_ID)
    fecha = cr_now()
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=numero)
    clave = Clave.build(
        tipo_identificacion="02", numero_identificacion=CLIENTE_ID, consecutivo=consecutivo, fecha=fecha
    )
    numbered = doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha)
    return Signer(load_p12(str(supplier_pki.taxpayer_p12), supplier_pki.pin)).sign(to_xml(numbered))
